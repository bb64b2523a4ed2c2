"""The app used as a person uses it: real widgets offscreen, real background jobs, real engine and store."""

import json
import math

import pytest
from PySide6.QtCore import QSettings, Qt

from app.cli import main as cli_main
from app.gui.app import create_app
from app.gui.controller import Controller
from app.gui.main_window import MainWindow
from app.workbench import Workbench

WAIT_MS = 60_000


@pytest.fixture
def window(qtbot, store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    create_app()
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    controller = Controller(Workbench.from_values({"store.path": str(store_path), "strategies.dir": str(strategies),
                                                 "workers.count": 2}, use_cache=False))
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(controller, settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    with qtbot.waitSignal(controller.datasets_changed, timeout=WAIT_MS):
        controller.start(warm_pool=False)
    yield win
    win.close()


def test_backtest_in_the_app_equals_the_command_line(qtbot, window, store_path, capsys, tmp_path):
    import shutil

    copy = shutil.copy(store_path, tmp_path / "copy.duckdb")  # the app holds the store: one writer per file
    window.data_panel.select("ACME", "1d")
    window.strategy_panel.select("ema_cross")
    window.strategy_panel.param_editors["n1"].setValue(8)
    window.strategy_panel.sim["commission"].setValue(0.1)  # percent in the UI
    window.strategy_panel.sim["risk_free_rate"].setValue(2.0)
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    outcome = blocker.args[0]
    assert cli_main(["run", "--db", str(copy), "--symbol", "ACME", "--timeframe", "1d", "-s", "ema_cross",
                     "-p", "n1=8", "--commission", "0.001", "--risk-free-rate", "0.02", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    got = json.loads(json.dumps(outcome.result.to_json_dict()))
    assert got == expected
    stats_table = window.results_view.stats
    assert stats_table.rowCount() >= len(expected["stats"]) - 2
    assert window.results_view.trades.model().rowCount() == len(expected["trades"])
    assert "ema_cross on ACME 1d" in window.status_label.text()
    n_open = sum(t["is_open"] for t in expected["trades"])
    closed = f"{len(expected['trades'])} trades ({expected['stats']['n_trades']} closed, {n_open} open)"
    all_closed = f"{expected['stats']['n_trades']} trades (all closed)"
    assert (closed if n_open else all_closed) in window.status_label.text()


def test_import_through_the_dialog_and_a_broken_file(qtbot, window, tmp_path):
    good = tmp_path / "NEWCO.csv"
    rows = ["Date,Open,High,Low,Close,Volume"] + [
        f"2024-01-{d:02d},{10 + d},{11 + d},{9 + d},{10.5 + d},1000" for d in range(1, 29)]
    good.write_text("\n".join(rows) + "\n")
    bad = tmp_path / "BROKEN.csv"
    bad.write_text("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10.5\n2024-01-03,10.5,9,10,11\n")

    dialog = window.open_import_dialog()
    qtbot.keyClicks(dialog.path_edit, str(bad))
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "line 3" in dialog.status.text(), timeout=20_000)
    assert "BROKEN.csv" in dialog.status.text() and "'High'" in dialog.status.text()
    assert not dialog.import_button.isEnabled()

    dialog.path_edit.clear()
    qtbot.keyClicks(dialog.path_edit, str(good))
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=WAIT_MS)
    assert "NEWCO 1d, 28 bars" in dialog.preview.toPlainText()
    assert "ts ← Date" in dialog.preview.toPlainText() and "volume ← Volume" in dialog.preview.toPlainText()
    with qtbot.waitSignal(window.controller.import_done, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.data_panel.current() == ("NEWCO", "1d"), timeout=WAIT_MS)
    symbols = [window.data_panel.table.item(r, 0).text() for r in range(window.data_panel.table.rowCount())]
    assert symbols == ["ACME", "GLOBEX", "NEWCO"]


def test_sweep_then_click_a_heatmap_cell_opens_that_run(qtbot, window):
    window.data_panel.select("ACME", "1d")
    window.select_tab("sweep")
    grid = {"n1": [5, 10, 15], "n2": [20, 40, 60]}
    with qtbot.waitSignal(window.controller.sweep_done, timeout=WAIT_MS * 2):
        window.run_sweep(grid, "")
    _, result = window.last_sweep
    assert len(result.rows) == 9 and not result.cancelled
    view = window.sweep_view
    _, xs, ys = view.heatmap_values()
    ix, iy = list(xs).index(10), list(ys).index(60)
    point = view.heatmap_cell_center(ix, iy)
    target = view.childAt(point)
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(view, point))
    outcome = blocker.args[0]
    assert outcome.result.params == {"n1": 10, "n2": 60}
    assert window.tabs.currentWidget() is window.results_view
    row = result.rows.filter((result.rows["n1"] == 10) & (result.rows["n2"] == 60)).row(0, named=True)
    assert math.isclose(row["sharpe_ratio"], outcome.result.stats["sharpe_ratio"], rel_tol=1e-12)


def test_cancel_a_sweep(qtbot, window):
    window.data_panel.select("ACME", "1d")
    grid = {"n1": list(range(2, 60)), "n2": list(range(61, 120))}  # 3,422 combos: far longer than the cancel
    cancelled = []

    def on_progress(p):
        if not cancelled and p.done > 0:
            cancelled.append(p.done)
            qtbot.keyClick(window, Qt.Key.Key_Escape)

    window.controller.sweep_progress.connect(on_progress)
    with qtbot.waitSignal(window.controller.sweep_done, timeout=WAIT_MS * 3):
        window.run_sweep(grid, "")
    _, result = window.last_sweep
    assert cancelled and result.cancelled and 0 < len(result.rows) < result.total
    assert "Sweep cancelled" in window.status_label.text()


def test_reload_shows_a_user_strategy_syntax_error_with_file_and_line(qtbot, window):
    folder = window.controller.strategies_dir
    from pathlib import Path

    (Path(folder) / "broken.py").write_text("from engine.strategies import Strategy\n\nclass X(Strategy)\n")
    qtbot.mouseClick(window.strategy_panel.reload_button, Qt.MouseButton.LeftButton)
    assert window.strategy_panel.errors.isVisible()
    text = window.strategy_panel.errors.text()
    assert "broken.py:3" in text


def test_window_state_persists(qtbot, window, tmp_path):
    window.data_panel.select("GLOBEX", "1d")
    window.strategy_panel.select("macd")
    window.strategy_panel.param_editors["signal"].setValue(7)
    window.save_state()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    state = json.loads(settings.value("strategy_state"))
    assert state["strategy"] == "macd" and state["params"]["signal"] == 7
    assert json.loads(settings.value("dataset")) == ["GLOBEX", "1d"]
