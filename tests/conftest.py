"""Every test runs against throwaway user directories: no test reads or writes the real store,
result cache, settings file or Qt settings of the person running the suite."""

import os
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="backbench-tests-"))
for var, sub in (("BACKBENCH_CACHE_DIR", "cache"), ("BACKBENCH_DB", "store/bars.duckdb"),
                 ("BACKBENCH_CONFIG", "config/backbench.toml"), ("XDG_CONFIG_HOME", "xdg-config"),
                 ("XDG_DATA_HOME", "xdg-data"), ("XDG_CACHE_HOME", "xdg-cache")):
    os.environ[var] = str(_ROOT / sub)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def pytest_unconfigure(config):
    """Free what tests left referenced (DuckDB connections and relations held by failed-test tracebacks,
    fixtures' caches) before the interpreter exits: DuckDB's bindings report still-alive objects at exit
    as 'leaks', which would bury pytest's summary line under noise."""
    import gc
    import sys

    sys.last_traceback = sys.last_value = sys.last_type = None
    gc.collect()
