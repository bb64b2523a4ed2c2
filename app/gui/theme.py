"""Colours and pens shared by every view (a dark theme; plots match the Qt style sheet)."""

from __future__ import annotations

BACKGROUND = "#1b1d23"
PANEL = "#23262e"
FOREGROUND = "#d7dae0"
MUTED = "#8b919e"
GRID_ALPHA = 0.15
ACCENT = "#4f9dff"
UP = "#26a69a"  # rising candle, winning trade, entry marker
DOWN = "#ef5350"  # falling candle, losing trade, exit marker
EQUITY = "#4f9dff"
DRAWDOWN = "#ef5350"
INDICATOR_COLORS = ("#ffb74d", "#ba68c8", "#4dd0e1", "#aed581", "#f06292", "#90a4ae")
FONT_PT = 10


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options: dark background, antialiasing off (fast), no OpenGL (slow on macOS)."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=BACKGROUND, foreground=FOREGROUND, antialias=False, useOpenGL=False,
                        leftButtonPan=True)
