"""The app's store jobs follow the user's settings and close cleanly: an import in the app obeys the
data.* caps like `backbench import`, and closing during the first-start demo fill is prompt and leaves the
store empty or full, never half-filled. Real windows offscreen, real jobs, a real store."""

import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from app.gui.app import create_app
from app.gui.controller import Controller
from app.gui.main_window import MainWindow
from app.settings import load_settings
from app.workbench import Workbench
from engine.data.demo import DEMO_SYMBOLS
from engine.data.store import Store
from tests.engine.data.helpers import HEADER, dump

WAIT_MS = 60_000


def _window(qtbot, db, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    create_app()
    settings = load_settings({"store.path": str(db), "strategies.dir": str(tmp_path), "workers.count": 1})
    controller = Controller(Workbench(settings, use_cache=False))  # the file and environment count, as in the app
    win = MainWindow(controller, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    return win


def test_an_import_in_the_app_obeys_the_data_max_rows_setting(qtbot, store_path, tmp_path, monkeypatch):
    """After 035b2a5 the app still imported with the built-in caps, ignoring data.max_rows and
    data.max_decompressed_mb from the settings file or environment."""
    monkeypatch.setenv("BACKBENCH_DATA_MAX_ROWS", "10")
    win = _window(qtbot, store_path, tmp_path, monkeypatch)
    rows = tmp_path / "rows.csv"
    rows.write_text(HEADER + "".join(f"2020-01-{d:02d},10,11,9,10.5,1\n" for d in range(1, 21)))
    before = dump(store_path)
    outcome: list = []
    win.controller.error.connect(lambda msg: outcome.append(("error", msg)))
    win.controller.import_done.connect(lambda reports: outcome.append(("imported", reports)))
    win.controller.import_files([str(rows)])
    qtbot.waitUntil(lambda: bool(outcome), timeout=WAIT_MS)
    assert outcome[0][0] == "error", outcome
    assert "rows.csv: 20 data rows, more than the 10 allowed (setting data.max_rows)" in outcome[0][1]
    win.close()
    assert dump(store_path) == before


@pytest.mark.slow  # fills ~2 million demo bars
def test_closing_during_the_demo_fill_is_prompt_and_all_or_nothing(qtbot, tmp_path, monkeypatch):
    db = tmp_path / "empty.duckdb"
    win = _window(qtbot, db, tmp_path, monkeypatch)
    seen: list[int] = []
    win.controller.demo_progress.connect(lambda done, _total: seen.append(done))
    win.controller.start(warm_pool=False)
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=WAIT_MS)  # the fill is under way
    t0 = time.monotonic()
    win.close()
    assert time.monotonic() - t0 < 15
    QApplication.processEvents()
    with Store(db, read_only=True) as store:  # the app left no connection open
        got = {d["symbol"]: d["rows"] for d in store.datasets()}
    assert got in ({}, {s: n for s, (_, n) in DEMO_SYMBOLS.items()})
