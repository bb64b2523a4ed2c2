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


import pytest  # noqa: E402


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xvfb (extra 'dev'): unknown, not an error, without it
def pytest_xvfb_disable(config):
    """pytest-xvfb starts Xvfb only for a run on the xcb platform (the real-window tier's child run,
    tests/app/gui/xcb_scenarios.py); the offscreen default needs no X server."""
    return os.environ.get("QT_QPA_PLATFORM") != "xcb"


def pytest_unconfigure(config):
    """Free what tests left referenced (DuckDB connections and relations held by failed-test tracebacks,
    fixtures' caches) before the interpreter exits: DuckDB's bindings report still-alive objects at exit
    as 'leaks', which would bury pytest's summary line under noise."""
    import gc
    import sys

    sys.last_traceback = sys.last_value = sys.last_type = None
    gc.collect()


# Test tiers (markers declared in pyproject.toml). Every test gets exactly one of unit / integration / gui
# from where it lives and what it starts; heavy ones are marked `slow` where they are defined.
_GUI = "tests/app/gui/"
_INTEGRATION_FILES = {
    # start processes (spawn pools, Dask clusters, the CLI or the app as a subprocess) or real stores end to end
    "tests/engine/test_sweep.py", "tests/engine/test_sweep_cache.py", "tests/engine/test_sweep_memory.py",
    "tests/engine/test_dask_executor.py", "tests/engine/test_lifecycle.py", "tests/engine/test_threads.py",
    "tests/engine/test_executor_nice.py", "tests/engine/test_cache_stale_code.py",
    "tests/engine/test_bars_read_only.py", "tests/engine/test_walkforward.py", "tests/engine/data/test_crash.py",
    "tests/engine/test_portfolio_sweep.py", "tests/engine/test_portfolio_walkforward.py",
    "tests/engine/data/test_store.py", "tests/engine/data/test_broken_files.py", "tests/engine/data/test_import.py",
}
_INTEGRATION_DIRS = ("tests/app/", "tests/benchmarks/", "tests/packaging/")


def pytest_collection_modifyitems(config, items):
    import pytest

    root = Path(__file__).resolve().parent.parent
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        if rel.startswith(_GUI):
            item.add_marker(pytest.mark.gui)
        elif rel in _INTEGRATION_FILES or rel.startswith(_INTEGRATION_DIRS):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
