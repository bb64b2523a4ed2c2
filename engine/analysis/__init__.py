"""What a finished run says beyond its stats: Monte Carlo resampling (docs/montecarlo.md)."""
