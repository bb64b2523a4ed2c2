"""vectorbt 1.2.0's cash-sharing portfolio on aligned bars and per-symbol signals (extra 'peers').

`Portfolio.from_signals(close, entries, exits, init_cash, fees, slippage, size, size_type, cash_sharing=True,
group_by=True)` with its default call sequence (column order), as docs/compat.md ("Portfolio") describes; used
by the portfolio parity tests and the portfolio benchmark suite.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

VBT_SIZE_TYPES = {"units": "amount", "value": "value", "percent": "percent"}


def vectorbt_portfolio(ts: np.ndarray, close: np.ndarray, entries, exits, init_cash: float, fees, slippage=0.0,
                       sizing: str | None = None, size: float = np.inf, symbols=None, freq=None):
    """The vectorbt Portfolio for `close` [n x m] (NaN: no bar) at times `ts` (int64 ns); `fees` and `slippage`
    a number or one per symbol; `sizing` one of VBT_SIZE_TYPES (None: from_signals' default, all the cash)."""
    import vectorbt as vbt

    idx = pd.DatetimeIndex(np.asarray(ts).astype("datetime64[ns]"))
    cols = list(symbols) if symbols is not None else [f"S{j}" for j in range(close.shape[1])]
    frame = pd.DataFrame(close, index=idx, columns=cols)
    kw = {}
    if sizing is not None:
        kw = {"size": size, "size_type": VBT_SIZE_TYPES[sizing]}
    if freq is None:
        freq = pd.Timedelta(int(np.median(np.diff(ts))), "ns") if len(ts) > 1 else "1D"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vbt.Portfolio.from_signals(
            frame, pd.DataFrame(np.asarray(entries, bool), index=idx, columns=cols),
            pd.DataFrame(np.asarray(exits, bool), index=idx, columns=cols),
            init_cash=init_cash, fees=np.broadcast_to(np.asarray(fees, float), (len(cols),))[None, :],
            slippage=np.broadcast_to(np.asarray(slippage, float), (len(cols),))[None, :],
            cash_sharing=True, group_by=True, freq=freq, **kw)


def vectorbt_trades(pf) -> np.ndarray:
    """The exit trade records, ordered by (entry row, exit row, column) as ours are."""
    rec = pf.trades.records
    order = np.lexsort((rec["col"].to_numpy(), rec["exit_idx"].to_numpy(), rec["entry_idx"].to_numpy()))
    return rec.iloc[order].reset_index(drop=True)
