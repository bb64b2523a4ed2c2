"""A finished backtest made ready to show, as plain data: built off the UI thread, swapped in on it.

Showing a 1M-bar result used to block the UI thread for ~2 s (docs/performance.md, "Showing a 1M-bar
result"): min/max and OHLC pyramids over every bar, trade-marker arrays, the trades table's values, the
indicators. `prepare_result` does all of that with numpy and polars only (no Qt object is created or touched,
so it may run in any thread); `ResultsView.apply_prepared` then hands the arrays to the widgets in one short
step on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.gui.views.candles import MinMaxIndex, OhlcPyramid
from app.gui.views.trades_table import TradesPrep, prepare_trades

if TYPE_CHECKING:
    from engine.result import Result


@dataclass(frozen=True)
class IndicatorLine:
    name: str
    x: np.ndarray
    y: np.ndarray
    finite: bool  # no NaN after the warm-up: pyqtgraph may skip its finite check
    index: MinMaxIndex


@dataclass(frozen=True)
class TradeMarkers:
    entry_x: np.ndarray
    entry_y: np.ndarray
    exit_x: np.ndarray  # closed trades only
    exit_y: np.ndarray
    # (xs, ys, connect) of the entry -> exit segments of winning and of losing trades
    win: tuple[np.ndarray, np.ndarray, np.ndarray]
    loss: tuple[np.ndarray, np.ndarray, np.ndarray]
    entry_bars: np.ndarray  # sorted: how many trades a view holds, by two binary searches
    count: int


@dataclass(frozen=True)
class ChartPrep:
    """What `ChartView.apply_prepared` draws: one result's arrays and the indexes behind its y ranges."""

    n: int
    ts_s: np.ndarray
    pyramid: OhlcPyramid | None
    price_index: list[MinMaxIndex]  # low, high, then one per indicator
    indicators: list[IndicatorLine]
    markers: TradeMarkers
    x: np.ndarray
    equity: np.ndarray
    drawdown_pct: np.ndarray
    drawdown_connect: np.ndarray
    equity_index: MinMaxIndex
    dd_index: MinMaxIndex
    init_cash: float


@dataclass(frozen=True)
class ResultPrep:
    """Everything `ResultsView.apply_prepared` shows of one result."""

    result: Any  # engine.result.Result
    indicators: dict[str, np.ndarray]
    chart: ChartPrep
    trades: TradesPrep
    n_open: int
    extra: dict[str, Any] = field(default_factory=dict)


def default_indicators(result: Result) -> dict[str, np.ndarray]:
    """The strategy's own indicator lines for `result`, or none if the strategy can't be found."""
    from engine.errors import StrategyError
    from engine.strategies import get_strategy

    try:
        strategy = get_strategy(result.strategy)
        return strategy.indicators(result.bars, **result.params)
    except (StrategyError, TypeError, ValueError):
        return {}


def trimmed(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """x, y without the leading NaNs (indicator warm-up), and whether the rest is all finite."""
    finite = np.isfinite(y)
    first = int(np.argmax(finite)) if finite.any() else len(y)
    x = np.arange(first, len(y), dtype=np.float64)
    return x, y[first:], bool(finite[first:].all())


def trade_markers(rec: np.ndarray) -> TradeMarkers:
    """Entry and exit triangles and the entry -> exit segments of trade records."""
    entry_bar = rec["entry_bar"].astype(np.int64)
    exit_bar = rec["exit_bar"].astype(np.int64)
    closed = ~rec["is_open"].astype(bool)
    segments = []
    for mask in (rec["pnl"] > 0, rec["pnl"] <= 0):
        xs = np.column_stack((entry_bar[mask], exit_bar[mask])).ravel().astype(float)
        ys = np.column_stack((rec["entry_price"][mask], rec["exit_price"][mask])).ravel()
        connect = np.tile(np.array([1, 0], dtype=np.int32), int(mask.sum()))
        segments.append((xs, ys, connect))
    return TradeMarkers(entry_bar.astype(float), np.asarray(rec["entry_price"]), exit_bar[closed].astype(float),
                        np.asarray(rec["exit_price"][closed]), segments[0], segments[1], np.sort(entry_bar),
                        len(rec))


def prepare_chart(result: Result, indicators: dict[str, np.ndarray] | None = None) -> ChartPrep:
    """The chart's arrays for `result` (no Qt: any thread)."""
    bars = result.bars
    n = len(bars)
    pyramid = OhlcPyramid(bars.open, bars.high, bars.low, bars.close) if n else None
    price_index = [MinMaxIndex(bars.low), MinMaxIndex(bars.high)]
    lines = []
    for name, values in (indicators or {}).items():
        y = np.asarray(values, dtype=np.float64)
        x, y_shown, finite = trimmed(y)
        index = MinMaxIndex(values)
        lines.append(IndicatorLine(name, x, y_shown, finite, index))
        price_index.append(index)
    return ChartPrep(
        n=n, ts_s=bars.ts // 1_000_000_000, pyramid=pyramid, price_index=price_index, indicators=lines,
        markers=trade_markers(result.trade_records), x=np.arange(n, dtype=np.float64), equity=result.equity,
        drawdown_pct=result.drawdown_pct, drawdown_connect=np.ones(n, dtype=np.int32),
        equity_index=MinMaxIndex(result.equity), dd_index=MinMaxIndex(result.drawdown_pct),
        init_cash=float(result.config.init_cash))


def prepare_result(result: Result, indicators: dict[str, np.ndarray] | None = None) -> ResultPrep:
    """`result` made ready to show; `indicators` default to the strategy's own lines. No Qt: any thread."""
    if indicators is None:
        indicators = default_indicators(result)
    return ResultPrep(result, indicators, prepare_chart(result, indicators), prepare_trades(result.trades),
                      int(result.trade_records["is_open"].sum()))
