"""One benchmark figure across results files, in date order: a small pyqtgraph plot with a date axis.

A benchmark is plotted as its median time (seconds; the axis picks ms/us), a derived figure as its
value in its own unit, with its target as a dashed line. One point per file that has the figure;
the point of the file being browsed is drawn larger. Hovering a point names its file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.gui import theme


class DateAxis(pg.DateAxisItem):
    """Dates in UTC with the month spelled out ("Nov 22", "Nov 22 14:30"): pyqtgraph's day ticks show
    the day number alone, unreadable when runs span a month boundary."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        fmt = ("%Y" if spacing >= 300 * 86_400 else "%b %Y" if spacing >= 28 * 86_400
               else "%b %d" if spacing >= 86_400 else "%b %d %H:%M")
        out = []
        for v in values:
            try:
                out.append(datetime.fromtimestamp(v, UTC).strftime(fmt))
            except (OverflowError, OSError, ValueError):
                out.append("")
        return out


@dataclass(frozen=True)
class HistoryPoint:
    timestamp: float  # seconds since the epoch (the run's "created", else the file's mtime)
    value: float
    label: str  # file name, date and commit, for the hover tip
    current: bool = False  # the file shown in the figures table


class HistoryPlot(QtWidgets.QWidget):
    """A figure picker above a plot; `figure_changed(key)` when the user picks another figure."""

    figure_changed = QtCore.Signal(tuple)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure_combo = QtWidgets.QComboBox()
        self.figure_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.figure_combo.setMinimumContentsLength(24)
        self.figure_combo.setToolTip("the figure to follow across every listed results file")
        self.figure_combo.currentIndexChanged.connect(self._combo_changed)
        self.plot_widget = pg.PlotWidget(axisItems={"bottom": DateAxis(utcOffset=0)})
        self.plot_widget.setAcceptDrops(False)  # dropped files go to the tab, not the graphics scene
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=theme.GRID_ALPHA)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(pg.mkPen(theme.FOREGROUND))
            axis.setPen(pg.mkPen(theme.MUTED))
        self.plot.getAxis("left").setWidth(64)
        self.plot.setLabel("bottom", "run date (UTC)", color=theme.MUTED)
        self.line = self.plot.plot(pen=pg.mkPen(theme.MUTED, width=1))
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(theme.BACKGROUND), brush=pg.mkBrush(theme.ACCENT),
                                         hoverable=True, hoverSize=12, tip=self._tip)
        self.plot.addItem(self.points)
        dashed = pg.mkPen(theme.UP, width=1, style=QtCore.Qt.PenStyle.DashLine)
        self.target_line = pg.InfiniteLine(angle=0, movable=False, pen=dashed, label="target",
                                           labelOpts={"color": theme.UP, "position": 0.92,
                                                      "anchors": [(1, 1), (1, 1)]})
        self.target_line.hide()
        self.plot.addItem(self.target_line)
        self.empty_label = QtWidgets.QLabel("")
        self.empty_label.setObjectName("muted")
        self.empty_label.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("History of"))
        row.addWidget(self.figure_combo, 1)
        layout.addLayout(row)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.empty_label)
        self._labels: list[str] = []

    # ------------------------------------------------------------------ figure choice
    def set_figures(self, figures: Sequence[tuple[tuple, str]], keep: tuple | None = None) -> None:
        """The figures to choose from, as (key, label); keeps `keep` (or the current one) if still there."""
        keep = keep or self.current_figure()
        self.figure_combo.blockSignals(True)
        self.figure_combo.clear()
        for key, label in figures:
            self.figure_combo.addItem(label, "\x1f".join(key))
        index = self.figure_combo.findData("\x1f".join(keep)) if keep else -1
        self.figure_combo.setCurrentIndex(max(0, index) if figures else -1)
        self.figure_combo.blockSignals(False)

    def current_figure(self) -> tuple | None:
        data = self.figure_combo.currentData()
        return tuple(data.split("\x1f")) if data else None

    def choose(self, key: tuple) -> bool:
        """Show figure `key` (as the user would pick it); False if no listed file has it."""
        index = self.figure_combo.findData("\x1f".join(key))
        if index < 0:
            return False
        self.figure_combo.setCurrentIndex(index)
        return True

    def _combo_changed(self, _index: int) -> None:
        key = self.current_figure()
        if key:
            self.figure_changed.emit(key)

    # ------------------------------------------------------------------ drawing
    def show_history(self, title: str, points: Sequence[HistoryPoint], y_label: str, y_units: str,
                     target: float | None = None) -> None:
        """Plot `points` (any order; drawn by date). `y_units` lets the axis add SI prefixes ("s" -> "ms")."""
        ordered = sorted(points, key=lambda p: p.timestamp)
        x = np.array([p.timestamp for p in ordered], dtype=float)
        y = np.array([p.value for p in ordered], dtype=float)
        self._labels = [p.label for p in ordered]
        self.plot.setTitle(title, size="10pt", color=theme.FOREGROUND)
        self.plot.setLabel("left", y_label, units=y_units or None, color=theme.MUTED)
        self.line.setData(x, y)
        sizes = [13 if p.current else 9 for p in ordered]
        brushes = [pg.mkBrush("#ffffff" if p.current else theme.ACCENT) for p in ordered]
        self.points.setData(x=x, y=y, size=sizes, brush=brushes, data=list(range(len(ordered))))
        if target is not None:
            self.target_line.setPos(target)
            self.target_line.show()
        else:
            self.target_line.hide()
        self.empty_label.setText("" if len(ordered) > 1 else
                                 "One results file has this figure: open more (Open results… or drop files "
                                 "here) to see its history." if ordered else "No listed file has this figure.")
        self._fit(x, y, target)

    def clear(self, message: str) -> None:
        self.line.setData([], [])
        self.points.setData(x=[], y=[])
        self.target_line.hide()
        self.plot.setTitle("")
        self._labels = []
        self.empty_label.setText(message)

    def point_count(self) -> int:
        return len(self.points.data)

    def _fit(self, x: np.ndarray, y: np.ndarray, target: float | None) -> None:
        if not len(x):
            return
        lo, hi = float(x.min()), float(x.max())
        # a single run gets a day either side; runs hours apart are spread over the plot, not squeezed
        pad = max((hi - lo) * 0.08, 600.0) if hi > lo else 86_400.0
        self.plot.setXRange(lo - pad, hi + pad, padding=0)
        values = list(y) + ([target] if target is not None else [])
        top = max(values)
        bottom = min(0.0, min(values))
        self.plot.setYRange(bottom, top * 1.15 if top > 0 else 1.0, padding=0)

    def _tip(self, x: float, y: float, data: int) -> str:
        return self._labels[data] if 0 <= data < len(self._labels) else ""
