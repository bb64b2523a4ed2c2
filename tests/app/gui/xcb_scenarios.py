"""The real-window tier: the app in a real X11 window (Xvfb, Qt's xcb platform), used as a person uses it.

Not collected by the normal run (the name does not start with test_): tests/app/gui/test_real_window.py
runs this file in a child pytest with QT_QPA_PLATFORM=xcb, where pytest-xvfb starts Xvfb (one process can
have one Qt platform, and the suite's is offscreen). By hand:

    QT_QPA_PLATFORM=xcb .venv/bin/python -m pytest -q tests/app/gui/xcb_scenarios.py

Screenshots go to $BACKBENCH_SCREENS_DIR (default tests/_artifacts/screens/xcb); with
BACKBENCH_SCREENS_DIR=docs/images this run makes the docs' empty-state pictures.
"""

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.gui.app import create_app
from app.gui.controller import Controller
from app.gui.main_window import MainWindow
from app.workbench import Workbench

WAIT_MS = 120_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "_artifacts" / "screens" / "xcb"
SCREENS = Path(os.environ.get("BACKBENCH_SCREENS_DIR") or ARTIFACTS)


def screenshot(window, name: str, docs: bool = True) -> Path:
    """Save `window` as `name` in SCREENS (the docs' pictures), or in the artifacts folder only (`docs` False)."""
    QApplication.processEvents()
    return window.screenshot((SCREENS if docs else ARTIFACTS) / name)


@pytest.fixture
def open_window(qtbot, tmp_path, monkeypatch):
    """Opens main windows on `store` (a path; a missing file is an empty store) with one settings file per test."""
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    create_app()
    strategies = tmp_path / "strategies"
    strategies.mkdir(exist_ok=True)
    windows = []

    def open_(store: Path, size: tuple[int, int] | None = (1280, 800), demo: bool = False,
              tour: bool = False) -> MainWindow:
        controller = Controller(Workbench.from_values({"store.path": str(store), "strategies.dir": str(strategies),
                                                     "workers.count": 2}, use_cache=False))
        win = MainWindow(controller, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), tour=tour)
        qtbot.addWidget(win)
        if size:
            win.resize(*size)
        with qtbot.waitExposed(win):
            win.show()
        with qtbot.waitActive(win):  # no window manager under Xvfb: the window asks for the focus itself
            win.activateWindow()
        windows.append(win)
        if demo:
            with qtbot.waitSignal(controller.datasets_changed, timeout=WAIT_MS):
                controller.start(warm_pool=False)
        else:
            controller.refresh_datasets()
        return win

    yield open_
    for win in windows:
        win.close()


def click(qtbot, widget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_launch_opens_a_real_x11_window_that_guides(qtbot, open_window, store_path):
    window = open_window(store_path)
    assert QApplication.platformName() == "xcb"
    assert window.windowHandle().isExposed() and window.winId()
    assert window.results_view.chart_stack.currentWidget() is window.results_view.empty_hint
    assert "Ctrl+R" in window.results_view.empty_hint.text()
    screenshot(window, "results_empty.png")
    window.select_tab("sweep")
    assert "Press Sweep" in window.sweep_view.empty_hint.text()
    top_runs = window.sweep_view.table_hint
    assert "The best runs appear here" in top_runs.text() and top_runs.isVisible()
    screenshot(window, "sweep_empty.png")
    window.select_tab("dashboard")
    assert window.dashboard.empty_hint.isVisible() and "Ctrl+R" in window.dashboard.empty_hint.text()
    screenshot(window, "dashboard_empty.png")
    window.select_tab("benchmarks")
    bench = window.bench_tab.widget()
    qtbot.waitUntil(lambda: bench.history.rowCount() > 0)  # the committed baseline
    bench.history.selectAll()
    click(qtbot, bench.remove_button)  # a person takes every file off the list
    assert bench.files == [] and bench.empty_hint.isVisible()
    assert "python -m benchmarks run --out results.json" in bench.empty_hint.text()
    screenshot(window, "benchmarks_empty.png")


def test_run_by_clicking_the_toolbar_button(qtbot, open_window, store_path):
    window = open_window(store_path)
    window.data_panel.select("ACME", "1d")
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        click(qtbot, window.toolbar.widgetForAction(window.run_action))
    assert done.args[0].request.symbol == "ACME"
    assert window.results_view.chart_stack.currentWidget() is window.results_view.chart
    assert window.results_view.trades.model().rowCount() == len(done.args[0].result.trades)


def test_sweep_then_a_heatmap_click_opens_that_run(qtbot, open_window, store_path):
    window = open_window(store_path)
    window.data_panel.select("ACME", "1d")
    window.select_tab("sweep")
    view = window.sweep_view
    view.update_count()
    with qtbot.waitSignal(window.controller.sweep_done, timeout=WAIT_MS * 2):
        click(qtbot, view.sweep_button)
    assert view.results_stack.currentWidget() is view.results
    qtbot.waitUntil(lambda: view.table.horizontalScrollBar().maximum() == 0)  # the top runs fit their column
    assert not view.table.isColumnHidden(0) and not view.table.isColumnHidden(3)  # rank, n1, n2, the metric
    _, result = window.last_sweep
    z, xs, ys = view.heatmap_values()
    point = view.heatmap_cell_center(1, 1)
    target = view.childAt(point)
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(view, point))
    params = done.args[0].result.params
    assert (params["n1"], params["n2"]) == (xs[1], ys[1])
    assert window.tabs.currentWidget() is window.results_view
    assert len(result.rows) == result.total > 1


def test_import_through_the_dialog(qtbot, open_window, store_path, tmp_path):
    window = open_window(store_path)
    csv = tmp_path / "NEWCO.csv"
    csv.write_text("Date,Open,High,Low,Close,Volume\n" + "".join(
        f"2024-02-{d:02d},{10 + d},{11 + d},{9 + d},{10.5 + d},1000\n" for d in range(1, 29)))
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "import_dialog", None) is not None and window.import_dialog.isVisible())
    dialog = window.import_dialog
    qtbot.waitUntil(lambda: dialog.windowHandle() is not None and dialog.windowHandle().isExposed())
    qtbot.keyClicks(dialog.path_edit, str(csv))
    click(qtbot, dialog.preview_button)
    qtbot.waitUntil(dialog.import_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(window.controller.import_done, timeout=WAIT_MS):
        click(qtbot, dialog.import_button)
    qtbot.waitUntil(lambda: window.data_panel.current() == ("NEWCO", "1d"), timeout=WAIT_MS)


def test_close_saves_and_a_new_window_restores_the_last_selection(qtbot, open_window, store_path):
    window = open_window(store_path, size=(1440, 900))
    window.data_panel.select("GLOBEX", "1d")
    window.strategy_panel.select("macd")
    window.strategy_panel.param_editors["signal"].setValue(7)
    window.select_tab("dashboard")
    window.close()  # what the title bar's close button does
    assert not window.isVisible() and window.controller._closed
    again = open_window(store_path, size=None)
    qtbot.waitUntil(lambda: again.data_panel.current() is not None, timeout=WAIT_MS)
    assert again.data_panel.current() == ("GLOBEX", "1d")
    assert again.strategy_panel.strategy().name == "macd" and again.strategy_panel.params()["signal"] == 7
    assert again.tabs.currentWidget() is again.dashboard
    assert (again.width(), again.height()) == (1440, 900)


BROKEN_STRATEGY = '''
from engine.strategies import Param, Strategy


class NeedsVwap(Strategy):
    name = "needs_vwap"
    version = 1
    description = "reads a column the bars do not have"
    params = (Param("n", int, 10, 2, 50, 1),)

    def signals(self, bars, **params):
        raise ValueError("these bars have no 'vwap' column")
'''


def test_an_empty_store_says_import_or_load_the_demo(qtbot, open_window, tmp_path):
    window = open_window(tmp_path / "new" / "bars.duckdb")
    panel = window.data_panel
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.empty_hint)
    assert "No datasets" in panel.empty_hint.text() and "Ctrl+I" in panel.empty_hint.text()
    assert panel.demo_button.isVisible() and "No data yet" in window.results_view.empty_hint.text()
    screenshot(window, "data_empty.png")
    with qtbot.waitSignal(window.controller.datasets_changed, timeout=WAIT_MS,
                          check_params_cb=lambda datasets: len(datasets) > 0):
        click(qtbot, panel.demo_button)
    assert panel.stack.currentWidget() is panel.table and not panel.demo_button.isVisible()
    assert "No backtest yet" in window.results_view.empty_hint.text()
    qtbot.wait(50)
    assert panel.table.rowCount() == 7 and panel.table.horizontalScrollBar().maximum() == 0  # dates not cut


def test_a_failed_run_says_why_in_the_results_area(qtbot, open_window, store_path):
    window = open_window(store_path)
    (window.controller.strategies_dir / "needs_vwap.py").write_text(BROKEN_STRATEGY)
    click(qtbot, window.strategy_panel.reload_button)
    window.strategy_panel.select("needs_vwap")
    window.data_panel.select("ACME", "1d")
    with qtbot.waitSignal(window.controller.backtest_failed, timeout=WAIT_MS):
        click(qtbot, window.toolbar.widgetForAction(window.run_action))
    view = window.results_view
    assert view.chart_stack.currentWidget() is view.error_page and view.error_page.isVisible()
    assert "The backtest failed" in view.error_page.text() and "no 'vwap' column" in view.error_page.text()
    assert "Run failed" in view.title.text()
    screenshot(window, "run_failed.png")


def test_the_first_run_tour_points_at_each_part_once(qtbot, open_window, store_path):
    window = open_window(store_path, tour=True)
    qtbot.waitUntil(lambda: window.tour is not None and window.tour.isVisible())
    tour = window.tour
    titles = []
    for _ in tour.steps:
        titles.append(tour.title.text())
        target = tour.target()
        assert window.rect().contains(target.center()) and not tour.bubble.geometry().contains(target.center())
        if len(titles) == 1:
            screenshot(window, "tour.png")
        click(qtbot, tour.next_button)
    assert titles == ["Data", "Strategy", "Run", "Sweep", "Dashboard"]
    assert not tour.isVisible()
    window.close()
    again = open_window(store_path, tour=True)
    qtbot.wait(200)
    assert again.tour is None  # seen: not shown again
    again.help_actions["tour"].trigger()  # Help > Show the tour
    assert again.tour is not None and again.tour.isVisible()
    qtbot.keyClick(again.tour.next_button, Qt.Key.Key_Return)  # Enter moves on
    assert again.tour.title.text() == "Strategy"
    qtbot.keyClick(again.tour, Qt.Key.Key_Escape)
    assert not again.tour.isVisible()


def test_help_lists_the_keyboard_shortcuts(qtbot, open_window, store_path):
    window = open_window(store_path)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "shortcuts_dialog", None) is not None
                    and window.shortcuts_dialog.isVisible())
    text = window.shortcuts_dialog.table.text()
    for keys, what in (("Ctrl+R", "Run"), ("Ctrl+I", "Import"), ("Esc", "Cancel"), ("F1", "Keyboard shortcuts")):
        assert keys in text and what in text, (keys, text)
    assert [a.text() for a in window.menuBar().actions()] == ["&Help"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert window.shortcuts_dialog.grab().save(str(ARTIFACTS / "shortcuts.png"))


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)])
def test_nothing_to_read_needs_horizontal_scrolling(qtbot, open_window, store_path, tmp_path, size):
    import shutil

    from app.resources import baselines_dir

    window = open_window(store_path, size=size)
    panel = window.strategy_panel
    assert panel.minimumSizeHint().width() <= window.strategy_scroll.viewport().width()
    qtbot.waitUntil(lambda: window.data_panel.current() is not None)
    assert window.data_panel.table.horizontalScrollBar().maximum() == 0
    window.select_tab("benchmarks")
    bench = window.bench_tab.widget()
    baseline = next(baselines_dir().glob("*.json"))
    bench.open_files([shutil.copy(baseline, tmp_path / "later.json")])  # a comparison: the widest figures table
    qtbot.wait(100)
    assert bench.against is not None
    for table in (bench.history, bench.figures):
        assert table.horizontalScrollBar().maximum() == 0, (type(table).__name__, size)
    screenshot(window, f"benchmarks_{size[0]}.png", docs=False)
