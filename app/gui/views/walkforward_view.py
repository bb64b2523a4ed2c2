"""The Walk-forward tab (docs/guide.md, "Walk-forward"): the Sweep tab's grid walked forward over the
selected dataset. It shows the windows on the price (training shaded, testing darker), a table of the
windows (the params picked, in- and out-of-sample figures), the stitched out-of-sample equity against the
grid's best over all bars picked with hindsight, and the walk-forward efficiency.

The view only asks: Run emits `walk_forward_requested(options)`; the main window runs it as a background
job with the Sweep tab's grid and calls `show_walk_forward` (or `show_error`).
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
    from engine.bars import Bars
    from engine.sweep.walkforward import WalkForwardResult

EMPTY_HINT = ("No walk-forward yet.\n\nSet the grid on the Sweep tab, choose the training and test windows here (in "
              "bars), then press Walk forward:\neach window picks the grid's best on its training bars and trades it "
              "on the next ones; the pieces are chained into one out-of-sample run.")
# most read first; the fitter leaves out what does not fit, from the end (its header's tooltip names them)
TABLE_COLUMNS = ("window", "test_start", "oos_return_pct", "oos_trades", "is_return_ann_pct", "oos_return_ann_pct",
                 "test_end")


class WalkForwardView(QtWidgets.QWidget):
    walk_forward_requested = QtCore.Signal(object)  # {"train", "test", "step", "anchored"}

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.train = _spin(10, 10_000_000, 1000)
        self.test = _spin(1, 10_000_000, 250)
        self.step = _spin(0, 10_000_000, 0)
        self.step.setSpecialValueText("= test")
        self.anchored = QtWidgets.QCheckBox("Anchored")
        self.anchored.setToolTip("Every training window starts at the first bar and grows")
        self.run_button = QtWidgets.QPushButton("Walk forward")
        controls = QtWidgets.QHBoxLayout()
        controls.setContentsMargins(6, 4, 6, 4)
        for label, widget in (("Train", self.train), ("Test", self.test), ("Step", self.step)):
            controls.addWidget(QtWidgets.QLabel(label))
            controls.addWidget(widget)
        controls.addWidget(self.anchored)
        controls.addStretch(1)
        controls.addWidget(self.run_button)

        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("wfSummary")
        self.summary.setWordWrap(True)
        self.price = pg.PlotWidget()
        self.price.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.equity = pg.PlotWidget()
        self.equity.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.equity.addLegend(offset=(10, 10))
        for plot in (self.price, self.equity):
            plot.getAxis("left").setWidth(64)  # room for 5-digit equity labels from the first draw on
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.setObjectName("wfTable")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table_fitter = ColumnFitter(self.table, hint="widen the window")  # the most read columns first
        charts = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        charts.addWidget(self.price)
        charts.addWidget(self.equity)
        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(charts)
        lower.addWidget(self.table)
        lower.setSizes([470, 420])
        lower.setChildrenCollapsible(False)
        content = QtWidgets.QWidget()
        layout_c = QtWidgets.QVBoxLayout(content)
        layout_c.setContentsMargins(6, 0, 6, 6)
        layout_c.addWidget(self.summary)
        layout_c.addWidget(lower, 1)
        self.content = content
        self.empty_hint = hint_label(EMPTY_HINT, "wfEmptyHint")
        self.error_page = hint_label("", "wfError", error=True)
        self.stack = QtWidgets.QStackedWidget()
        for page in (self.empty_hint, content, self.error_page):
            self.stack.addWidget(page)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.stack, 1)
        self.run_button.clicked.connect(self._request)

    def options(self) -> dict[str, Any]:
        return {"train": self.train.value(), "test": self.test.value(), "step": self.step.value() or None,
                "anchored": self.anchored.isChecked()}

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.run_button.setText("Walking forward…" if busy else "Walk forward")

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error_page.setText(f"The walk-forward failed.\n\n{message}")
        self.stack.setCurrentWidget(self.error_page)

    def show_walk_forward(self, wf: WalkForwardResult, bars: Bars) -> None:
        self.set_busy(False)
        self._draw_windows(wf, bars)
        self._draw_equity(wf)
        self._fill_table(wf)
        stats = wf.result.stats
        eff = "—" if not math.isfinite(wf.efficiency) else f"{wf.efficiency:.2f}"
        self.summary.setText(
            f"{len(wf.spans)} windows, picking by {wf.metric}: walk-forward efficiency <b>{eff}</b> (mean annualised "
            f"out-of-sample return / in-sample) · stitched out-of-sample return {stats['return_pct']:.1f} %, "
            f"Sharpe {stats['sharpe_ratio']:.2f}, max drawdown {stats['max_drawdown_pct']:.1f} %, "
            f"{stats['n_trades']} trades")
        self.stack.setCurrentWidget(self.content)

    def _draw_windows(self, wf: WalkForwardResult, bars: Bars) -> None:
        plot = self.price
        plot.clear()
        x = np.arange(len(bars), dtype=np.float64)
        plot.plot(x, bars.close, pen=pg.mkPen(theme.FOREGROUND, width=1))
        for tr0, tr1, te0, te1 in wf.spans:
            for lo, hi, alpha in ((tr0, tr1, 25), (te0, te1, 70)):
                region = pg.LinearRegionItem((lo, hi - 1), movable=False, brush=pg.mkBrush(79, 157, 255, alpha),
                                             pen=pg.mkPen(None))
                region.setZValue(-10)
                plot.addItem(region)
        plot.setLabel("bottom", "bar")
        plot.setTitle("windows: training shaded, testing darker")

    def _draw_equity(self, wf: WalkForwardResult) -> None:
        plot = self.equity
        plot.clear()
        plot.plotItem.legend.clear()
        x = np.arange(len(wf.result.equity), dtype=np.float64)
        plot.plot(x, wf.result.equity, pen=pg.mkPen(theme.EQUITY, width=2), name="out-of-sample (walk-forward)")
        if wf.hindsight is not None:
            dashed = pg.mkPen(theme.INDICATOR_COLORS[0], width=1, style=QtCore.Qt.PenStyle.DashLine)
            plot.plot(x, wf.hindsight, pen=dashed, name="in-sample: the grid's best over all bars")
        plot.setLabel("bottom", "out-of-sample bar")

    def _fill_table(self, wf: WalkForwardResult) -> None:
        frame = wf.windows
        names = [c for c in frame.columns if c not in ("train_start", "train_end")]
        params = [c for c in names if c not in TABLE_COLUMNS and not c.startswith(("is_", "oos_"))]
        ordered = [*[c for c in TABLE_COLUMNS[:4] if c in names], *params,
                   *[c for c in TABLE_COLUMNS[4:] if c in names],
                   *[c for c in names if c not in TABLE_COLUMNS and c not in params]]
        self.table.clear()
        self.table.setColumnCount(len(ordered))
        self.table.setRowCount(len(frame))
        self.table.setHorizontalHeaderLabels([c.replace("_", " ") for c in ordered])
        for r, row in enumerate(frame.iter_rows(named=True)):
            for c, name in enumerate(ordered):
                v = row[name]
                text = f"{v:,.2f}" if isinstance(v, float) else str(v)
                item = QtWidgets.QTableWidgetItem(text)
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table_fitter.fit()
        QtCore.QTimer.singleShot(0, self.table_fitter.fit)  # again once the splitter has laid the table out

    def _request(self) -> None:
        self.set_busy(True)
        self.walk_forward_requested.emit(self.options())


def _spin(low: int, high: int, value: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setGroupSeparatorShown(True)
    spin.setSuffix(" bars")
    spin.setMaximumWidth(130)
    return spin
