"""Candlesticks that stay smooth on a million bars: OHLC pyramids and cached, chunked QPictures.

The x coordinate of bar i is i (bar index, not time), so gaps (weekends, nights) take no room.

Level of detail: level k draws one candle per 2**k bars, aggregated (first open, max high, min low,
last close) from a pyramid built once per data set. The level is the smallest one that keeps the
visible candles under one per MIN_PX_PER_CANDLE pixels of view width, so level 0 (real candles) is
used once the view is zoomed in far enough. Each level is drawn in chunks of CHUNK candles, each chunk
recorded once into a QPicture (kept in a small LRU), so a frame only replays a few cached pictures.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from app.gui import theme

CHUNK = 512  # candles per cached picture
MIN_PX_PER_CANDLE = 2.0
MIN_VISIBLE_CANDLES = 256  # even a narrow view may show this many candles before aggregating
BODY_WIDTH = 0.8  # of the bucket
_PICTURE_CACHE = 96


class OhlcPyramid:
    """OHLC aggregated by powers of two: level k, bucket j covers bars [j * 2**k, (j + 1) * 2**k)."""

    def __init__(self, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
        level = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close))
        self.levels: list[tuple[np.ndarray, ...]] = [level]
        while len(level[0]) > 1:
            o, h, lo, c = level
            m = len(o) // 2
            # The last bucket of an odd-length level holds one bar; it keeps its own values.
            level = (
                np.concatenate((o[0:2 * m:2], o[2 * m:])),
                np.concatenate((np.fmax(h[0:2 * m:2], h[1:2 * m:2]), h[2 * m:])),
                np.concatenate((np.fmin(lo[0:2 * m:2], lo[1:2 * m:2]), lo[2 * m:])),
                np.concatenate((c[1:2 * m:2], c[2 * m:])),
            )
            self.levels.append(level)

    def __len__(self) -> int:
        return len(self.levels[0][0])

    def low_high(self, start: float, stop: float) -> tuple[float, float] | None:
        """(min low, max high) of bars [start, stop), from a level coarse enough to be cheap.

        Buckets cut by the range are counted whole, so the range may come out slightly wide.
        """
        return _range_query(self.levels, 2, 1, start, stop)


class MinMaxIndex:
    """Min/max of a series over any bar range in O(~2000) work, from a min/max pyramid (NaN ignored)."""

    def __init__(self, values: np.ndarray) -> None:
        lo = hi = np.ascontiguousarray(values, dtype=np.float64)
        self.levels: list[tuple[np.ndarray, np.ndarray]] = [(lo, hi)]
        while len(lo) > 1:
            m = len(lo) // 2
            lo = np.concatenate((np.fmin(lo[0:2 * m:2], lo[1:2 * m:2]), lo[2 * m:]))
            hi = np.concatenate((np.fmax(hi[0:2 * m:2], hi[1:2 * m:2]), hi[2 * m:]))
            self.levels.append((lo, hi))

    def min_max(self, start: float, stop: float) -> tuple[float, float] | None:
        """(min, max) over bars [start, stop); None when the range is empty or all NaN."""
        return _range_query(self.levels, 0, 1, start, stop)


def _range_query(levels: list, lo_col: int, hi_col: int, start: float, stop: float,
                 max_items: int = 2048) -> tuple[float, float] | None:
    n = len(levels[0][0])
    i0 = max(0, int(math.floor(start)))
    i1 = min(n, int(math.ceil(stop)))
    if i1 <= i0:
        return None
    k = 0
    while (i1 - i0) >> k > max_items and k + 1 < len(levels):
        k += 1
    j0, j1 = i0 >> k, ((i1 - 1) >> k) + 1
    lo = np.fmin.reduce(levels[k][lo_col][j0:j1])
    hi = np.fmax.reduce(levels[k][hi_col][j0:j1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return float(lo), float(hi)


def level_for(visible_bars: float, view_px: float) -> int:
    """The pyramid level that shows `visible_bars` bars in `view_px` pixels without crowding."""
    max_candles = max(MIN_VISIBLE_CANDLES, view_px / MIN_PX_PER_CANDLE)
    if visible_bars <= max_candles:
        return 0
    return int(math.ceil(math.log2(visible_bars / max_candles)))


class CandlestickItem(pg.GraphicsObject):
    """Candles for bars at x = 0..n-1; call `set_data`, the level of detail follows the view."""

    def __init__(self) -> None:
        super().__init__()
        self._pyramid: OhlcPyramid | None = None
        self._bounds = QtCore.QRectF()
        self._pictures: OrderedDict[tuple[int, int], QtGui.QPicture] = OrderedDict()
        self.level = 0
        self.pictures_built = 0  # how many chunk pictures were recorded (a test/benchmark probe)
        self._styles = (
            (pg.mkPen(theme.UP, width=1), pg.mkBrush(theme.UP)),
            (pg.mkPen(theme.DOWN, width=1), pg.mkBrush(theme.DOWN)),
        )
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    # -- data ------------------------------------------------------------------------------------
    def set_data(self, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> None:
        self.set_pyramid(OhlcPyramid(open_, high, low, close) if len(close) else None)

    def set_pyramid(self, pyramid: OhlcPyramid | None) -> None:
        """Show the bars of `pyramid` (built by OhlcPyramid in any thread; None: no candles)."""
        self.prepareGeometryChange()
        self._pictures.clear()
        self._pyramid = pyramid
        if pyramid is None:
            self._bounds = QtCore.QRectF()
        else:
            top = pyramid.levels[-1]
            lo, hi = float(top[2][0]), float(top[1][0])
            self._bounds = QtCore.QRectF(-0.5, lo, float(len(pyramid)), max(hi - lo, 1e-9))
        self.update_lod()
        self.update()

    def clear(self) -> None:
        self.set_data(*(np.empty(0),) * 4)

    @property
    def pyramid(self) -> OhlcPyramid | None:
        return self._pyramid

    @property
    def bars_per_candle(self) -> int:
        return 1 << self.level

    # -- level of detail -------------------------------------------------------------------------
    def update_lod(self) -> int:
        """Pick the level for the current view; repaint only when it changes."""
        vb = self.getViewBox()
        if self._pyramid is None or vb is None:
            return self.level
        (x0, x1), _ = vb.viewRange()
        level = min(level_for(x1 - x0, max(vb.width(), 1.0)), len(self._pyramid.levels) - 1)
        if level != self.level:
            self.level = level
            self.update()
        return level

    # The base hooks drop the cached viewRect(); without super() paint() would see a stale range.
    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph hook
        super().viewRangeChanged()
        self.update_lod()

    def viewTransformChanged(self) -> None:  # noqa: N802 - pyqtgraph hook (view resized)
        super().viewTransformChanged()
        self.update_lod()

    # -- drawing ---------------------------------------------------------------------------------
    def _picture(self, level: int, chunk: int) -> QtGui.QPicture:
        key = (level, chunk)
        pic = self._pictures.get(key)
        if pic is not None:
            self._pictures.move_to_end(key)
            return pic
        assert self._pyramid is not None
        o, h, lo, c = (a[chunk * CHUNK:(chunk + 1) * CHUNK] for a in self._pyramid.levels[level])
        w = float(1 << level)
        x = (np.arange(len(o)) + chunk * CHUNK) * w + (w - 1.0) / 2.0
        half = BODY_WIDTH * w / 2.0
        pic = QtGui.QPicture()
        p = QtGui.QPainter(pic)
        rising = c >= o
        for mask, (pen, brush) in zip((rising, ~rising), self._styles, strict=False):
            if not mask.any():
                continue
            xm, om, cm = x[mask], o[mask], c[mask]
            wick_x = np.repeat(xm, 2)
            wick_y = np.column_stack((lo[mask], h[mask])).ravel()
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(pg.arrayToQPath(wick_x, wick_y, connect="pairs", finiteCheck=False))
            body_x = np.column_stack((xm - half, xm + half, xm + half, xm - half, xm - half)).ravel()
            body_y = np.column_stack((om, om, cm, cm, om)).ravel()
            connect = np.tile(np.array([1, 1, 1, 1, 0], dtype=np.int32), len(xm))
            p.setBrush(brush)
            p.drawPath(pg.arrayToQPath(body_x, body_y, connect=connect, finiteCheck=False))
        p.end()
        self.pictures_built += 1
        self._pictures[key] = pic
        if len(self._pictures) > _PICTURE_CACHE:
            self._pictures.popitem(last=False)
        return pic

    def paint(self, p: QtGui.QPainter, option, widget=None) -> None:
        if self._pyramid is None:
            return
        view = self.viewRect()
        if view is None:
            return
        level = self.level
        n_level = len(self._pyramid.levels[level][0])
        w = 1 << level
        j0 = max(0, int(math.floor(view.left())) // w - 1)
        j1 = min(n_level, int(math.ceil(view.right())) // w + 2)
        for chunk in range(j0 // CHUNK, (j1 - 1) // CHUNK + 1 if j1 > j0 else 0):
            p.drawPicture(0, 0, self._picture(level, chunk))

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt API
        return QtCore.QRectF(self._bounds)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 - pyqtgraph API
        if self._pyramid is None:
            return None, None
        if ax == 0:
            return self._bounds.left(), self._bounds.right()
        start, stop = orthoRange if orthoRange is not None else (0, len(self._pyramid))
        rng = self._pyramid.low_high(start, stop + 1)
        return rng if rng is not None else (None, None)
