"""The Portfolio tab (docs/portfolio.md): several symbols with one cash balance, the strategy and its
parameters from the left, the portfolio's options here. It shows the portfolio's equity and drawdown, a
stacked area of the allocation by symbol over time, the per-symbol table and the trade list with its symbol
(double-clicking a trade opens that symbol's chart at it).

The view only asks: Run emits `portfolio_requested(options)`, a trade's double-click `trade_activated(symbol,
entry_ns, exit_ns)`; the main window runs the portfolio as a background job and calls `show_portfolio` (or
`show_error`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.gui import theme
from app.gui.views.empty_state import hint_label
from app.gui.views.fit_columns import ColumnFitter

if TYPE_CHECKING:
    from engine.portfolio import PortfolioResult

EMPTY_HINT = ("No portfolio run yet.\n\nTick two or more symbols, choose how entries are sized and how many positions "
              "may be open, then press Run portfolio:\nthe strategy on the left trades them all from one cash "
              "balance, and the equity, the allocation by symbol and the trades appear here.")
SIZINGS = {"equal": "Equal weight", "percent": "% of equity", "value": "Cash value", "units": "Units"}
REBALANCES = {"": "Never", "1W": "Weekly", "1M": "Monthly", "1Q": "Quarterly", "1Y": "Yearly"}
SCORES = {"": "Symbol order / strategy's", "momentum:21": "Momentum 21", "momentum:63": "Momentum 63",
          "momentum:126": "Momentum 126"}
TRADE_COLUMNS = ("symbol", "entry", "exit", "return %", "P&L", "size", "reason")


class PortfolioView(QtWidgets.QWidget):
    portfolio_requested = QtCore.Signal(object)
    trade_activated = QtCore.Signal(str, object, object)  # symbol, entry and exit times (int64 ns)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: PortfolioResult | None = None
        self.symbols = QtWidgets.QListWidget()
        self.symbols.setObjectName("portfolioSymbols")
        self.symbols.setFixedWidth(120)
        self.sizing = _combo(SIZINGS)
        self.size_spin = QtWidgets.QDoubleSpinBox()
        self.size_spin.setRange(0.0001, 1e12)
        self.size_spin.setDecimals(4)
        self.size_spin.setValue(0.2)
        self.size_spin.setMaximumWidth(100)
        self.max_positions = QtWidgets.QSpinBox()
        self.max_positions.setRange(0, 10_000)
        self.max_positions.setValue(3)
        self.max_positions.setSpecialValueText("any")
        self.max_positions.setToolTip("Open positions at most; more entries are skipped, best rank first")
        self.max_positions.setMaximumWidth(90)
        self.rebalance = _combo(REBALANCES)
        self.score = _combo(SCORES)
        self.run_button = QtWidgets.QPushButton("Run portfolio")
        controls = QtWidgets.QGridLayout()
        controls.setContentsMargins(6, 4, 6, 4)
        for k, (label, widget) in enumerate((("Sizing", self.sizing), ("Size", self.size_spin),
                                             ("Max open", self.max_positions), ("Rebalance", self.rebalance),
                                             ("Rank by", self.score))):
            controls.addWidget(QtWidgets.QLabel(label), k // 3, 2 * (k % 3))
            controls.addWidget(widget, k // 3, 2 * (k % 3) + 1)
        controls.setColumnStretch(6, 1)
        controls.addWidget(self.run_button, 1, 7)

        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("portfolioSummary")
        self.summary.setWordWrap(True)
        self.equity = pg.PlotWidget()
        self.drawdown = pg.PlotWidget()
        self.allocation = pg.PlotWidget()
        for plot in (self.equity, self.drawdown, self.allocation):
            plot.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
            plot.getAxis("left").setWidth(64)
        self.drawdown.setXLink(self.equity)  # (the allocation, on its own tab, keeps its own range)
        self.allocation.addLegend(offset=(10, 10))
        self.charts = QtWidgets.QTabWidget()
        curves = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        curves.addWidget(self.equity)
        curves.addWidget(self.drawdown)
        curves.setSizes([300, 120])
        self.charts.addTab(curves, "Equity and drawdown")
        self.charts.addTab(self.allocation, "Allocation by symbol")
        self.per_symbol = _table("portfolioPerSymbol")
        self.trades = _table("portfolioTrades")
        self.trades.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.trades.setToolTip("Double-click a trade to open its symbol's chart at it")
        self.trades_fitter = ColumnFitter(self.trades, hint="widen the window")
        self.per_symbol_fitter = ColumnFitter(self.per_symbol, hint="widen the window")
        tables = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        tables.addWidget(self.per_symbol)
        tables.addWidget(self.trades)
        tables.setSizes([330, 420])
        body = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        body.addWidget(self.charts)
        body.addWidget(tables)
        body.setSizes([420, 220])
        content = QtWidgets.QWidget()
        cl = QtWidgets.QVBoxLayout(content)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.summary)
        cl.addWidget(body, 1)
        self.content = content
        self.empty_hint = hint_label(EMPTY_HINT, "portfolioEmptyHint")
        self.error_page = hint_label("", "portfolioError", error=True)
        self.stack = QtWidgets.QStackedWidget()
        for page in (self.empty_hint, content, self.error_page):
            self.stack.addWidget(page)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.stack, 1)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(QtWidgets.QLabel("Symbols"))
        left.addWidget(self.symbols, 1)
        root = QtWidgets.QHBoxLayout(self)
        root.setContentsMargins(4, 0, 0, 0)
        root.addLayout(left)
        root.addLayout(right, 1)
        self.run_button.clicked.connect(self._request)
        self.trades.cellDoubleClicked.connect(self._on_trade)
        self.sizing.currentIndexChanged.connect(self._sizing_changed)
        self._sizing_changed()

    # ------------------------------------------------------------------ inputs
    def set_datasets(self, datasets: list[dict], timeframe: str | None) -> None:
        """The stored symbols of `timeframe` (default: the most common one), all ticked at first; a symbol's
        tick is kept across refreshes."""
        ticked = {self.symbols.item(k).text(): self.symbols.item(k).checkState()
                  for k in range(self.symbols.count())}
        frames = [d["timeframe"] for d in datasets]
        self.timeframe = timeframe or (max(set(frames), key=frames.count) if frames else None)
        self.symbols.clear()
        for d in datasets:
            if d["timeframe"] != self.timeframe:
                continue
            item = QtWidgets.QListWidgetItem(d["symbol"])
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(ticked.get(d["symbol"], QtCore.Qt.CheckState.Checked))
            self.symbols.addItem(item)

    def chosen_symbols(self) -> list[str]:
        return [self.symbols.item(k).text() for k in range(self.symbols.count())
                if self.symbols.item(k).checkState() == QtCore.Qt.CheckState.Checked]

    def options(self) -> dict[str, Any]:
        return {"symbols": self.chosen_symbols(), "timeframe": getattr(self, "timeframe", None),
                "sizing": self.sizing.currentData(), "size": self.size_spin.value(),
                "max_positions": self.max_positions.value(), "rebalance": self.rebalance.currentData() or None,
                "score": self.score.currentData() or None}

    # ------------------------------------------------------------------ outputs
    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.run_button.setText("Running…" if busy else "Run portfolio")

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error_page.setText(f"The portfolio run failed.\n\n{message}")
        self.stack.setCurrentWidget(self.error_page)

    def show_portfolio(self, result: PortfolioResult) -> None:
        self.set_busy(False)
        self.result = result
        x = np.arange(len(result.equity), dtype=np.float64)
        self.equity.clear()
        self.equity.plot(x, result.equity, pen=pg.mkPen(theme.EQUITY, width=2))
        peak = np.maximum.accumulate(result.equity)
        dd = np.where(peak > 0, result.equity / peak - 1.0, 0.0) * 100.0
        self.drawdown.clear()
        self.drawdown.plot(x, dd, pen=pg.mkPen(theme.DRAWDOWN), fillLevel=0, brush=pg.mkBrush(239, 83, 80, 70))
        self._draw_allocation(result, x)
        self._fill_per_symbol(result)
        self._fill_trades(result)
        s = result.stats
        self.summary.setText(
            f"{result.strategy} on {len(result.symbols)} symbols ({', '.join(result.symbols)}), one cash balance: "
            f"return <b>{s['return_pct']:.2f} %</b> (equal-weight index {s['buy_hold_return_pct']:.2f} %), Sharpe "
            f"{s['sharpe_ratio']:.2f}, max drawdown {s['max_drawdown_pct']:.2f} %, {s['n_trades']} closed trades, "
            f"turnover {result.turnover:.1f}x, {result.n_skipped_entries} entries skipped (no slot or cash)")
        self.stack.setCurrentWidget(self.content)

    def _draw_allocation(self, result: PortfolioResult, x: np.ndarray) -> None:
        plot = self.allocation
        plot.clear()
        plot.plotItem.legend.clear()
        values = result.value_by_symbol
        if values is None:
            return
        below = plot.plot(x, np.zeros_like(x), pen=None)
        total = np.zeros_like(x)
        for j, sym in enumerate(result.symbols):
            total = total + values[:, j]
            colour = theme.INDICATOR_COLORS[j % len(theme.INDICATOR_COLORS)]
            top = plot.plot(x, total.copy(), pen=pg.mkPen(colour, width=1), name=sym)
            plot.addItem(pg.FillBetweenItem(below, top, brush=pg.mkBrush(colour + "90")))
            below = top
        plot.plot(x, result.cash + total, pen=pg.mkPen(theme.FOREGROUND, width=1, style=QtCore.Qt.PenStyle.DotLine),
                  name="equity (with cash)")
        plot.setLabel("left", "value")
        plot.enableAutoRange()

    def _fill_per_symbol(self, result: PortfolioResult) -> None:
        cols = ("symbol", "P&L", "trades", "win %", "exposure %", "fees")
        t = self.per_symbol
        t.clear()
        t.setColumnCount(len(cols))
        t.setHorizontalHeaderLabels(list(cols))
        t.setRowCount(len(result.per_symbol))
        for r, (sym, d) in enumerate(result.per_symbol.items()):
            cells = (sym, f"{d['pnl']:,.2f}", f"{d['n_trades']} (+{d['n_open']} open)" if d["n_open"] else
                     str(d["n_trades"]), _num(d["win_rate_pct"], 1), _num(d["exposure_pct"], 1), f"{d['fees']:,.2f}")
            for c, text in enumerate(cells):
                t.setItem(r, c, _item(text, left=c == 0))
        t.resizeColumnsToContents()
        self.per_symbol_fitter.fit()
        QtCore.QTimer.singleShot(0, self.per_symbol_fitter.fit)

    def _fill_trades(self, result: PortfolioResult) -> None:
        t = self.trades
        t.clear()
        t.setColumnCount(len(TRADE_COLUMNS))
        t.setHorizontalHeaderLabels(list(TRADE_COLUMNS))
        rows = result.trades_list()
        t.setRowCount(len(rows))
        for r, tr in enumerate(rows):
            cells = (tr["symbol"], tr["entry_time"][:10], tr["exit_time"][:10], f"{tr['return_pct']:.2f}",
                     f"{tr['pnl']:,.2f}", f"{tr['size']:,.4g}", tr["exit_reason"])
            for c, text in enumerate(cells):
                t.setItem(r, c, _item(text, left=c == 0))
        t.resizeColumnsToContents()
        self.trades_fitter.fit()
        QtCore.QTimer.singleShot(0, self.trades_fitter.fit)

    def _on_trade(self, row: int, _col: int) -> None:
        if self.result is None:
            return
        rec = self.result.trade_records[row]
        ts = self.result.ts
        self.trade_activated.emit(self.result.symbols[int(rec["symbol"])], int(ts[int(rec["entry_bar"])]),
                                  int(ts[int(rec["exit_bar"])]))

    def _request(self) -> None:
        self.set_busy(True)
        self.portfolio_requested.emit(self.options())

    def _sizing_changed(self) -> None:
        sizing = self.sizing.currentData()
        self.size_spin.setEnabled(sizing != "equal")
        self.size_spin.setToolTip({"percent": "a fraction of equity, e.g. 0.2", "value": "currency per entry",
                              "units": "units per entry", "equal": "equity / max positions"}[sizing])


def _combo(items: dict[str, str]) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for key, label in items.items():
        box.addItem(label, key)
    box.setMaximumWidth(150)
    return box


def _table(name: str) -> QtWidgets.QTableWidget:
    t = QtWidgets.QTableWidget(0, 0)
    t.setObjectName(name)
    t.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(22)
    t.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return t


def _item(text: str, left: bool = False) -> QtWidgets.QTableWidgetItem:
    item = QtWidgets.QTableWidgetItem(text)
    align = QtCore.Qt.AlignmentFlag.AlignLeft if left else QtCore.Qt.AlignmentFlag.AlignRight
    item.setTextAlignment(align | QtCore.Qt.AlignmentFlag.AlignVCenter)
    return item


def _num(v: float, decimals: int) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:,.{decimals}f}"
