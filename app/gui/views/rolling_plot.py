"""Rolling time series for live plots: a preallocated ring whose window is always one contiguous view.

    ring = Ring(capacity=600, width=3)       # 60 s at 10 Hz, three series
    ring.push(time.monotonic(), (a, b, c))   # writes into preallocated arrays, allocates nothing
    t, y = ring.times(), ring.column(1)      # numpy views of the last n samples, oldest first

The ring is twice its capacity long and every sample is written twice (at i and i + capacity), so the
last n samples are always the slice [head + capacity - n, head + capacity): no copy, no np.roll.
`RollingPlot` is a small pyqtgraph plot (thin pens, no grid, no mouse, fixed "seconds ago" x range)
whose curves are refreshed with setData on such views.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from app.gui import theme


class Ring:
    """The last `capacity` samples of `width` series (NaN where a series had no value)."""

    def __init__(self, capacity: int, width: int = 1) -> None:
        if capacity < 2 or width < 1:
            raise ValueError(f"Ring(capacity={capacity}, width={width}): need capacity >= 2, width >= 1")
        self.capacity = capacity
        self.width = width
        self._t = np.zeros(2 * capacity)
        self._v = np.full((width, 2 * capacity), np.nan)  # one contiguous row per series
        self._head = 0  # where the next sample goes, in [0, capacity)
        self.n = 0

    def push(self, t: float, values: Sequence[float] | np.ndarray | float = np.nan) -> None:
        i, j = self._head, self._head + self.capacity
        self._t[i] = self._t[j] = t
        self._v[:, i] = values
        self._v[:, j] = self._v[:, i]
        self._head = (i + 1) % self.capacity
        self.n = min(self.n + 1, self.capacity)

    def _slice(self) -> slice:
        end = self._head + self.capacity
        return slice(end - self.n, end)

    def times(self) -> np.ndarray:
        return self._t[self._slice()]

    def column(self, k: int) -> np.ndarray:
        return self._v[k, self._slice()]

    def last(self, k: int, back: int = 0) -> float:
        """Series k, `back` samples before the newest (NaN if there is no such sample)."""
        if back >= self.n:
            return float("nan")
        return float(self._v[k, self._head + self.capacity - 1 - back])

    def last_time(self, back: int = 0) -> float:
        return float(self._t[self._head + self.capacity - 1 - back]) if back < self.n else float("nan")

    def set(self, k: int, back: int, value: float) -> None:
        """Overwrite series k `back` samples before the newest (both copies)."""
        i = (self._head - 1 - back) % self.capacity
        self._v[k, i] = self._v[k, i + self.capacity] = value

    def spread(self, k: int, start: float, end: float, scale: float = 1.0, cap: float = 1.0) -> None:
        """Add to series k, for each recent sample, the share of its interval covered by [start, end].

        For work reported when it finishes (a worker's task seconds): the busy time lands on the
        samples during which it happened instead of as one spike at the report.
        """
        for back in range(self.n - 1):
            t1, t0 = self.last_time(back), self.last_time(back + 1)
            if t1 <= start:
                break
            covered = min(t1, end) - max(t0, start)
            if covered > 0 and t1 > t0:
                old = self.last(k, back)
                self.set(k, back, min(cap, (0.0 if old != old else old) + scale * covered / (t1 - t0)))


class RollingPlot:
    """A small plot in a GraphicsLayout with one curve per series, x = seconds before now."""

    def __init__(self, layout: pg.GraphicsLayout, title: str, history_s: float, n_curves: int = 1,
                 colors: Sequence[str] | None = None, row: int | None = None, col: int | None = None,
                 y_range: tuple[float, float] | None = None) -> None:
        self.plot: pg.PlotItem = layout.addPlot(row=row, col=col)
        self.plot.setTitle(title, size="9pt", color=theme.FOREGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        # No grid: alpha-blended grid lines made up ~3/4 of a redraw (software raster, 8 plots at 10 Hz).
        self.plot.setXRange(-history_s, 0, padding=0.01)
        if y_range is not None:
            self.plot.setYRange(*y_range, padding=0.02)
        else:
            self.plot.enableAutoRange(axis="y")
        self.plot.getViewBox().setLimits(yMin=0)  # every series here is a rate, share or size
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setStyle(tickLength=-4)
            axis.setTextPen(pg.mkPen(theme.MUTED))
        self.plot.getAxis("left").setWidth(44)
        colors = list(colors or (theme.ACCENT, *theme.INDICATOR_COLORS))
        self.curves = [self.plot.plot(pen=pg.mkPen(colors[i % len(colors)], width=1), connect="finite")
                       for i in range(n_curves)]
        self._x = np.zeros(0)

    def update(self, ring: Ring, now: float, columns: Sequence[int] | None = None) -> None:
        """Point curve i at ring series columns[i] (default: curve i at series i), x relative to `now`.
        Curves beyond len(columns) keep what they had."""
        t = ring.times()
        if len(self._x) != ring.capacity:
            self._x = np.zeros(ring.capacity)
        x = self._x[: len(t)]
        np.subtract(t, now, out=x)
        for i, col in enumerate(columns if columns is not None else range(len(self.curves))):
            self.curves[i].setData(x, ring.column(col))

    def set_title(self, title: str) -> None:
        self.plot.setTitle(title, size="9pt", color=theme.FOREGROUND)
