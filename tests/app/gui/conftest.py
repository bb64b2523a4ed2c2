"""GUI tests run offscreen with PySide6; screenshots go to tests/_artifacts/screens (looked at by people)."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

SCREENS = Path(__file__).resolve().parents[2] / "_artifacts" / "screens"


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS


@pytest.fixture(autouse=True, scope="session")
def _pyqtgraph_theme():
    from app.gui.theme import configure_pyqtgraph

    configure_pyqtgraph()


@pytest.fixture(autouse=True)
def _qt_garbage_collected_on_the_main_thread():
    """Python's collector only on the main thread during a GUI test, as the app has it (app/gui/app.py,
    `collect_on_the_main_thread`): automatic collection off, then the test's garbage collected here. Left
    automatic, it runs in any thread that allocates: a sweep or job thread destroying Qt objects deadlocked (a Qt
    mutex held, the GIL wanted) or crashed the interpreter in fresh CI runs. The tests after these get it back."""
    import gc

    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True, scope="session")
def _kernels_compiled_in_the_main_thread():
    """Before any window: compile the kernels the app's jobs call (tests/app/gui/_warm.py says why)."""
    from tests.app.gui._warm import warm_app_kernels

    warm_app_kernels()


@pytest.fixture
def store_path(tmp_path):
    """A store with two daily symbols, ACME (1,500 bars) and GLOBEX (800)."""
    from engine.data.demo import generate_bars
    from engine.data.store import Store

    path = tmp_path / "bars.duckdb"
    with Store(path) as store:
        store.write_bars(generate_bars("ACME", 1_500, "1d"), source="test")
        store.write_bars(generate_bars("GLOBEX", 800, "1d"), source="test")
    return path


@pytest.fixture(scope="module")
def daily_result():
    """The demo's ACME daily SMA cross (10/30): a small finished result for the views' tests."""
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import demo_bars

    return run_backtest(demo_bars("ACME"), "sma_cross", {"n1": 10, "n2": 30}, SimConfig())
