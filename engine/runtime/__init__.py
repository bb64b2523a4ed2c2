"""What the engine knows about the machine it runs on: cores (hardware.py), thread caps (threads.py) and
the metrics registry (profiling.py)."""
