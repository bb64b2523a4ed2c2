"""Every view with nothing in it says what to do next; a failed run says why where its result would be.

(The Results and Sweep tabs' own empty states: test_results_view.py and test_sweep_view.py; the same states in
a real window, with screenshots: xcb_scenarios.py.)
"""

import pytest
from PySide6.QtCore import QSettings, Qt

from app.gui.panels.data_panel import DataPanel
from app.gui.views import results_view as rv
from app.gui.views.bench_view import BenchView
from app.gui.views.dashboard import Dashboard
from app.gui.views.sweep_view import SweepView
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars, generate_bars


def shown(qtbot, widget, size=(1000, 700)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    with qtbot.waitExposed(widget):
        widget.show()
    return widget


def test_an_empty_dataset_list_offers_import_and_the_demo(qtbot):
    panel = shown(qtbot, DataPanel(), (330, 400))
    panel.set_datasets([])
    assert panel.stack.currentWidget() is panel.empty_hint
    text = panel.empty_hint.text()
    assert "No datasets in the store" in text and "Import your bars (Ctrl+I)" in text
    assert panel.demo_button.isVisible() and not panel.delete_button.isEnabled()
    with qtbot.waitSignal(panel.demo_requested, timeout=1000):
        qtbot.mouseClick(panel.demo_button, Qt.MouseButton.LeftButton)
    assert not panel.demo_button.isEnabled()  # until the list comes back
    panel.set_datasets([{"symbol": "ACME", "timeframe": "1d", "rows": 10, "first_ts": None, "last_ts": None}])
    assert panel.stack.currentWidget() is panel.table and not panel.demo_button.isVisible()


def test_before_a_result_the_stats_and_trades_say_what_will_fill_them(qtbot):
    view = shown(qtbot, rv.ResultsView())
    assert view.stats_hint.isVisible() and view.stats_hint.text() == rv.STATS_HINT
    assert view.trades_hint.isVisible() and "double-click a trade" in view.trades_hint.text()
    view.set_has_data(False)
    assert "No data yet" in view.empty_hint.text() and "Load demo data" in view.empty_hint.text()
    view.set_has_data(True)
    assert view.empty_hint.text() == rv.EMPTY_HINT
    view.show_result(run_backtest(demo_bars("ACME"), "sma_cross", {"n1": 10, "n2": 30}, SimConfig()))
    assert not view.stats_hint.isVisible() and not view.trades_hint.isVisible()


def test_a_run_without_trades_says_so(qtbot):
    view = shown(qtbot, rv.ResultsView())
    result = run_backtest(generate_bars("FLAT", 120, "1d"), "sma_cross", {"n1": 10, "n2": 200}, SimConfig())
    assert result.trades.height == 0
    view.show_result(result)
    assert view.trades_hint.isVisible() and view.trades_hint.text() == rv.NO_TRADES_HINT


def test_a_failed_run_shows_its_error_where_the_chart_was(qtbot):
    view = shown(qtbot, rv.ResultsView())
    view.show_result(run_backtest(demo_bars("ACME"), "sma_cross", {"n1": 10, "n2": 30}, SimConfig()))
    view.show_error("backtest failed: ValueError: <no vwap>")
    assert view.chart_stack.currentWidget() is view.error_page and view.error_page.isVisible()
    assert "The backtest failed." in view.error_page.text() and "<no vwap>" in view.error_page.text()
    assert view.result is None and view.stats.rowCount() == 0 and view.stats_hint.isVisible()
    assert "Run failed" in view.title.text() and "&lt;no vwap&gt;" in view.title.text()


def test_a_failed_sweep_shows_its_error_where_the_heatmap_goes(qtbot):
    from engine.strategies import get_strategy

    view = shown(qtbot, SweepView())
    view.set_strategy(get_strategy("sma_cross"))
    assert view.table_hint.isVisible() and "The best runs appear here after a sweep" in view.table_hint.text()
    view.set_running(True)
    view.show_error("sweep failed: no bars")
    assert view.results_stack.currentWidget() is view.error_page
    assert "The sweep failed." in view.error_page.text() and "no bars" in view.error_page.text()
    assert view.sweep_button.isEnabled() and not view.cancel_button.isEnabled()


def test_the_dashboard_says_what_moves_when(qtbot):
    dash = shown(qtbot, Dashboard(hz=5))
    assert dash.empty_hint.isVisible() and "stage bars fill after a backtest (Ctrl+R)" in dash.empty_hint.text()
    dash.set_stages({"load": 1.0, "signals": 2.0, "simulate": 3.0, "stats": 1.0})
    assert not dash.empty_hint.isVisible()
    # the detection thread emits on the dashboard: deleting it first hung or crashed the next test (1 run in 5)
    qtbot.waitUntil(lambda: dash.hardware is not None, timeout=20_000)
    dash.stop()


@pytest.fixture
def no_files_settings(tmp_path):
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


def test_benchmarks_without_files_say_how_to_make_one(qtbot, no_files_settings):
    view = shown(qtbot, BenchView(no_files_settings, baselines_dir=None))
    assert view.files == [] and view.empty_hint.isVisible()
    assert "python -m benchmarks run --out results.json" in view.empty_hint.text()
