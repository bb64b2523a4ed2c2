"""Sweep results: a metric over two swept params as a heatmap, beside a top-N table.

`aggregate(rows, x, y, metric, agg)` reduces the sweep table to one value per (x, y) cell (other swept
params and symbols folded with max/mean/median/min); `best_row` picks the row a cell stands for.
`HeatmapWidget` draws the grid: one ImageItem (NaN cells transparent over a neutral hatched rect),
a colour bar, param values as axis ticks, `cell_hovered(ix, iy)` and `cell_clicked(ix, iy)`.
`SweepResultsPanel` adds the metric / axes / aggregation / symbol choices, a hover readout and the
table; it emits `cell_clicked(params)` with every param of the chosen run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.views.fit_columns import ColumnFitter
from app.sweep_grid import AGGREGATIONS, aggregate, smooth_neighbours  # noqa: F401 (re-exported for the tests)
from engine.sweep import SweepResult

# Stats where a smaller number is the better one; every other stat ranks high-to-low.
LOWER_IS_BETTER = frozenset({"volatility_ann_pct", "max_drawdown_duration", "avg_drawdown_duration"})
NAN_COLOR = "#3a3e48"
COLORMAP = "viridis"
DEFAULT_METRIC = "sharpe_ratio"
NON_STATS = frozenset({"combo", "dataset"})
EXTRA_COLUMNS = ("return_pct", "max_drawdown_pct", "n_trades")
SHORT_NAMES = {"return_pct": "return %", "max_drawdown_pct": "DD %", "n_trades": "trades",
               "sharpe_ratio": "sharpe", "win_rate_pct": "win %"}  # table headers (DD: max drawdown; narrow)
NONE_ITEM = "(none)"
ALL_SYMBOLS = "(all)"


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def best_row(rows: pl.DataFrame, metric: str, where: dict[str, Any]) -> dict[str, Any] | None:
    """The row with the best `metric` among rows whose columns equal `where` (None if there is none)."""
    sub = rows
    for col, v in where.items():
        sub = sub.filter(pl.col(col) == v)
    if sub.is_empty():
        return None
    sub = sub.with_columns(pl.col(metric).cast(pl.Float64).fill_nan(None).alias("_rank"))
    sub = sub.sort("_rank", descending=not lower_is_better(metric), nulls_last=True)
    out = sub.row(0, named=True)
    out.pop("_rank", None)
    return out


def format_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if v.is_integer() and abs(v) < 1e6:
            return f"{v:.1f}"
        return f"{v:.4g}"
    return str(v)


class HeatmapWidget(pg.GraphicsLayoutWidget):
    """Z[ix, iy] as coloured cells: cell (ix, iy) covers [ix, ix+1] x [iy, iy+1] in view coordinates."""

    cell_hovered = Signal(int, int)  # (-1, -1) when the pointer leaves the grid
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("heatmap")
        self.plot = self.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        vb = self.plot.getViewBox()
        vb.setMouseEnabled(x=False, y=False)
        vb.setDefaultPadding(0.0)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(pg.mkPen(theme.FOREGROUND))
            axis.setPen(pg.mkPen(theme.MUTED, width=1))
        self.background = QGraphicsRectItem(0, 0, 1, 1)
        self.background.setPen(QPen(Qt.PenStyle.NoPen))
        self.background.setBrush(QBrush(QColor(NAN_COLOR), Qt.BrushStyle.SolidPattern))
        self.background.setZValue(-20)
        self.hatch = QGraphicsRectItem(0, 0, 1, 1)  # diagonal lines mark "no value" cells
        self.hatch.setPen(QPen(Qt.PenStyle.NoPen))
        self.hatch.setBrush(QBrush(QColor(theme.MUTED), Qt.BrushStyle.BDiagPattern))
        self.hatch.setZValue(-19)
        self.plot.addItem(self.background, ignoreBounds=True)
        self.plot.addItem(self.hatch, ignoreBounds=True)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get(COLORMAP),
                                       interactive=False, width=14)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.colorbar.axis.setTextPen(pg.mkPen(theme.FOREGROUND))
        self.colorbar.axis.enableAutoSIPrefix(False)  # "sharpe_ratio (x0.001)" reads badly
        self.z = np.full((0, 0), np.nan)
        self._shown = np.zeros((1, 1))
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    # ------------------------------------------------------------------ data
    def set_grid(self, z: np.ndarray, xs: list[Any], ys: list[Any], x_name: str, y_name: str | None,
                 metric: str) -> None:
        self.z = np.asarray(z, dtype=np.float64)
        nx, ny = self.z.shape
        finite = self.z[np.isfinite(self.z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        # +-inf (e.g. profit factor with no losing trade) drawn at the ends of the scale; NaN stays NaN.
        self._shown = np.where(np.isposinf(self.z), hi, np.where(np.isneginf(self.z), lo, self.z))
        if nx and ny:
            self.image.setImage(self._shown, autoLevels=False, levels=(lo, hi))
            self.image.setRect(0, 0, nx, ny)
            self.image.show()
        else:
            self.image.hide()
        self.colorbar.setLevels((lo, hi))
        self.colorbar.axis.setLabel(metric)
        for item in (self.background, self.hatch):
            item.setRect(0, 0, max(nx, 1), max(ny, 1))
        self.plot.setLabel("bottom", x_name)
        self.plot.setLabel("left", y_name or "")
        self.plot.getAxis("bottom").setTicks([_ticks(xs, 14)])
        self.plot.getAxis("left").setTicks([_ticks(ys, 24)])
        self.plot.getViewBox().setRange(xRange=(0, max(nx, 1)), yRange=(0, max(ny, 1)), padding=0)

    def clear_grid(self) -> None:
        self.set_grid(np.full((0, 0), np.nan), [], [], "", None, "")

    # ------------------------------------------------------------------ geometry
    def cell_at_scene(self, scene_pos: QPointF) -> tuple[int, int]:
        """The (ix, iy) under a scene point, or (-1, -1) outside the grid."""
        if not self.plot.getViewBox().sceneBoundingRect().contains(scene_pos):
            return -1, -1
        p = self.plot.getViewBox().mapSceneToView(scene_pos)
        ix, iy = math.floor(p.x()), math.floor(p.y())
        nx, ny = self.z.shape
        return (ix, iy) if 0 <= ix < nx and 0 <= iy < ny else (-1, -1)

    def cell_center(self, ix: int, iy: int) -> QPoint:
        """Centre of cell (ix, iy) in viewport coordinates (where mouse events are delivered)."""
        scene = self.plot.getViewBox().mapViewToScene(QPointF(ix + 0.5, iy + 0.5))
        return self.mapFromScene(scene)

    def _on_move(self, scene_pos: QPointF) -> None:
        self.cell_hovered.emit(*self.cell_at_scene(scene_pos))

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        ix, iy = self.cell_at_scene(ev.scenePos())
        if ix >= 0:
            ev.accept()
            self.cell_clicked.emit(ix, iy)


def _ticks(values: list[Any], max_labels: int) -> list[tuple[float, str]]:
    """Tick labels at cell centres, every k-th value so that at most `max_labels` show."""
    if not values or values == [None]:
        return []
    stride = max(1, math.ceil(len(values) / max_labels))
    return [(i + 0.5, format_value(v)) for i, v in enumerate(values) if i % stride == 0]


class SweepResultsPanel(QWidget):
    """Metric / X / Y / aggregation / symbol choices over a heatmap and a top-N table."""

    cell_clicked = Signal(dict)  # every param of the chosen run, by name

    def __init__(self, parent: QWidget | None = None, top_n: int = 25) -> None:
        super().__init__(parent)
        self.top_n = top_n
        self.result: SweepResult | None = None
        self.param_types: dict[str, type] = {}  # every param (swept or fixed) -> int / float
        self.swept: list[str] = []
        self.frame = pl.DataFrame()  # the rows on show (after the symbol filter)
        self.xs: list[Any] = []
        self.ys: list[Any] = []
        self.metric_combo, self.x_combo, self.y_combo = QComboBox(), QComboBox(), QComboBox()
        self.agg_combo, self.symbol_combo = QComboBox(), QComboBox()
        self.agg_combo.addItems(AGGREGATIONS)
        self.agg_combo.setToolTip("How the runs of one cell (other swept params, symbols) are folded")
        self.metric_combo.setMinimumContentsLength(10)
        self.symbol_label = QLabel("Symbol")
        controls = QHBoxLayout()
        for text, combo in (("Metric", self.metric_combo), ("X", self.x_combo), ("Y", self.y_combo),
                            ("Fold", self.agg_combo), (None, self.symbol_combo)):
            controls.addWidget(QLabel(text) if text else self.symbol_label)
            controls.addWidget(combo)
            combo.currentIndexChanged.connect(self._on_choice)
        self.smooth_check = QCheckBox("Smooth")
        self.smooth_check.setObjectName("smoothCheck")
        self.smooth_check.setToolTip("Parameter stability: each cell's metric averaged with its neighbours'; a "
                                     "peak that stays is a plateau, one that melts was luck")
        self.smooth_check.toggled.connect(self._on_choice)
        controls.addStretch(1)
        self.symbol_label.hide()
        self.symbol_combo.hide()
        self.heatmap = HeatmapWidget()
        self.heatmap.cell_hovered.connect(self._on_hover)
        self.heatmap.cell_clicked.connect(self._on_cell_clicked)
        self.hover_label = QLabel("Hover a cell for its value; click it to open its best run.")
        self.hover_label.setObjectName("hoverReadout")
        self.hover_label.setWordWrap(True)  # a long readout must not widen the window past 1280 px
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("topTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # widths: the fitter
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(self._on_table_double_click)
        self.table_fitter = ColumnFitter(self.table, hint="widen the window")  # rank, params, metric first
        self.table_title = QLabel("Top runs")
        split = QSplitter(Qt.Orientation.Horizontal)
        readout = QWidget()  # under the heatmap: the hover readout and the stability switch (the controls row
        r = QHBoxLayout(readout)  # above is as wide as 1280 px allows)
        r.setContentsMargins(0, 0, 0, 0)
        r.addWidget(self.hover_label, 1)
        r.addWidget(self.smooth_check)
        for widgets, stretch in (((self.heatmap, readout), 3), ((self.table_title, self.table), 2)):
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            for w in widgets:
                v.addWidget(w, 1 if w in (self.heatmap, self.table) else 0)
            split.addWidget(box)
            split.setStretchFactor(split.count() - 1, stretch)
        split.setSizes([560, 330])
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.addLayout(controls)
        root.addWidget(split, 1)

    def set_result(self, result: SweepResult, param_types: dict[str, type]) -> None:
        """Show a sweep: choices from its columns (kept when still valid), heatmap and table."""
        self.result = result
        rows = result.rows
        self.param_types = {n: t for n, t in param_types.items() if n in rows.columns}
        names = list(self.param_types)
        self.swept = [n for n in names if rows[n].n_unique() > 1] or names[:1]
        stats = [c for c, t in rows.schema.items() if t.is_numeric() and c not in NON_STATS and c not in names]
        symbols = sorted(rows["symbol"].unique().to_list()) if "symbol" in rows.columns else []
        with _Blocked(self.metric_combo, self.x_combo, self.y_combo, self.symbol_combo):
            _refill(self.metric_combo, stats, self.current_metric(), DEFAULT_METRIC)
            _refill(self.x_combo, self.swept, self.x_combo.currentText())
            others = [n for n in self.swept if n != self.x_combo.currentText()] or [NONE_ITEM]
            _refill(self.y_combo, self.swept if others != [NONE_ITEM] else others,
                    self.y_combo.currentText() if self.y_combo.currentText() in others else others[0])
            _refill(self.symbol_combo, [ALL_SYMBOLS, *symbols], self.symbol_combo.currentText())
        self.symbol_combo.setVisible(len(symbols) > 1)
        self.symbol_label.setVisible(len(symbols) > 1)
        self.refresh()

    def current_metric(self) -> str:
        return self.metric_combo.currentText() or DEFAULT_METRIC

    def axes(self) -> tuple[str, str | None]:
        y = self.y_combo.currentText()
        return self.x_combo.currentText(), (None if y in ("", NONE_ITEM) else y)

    def _on_choice(self, *_: Any) -> None:
        x, y = self.axes()
        if y is not None and x == y:  # keep the two axes different: the other one takes a free param
            combo = self.x_combo if self.sender() is self.y_combo else self.y_combo
            with _Blocked(combo):
                combo.setCurrentText(next(n for n in self.swept if n != x))
        self.refresh()

    def refresh(self) -> None:
        """Redraw heatmap and table from the result and the current choices."""
        if self.result is None or self.result.rows.is_empty() or not self.x_combo.currentText():
            self.heatmap.clear_grid()
            self.table.setRowCount(0)
            return
        rows = self.result.rows
        symbol = self.symbol_combo.currentText()
        if symbol and symbol != ALL_SYMBOLS:
            rows = rows.filter(pl.col("symbol") == symbol)
        self.frame = rows
        (x, y), metric, agg = self.axes(), self.current_metric(), self.agg_combo.currentText()
        folded = len(self.swept) > (2 if y else 1) or rows["symbol"].n_unique() > 1
        self.agg_combo.setEnabled(folded)
        self.xs, self.ys, z = aggregate(rows, x, y, metric, agg)
        label = f"{metric} ({agg})" if folded else metric
        if self.smooth_check.isChecked():
            z, label = smooth_neighbours(z), f"{label}, smoothed over neighbours"
        self.heatmap.set_grid(z, self.xs, self.ys, x, y, label)
        self._fill_table(rows, metric)

    def cell_params(self, ix: int, iy: int) -> dict[str, Any] | None:
        """Every param of the best run in cell (ix, iy) (None if the cell has no run)."""
        x, y = self.axes()
        where = {x: self.xs[ix], **({y: self.ys[iy]} if y else {})}
        row = best_row(self.frame, self.current_metric(), where)
        return self._params_of(row) if row is not None else None

    def _params_of(self, row: dict[str, Any]) -> dict[str, Any]:
        return {n: t(row[n]) for n, t in self.param_types.items()}

    def _on_hover(self, ix: int, iy: int) -> None:
        if ix < 0:
            return
        x, y = self.axes()
        parts = [f"{x} = {format_value(self.xs[ix])}"] + ([f"{y} = {format_value(self.ys[iy])}"] if y else [])
        parts.append(f"{self.current_metric()} = {format_value(float(self.heatmap.z[ix, iy]))}")
        self.hover_label.setText("    ".join(parts))

    def _on_cell_clicked(self, ix: int, iy: int) -> None:
        params = self.cell_params(ix, iy)
        if params is not None:
            self.cell_clicked.emit(params)

    def _fill_table(self, rows: pl.DataFrame, metric: str) -> None:
        ranked = rows.with_columns(pl.col(metric).cast(pl.Float64).fill_nan(None).alias("_rank")).sort(
            "_rank", descending=not lower_is_better(metric), nulls_last=True).head(self.top_n)
        cols = (["symbol"] if rows["symbol"].n_unique() > 1 else []) + self.swept + [metric] + [
            c for c in EXTRA_COLUMNS if c != metric and c in rows.columns]
        self.table.clear()
        self.table.setColumnCount(len(cols) + 1)
        self.table.setHorizontalHeaderLabels(["#", *(SHORT_NAMES.get(c, c) for c in cols)])
        self.table.setRowCount(len(ranked))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for r, row in enumerate(ranked.iter_rows(named=True)):
            first = QTableWidgetItem(str(r + 1))
            first.setData(Qt.ItemDataRole.UserRole, self._params_of(row))
            self.table.setItem(r, 0, first)
            for c, name in enumerate(cols, start=1):
                item = QTableWidgetItem(format_value(row[name]))
                item.setTextAlignment(right)
                self.table.setItem(r, c, item)
        self.table_fitter.fit()
        self.table_title.setText(f"Top {len(ranked)} by {metric} · double-click a row to open it")

    def _on_table_double_click(self, r: int, _c: int) -> None:
        item = self.table.item(r, 0)
        if item is not None:
            self.cell_clicked.emit(dict(item.data(Qt.ItemDataRole.UserRole)))


class _Blocked:
    """Block the signals of some widgets inside a `with`."""

    def __init__(self, *widgets: QWidget) -> None:
        self.widgets = widgets
        self.old: list[bool] = []

    def __enter__(self) -> None:
        self.old = [w.blockSignals(True) for w in self.widgets]

    def __exit__(self, *exc: object) -> None:
        for w, old in zip(self.widgets, self.old, strict=True):
            w.blockSignals(old)


def _refill(combo: QComboBox, items: list[str], keep: str | None, fallback: str | None = None) -> None:
    """Replace the items; select `keep` if still there, else `fallback`, else the first."""
    combo.clear()
    combo.addItems(items)
    for choice in (keep, fallback):
        if choice in items:
            combo.setCurrentText(choice)
            return
