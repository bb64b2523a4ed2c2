"""Metrics out: the profiling registry (engine/runtime/profiling.py) for Prometheus and for files.

`families.py` turns a registry snapshot into OpenMetrics families (prometheus_client, the `metrics`
extra); `exporter.py` serves them at /metrics and writes them to a file. docs/metrics.md has the names.
"""
