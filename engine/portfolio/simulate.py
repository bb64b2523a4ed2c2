"""Per-symbol signals on aligned bars -> the portfolio kernel (engine/kernels/portfolio.py) -> its arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.errors import DataError
from engine.kernels.portfolio import (
    PF_PARAMS_DTYPE,
    PF_SIZE_EQUAL,
    PF_SIZE_PERCENT,
    PF_SIZE_UNITS,
    PF_SIZE_VALUE,
    portfolio_nb,
)
from engine.portfolio.align import AlignedBars
from engine.portfolio.config import PortfolioConfig

_SIZING_CODES = {"units": PF_SIZE_UNITS, "value": PF_SIZE_VALUE, "percent": PF_SIZE_PERCENT, "equal": PF_SIZE_EQUAL}
# vectorbt's from_signals default min_size (docs/compat.md, "Portfolio"); ours skips the same dust
MIN_UNITS = 1e-8
_NO_SCORE = np.empty((0, 0))
_NO_REBALANCE = np.empty(0, dtype=np.bool_)


class PortfolioArrays(NamedTuple):
    """What the kernel returns, per row of the aligned bars (currency) and its trade records."""

    equity: np.ndarray
    cash: np.ndarray
    position_value: np.ndarray  # the open positions at their last closes
    traded_value: np.ndarray  # bought plus sold on the row, at fill prices
    trades: np.ndarray  # PF_TRADE_DTYPE, ordered by entry row, then symbol
    n_skipped: int  # entry signals with no free slot or no cash


def params_record(config: PortfolioConfig) -> np.ndarray:
    """The kernel's options record (PF_PARAMS_DTYPE, shape (1,)) for `config`."""
    p = np.zeros(1, dtype=PF_PARAMS_DTYPE)
    p["init_cash"] = float(config.init_cash)
    p["sizing"] = _SIZING_CODES[config.sizing]
    p["size"] = float(config.size)
    p["max_positions"] = int(config.max_positions)
    if config.rebalance is not None:
        p["target_weight"] = float(config.size) if config.sizing == "percent" else -1.0  # equal: set per run
    p["min_units"] = MIN_UNITS
    p["close_at_end"] = config.at_end == "close"
    p["delist_close"] = config.delist_close and config.compat is None
    p["vbt"] = config.compat == "vectorbt"
    return p


def rebalance_rows(ts: np.ndarray, period: tuple[int, str] | None) -> np.ndarray:
    """True on the first row of each period (the first row too): count x D(ay), W(eek, from Monday),
    M(onth), Q(uarter) or Y(ear), in UTC calendar terms."""
    if period is None or len(ts) == 0:
        return _NO_REBALANCE
    count, unit = period
    t = ts.astype("datetime64[ns]")
    if unit == "D":
        idx = t.astype("datetime64[D]").astype(np.int64)
    elif unit == "W":
        idx = (t.astype("datetime64[D]").astype(np.int64) + 3) // 7  # 1970-01-01 was a Thursday
    else:
        months = t.astype("datetime64[M]").astype(np.int64)
        idx = months // {"M": 1, "Q": 3, "Y": 12}[unit]
    idx = idx // count
    out = np.ones(len(ts), dtype=np.bool_)
    out[1:] = idx[1:] != idx[:-1]
    return out


def simulate_portfolio(aligned: AlignedBars, entries: np.ndarray, exits: np.ndarray, config: PortfolioConfig,
                       score: np.ndarray | None = None, units_out: np.ndarray | None = None) -> PortfolioArrays:
    """Run the portfolio kernel: `entries`, `exits` bool [n x m] and `score` float [n x m] (higher ranks first,
    NaN last; None: symbol order) on the rows of `aligned`. Signals where a symbol has no bar are ignored.
    `units_out` [n x m] float64, if given, receives each symbol's units held at each row's close."""
    n, m = aligned.close.shape
    entries = _grid(entries, (n, m), np.bool_, "entries")
    exits = _grid(exits, (n, m), np.bool_, "exits")
    score_arr = _NO_SCORE if score is None else _grid(score, (n, m), np.float64, "score")
    if config.compat is not None and score is not None:
        raise DataError("portfolio: a score cannot be combined with compat='vectorbt': its default call "
                        "sequence is column order (docs/compat.md, \"Portfolio\")")
    params = params_record(config)
    if config.rebalance is not None and config.sizing == "equal":
        params["target_weight"] = 1.0 / (config.max_positions or m)
    rebalance = rebalance_rows(aligned.ts, config.period())
    fees = np.array([config.fee_rate(s) for s in aligned.symbols], dtype=np.float64)
    slips = np.array([config.slippage_of(s) for s in aligned.symbols], dtype=np.float64)
    close = np.ascontiguousarray(aligned.close, dtype=np.float64)
    units = np.empty((0, m)) if units_out is None else _grid(units_out, (n, m), np.float64, "units_out")
    equity, cash, held, traded, trades, n_skipped = portfolio_nb(
        close, entries, exits, score_arr, rebalance, fees, slips, aligned.last_bar, params, units)
    return PortfolioArrays(equity, cash, held, traded, trades, int(n_skipped))


def _grid(a, shape: tuple[int, int], dtype: type, name: str) -> np.ndarray:
    arr: np.ndarray = np.ascontiguousarray(a, dtype=dtype)
    if arr.shape != shape:
        raise DataError(f"portfolio: {name} has shape {arr.shape}, expected {shape} (bars x symbols)")
    return arr if arr.flags.writeable else arr.copy()
