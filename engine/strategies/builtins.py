"""The built-in strategies. Every exit, and every market entry, is a strict crossover of two defined series
(see engine/kernels/signals.py), so none can fire on the first bar where its indicator is defined; a stop
entry (donchian_stop) is placed at a level computed from bars up to its signal bar and works from the next.
Every indicator is causal, so signals and orders on bars[:k] equal the first k on the full bars.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.bars import Bars
from engine.kernels.indicators import atr_nb, bollinger_nb, donchian_nb, ema_nb, macd_nb, rsi_nb, sma_nb
from engine.kernels.signals import cross_nb, crossover_level_nb, crossover_nb, crossunder_nb, sma_cross_nb
from engine.strategies.base import Orders, Param, Signals, Strategy, resolve_params
from engine.strategies.memo import memo, memo_active


def _shift1(x: np.ndarray) -> np.ndarray:
    """x delayed by one bar (NaN at bar 0): the value each bar had at the previous bar."""
    out = np.empty_like(x)
    out[:1] = np.nan
    out[1:] = x[:-1]
    return out


def _must_be_less(params: dict[str, Any], a: str, b: str) -> str | None:
    if params[a] < params[b]:
        return None
    return f"{a} must be less than {b} (got {a}={params[a]!r}, {b}={params[b]!r})"


class SmaCross(Strategy):
    name = "sma_cross"
    description = "Long when the fast simple moving average crosses above the slow one; exit on the cross back."
    params = (
        Param("n1", int, 10, 1, 500, 1),
        Param("n2", int, 20, 2, 1000, 1),
    )

    def constraints(self, params: dict[str, Any]) -> str | None:
        return _must_be_less(params, "n1", "n2")

    def _lines(self, bars: Bars, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        p = resolve_params(self, params)
        return p, memo(sma_nb, bars.close, p["n1"]), memo(sma_nb, bars.close, p["n2"])

    def signals(self, bars: Bars, **params: Any) -> Signals:
        if memo_active():  # a sweep: each SMA is computed once for every combo that uses it
            _, fast, slow = self._lines(bars, params)
            return Signals(*cross_nb(fast, slow))
        # one backtest: both SMAs and both crosses in one pass, bit for bit the same signals (no SMA arrays)
        p = resolve_params(self, params)
        return Signals(*sma_cross_nb(bars.close, p["n1"], p["n2"]))

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        p, fast, slow = self._lines(bars, params)
        return {f"sma_{p['n1']}": fast, f"sma_{p['n2']}": slow}


class EmaCross(Strategy):
    name = "ema_cross"
    description = "Long when the fast exponential moving average crosses above the slow one; exit on the cross back."
    params = (
        Param("n1", int, 12, 1, 500, 1),
        Param("n2", int, 26, 2, 1000, 1),
    )

    def constraints(self, params: dict[str, Any]) -> str | None:
        return _must_be_less(params, "n1", "n2")

    def _lines(self, bars: Bars, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        p = resolve_params(self, params)
        return p, memo(ema_nb, bars.close, p["n1"]), memo(ema_nb, bars.close, p["n2"])

    def signals(self, bars: Bars, **params: Any) -> Signals:
        _, fast, slow = self._lines(bars, params)
        return Signals(*cross_nb(fast, slow))

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        p, fast, slow = self._lines(bars, params)
        return {f"ema_{p['n1']}": fast, f"ema_{p['n2']}": slow}


class RsiReversion(Strategy):
    name = "rsi_reversion"
    description = ("Long when Wilder's RSI crosses back above `lower` (leaving oversold); "
                   "exit when it crosses above `upper`.")
    params = (
        Param("period", int, 14, 2, 200, 1),
        Param("lower", float, 30.0, 1.0, 99.0, 1.0),
        Param("upper", float, 70.0, 1.0, 99.0, 1.0),
    )

    def constraints(self, params: dict[str, Any]) -> str | None:
        return _must_be_less(params, "lower", "upper")

    def signals(self, bars: Bars, **params: Any) -> Signals:
        p = resolve_params(self, params)
        rsi = memo(rsi_nb, bars.close, p["period"])
        return Signals(crossover_level_nb(rsi, float(p["lower"])),
                       crossover_level_nb(rsi, float(p["upper"])))


class BollingerBreakout(Strategy):
    name = "bollinger_breakout"
    description = ("Long when the close crosses above the upper Bollinger band (SMA + k population "
                   "std); exit when it crosses below the middle band.")
    params = (
        Param("period", int, 20, 2, 500, 1),
        Param("k", float, 2.0, 0.1, 5.0, 0.1),
    )

    def _bands(self, bars: Bars, params: dict[str, Any]):
        p = resolve_params(self, params)
        return memo(bollinger_nb, bars.close, p["period"], float(p["k"]))

    def signals(self, bars: Bars, **params: Any) -> Signals:
        mid, upper, _ = self._bands(bars, params)
        return Signals(crossover_nb(bars.close, upper), crossunder_nb(bars.close, mid))

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        mid, upper, lower = self._bands(bars, params)
        return {"bb_mid": mid, "bb_upper": upper, "bb_lower": lower}


class DonchianBreakout(Strategy):
    name = "donchian_breakout"
    description = ("Long when the close crosses above the highest high of the previous `period` bars; "
                   "exit when it crosses below the lowest low of the previous `period` bars.")
    params = (Param("period", int, 20, 2, 500, 1),)

    def _channel(self, bars: Bars, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        # Shifted one bar so the current bar is not part of its own channel (else a close could
        # never be above a channel that includes its own high).
        p = resolve_params(self, params)
        upper, lower = memo(donchian_nb, bars.high, bars.low, p["period"])
        return _shift1(upper), _shift1(lower)

    def signals(self, bars: Bars, **params: Any) -> Signals:
        upper, lower = self._channel(bars, params)
        return Signals(crossover_nb(bars.close, upper), crossunder_nb(bars.close, lower))

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        upper, lower = self._channel(bars, params)
        return {"donchian_upper": upper, "donchian_lower": lower}


class DonchianStop(Strategy):
    name = "donchian_stop"
    description = ("Turtle-style breakout: while flat, a buy stop at the highest high of the last `period` bars, "
                   "renewed every bar; exit when the close crosses below the lowest low of the "
                   "previous `exit_period` bars, or at a stop `atr_stop` ATRs below the fill (0: no stop).")
    params = (
        Param("period", int, 20, 2, 500, 1),
        Param("exit_period", int, 10, 2, 500, 1),
        Param("atr_period", int, 14, 1, 200, 1),
        Param("atr_stop", float, 2.0, 0.0, 20.0, 0.5),
    )

    def _lines(self, bars: Bars, params: dict[str, Any]):
        p = resolve_params(self, params)
        upper, _ = memo(donchian_nb, bars.high, bars.low, p["period"])  # includes this bar: the order waits
        _, lower = memo(donchian_nb, bars.high, bars.low, p["exit_period"])
        return p, upper, _shift1(lower)

    def signals(self, bars: Bars, **params: Any) -> Signals:
        p, upper, exit_lower = self._lines(bars, params)
        # An entry on every bar with a channel: a stop order at its top, valid for the next bar only, so
        # each bar replaces it with the new channel top (an entry while long is ignored). Not on an exit
        # bar: an entry and an exit on one bar would cancel each other (docs/simulation.md).
        exits = crossunder_nb(bars.close, exit_lower)
        entries = ~np.isnan(upper) & ~exits
        sl_dist = None
        if p["atr_stop"] > 0:
            sl_dist = memo(atr_nb, bars.high, bars.low, bars.close, p["atr_period"]) * p["atr_stop"]
            entries &= ~np.isnan(sl_dist)
        return Signals(entries, exits, orders=Orders(stop=upper, valid=1.0, sl_dist=sl_dist))

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        _, upper, exit_lower = self._lines(bars, params)
        return {"entry_stop": upper, "exit_channel": exit_lower}


class Macd(Strategy):
    name = "macd"
    description = "Long when the MACD line crosses above its signal line; exit when it crosses below."
    params = (
        Param("fast", int, 12, 1, 200, 1),
        Param("slow", int, 26, 2, 500, 1),
        Param("signal", int, 9, 1, 200, 1),
    )

    def constraints(self, params: dict[str, Any]) -> str | None:
        return _must_be_less(params, "fast", "slow")

    def signals(self, bars: Bars, **params: Any) -> Signals:
        p = resolve_params(self, params)
        line, signal_line, _ = memo(macd_nb, bars.close, p["fast"], p["slow"], p["signal"])
        return Signals(*cross_nb(line, signal_line))


BUILTIN_CLASSES: tuple[type[Strategy], ...] = (
    SmaCross, EmaCross, RsiReversion, BollingerBreakout, DonchianBreakout, DonchianStop, Macd,
)
