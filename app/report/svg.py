"""Static charts as inline SVG for the HTML report: nothing fetched, nothing run in the browser.

Each function returns an <svg> element as text, drawn in a fixed viewBox that scales with the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

W, H = 900, 260  # the viewBox
PAD_L, PAD_R, PAD_T, PAD_B = 64, 12, 16, 28
INK, MUTED, GRID = "#1f2430", "#6b7280", "#e5e7eb"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step) + 1)]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


class _Frame:
    """Data to viewBox coordinates, with the axes' ticks and labels."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        if y1 <= y0:
            y0, y1 = y0 - 1, y1 + 1
        if x1 <= x0:
            x1 = x0 + 1
        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1

    def x(self, v: float) -> float:
        return PAD_L + (v - self.x0) / (self.x1 - self.x0) * (W - PAD_L - PAD_R)

    def y(self, v: float) -> float:
        return H - PAD_B - (v - self.y0) / (self.y1 - self.y0) * (H - PAD_T - PAD_B)

    def axes(self, x_labels: Sequence[tuple[float, str]] = ()) -> list[str]:
        out = []
        for t in _ticks(self.y0, self.y1):
            y = self.y(t)
            out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}" '
                       f'font-size="11">{_fmt(t)}</text>')
        for v, label in x_labels:
            x = self.x(v)
            anchor = "end" if x > W - PAD_R - 40 else "start" if x < PAD_L + 40 else "middle"  # ends stay inside
            out.append(f'<text x="{x:.1f}" y="{H - 8}" text-anchor="{anchor}" fill="{MUTED}" '
                       f'font-size="11">{html.escape(label)}</text>')
        return out


def _points(frame: _Frame, xs: np.ndarray, ys: np.ndarray, step: int) -> str:
    return " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(xs[::step], ys[::step], strict=True)
                    if math.isfinite(y))


def _thin(n: int, most: int = 1500) -> int:
    """A stride that keeps a line to about `most` points (the page stays small)."""
    return max(1, n // most)


def line_chart(series: Sequence[tuple[str, np.ndarray, str]], x_labels: Sequence[tuple[float, str]] = (),
               fill_to_zero: bool = False, bands: Sequence[tuple[np.ndarray, np.ndarray, str]] = (),
               title: str = "") -> str:
    """Lines (name, values, colour) over x = 0..n-1, optional filled bands (low, high, colour) under them."""
    values = [v for _, v, _ in series] + [b for lo, hi, _ in bands for b in (lo, hi)]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(1)
    n = max(len(v) for v in values)
    frame = _Frame(0, n - 1, float(finite.min()), float(finite.max()))
    if fill_to_zero:
        frame = _Frame(0, n - 1, min(float(finite.min()), 0.0), max(float(finite.max()), 0.0))
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{html.escape(title)}">', *frame.axes(x_labels)]
    for low, high, colour in bands:
        step = _thin(len(low))
        xs = np.arange(len(low))
        upper = _points(frame, xs, high, step)
        lower = _points(frame, xs[::-1], low[::-1], step)
        parts.append(f'<polygon points="{upper} {lower}" fill="{colour}" stroke="none"/>')
    for name, ys, colour in series:
        xs = np.arange(len(ys))
        pts = _points(frame, xs, ys, _thin(len(ys)))
        if fill_to_zero:
            zero = frame.y(0.0)
            parts.append(f'<polygon points="{frame.x(0):.1f},{zero:.1f} {pts} {frame.x(len(ys) - 1):.1f},{zero:.1f}" '
                         f'fill="{colour}" fill-opacity="0.25" stroke="none"/>')
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5">'
                     f'<title>{html.escape(name)}</title></polyline>')
    legend_x = PAD_L + 8
    for k, (name, _, colour) in enumerate(series):
        y = PAD_T + 12 + 16 * k
        parts.append(f'<rect x="{legend_x}" y="{y - 9}" width="12" height="3" fill="{colour}"/>'
                     f'<text x="{legend_x + 18}" y="{y - 4}" font-size="11" fill="{INK}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: np.ndarray, bins: int = 40, colour: str = "#4f9dff", marker: float | None = None,
              title: str = "") -> str:
    """Bars of `values`' histogram; `marker`: a vertical line at that value (e.g. the actual run)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return '<p class="muted">nothing to show</p>'
    low, high = float(values.min()), float(values.max())
    if high - low <= 1e-12 * max(1.0, abs(high)):
        low, high, bins = low - 0.5, high + 0.5, 1
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    frame = _Frame(edges[0], edges[-1], 0.0, float(counts.max()))
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" '
             f'aria-label="{html.escape(title)}">',
             *frame.axes([(float(t), _fmt(t)) for t in _ticks(edges[0], edges[-1], 8)])]
    for c, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        x, w = frame.x(a), max(frame.x(b) - frame.x(a) - 1, 1)
        parts.append(f'<rect x="{x:.1f}" y="{frame.y(c):.1f}" width="{w:.1f}" height="{frame.y(0) - frame.y(c):.1f}" '
                     f'fill="{colour}"/>')
    if marker is not None and math.isfinite(marker):
        x = frame.x(min(max(marker, edges[0]), edges[-1]))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" stroke="#f59e0b" '
                     'stroke-width="2"/>'
                     f'<text x="{x + 4:.1f}" y="{PAD_T + 10}" font-size="11" fill="#b45309">actual</text>')
    parts.append("</svg>")
    return "".join(parts)
