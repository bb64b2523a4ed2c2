"""Results view with real widgets and a real backtest: stats, sortable trades, double-click to a trade,
exports, and a million-bar chart switching between aggregated and real candles."""

import numpy as np
import polars as pl
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.gui.views.results_view import ResultsView
from engine.backtest import run_backtest
from engine.data.demo import demo_bars, generate_bars
from engine.strategies import get_strategy


def _show(qtbot, bars, params=None):
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    result = run_backtest(bars, "sma_cross", params or {"n1": 10, "n2": 30})
    view.show_result(result, get_strategy("sma_cross").indicators(bars, **result.params))
    qtbot.wait(50)
    return view, result


def test_stats_trades_sorting_and_double_click(qtbot, tmp_path, screenshot_dir):
    view, result = _show(qtbot, demo_bars("ACME"))
    shown = {view.stats.item(r, 0).text() for r in range(view.stats.rowCount())}
    assert view.stats.rowCount() >= len(result.stats) - 2 and "Sharpe ratio" in " ".join(shown)
    table = view.trades
    model = table.model()
    assert model.rowCount() == len(result.trades)

    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    pnl_col = headers.index("P&L")
    table.sortByColumn(pnl_col, Qt.SortOrder.AscendingOrder)
    first = model.source_row(0)
    last = model.source_row(model.rowCount() - 1)
    pnl = result.trades["pnl"].to_numpy()
    assert pnl[first] == pnl.min() and pnl[last] == pnl.max()  # numeric, not text, order

    row = 2
    entry, exit_ = model.trade_bars(row)
    table.scrollTo(model.index(row, 0))
    rect = table.visualRect(model.index(row, 0))
    assert table.viewport().rect().contains(rect.center())
    # a person's double-click: press/release, then the double-click event (item views need both)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    x0, x1 = view.chart.x_range()
    assert x0 <= entry and exit_ <= x1 and (x1 - x0) < len(result.bars) / 4

    csv = view.export_trades_csv(tmp_path / "trades.csv")
    back = pl.read_csv(csv)
    assert len(back) == len(result.trades)
    np.testing.assert_allclose(np.sort(back["pnl"].to_numpy()), np.sort(pnl))
    png = view.export_chart_png(tmp_path / "chart.png")
    image = QImage(str(png))
    assert image.width() >= 600 and image.height() >= 300
    view.grab().save(str(screenshot_dir / "results_view_daily.png"))


def test_million_bars_switch_between_aggregated_and_real_candles(qtbot, screenshot_dir):
    bars = generate_bars("BTCX", 1_000_000, "1m")
    view, result = _show(qtbot, bars, {"n1": 50, "n2": 200})
    chart = view.chart
    chart.price_plot.setXRange(0, len(bars), padding=0)
    qtbot.wait(20)
    assert chart.candle_level > 0  # far more bars than pixels: aggregated candles
    chart.price_plot.setXRange(500_000, 500_200, padding=0)
    qtbot.wait(20)
    assert chart.candle_level == 0  # zoomed in: one candle per bar
    view.grab().save(str(screenshot_dir / "results_view_1m_zoomed.png"))
    chart.price_plot.setXRange(0, len(bars), padding=0)
    qtbot.wait(20)
    assert chart.candle_level > 0
