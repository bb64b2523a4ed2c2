"""The Portfolio tab used as a person uses it: symbols ticked, options set, Run clicked, a real background
portfolio run; what it shows equals the engine's run_portfolio; a trade's double-click opens that symbol's
chart at it."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.gui.views.portfolio_view import EMPTY_HINT, PortfolioView
from engine.portfolio import PortfolioConfig, run_portfolio
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 (the fixture)


def test_empty_state_says_what_to_do(qtbot, screenshot_dir):
    view = PortfolioView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    assert view.stack.currentWidget() is view.empty_hint and view.empty_hint.text() == EMPTY_HINT
    assert "Tick two or more symbols" in EMPTY_HINT
    view.grab().save(str(screenshot_dir / "portfolio_empty.png"))


def test_run_a_portfolio_and_open_a_trade(qtbot, window, screenshot_dir):  # noqa: F811
    window.data_panel.select("ACME", "1d")
    window.strategy_panel.select("sma_cross")
    window.select_tab("portfolio")
    view = window.portfolio_view
    assert view.chosen_symbols() == ["ACME", "GLOBEX"]  # the stored daily symbols, ticked
    view.sizing.setCurrentIndex(view.sizing.findData("percent"))
    view.size_spin.setValue(0.4)
    view.max_positions.setValue(2)
    view.rebalance.setCurrentIndex(view.rebalance.findData("1M"))
    with qtbot.waitSignal(window.controller.portfolio_done, timeout=WAIT_MS) as done:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    result = done.args[0]
    assert view.stack.currentWidget() is view.content
    datasets = [window.controller.bars(s, "1d") for s in ("ACME", "GLOBEX")]
    want = run_portfolio(datasets, "sma_cross", window.strategy_panel.params(),
                         PortfolioConfig(sizing="percent", size=0.4, max_positions=2, rebalance="1M"))
    np.testing.assert_array_equal(result.equity, want.equity)
    assert result.stats == want.stats
    assert view.trades.rowCount() == len(want.trade_records) and view.per_symbol.rowCount() == 2
    # the allocation: one stacked band per symbol, its top equal to the equity once the cash is added
    names = [c.name() for c in view.allocation.getPlotItem().listDataItems() if c.name()]
    assert names == ["ACME", "GLOBEX", "equity (with cash)"]
    fills = [i for i in view.allocation.getPlotItem().items if isinstance(i, pg.FillBetweenItem)]
    assert len(fills) == 2
    top = next(c for c in view.allocation.getPlotItem().listDataItems() if c.name() == "equity (with cash)")
    np.testing.assert_allclose(top.getData()[1], result.equity, rtol=1e-12)
    assert "one cash balance" in view.summary.text() and f"{result.stats['return_pct']:.2f} %" in view.summary.text()
    view.charts.setCurrentIndex(1)
    window.grab().save(str(screenshot_dir / "portfolio.png"))
    # double-click a GLOBEX trade: GLOBEX's own chart, zoomed to it
    row = next(r for r in range(view.trades.rowCount()) if view.trades.item(r, 0).text() == "GLOBEX")
    rec = result.trade_records[row]
    item = view.trades.item(row, 0)
    view.trades.scrollToItem(item)
    where = view.trades.visualItemRect(item).center()
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as opened:
        qtbot.mouseClick(view.trades.viewport(), Qt.MouseButton.LeftButton, pos=where)  # a double-click: press,
        qtbot.mouseDClick(view.trades.viewport(), Qt.MouseButton.LeftButton, pos=where)  # release, press again
    assert opened.args[0].request.symbol == "GLOBEX" and window.tabs.currentWidget() is window.results_view
    bars = opened.args[0].result.bars
    first = int(np.searchsorted(bars.ts, result.ts[rec["entry_bar"]]))
    lo, hi = window.results_view.chart.x_range()
    assert lo <= first <= hi and hi - lo < len(bars) / 2  # zoomed to the trade, not the whole history


def test_one_symbol_is_refused_with_a_line(qtbot, window):  # noqa: F811
    window.select_tab("portfolio")
    view = window.portfolio_view
    view.symbols.item(1).setCheckState(Qt.CheckState.Unchecked)
    with qtbot.waitSignal(window.controller.portfolio_failed, timeout=WAIT_MS):
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert view.stack.currentWidget() is view.error_page and "two symbols or more" in view.error_page.text()
