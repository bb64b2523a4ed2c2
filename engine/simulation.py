"""Signals -> trades, equity and stats: the Python face of the simulate and stats kernels."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import DataError
from engine.kernels.simulate import (
    FILL_CLOSE,
    FILL_NEXT_OPEN,
    SIM_PARAMS_DTYPE,
    SIZE_ALL,
    SIZE_ALL_UNITS,
    SIZE_FIXED,
    SIZE_PERCENT,
    simulate_nb,
)
from engine.kernels.stats import STAT_KEYS, stats_nb
from engine.strategies.base import Signals

_FILL_CODES = {"next_open": FILL_NEXT_OPEN, "close": FILL_CLOSE}
_SIZING_CODES = {"all": SIZE_ALL, "all_units": SIZE_ALL_UNITS, "fixed": SIZE_FIXED, "percent": SIZE_PERCENT}
_INT_STATS = {"n_trades"}
_SIM_FIELDS = set(SIM_PARAMS_DTYPE.names or ())


class SignalArrays(NamedTuple):
    """Anything with these four fields works as signals (strategies return `Signals`, the same shape)."""

    entries: Any
    exits: Any
    short_entries: Any = None
    short_exits: Any = None


def simulate(bars: Bars, signals: SignalArrays | Signals, config: SimConfig):
    """Run the simulate kernel on `bars` with `signals` under `config`.

    Returns (equity, trade_records, status_code, n_cancelled).
    """
    n = len(bars)
    entries, exits, short_entries, short_exits = _directional(signals, config.direction, n)
    return simulate_nb(bars.open, bars.high, bars.low, bars.close, entries, exits, short_entries, short_exits,
                       sim_params(config))


def sim_params(config: SimConfig) -> np.ndarray:
    """The kernel's options record (SIM_PARAMS_DTYPE, shape (1,)) for `config`: the one place a SimConfig
    becomes the kernel's numbers, field by name (`direction` is applied to the signals, `_directional`)."""
    values: dict[str, Any] = {
        "init_cash": float(config.init_cash),
        "fee_rate": float(config.commission),
        "fixed_fee": float(config.fixed_fee),
        "slippage": float(config.slippage),
        "size": float(config.size),
        "sl": float(config.sl or 0.0),
        "tp": float(config.tp or 0.0),
        "trail": float(config.trail or 0.0),
        "fill": _FILL_CODES[config.fill],
        "sizing": _SIZING_CODES[config.sizing],
        "warmup": int(config.warmup_bars),
        "reenter": config.on_entry_while_long == "reenter",
        "entry_wins": config.same_bar_conflict == "entry_wins",
        "close_at_end": config.at_end == "close",
    }
    if values.keys() != _SIM_FIELDS:  # a field added to one side only
        raise AssertionError(f"sim_params: fields {sorted(values.keys() ^ _SIM_FIELDS)} "
                             "are set here or in SIM_PARAMS_DTYPE, not both")
    params = np.zeros(1, dtype=SIM_PARAMS_DTYPE)
    for name, value in values.items():
        params[name] = value
    return params


def compute_stats(bars: Bars, equity: np.ndarray, trades: np.ndarray, init_cash: float) -> dict[str, Any]:
    """Stats dict (engine/kernels/stats.py defines every figure)."""
    values = stats_nb(equity, bars.ts, bars.close, trades["entry_bar"], trades["exit_bar"], trades["pnl"],
                      trades["return_pct"], trades["is_open"], float(init_cash))
    times = bars.times()
    stats: dict[str, Any] = {
        "start": str(np.datetime_as_string(times[0], unit="s")) + "Z" if len(bars) else None,
        "end": str(np.datetime_as_string(times[-1], unit="s")) + "Z" if len(bars) else None,
    }
    for key, v in zip(STAT_KEYS, values, strict=True):
        stats[key] = int(v) if key in _INT_STATS else float(v)
    return stats


def _directional(signals: SignalArrays | Signals, direction: str, n: int):
    """Long/short signal arrays for the kernel from a strategy's Signals and the config direction."""
    entries = _bool_array(signals.entries, n, "entries")
    exits = _bool_array(signals.exits, n, "exits")
    none = np.zeros(n, dtype=np.bool_)
    if direction == "long":
        return entries, exits, none, none
    if direction == "short":
        return none, none, entries, exits
    se = signals.short_entries
    sx = signals.short_exits
    short_entries = exits if se is None else _bool_array(se, n, "short_entries")
    short_exits = entries if sx is None else _bool_array(sx, n, "short_exits")
    return entries, exits, short_entries, short_exits


def _bool_array(a, n: int, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.bool_)
    if arr.shape != (n,):
        raise DataError(f"signals: {name} has shape {arr.shape}, expected ({n},)")
    return arr
