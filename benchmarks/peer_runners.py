"""Run backtesting.py 0.6.x and vectorbt 1.x on given bars and boolean signals (extra 'peers').

Both are driven exactly as docs/compat.md describes; used by the parity tests and benchmarks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from engine.bars import Bars


def _frame(bars: Bars) -> pd.DataFrame:
    idx = pd.DatetimeIndex(bars.times())
    return pd.DataFrame({"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close,
                         "Volume": bars.volume}, index=idx)


def backtesting_py_stats(bars: Bars, entries, exits, cash: float, commission: float, direction: str = "long",
                         finalize_trades: bool = False, trade_on_close: bool = False, sizes=None, sl=None, tp=None,
                         limit=None, stop=None, margin: float = 1.0, exclusive_orders: bool = True,
                         portions=None, spread: float = 0.0, working: list | None = None):
    """Backtest(data, S, cash, commission, exclusive_orders, finalize_trades, trade_on_close, margin,
    spread).run(), S
    by `direction`:
    long: buy() on entry, position.close() on exit; short: sell() on entry, close on exit; both: buy() on
    entry, else sell() on exit (a reversal, the website SmaCross's pattern; with exclusive_orders=False the
    sell nets against the open trades). `portions`: per bar, position.close(portion) on exits (NaN: all).
    `working`: a list that gets, at each next(), how many entry orders are working (placed, not yet filled).

    Returns backtesting.py's stats Series (with `_equity_curve`, `_trades`, `_strategy`).
    """
    from backtesting import Backtest, Strategy

    ent = np.asarray(entries, dtype=bool)
    ext = np.asarray(exits, dtype=bool)

    class ArraySignals(Strategy):
        def init(self):
            pass

        def next(self):
            i = len(self.data) - 1
            if working is not None:
                working.append(sum(not o.is_contingent and o.parent_trade is None for o in self.orders))
            kw = {name: float(a[i]) for name, a in (("size", sizes), ("sl", sl), ("tp", tp), ("limit", limit),
                                                   ("stop", stop)) if a is not None and not np.isnan(a[i])}
            if ent[i]:
                self.sell(**kw) if direction == "short" else self.buy(**kw)
            elif ext[i] and direction == "both":
                self.sell(**kw)
            elif ext[i] and portions is not None and not np.isnan(portions[i]):
                self.position.close(float(portions[i]))
            elif ext[i]:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(_frame(bars), ArraySignals, cash=cash, commission=commission,
                      exclusive_orders=exclusive_orders, finalize_trades=finalize_trades,
                      trade_on_close=trade_on_close, margin=margin, spread=spread)
        return bt.run()


def backtesting_py_website_stats(bars: Bars, commission: float = 0.0, finalize_trades: bool = True):
    """backtesting.py's website SmaCross as published: close and buy on the fast SMA crossing above the
    slow one, close and sell (go short) on the cross back; Backtest(data, SmaCross, commission,
    finalize_trades). Returns the stats Series."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        n1 = 10
        n2 = 20

        def init(self):
            close = self.data.Close
            self.sma1 = self.I(SMA, close, self.n1)
            self.sma2 = self.I(SMA, close, self.n2)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(_frame(bars), SmaCross, commission=commission, finalize_trades=finalize_trades)
        return bt.run()


def backtesting_py_sma_cross_stats(bars: Bars, n1: int, n2: int, cash: float, commission: float):
    """backtesting.py's website example, `SmaCross` (two `self.I(SMA, ...)`), with the long-only exit
    our sma_cross makes: buy on the fast SMA crossing above the slow one, `position.close()` on the
    cross back (the website's version calls `sell()`, which goes short). Returns the stats Series."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(SMA, self.data.Close, n1)
            self.slow = self.I(SMA, self.data.Close, n2)

        def next(self):
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(_frame(bars), SmaCross, cash=cash, commission=commission, exclusive_orders=True)
        return bt.run()


def run_backtesting_py(bars: Bars, entries, exits, cash: float, commission: float, direction: str = "long",
                       finalize_trades: bool = False, trade_on_close: bool = False):
    """Returns (equity ndarray, closed trades DataFrame, open trades list of (size, entry_bar, entry_price))."""
    stats = backtesting_py_stats(bars, entries, exits, cash, commission, direction, finalize_trades, trade_on_close)
    equity = stats["_equity_curve"]["Equity"].to_numpy()
    open_trades = [(t.size, t.entry_bar, t.entry_price) for t in stats["_strategy"].trades]
    return equity, stats["_trades"], open_trades


VBT_DIRECTIONS = {"long": "longonly", "short": "shortonly", "both": "both"}


def run_vectorbt(bars: Bars, entries, exits, init_cash: float, fees: float, direction: str = "long",
                 sl: float | None = None, tp: float | None = None, trail: float | None = None,
                 sizing: str = "all", size: float = 1.0, accumulate: bool = False,
                 upon_opposite_entry: str | None = None):
    """Portfolio.from_signals(close, entries, exits, init_cash, fees, direction) with defaults; with stops,
    also open/high/low (so vectorbt checks them inside each bar) and sl_stop, tp_stop, or sl_stop with
    sl_trail=True for `trail`; `sizing` other than "all" as size / size_type (amount, percent, value);
    accumulate and upon_opposite_entry as given.

    Returns (value ndarray, trade records DataFrame with status 0=open 1=closed).
    """
    import vectorbt as vbt

    idx = pd.DatetimeIndex(bars.times())
    close = pd.Series(bars.close, index=idx)
    stops: dict = {}
    if sl or tp or trail:
        stops = {"open": pd.Series(bars.open, index=idx), "high": pd.Series(bars.high, index=idx),
                 "low": pd.Series(bars.low, index=idx)}
    if sl:
        stops["sl_stop"] = sl
    if trail:
        stops.update(sl_stop=trail, sl_trail=True)
    if tp:
        stops["tp_stop"] = tp
    if sizing != "all":  # our sizing -> vectorbt's size_type
        stops.update(size=size, size_type={"fixed": "amount", "percent": "percent", "value": "value"}[sizing])
    if accumulate:
        stops["accumulate"] = True
    if upon_opposite_entry is not None:
        stops["upon_opposite_entry"] = upon_opposite_entry
    pf = vbt.Portfolio.from_signals(close, np.asarray(entries, bool), np.asarray(exits, bool),
                                    init_cash=init_cash, fees=fees, freq="1D", direction=VBT_DIRECTIONS[direction],
                                    **stops)
    return pf.value().to_numpy(), pf.trades.records


def vectorbt_stats(bars: Bars, entries, exits, init_cash: float, fees: float):
    """`pf.stats()` of Portfolio.from_signals(close, entries, exits, init_cash, fees, freq=...), with `freq`
    the bars' median spacing in whole nanoseconds (as engine/compat/vectorbt_stats.py takes it)."""
    import vectorbt as vbt

    close = pd.Series(bars.close, index=pd.DatetimeIndex(bars.times()))
    freq = pd.Timedelta(int(np.median(np.diff(bars.ts))), "ns")
    pf = vbt.Portfolio.from_signals(close, np.asarray(entries, bool), np.asarray(exits, bool),
                                    init_cash=init_cash, fees=fees, freq=freq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.stats()
