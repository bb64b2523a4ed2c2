"""The Monte Carlo tab: resample the last backtest (docs/montecarlo.md) and show a fan chart of its equity
paths over the actual one, the histograms of the final return and of the max drawdown, and P(loss) and
P(ruin).

The view only asks: its Resample button emits `resample_requested(options)`; the main window runs the
resampling as a background job and calls `show_montecarlo` (or `show_error`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.gui import theme
from app.gui.views.empty_state import hint_label

if TYPE_CHECKING:
    from engine.analysis.montecarlo import MonteCarlo
    from engine.result import Result

EMPTY_HINT = ("No backtest to resample yet.\n\nRun a backtest (Ctrl+R), then press Resample: the trades it made are "
              "drawn again thousands of times,\nand the fan of equity paths, the spread of final returns and "
              "drawdowns, and the odds of a loss or of ruin appear here.")
READY_HINT = ("Ready to resample {title}.\n\nChoose how (trades drawn with replacement, shuffled, or blocks of bar "
              "returns) and how many runs, then press Resample.")
METHODS = {"trades": "Trades, redrawn", "shuffle": "Trades, shuffled", "blocks": "Bar returns, in blocks"}


class MonteCarloView(QtWidgets.QWidget):
    resample_requested = QtCore.Signal(object)  # {"method", "runs", "seed", "ruin", "block"}

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: Result | None = None
        self.method = QtWidgets.QComboBox()
        for key, label in METHODS.items():
            self.method.addItem(label, key)
        self.runs = _spin(100, 200_000, 2_000, 1_000)
        self.seed = _spin(0, 2**31 - 1, 0, 1)
        self.ruin = QtWidgets.QDoubleSpinBox()
        self.ruin.setRange(0.0, 99.0)
        self.ruin.setValue(50.0)
        self.ruin.setSuffix(" %")
        self.ruin.setToolTip("Ruin: the equity at or below this share of the initial cash, in %, at any step")
        self.block = _spin(1, 10_000, 20, 5)
        self.block.setSuffix(" bars")
        self.resample_button = QtWidgets.QPushButton("Resample")
        self.resample_button.setEnabled(False)
        # two short rows: the tab fits beside the data column at 1280 px
        controls = QtWidgets.QGridLayout()
        controls.setContentsMargins(6, 4, 6, 4)
        labels = {}
        for k, (label, widget) in enumerate((("Method", self.method), ("Runs", self.runs), ("Seed", self.seed),
                                             ("Ruin below", self.ruin), ("Block", self.block))):
            labels[label] = QtWidgets.QLabel(label)
            widget.setMaximumWidth(220 if widget is self.method else 130)
            controls.addWidget(labels[label], k // 3, 2 * (k % 3))
            controls.addWidget(widget, k // 3, 2 * (k % 3) + 1)
        controls.setColumnStretch(6, 1)
        controls.addWidget(self.resample_button, 1, 7)
        self.block_label = labels["Block"]

        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("mcSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fan = pg.PlotWidget()
        self.fan.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        self.fan.addLegend(offset=(10, 10))
        self.final_hist = pg.PlotWidget(title="Final return [%]")
        self.dd_hist = pg.PlotWidget(title="Max. drawdown [%]")
        hists = QtWidgets.QHBoxLayout()
        hists.addWidget(self.final_hist)
        hists.addWidget(self.dd_hist)
        content = QtWidgets.QWidget()
        content_layout = QtWidgets.QVBoxLayout(content)
        content_layout.setContentsMargins(6, 0, 6, 6)
        content_layout.addWidget(self.summary)
        content_layout.addWidget(self.fan, 3)
        content_layout.addLayout(hists, 2)

        self.empty_hint = hint_label(EMPTY_HINT, "mcEmptyHint")
        self.error_page = hint_label("", "mcError", error=True)
        self.stack = QtWidgets.QStackedWidget()
        for page in (self.empty_hint, content, self.error_page):
            self.stack.addWidget(page)
        self.content = content

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.stack, 1)
        self.resample_button.clicked.connect(self._request)
        self.method.currentIndexChanged.connect(self._method_changed)
        self._method_changed()

    def options(self) -> dict[str, Any]:
        return {"method": self.method.currentData(), "runs": self.runs.value(), "seed": self.seed.value(),
                "ruin": self.ruin.value() / 100.0, "block": self.block.value()}

    def set_result(self, result: Result | None) -> None:
        """The backtest to resample (the last one shown under Results); clears what was drawn for another."""
        self.result = result
        self.resample_button.setEnabled(result is not None)
        if result is None:
            self.empty_hint.setText(EMPTY_HINT)
        else:
            title = f"{result.strategy} on {result.bars.symbol or 'bars'} {result.bars.timeframe}"
            self.empty_hint.setText(READY_HINT.format(title=title))
        self.stack.setCurrentWidget(self.empty_hint)

    def set_busy(self, busy: bool) -> None:
        self.resample_button.setEnabled(not busy and self.result is not None)
        self.resample_button.setText("Resampling…" if busy else "Resample")

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error_page.setText(f"Resampling failed.\n\n{message}")
        self.stack.setCurrentWidget(self.error_page)

    def show_montecarlo(self, mc: MonteCarlo) -> None:
        self.set_busy(False)
        self._draw_fan(mc)
        actual = mc.actual()
        _histogram(self.final_hist, mc.final_return_pct, actual["final_return_pct"])
        _histogram(self.dd_hist, mc.max_drawdown_pct, actual["max_drawdown_pct"])
        pct = mc.percentiles()
        ret, dd = pct["final_return_pct"], pct["max_drawdown_pct"]
        self.summary.setText(
            f"{mc.runs:,} runs, {METHODS[mc.method].lower()}, seed {mc.seed}: "
            f"P(loss) <b>{mc.p_loss:.1%}</b> · P(ruin) <b>{mc.p_ruin:.1%}</b> (equity at or below "
            f"{mc.ruin:.0%} of the cash) · final return median {ret['50']:.1f} % (5–95 %: {ret['5']:.1f} to "
            f"{ret['95']:.1f}; actual {actual['final_return_pct']:.1f}) · max drawdown median {dd['50']:.1f} % "
            f"(95th: {dd['95']:.1f}; actual {actual['max_drawdown_pct']:.1f})")
        self.stack.setCurrentWidget(self.content)

    def _draw_fan(self, mc: MonteCarlo) -> None:
        plot = self.fan
        plot.clear()
        plot.plotItem.legend.clear()
        plot.setLabel("bottom", f"{mc.unit}s")
        plot.setLabel("left", "equity")
        x = np.arange(mc.bands.shape[1], dtype=np.float64)
        lo5, lo25, mid, hi75, hi95 = mc.bands
        for low, high, alpha, name in ((lo5, hi95, 50, "5–95 %"), (lo25, hi75, 90, "25–75 %")):
            a = plot.plot(x, low, pen=pg.mkPen(79, 157, 255, alpha))  # the band's edges, faint
            b = plot.plot(x, high, pen=pg.mkPen(79, 157, 255, alpha))
            plot.addItem(pg.FillBetweenItem(a, b, brush=pg.mkBrush(79, 157, 255, alpha)))
            plot.plotItem.legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0,
                                                         brush=pg.mkBrush(79, 157, 255, alpha)), name)
        plot.plot(x, mid, pen=pg.mkPen(theme.ACCENT, width=1), name="median")
        plot.plot(x, mc.actual_path, pen=pg.mkPen(theme.INDICATOR_COLORS[0], width=2), name="actual")

    def _request(self) -> None:
        if self.result is None:
            return
        self.set_busy(True)
        self.resample_requested.emit(self.options())

    def _method_changed(self) -> None:
        blocks = self.method.currentData() == "blocks"
        self.block.setEnabled(blocks)
        self.block_label.setEnabled(blocks)


def _spin(low: int, high: int, value: int, step: int) -> QtWidgets.QSpinBox:
    spin = QtWidgets.QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSingleStep(step)
    spin.setGroupSeparatorShown(True)
    return spin


def _histogram(plot: pg.PlotWidget, values: np.ndarray, actual: float, bins: int = 50) -> None:
    plot.clear()
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if len(values) else (actual, actual)
    if high - low <= 1e-9 * max(abs(high), 1.0):  # one value (a shuffle's final return): one bar around it
        low, high, bins = low - 0.5, high + 0.5, 1
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=pg.mkBrush(79, 157, 255, 120),
              pen=pg.mkPen(theme.ACCENT))
    plot.addItem(pg.InfiniteLine(actual, angle=90, pen=pg.mkPen(theme.INDICATOR_COLORS[0], width=2),
                                 label="actual", labelOpts={"position": 0.9, "color": theme.FOREGROUND}))
