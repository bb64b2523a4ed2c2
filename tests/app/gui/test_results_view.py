"""Results view: chart, stats and trades on real backtests (no mocks), offscreen.

Screenshots land in tests/_artifacts/screens for people to look at.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from PySide6 import QtCore, QtGui

from app.gui.views.candles import MinMaxIndex, OhlcPyramid, level_for
from app.gui.views.chart_view import BarDateAxis, ChartView
from app.gui.views.results_view import ResultsView, default_indicators
from app.gui.views.stats_table import StatsTable, format_stat
from app.gui.views.trades_table import PRIORITY
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars, generate_bars

PARAMS = {"n1": 10, "n2": 30}


@pytest.fixture(scope="module")
def minute_result():
    return run_backtest(generate_bars("BTCX", 1_000_000, "1m"), "sma_cross", PARAMS, SimConfig())


def shown(qtbot, widget, height=800):
    """`widget` at 1280 x `height`, shown and exposed, closed with the test."""
    qtbot.addWidget(widget)
    widget.resize(1280, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def view(qtbot, daily_result):
    v = shown(qtbot, ResultsView())
    v.show_result(daily_result)
    return v


def _column(table, name: str) -> int:
    return table.trades_model.frame.columns.index(name)


def test_stats_table_shows_every_stat_key_readably(view, daily_result):
    stats = view.stats
    assert stats.rowCount() == len(daily_result.stats)
    for key in daily_result.stats:
        assert stats.value_text(key), key
    labels = [stats.item(r, 0).text() for r in range(stats.rowCount())]
    assert "Sharpe Ratio" in labels and "Max. Drawdown [%]" in labels and "Kelly Criterion" in labels
    assert stats.value_text("duration").endswith(" days")
    assert stats.value_text("max_drawdown_pct") == f"{daily_result.stats['max_drawdown_pct']:.2f}"
    assert stats.value_text("equity_final") == f"{daily_result.stats['equity_final']:,.2f}"


def test_stats_nan_is_a_dash_and_infinity_a_symbol(qtbot):
    table = StatsTable()
    qtbot.addWidget(table)
    table.set_stats({"sharpe_ratio": math.nan, "profit_factor": math.inf, "sqn": None})
    assert [table.value_text(k) for k in ("sharpe_ratio", "profit_factor", "sqn")] == ["—", "∞", "—"]
    assert format_stat("max_trade_duration", 123.0) == "123 days"
    assert format_stat("avg_trade_duration", 1.0) == "1 day" and format_stat("duration", 0.25) == "0.25 days"


def test_trades_table_has_one_row_per_trade_and_the_caption_counts_closed_and_open(view, daily_result):
    trades = daily_result.trades
    assert view.trades.model().rowCount() == len(trades)
    n_open = int(trades["is_open"].sum())
    assert n_open == 1 and daily_result.stats["n_trades"] == len(trades) - 1  # docs/stats.md, "Trade counts"
    assert f"{len(trades)} trades ({len(trades) - 1} closed, 1 open)" in view.title.text()


def test_sorting_by_pnl_is_numeric(view, daily_result):
    table, col = view.trades, _column(view.trades, "pnl")
    model = table.model()
    pnl = daily_result.trades["pnl"]
    table.sortByColumn(col, QtCore.Qt.SortOrder.AscendingOrder)
    first = model.index(0, col).data(QtCore.Qt.ItemDataRole.UserRole)
    last = model.index(model.rowCount() - 1, col).data(QtCore.Qt.ItemDataRole.UserRole)
    assert (first, last) == (pnl.min(), pnl.max())
    shown = [model.index(r, col).data(QtCore.Qt.ItemDataRole.UserRole) for r in range(model.rowCount())]
    assert shown == sorted(shown)
    table.sortByColumn(col, QtCore.Qt.SortOrder.DescendingOrder)
    assert model.index(0, col).data(QtCore.Qt.ItemDataRole.UserRole) == pnl.max()
    # Text order would put "+1,000.00" before "+9.00": the displayed strings are not what is sorted.
    assert model.index(0, col).data() == f"{pnl.max():+,.2f}"


def test_open_trade_is_italic_and_marked_open(view, daily_result):
    trades = daily_result.trades
    assert trades["is_open"].any(), "the demo run should end with an open trade"
    model, status = view.trades.model(), _column(view.trades, "is_open")
    rows = [r for r in range(model.rowCount()) if model.index(r, status).data() == "open"]
    assert len(rows) == int(trades["is_open"].sum())
    font = model.index(rows[0], 0).data(QtCore.Qt.ItemDataRole.FontRole)
    assert font is not None and font.italic()
    pnl_color = model.index(rows[0], _column(view.trades, "pnl")).data(QtCore.Qt.ItemDataRole.ForegroundRole)
    assert pnl_color is not None


def test_double_clicking_a_trade_zooms_the_chart_to_it(qtbot, view, daily_result):
    table = view.trades
    table.sortByColumn(0, QtCore.Qt.SortOrder.AscendingOrder)
    row = 5
    index = table.model().index(row, 2)
    table.scrollTo(index)
    entry_bar, exit_bar = table.trades_model.trade_bars(row)
    center = table.visualRect(index).center()
    assert table.viewport().rect().contains(center)
    with qtbot.waitSignal(table.trade_activated, timeout=2000) as signal:
        # a person's double-click: press/release, then the double-click event (item views need both)
        qtbot.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=center)
        qtbot.mouseDClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=center)
    assert signal.args == [entry_bar, exit_bar]
    x0, x1 = view.chart.x_range()
    assert x0 <= entry_bar and exit_bar <= x1
    assert x1 - x0 < len(daily_result.bars) / 4  # zoomed in, not the whole history
    assert view.chart.candle_level == 0


def test_export_csv_round_trips(view, daily_result, tmp_path):
    path = view.export_trades_csv(tmp_path / "trades.csv")
    back = pl.read_csv(path, try_parse_dates=True)
    trades = daily_result.trades
    assert back.shape == trades.shape
    assert back.columns == trades.columns
    assert back["entry_bar"].to_list() == trades["entry_bar"].to_list()
    np.testing.assert_allclose(back["pnl"].to_numpy(), trades["pnl"].to_numpy(), rtol=1e-12)
    assert back["is_open"].to_list() == trades["is_open"].to_list()


def test_export_png_writes_a_sensible_image(view, tmp_path):
    path = view.export_chart_png(tmp_path / "chart.png")
    assert path.stat().st_size > 10_000
    image = QtGui.QImage(str(path))
    assert image.width() >= 1000 and image.height() >= 300
    assert (image.width(), image.height()) == (view.chart.width(), view.chart.height())


def test_crosshair_readout_names_the_bar(view, daily_result):
    bars = daily_result.bars
    text = view.chart.show_crosshair_at(100)
    day = str(bars.times()[100])[:10]
    assert day in text and f"C {bars.close[100]:,.2f}" in text and "Equity" in text
    assert "bar 100" in view.chart.show_crosshair_at(100, y=30.0, pane=0)
    assert "bar 5039" in view.chart.show_crosshair_at(10**9)  # clamped to the data


def test_showing_twice_does_not_pile_up_lines(view, daily_result):
    view.show_result(daily_result)
    assert len(view.chart._indicator_items) == len(default_indicators(daily_result)) == 2


def test_screenshot_daily(view, screenshot_dir):
    view.chart.focus_trade(*view.trades.trades_model.trade_bars(0))
    view.chart.price_plot.setXRange(-0.5, len(view.result.bars) - 0.5, padding=0.01)
    assert view.grab().save(str(screenshot_dir / "results_view_daily.png"))


def test_chart_level_of_detail_on_a_million_bars(qtbot, minute_result):
    chart = shown(qtbot, ChartView(), 600)
    chart.set_result(minute_result)
    qtbot.wait(10)
    assert chart.candle_level > 0 and not chart.trade_markers_visible  # aggregated, markers hidden
    full_level = chart.candle_level

    chart.price_plot.setXRange(500_000, 500_200, padding=0)
    qtbot.wait(10)
    assert chart.candle_level == 0 and chart.candles.bars_per_candle == 1
    assert chart.trade_markers_visible
    bars = minute_result.bars
    (y0, y1) = chart.price_plot.vb.viewRange()[1]
    assert y0 <= bars.low[500_000:500_201].min() and bars.high[500_000:500_201].max() <= y1

    chart.price_plot.setXRange(0, len(bars), padding=0)
    qtbot.wait(10)
    assert chart.candle_level == full_level and not chart.trade_markers_visible


def test_paint_records_only_the_visible_chunks(qtbot, minute_result):
    """Bug: the candle item's paint read a stale cached view rect (the whole data), so every frame
    of a 200-bar view recorded and replayed all ~2,000 chunk pictures (3 s a frame)."""
    chart = shown(qtbot, ChartView(), 600)
    chart.set_result(minute_result)
    for x in (500_000, 700_000):
        before = chart.candles.pictures_built
        chart.price_plot.setXRange(x, x + 200, padding=0)
        qtbot.wait(20)  # paints
        assert 1 <= chart.candles.pictures_built - before <= 2  # painted, and only what is in view


def test_screenshot_million_minute_bars_zoomed_in(qtbot, minute_result, screenshot_dir):
    v = shown(qtbot, ResultsView())
    v.show_result(minute_result)
    v.chart.focus_trade(*v.trades.trades_model.trade_bars(9_000))
    qtbot.wait(10)
    assert v.chart.candle_level == 0
    assert v.grab().save(str(screenshot_dir / "results_view_1m_zoomed.png"))


def test_date_axis_ticks_on_calendar_boundaries(qtbot, daily_result):
    axis = BarDateAxis()
    ts_s = daily_result.bars.ts // 1_000_000_000
    axis.set_timestamps(ts_s)
    (_, ticks), = axis.tickValues(0, len(ts_s) - 1, 1200)
    labels = axis.tickStrings(ticks, 1.0, 1.0)
    assert 3 <= len(labels) <= 12 and all(len(s) == 4 and s.isdigit() for s in labels)  # years
    (_, ticks), = axis.tickValues(100, 160, 1200)
    assert all(len(s) == 10 for s in axis.tickStrings(ticks, 1.0, 1.0))  # days
    assert axis.tickStrings([-5.0, 10**7], 1.0, 1.0) == ["", ""]


def test_pyramids_match_brute_force():
    rng = np.random.default_rng(7)
    n = 10_001
    low = rng.normal(size=n)
    high = low + rng.random(n)
    open_, close = low + 0.1, high - 0.1
    pyramid = OhlcPyramid(open_, high, low, close)
    index = MinMaxIndex(np.where(rng.random(n) < 0.01, np.nan, close))
    o1, h1, l1, c1 = pyramid.levels[1]
    assert (o1[3], h1[3], l1[3], c1[3]) == (open_[6], max(high[6:8]), min(low[6:8]), close[7])
    assert pyramid.levels[-1][1][0] == high.max() and len(pyramid.levels[-1][0]) == 1
    assert pyramid.low_high(0, n) == (low.min(), high.max())
    assert pyramid.low_high(5, 6) == (low[5], high[5])
    for start, stop in [(17, 4_000), (9_990, n), (3, 9_000)]:
        # cut buckets count whole: never narrower than the truth, at most one bucket wider each side
        lo, hi = pyramid.low_high(start, stop)
        assert lo <= low[start:stop].min() and hi >= high[start:stop].max()
        assert lo >= low[max(0, start - 8):stop + 8].min()
        lo, hi = index.min_max(start, stop)
        assert lo <= np.nanmin(close[start:stop]) and hi >= np.nanmax(close[start:stop])
    assert index.min_max(100, 50) is None
    assert level_for(200, 1200) == 0 and level_for(1_000_000, 1200) >= 10


def test_a_compat_preset_shows_the_peers_own_table_beside_ours(qtbot, screenshot_dir):
    """Under --compat backtesting the app shows backtesting.py's stats, under its names and order, with the
    values `run --json` gives as peer_stats; without a preset the tab is gone."""
    from engine.compat import peer_stats

    bars = demo_bars("ACME")
    result = run_backtest(bars, "sma_cross", PARAMS, SimConfig.preset("backtesting", commission=0.002))
    v = shown(qtbot, ResultsView())
    v.show_result(result)
    tabs = v.stats_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Stats", "backtesting.py"]
    assert tabs.currentWidget() is v.peer_stats
    table = peer_stats(result)
    keys = [v.peer_stats.item(r, 0).text() for r in range(v.peer_stats.rowCount())]
    assert keys == list(table) and "Sharpe Ratio" in keys and "# Trades" in keys
    row = keys.index("# Trades")
    assert v.peer_stats.item(row, 1).text() == f"{table['# Trades']:,.0f}"
    qtbot.wait(50)
    assert v.grab().save(str(screenshot_dir / "results_compat_backtesting.png"))
    v.show_result(run_backtest(bars, "sma_cross", PARAMS, SimConfig()))
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Stats"]
    v.show_result(run_backtest(bars, "sma_cross", PARAMS, SimConfig.preset("vectorbt")))
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Stats", "vectorbt"]
    assert v.peer_stats.rowCount() == len(peer_stats(v.result))


def test_before_the_first_run_the_results_say_what_to_do(qtbot, screenshot_dir, daily_result):
    """The empty state: a hint naming the Run and Import shortcuts, not empty axes; gone once a result is
    shown, back after clear()."""
    v = shown(qtbot, ResultsView())
    assert v.chart_stack.currentWidget() is v.empty_hint and v.empty_hint.isVisible()
    assert "Run (Ctrl+R)" in v.empty_hint.text() and "Ctrl+I" in v.empty_hint.text()
    assert v.grab().save(str(screenshot_dir / "results_empty.png"))
    v.show_result(daily_result)
    assert v.chart_stack.currentWidget() is v.chart and not v.empty_hint.isVisible()
    v.clear()
    assert v.chart_stack.currentWidget() is v.empty_hint


@pytest.mark.parametrize("width", [918, 1078])  # the Results tab at 1280x800 and at 1440x900
def test_the_trades_table_shows_what_fits_and_never_scrolls_sideways(qtbot, daily_result, width):
    view = shown(qtbot, ResultsView())
    view.resize(width, 700)
    view.show_result(daily_result)
    table = view.trades
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() == 0)
    visible = [c for i, c in enumerate(table.trades.columns) if not table.isColumnHidden(i)]
    assert set(visible) == set(PRIORITY[:len(visible)])  # the most read columns, whatever the frame's order
    assert {"entry_time", "exit_time", "side", "return_pct"} <= set(visible)
    assert table.hidden_titles and table.hidden_titles[0] in table.horizontalHeader().toolTip()
    view.splitter.widget(1).setSizes([200, width - 200])  # a person drags the stats | trades divider left
    qtbot.waitUntil(lambda: len([i for i in range(len(table.trades.columns)) if not table.isColumnHidden(i)])
                    > len(visible))
    assert table.horizontalScrollBar().maximum() == 0
