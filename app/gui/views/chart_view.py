"""The result chart: candles + trades + indicators, equity, and drawdown on one linked x axis.

x is the bar index (bar i at x = i), not time: weekends, nights and data gaps take no room, and every
pane shares the same integers. `BarDateAxis` turns indices back into dates for the tick labels.
The y range of each pane follows the visible bars (computed from min/max pyramids, O(screen width)),
so the mouse wheel zooms and dragging pans along x only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.gui.views.candles import CandlestickItem, MinMaxIndex
from app.gui.views.result_prep import ChartPrep, TradeMarkers, prepare_chart
from app.gui.views.trades_table import format_price

if TYPE_CHECKING:
    from engine.result import Result

AXIS_WIDTH = 64
MAX_VISIBLE_TRADES = 600  # beyond this many trades in view, markers are a smear: hide them
_FIXED_STEPS_S = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
                  14 * 86400)
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240)


class BarDateAxis(pg.AxisItem):
    """Bottom axis for bar-index x: ticks on calendar boundaries (minutes to decades), dated labels."""

    def __init__(self, **kwargs) -> None:
        super().__init__(orientation="bottom", **kwargs)
        self.ts_s = np.empty(0, dtype=np.int64)
        self._bar_s = 60
        self._fmt = "%Y-%m-%d"

    def set_timestamps(self, ts_s: np.ndarray) -> None:
        """Bar open times in seconds since the epoch (UTC), one per bar, increasing."""
        self.ts_s = np.asarray(ts_s, dtype=np.int64)
        gaps = np.diff(self.ts_s[:2000])
        self._bar_s = int(np.median(gaps)) if len(gaps) else 60
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 - pyqtgraph API
        n = len(self.ts_s)
        i0, i1 = max(0, math.ceil(minVal)), min(n - 1, math.floor(maxVal))
        if n == 0 or i1 <= i0:
            return []
        t0, t1 = int(self.ts_s[i0]), int(self.ts_s[i1])
        max_ticks = max(2.0, size / 110.0)
        times = None
        for step in _FIXED_STEPS_S:
            if step >= self._bar_s and (t1 - t0) / step <= max_ticks:
                times = np.arange(-(-t0 // step) * step, t1 + 1, step, dtype=np.int64)
                self._fmt = "%m-%d %H:%M" if step < 86400 else "%Y-%m-%d"
                break
        if times is None:
            m0 = int(np.datetime64(t0, "s").astype("datetime64[M]").astype(np.int64)) + 1
            m1 = int(np.datetime64(t1, "s").astype("datetime64[M]").astype(np.int64))
            k = next((k for k in _MONTH_STEPS if (m1 - m0) / k <= max_ticks), _MONTH_STEPS[-1] * 10)
            months = np.arange(-(-m0 // k) * k, m1 + 1, k).astype("datetime64[M]")
            times = months.astype("datetime64[s]").astype(np.int64)
            self._fmt = "%Y" if k >= 12 else "%Y-%m"
        idx = np.unique(np.searchsorted(self.ts_s, times))
        idx = idx[(idx >= i0) & (idx <= i1)]
        spacing = (i1 - i0) / max(len(idx), 1)
        return [(spacing, idx.astype(float).tolist())]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        n = len(self.ts_s)
        out = []
        for v in values:
            i = int(round(v))
            ok = 0 <= i < n
            out.append(datetime.fromtimestamp(int(self.ts_s[i]), tz=UTC).strftime(self._fmt) if ok else "")
        return out


def _curve(pen, **kwargs) -> pg.PlotDataItem:
    item = pg.PlotDataItem(pen=pen, skipFiniteCheck=True, **kwargs)
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    # pyqtgraph keeps ~5 samples per pixel (10 points with 'peak'); a min and a max per pixel column
    # look the same and draw 5x fewer segments.
    item.opts["autoDownsampleFactor"] = 1.0
    return item


def _blend(color: str, alpha: float, background: str = theme.BACKGROUND) -> str:
    """`color` at `alpha` over the background, as an opaque colour: translucent pens and fills are
    software-blended on every frame (a translucent pane border alone cost ~0.7 ms a frame)."""
    fg, bg = QtGui.QColor(color), QtGui.QColor(background)
    pairs = ((fg.red(), bg.red()), (fg.green(), bg.green()), (fg.blue(), bg.blue()))
    mix = [round(b + (f - b) * alpha) for f, b in pairs]
    return QtGui.QColor(*mix).name()


def _fit_y(plot: pg.PlotItem, lo: float, hi: float, padding: float, slack: float = 1.3) -> None:
    """Fit the y range to [lo, hi] plus padding, but keep the current range while it still holds the
    data and is at most `slack` times too tall: panning then rarely rescales (and re-ticks) y."""
    span = max(hi - lo, abs(hi) * 1e-9, 1e-12)
    y0, y1 = plot.vb.viewRange()[1]
    if y0 <= lo and hi <= y1 and (y1 - y0) <= span * (1 + 2 * padding) * slack:
        return
    plot.setYRange(lo - span * padding, hi + span * padding, padding=0)


def _money(v: float) -> str:
    return f"{v:,.2f}"


class ChartView(QtWidgets.QWidget):
    """Price (candles, trade markers, indicator lines), equity and drawdown panes, x axes linked."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: Result | None = None
        self._ts_s = np.empty(0, dtype=np.int64)
        self._price_index: list[MinMaxIndex] = []
        self._equity_index: MinMaxIndex | None = None
        self._dd_index: MinMaxIndex | None = None
        self._entry_bars = np.empty(0, dtype=np.int64)
        self._markers: TradeMarkers | None = None  # not yet handed to the marker items (_load_markers)
        self._indicator_items: list[pg.PlotDataItem] = []

        self.readout = QtWidgets.QLabel(" ")
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.readout.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.readout.setStyleSheet(f"color: {theme.MUTED}; background: {theme.BACKGROUND}; padding: 3px 6px;")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(0)
        self.graphics.ci.setContentsMargins(0, 4, 6, 0)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)

        self.date_axes = [BarDateAxis() for _ in range(3)]
        self.price_plot = self.graphics.addPlot(row=0, col=0, axisItems={"bottom": self.date_axes[0]})
        self.equity_plot = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": self.date_axes[1]})
        self.drawdown_plot = self.graphics.addPlot(row=2, col=0, axisItems={"bottom": self.date_axes[2]})
        self.plots = (self.price_plot, self.equity_plot, self.drawdown_plot)
        for row, stretch in enumerate((6, 3, 2)):
            self.graphics.ci.layout.setRowStretchFactor(row, stretch)
        self.legends = []
        for plot in self.plots:
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showGrid(x=False, y=False)
            plot.setMouseEnabled(x=True, y=False)
            plot.vb.disableAutoRange()
            # PlotItem.addItem imposes the plot's own downsampling/clip settings (off by default) on
            # every curve added, overriding the curve's: set them here or 1M-bar curves draw every point
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(pg.mkPen(_blend(theme.MUTED, 0.55)))
                plot.getAxis(name).setTextPen(pg.mkPen(theme.FOREGROUND))
            self.legends.append(pg.LegendItem(offset=(4, 2), brush=pg.mkBrush(theme.PANEL + "c8"),
                                              labelTextColor=theme.FOREGROUND, labelTextSize="8pt",
                                              verSpacing=-6))
            self.legends[-1].setParentItem(plot.vb)
        for plot in self.plots[:2]:
            plot.hideAxis("bottom")  # only the lowest pane shows dates; an axis costs a repaint a frame
        for plot in self.plots:
            plot.vb.setBorder(pg.mkPen(_blend(theme.MUTED, 0.25)))
        self.equity_plot.setXLink(self.price_plot)
        self.drawdown_plot.setXLink(self.price_plot)

        self.candles = CandlestickItem()
        self.price_plot.addItem(self.candles)
        thin = QtCore.Qt.PenStyle.DashLine
        self._win_lines = pg.PlotDataItem(pen=pg.mkPen(theme.UP, width=1, style=thin), skipFiniteCheck=True)
        self._loss_lines = pg.PlotDataItem(pen=pg.mkPen(theme.DOWN, width=1, style=thin), skipFiniteCheck=True)
        edge = pg.mkPen(theme.BACKGROUND, width=1)
        self._entries = pg.ScatterPlotItem(symbol="t1", size=10, pen=edge, brush=pg.mkBrush(theme.UP))
        self._exits = pg.ScatterPlotItem(symbol="t", size=10, pen=edge, brush=pg.mkBrush(theme.DOWN))
        for item in (self._win_lines, self._loss_lines):
            item.setClipToView(True)
        for item in (self._win_lines, self._loss_lines, self._entries, self._exits):
            item.setZValue(5)
            self.price_plot.addItem(item)
        for item in (self._win_lines, self._loss_lines):
            item.setDownsampling(ds=1, auto=False)  # after addItem; peak downsampling would re-pair segments
        self._focus = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(theme.ACCENT + "26"),
                                          pen=pg.mkPen(theme.ACCENT + "80"))
        self._focus.setVisible(False)
        self.price_plot.addItem(self._focus, ignoreBounds=True)

        self.equity_curve = _curve(pg.mkPen(theme.EQUITY, width=1))
        self._cash_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.MUTED, width=1, style=thin))
        self.equity_plot.addItem(self._cash_line, ignoreBounds=True)
        self.equity_plot.addItem(self.equity_curve)
        dd_fill = pg.mkBrush(_blend(QtGui.QColor(theme.DRAWDOWN).darker(125).name(), 0.45))
        self.drawdown_curve = _curve(pg.mkPen(theme.DRAWDOWN, width=1), fillLevel=0.0, brush=dd_fill)
        self.drawdown_plot.addItem(self.drawdown_curve)
        # a benchmark, rebased to the initial cash (ResultsView.show_benchmark); hidden without one
        self.benchmark_curve = _curve(pg.mkPen(theme.INDICATOR_COLORS[0], width=1, style=thin))
        self._benchmark_y: np.ndarray | None = None
        self.benchmark_curve.setVisible(False)
        self.equity_plot.addItem(self.benchmark_curve)
        self.legends[1].addItem(self.equity_curve, "Equity")
        self.legends[2].addItem(self.drawdown_curve, "Drawdown [%]")

        cross_pen = pg.mkPen(theme.MUTED, width=1, style=QtCore.Qt.PenStyle.DotLine)
        self._vlines, self._hlines = [], []
        for plot in self.plots:
            v = pg.InfiniteLine(angle=90, movable=False, pen=cross_pen)
            h = pg.InfiniteLine(angle=0, movable=False, pen=cross_pen)
            for line in (v, h):
                line.setVisible(False)
                line.setZValue(20)
                plot.addItem(line, ignoreBounds=True)
            self._vlines.append(v)
            self._hlines.append(h)
        self._mouse_proxy = pg.SignalProxy(self.graphics.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_mouse_moved)
        self.price_plot.sigXRangeChanged.connect(self._on_x_range_changed)

    # -- data ------------------------------------------------------------------------------------
    def set_result(self, result: Result, indicators: dict[str, np.ndarray] | None = None) -> None:
        """Show `result`'s bars, trades, equity and drawdown; `indicators` (name -> array per bar)
        are drawn over the price. The view starts on the whole range."""
        self.apply_prepared(result, prepare_chart(result, indicators))

    def apply_prepared(self, result: Result, prep: ChartPrep) -> None:
        """Show `result` from its arrays made ready by `prepare_chart` (off the UI thread): only handing
        arrays to the items happens here."""
        for _ in self.apply_steps(result, prep):
            pass

    def apply_steps(self, result: Result, prep: ChartPrep) -> Iterator[None]:
        """`apply_prepared` in steps (a generator: the caller may run each in its own event-loop turn, so the
        UI thread is never blocked for all of them): candles and ranges, each indicator line, the equity,
        the drawdown."""
        self.clear()
        n = prep.n
        self._result = result
        self._ts_s = prep.ts_s
        for axis in self.date_axes:
            axis.set_timestamps(self._ts_s)
        self.candles.set_pyramid(prep.pyramid)
        self._price_index = list(prep.price_index)
        self._equity_index = prep.equity_index
        self._dd_index = prep.dd_index
        # the new x range first, while the curves are empty: each 1M-point curve then downsamples once,
        # for the view it will be drawn in, not once for the old view and again for the new one
        pad = max(5.0, n * 0.02)
        for plot in self.plots:
            plot.vb.setLimits(xMin=-pad, xMax=n - 1 + pad, minXRange=min(8.0, n + 1.0))
        self.price_plot.setXRange(-0.5, n - 0.5, padding=0.01)
        # the markers after the range: the limits above pass the view through a narrow range first
        # (a fresh chart's), where they would be shown, and so handed to pyqtgraph, for nothing
        self._markers = prep.markers
        self._entry_bars = prep.markers.entry_bars
        for k, line in enumerate(prep.indicators):
            item = _curve(pg.mkPen(theme.INDICATOR_COLORS[k % len(theme.INDICATOR_COLORS)], width=1))
            item.setZValue(3)
            self.price_plot.addItem(item)  # before setData: pyqtgraph clips to the scene's view otherwise
            item.setData(line.x, line.y, skipFiniteCheck=line.finite)
            self.legends[0].addItem(item, line.name)
            self._indicator_items.append(item)
            yield  # pyqtgraph downsamples each 1M-point curve as it is set (~5-10 ms): one per step
        if prep.markers.count:
            self.legends[0].addItem(self._entries, "entry")
            self.legends[0].addItem(self._exits, "exit")
        yield
        self.equity_curve.setData(prep.x, prep.equity)
        yield
        # An array `connect` makes pyqtgraph fill with one path instead of one path per 50 points
        # (hundreds of fillPath calls a frame); the raster engine fills one simple polygon faster.
        self.drawdown_curve.setData(prep.x, prep.drawdown_pct, connect=prep.drawdown_connect)
        self._cash_line.setPos(prep.init_cash)
        self._cash_line.setVisible(True)
        self._on_x_range_changed()
        self.show_crosshair_at(n - 1)
        for line in (*self._vlines, *self._hlines):
            line.setVisible(False)

    def _load_markers(self) -> None:
        """Hand the trade markers to their items the first time they are shown: above MAX_VISIBLE_TRADES
        in view they are hidden, so a result opened on its whole range (thousands of trades) skips
        pyqtgraph's per-point scatter setup (~15 ms for 7,000 trades) until the view is zoomed in."""
        m = self._markers
        if m is None:
            return
        self._markers = None
        self._entries.setData(m.entry_x, m.entry_y)
        self._exits.setData(m.exit_x, m.exit_y)
        for item, (xs, ys, connect) in ((self._win_lines, m.win), (self._loss_lines, m.loss)):
            item.setData(xs, ys, connect=connect)

    def set_benchmark(self, values: np.ndarray | None, name: str = "") -> None:
        """Draw `values` (one per bar, in the equity's currency) beside the equity, or remove it (None)."""
        legend = self.legends[1]
        legend.removeItem(self.benchmark_curve)
        if values is None:
            self._benchmark_y = None
            self.benchmark_curve.setData([], [])
            self.benchmark_curve.setVisible(False)
            self._on_x_range_changed()
            return
        y = np.asarray(values, dtype=np.float64)
        self._benchmark_y = y
        self.benchmark_curve.setData(np.arange(len(y), dtype=np.float64), y, connect="finite")
        self.benchmark_curve.setVisible(True)
        legend.addItem(self.benchmark_curve, f"Benchmark: {name}")
        self._on_x_range_changed()

    def clear(self) -> None:
        """Empty every pane."""
        self._result = None
        for item in self._indicator_items:
            self.price_plot.removeItem(item)
        self._indicator_items = []
        self.legends[0].clear()
        self.candles.clear()
        for item in (self._entries, self._exits):
            item.clear()
        for curve in (self._win_lines, self._loss_lines, self.equity_curve, self.drawdown_curve):
            curve.setData([], [])
        self._price_index, self._equity_index, self._dd_index = [], None, None
        self._entry_bars = np.empty(0, dtype=np.int64)
        self._markers = None
        self._focus.setVisible(False)
        self._cash_line.setVisible(False)
        for line in (*self._vlines, *self._hlines):
            line.setVisible(False)
        self.readout.setText(" ")

    # -- view ------------------------------------------------------------------------------------
    @property
    def candle_level(self) -> int:
        """0: one candle per bar; k > 0: one aggregated candle per 2**k bars (zoomed out)."""
        return self.candles.level

    def x_range(self) -> tuple[float, float]:
        x0, x1 = self.price_plot.vb.viewRange()[0]
        return float(x0), float(x1)

    def focus_trade(self, entry_bar: int, exit_bar: int) -> None:
        """Zoom x to a trade (entry..exit bars) with a margin of half its length, at least 10 bars,
        and highlight it."""
        lo, hi = sorted((int(entry_bar), int(exit_bar)))
        margin = max(10.0, (hi - lo + 1) * 0.5)
        self._focus.setRegion((lo - 0.5, hi + 0.5))
        self._focus.setVisible(True)
        self.price_plot.setXRange(lo - margin, hi + margin, padding=0)
        self.show_crosshair_at(lo)

    def _on_x_range_changed(self, *_args) -> None:
        x0, x1 = self.x_range()
        start, stop = x0, x1 + 1
        price = [r for r in (ix.min_max(start, stop) for ix in self._price_index) if r is not None]
        if price:
            _fit_y(self.price_plot, min(r[0] for r in price), max(r[1] for r in price), 0.05)
        eq = self._equity_index.min_max(start, stop) if self._equity_index else None
        bench = self._benchmark_y
        if eq is not None and bench is not None:  # the benchmark beside the equity stays in view too
            part = bench[max(int(start), 0):max(int(stop), 0)]
            part = part[np.isfinite(part)]
            if part.size:
                eq = (min(eq[0], float(part.min())), max(eq[1], float(part.max())))
        if eq is not None:
            _fit_y(self.equity_plot, eq[0], eq[1], 0.08)
        dd = self._dd_index.min_max(start, stop) if self._dd_index else None
        if dd is not None:
            lo = min(dd[0], 0.0)
            _fit_y(self.drawdown_plot, lo if lo < -1e-9 else -1.0, 0.0, 0.08)
        n_visible = int(np.searchsorted(self._entry_bars, x1) - np.searchsorted(self._entry_bars, x0))
        show = n_visible <= MAX_VISIBLE_TRADES
        if show:
            self._load_markers()
        for item in (self._entries, self._exits, self._win_lines, self._loss_lines):
            item.setVisible(show)
        self.candles.update_lod()

    @property
    def trade_markers_visible(self) -> bool:
        return self._entries.isVisible()

    # -- crosshair -------------------------------------------------------------------------------
    def _on_mouse_moved(self, event: tuple) -> None:
        pos = event[0]
        for k, plot in enumerate(self.plots):
            if plot.vb.sceneBoundingRect().contains(pos):
                point = plot.vb.mapSceneToView(pos)
                self.show_crosshair_at(int(round(point.x())), point.y(), pane=k)
                return

    def show_crosshair_at(self, bar: int, y: float | None = None, pane: int = 0) -> str:
        """Put the crosshair on `bar` (clamped to the data) and return the readout's plain text."""
        r = self._result
        if r is None or len(r.bars) == 0:
            return ""
        i = min(max(int(bar), 0), len(r.bars) - 1)
        for k, (v, h) in enumerate(zip(self._vlines, self._hlines, strict=False)):
            v.setPos(i)
            v.setVisible(True)
            h.setVisible(k == pane and y is not None)
            if y is not None:
                h.setPos(y)
        b = r.bars
        when = datetime.fromtimestamp(int(self._ts_s[i]), tz=UTC)
        when_s = when.strftime("%Y-%m-%d" if b.timeframe.endswith(("d", "w", "mo")) else "%Y-%m-%d %H:%M")
        close_color = theme.UP if b.close[i] >= b.open[i] else theme.DOWN
        fields = [(f"{b.symbol} {b.timeframe}".strip(), theme.FOREGROUND), (when_s, theme.FOREGROUND)]
        fields += [(f"{k} {format_price(v)}", close_color) for k, v in
                   zip("OHLC", (b.open[i], b.high[i], b.low[i], b.close[i]), strict=False)]
        fields += [(f"Equity {_money(r.equity[i])}", theme.EQUITY),
                   (f"DD {r.drawdown_pct[i]:.2f}%", theme.DRAWDOWN), (f"bar {i}", theme.MUTED)]
        html = "&nbsp;&nbsp;".join(f'<span style="color:{c}">{t}</span>' for t, c in fields if t)
        self.readout.setText(html)
        return "  ".join(t for t, _ in fields if t)

    # -- export ----------------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> Path:
        """Save the chart (readout included) as PNG at the widget's current size; OSError on failure."""
        path = Path(path)
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path
