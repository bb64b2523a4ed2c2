"""backtesting.py 0.6.6's stats table (what `Backtest.run()` returns), computed in numpy from our run.

It follows `backtesting/_stats.py::compute_stats` as `Backtest.run()` calls it (closed trades only,
risk-free rate 0) step by step, quirks included; docs/compat.md#the-peers-stats lists them. The
private entries (`_strategy`, `_equity_curve`, `_trades`) are left out. Durations are days (float),
times ISO 8601 strings, undefined figures NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.compat.values import NS_PER_DAY, days, divide, iso, nan_max, nan_min
from engine.kernels.simulate_records import EXIT_BANKRUPT

# Pandas' Timedelta resolutions, coarsest first: a duration is rounded up to the data period's one.
_RESOLUTIONS_NS = (NS_PER_DAY, 3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000, 1)


def table(ts: np.ndarray, close: np.ndarray, trades: np.ndarray, init_cash: float,
          warmup: int = 0, equity: np.ndarray | None = None) -> dict[str, Any]:
    """The table for bars at times `ts` (int64 ns, at least 2) with closes `close` and our trade records,
    starting from `init_cash`; `warmup` is the strategy's indicator warm-up in bars (Buy & Hold starts
    there). The equity curve is rebuilt from the trades as backtesting.py's broker books them, one trade at
    a time; `equity`, when given, is used as it is instead (the run's own: several trades open at once,
    or trade_on_close's booking on the next bar, which the trade records do not say)."""
    n = len(ts)
    if equity is None:
        equity = _equity(close, trades, init_cash)
    period_ns = int(np.median(np.diff(ts[-100:]).astype(np.float64)))  # truncated, as pandas does
    unit_ns = next(u for u in _RESOLUTIONS_NS if period_ns % u == 0)

    t = _closed_trades(ts, trades)
    dd = 1 - equity / np.maximum.accumulate(equity)
    s: dict[str, Any] = {"Start": iso(ts[0]), "End": iso(ts[-1]), "Duration": days(ts[-1] - ts[0])}
    s["Exposure Time [%]"] = float(_exposure(n, t["entry_bar"], t["exit_bar"]).mean() * 100)
    s["Equity Final [$]"] = float(equity[-1])
    s["Equity Peak [$]"] = float(equity.max())
    commissions = float(np.add.accumulate(np.r_[0.0, t["commissions"]])[-1])
    if commissions or math.isnan(commissions):  # backtesting.py leaves the key out when it is zero
        s["Commissions [$]"] = commissions
    s["Return [%]"] = float((equity[-1] - equity[0]) / equity[0] * 100)
    c0 = close[warmup]
    s["Buy & Hold Return [%]"] = float((close[-1] - c0) / c0 * 100)
    s.update(_annualised(ts, equity, dd, period_ns))
    s.update(_alpha_beta(equity, close, s["Return [%]"], s["Buy & Hold Return [%]"]))
    s["Max. Drawdown [%]"] = float(-np.nan_to_num(dd.max()) * 100)
    s.update(_drawdowns(ts, dd, unit_ns))
    s.update(_trade_figures(t, unit_ns))
    return s


def _equity(close: np.ndarray, trades: np.ndarray, init_cash: float) -> np.ndarray:
    """backtesting.py's equity at each close: cash (less each entry's commission, plus each exit's
    `size * (exit - entry) - commission`) + `close * size - size * entry` while a trade is open; 0 from a
    bankruptcy on. Our equity to the last bits, and those bits decide its exact tests (drawdown == 0)."""
    n = len(close)
    if not len(trades):
        return np.full(n, float(init_cash))
    op_bars, cash_after = [], []
    cash = float(init_cash)
    for t in trades:  # in time order, one trade at a time; an exit before the next entry
        cash -= float(t["entry_fee"])
        op_bars.append(int(t["entry_bar"]))
        cash_after.append(cash)
        if not t["is_open"]:
            size = float(t["size"] * t["side"])
            cash += size * (float(t["exit_price"]) - float(t["entry_price"])) - float(t["exit_fee"])
            op_bars.append(int(t["exit_bar"]))
            cash_after.append(cash)
    bars = np.arange(n)
    last_op = np.searchsorted(np.asarray(op_bars, dtype=np.int64), bars, side="right") - 1
    cash_now = np.where(last_op < 0, float(init_cash), np.asarray(cash_after + [0.0])[last_op])
    k = np.searchsorted(trades["entry_bar"], bars, side="right") - 1  # the trade entered last
    t = trades[np.maximum(k, 0)]
    holding = (k >= 0) & ((bars < t["exit_bar"]) | t["is_open"])
    size = t["size"] * t["side"]
    equity = np.where(holding, cash_now + (close * size - size * t["entry_price"]), cash_now)
    broke = trades["exit_reason"] == EXIT_BANKRUPT
    if broke.any():
        equity[int(trades["exit_bar"][broke][0]):] = 0.0
    return equity


def _closed_trades(ts: np.ndarray, trades: np.ndarray) -> dict[str, np.ndarray]:
    """Closed trades as backtesting.py's `Trade` reports them: size signed, P&L and return recomputed
    from prices and commissions by its own formulas (`Trade.pl`, `Trade.pl_pct`)."""
    c = trades[~trades["is_open"]]
    size = c["size"] * c["side"]
    entry, exit_ = c["entry_price"], c["exit_price"]
    commissions = c["exit_fee"] + c["entry_fee"]
    return {
        "entry_bar": c["entry_bar"], "exit_bar": c["exit_bar"], "commissions": commissions,
        "pl": size * (exit_ - entry) - commissions,
        "pl_pct": np.sign(size) * (exit_ / entry - 1) - commissions / (np.abs(size) * entry),
        "duration_ns": ts[c["exit_bar"]] - ts[c["entry_bar"]],
    }


def _exposure(n: int, entry_bar: np.ndarray, exit_bar: np.ndarray) -> np.ndarray:
    """1 on every bar from a closed trade's entry bar to its exit bar inclusive, else 0."""
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, entry_bar, 1)
    np.add.at(marks, exit_bar + 1, -1)
    return (np.cumsum(marks[:n]) > 0).astype(np.int64)


def _annualised(ts: np.ndarray, equity: np.ndarray, dd: np.ndarray, period_ns: int) -> dict[str, float]:
    """Return/volatility (annualised), CAGR, Sharpe, Sortino, Calmar: from returns over calendar days
    (weeks, months or years for weekly, monthly or yearly bars), with 252 or 365 periods a year."""
    freq_days = period_ns // NS_PER_DAY
    day = ts // NS_PER_DAY
    have_weekends = np.mean(((day + 3) % 7) >= 5) > 2 / 7 * .6
    periods = {7: 52, 31: 12, 365: 1}.get(freq_days, 365 if have_weekends else 252)
    if freq_days == 7:
        key = (day + 3) // 7  # weeks run Monday to Sunday
    elif freq_days in (31, 365):
        key = ts.view("datetime64[ns]").astype("datetime64[M]" if freq_days == 31 else "datetime64[Y]")
        key = key.astype(np.int64)
    else:
        key = day
    last = equity[np.r_[key[1:] != key[:-1], True]]
    with np.errstate(all="ignore"):  # NaN and inf where backtesting.py has them
        day_returns = last[1:] / last[:-1] - 1
        g = _geometric_mean(day_returns)
        annual = (1 + g) ** periods - 1
        var = float(np.var(day_returns, ddof=1)) if len(day_returns) > 1 else math.nan
        vol = float(np.sqrt((var + (1 + g) ** 2) ** periods - (1 + g) ** (2 * periods)) * 100)
        span_ns = int(ts[-1] - ts[0])
        whole_days, rest_ns = divmod(span_ns, NS_PER_DAY)
        years = (whole_days + (rest_ns // 1_000_000_000) / 86400) / 365.25
        cagr = (np.float64(equity[-1] / equity[0]) ** (1 / years) - 1) * 100 if years else math.nan
        downside = np.sqrt(np.mean(np.minimum(day_returns, 0) ** 2)) if len(day_returns) else math.nan
    return {
        "Return (Ann.) [%]": float(annual * 100),
        "Volatility (Ann.) [%]": vol,
        "CAGR [%]": float(cagr),
        "Sharpe Ratio": divide(float(annual * 100), vol or math.nan),
        "Sortino Ratio": divide(float(annual), downside * np.sqrt(periods)),
        "Calmar Ratio": divide(float(annual), float(np.nan_to_num(dd.max())) or math.nan),
    }


def _geometric_mean(returns: np.ndarray) -> np.float64:
    """backtesting.py's `geometric_mean`: 0 if any 1 + r <= 0, NaN for no returns."""
    r = returns + 1
    if np.any(r <= 0):
        return np.float64(0.0)
    with np.errstate(invalid="ignore"):
        return np.exp(np.float64(np.log(r).sum()) / (len(r) or math.nan)) - 1


def _alpha_beta(equity: np.ndarray, close: np.ndarray, ret_pct: float, bh_pct: float) -> dict[str, float]:
    """Beta of the equity's log returns on the close's (np.cov, ddof 1); Jensen's alpha in %."""
    beta = math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        eq_lr = np.log(equity[1:] / equity[:-1])
        mkt_lr = np.log(close[1:] / close[:-1])
        if len(eq_lr) > 1:
            cov = np.cov(eq_lr, mkt_lr)
            beta = float(cov[0, 1] / cov[1, 1])
    return {"Alpha [%]": ret_pct - beta * bh_pct, "Beta": beta}


def _drawdowns(ts: np.ndarray, dd: np.ndarray, unit_ns: int) -> dict[str, float]:
    """Drawdown periods: from a bar at its peak (dd == 0) to the next one, or to the last bar; only
    periods spanning at least one bar in between count. Average depth and durations over them."""
    n = len(dd)
    iloc = np.unique(np.r_[np.flatnonzero(dd == 0), n - 1])
    prev, cur = iloc[:-1], iloc[1:]
    keep = cur > prev + 1
    prev, cur = prev[keep], cur[keep]
    if not len(cur):
        # backtesting.py then uses the drawdown series itself (zeros as NaN) for both the depths and
        # the durations: a drawdown only on the last bar gives its depth as the "duration".
        nonzero = dd[(dd != 0) & ~np.isnan(dd)]
        mean = float(nonzero.mean()) if len(nonzero) else math.nan
        return {"Avg. Drawdown [%]": -mean * 100, "Max. Drawdown Duration": nan_max(nonzero),
                "Avg. Drawdown Duration": mean}
    bounds = np.column_stack([prev, cur + 1]).ravel()
    depth = np.fmax.reduceat(np.r_[dd, 0.0], bounds)[::2]
    # pandas averages over the whole bar index, zeros where no period ends: the same sums in the same order
    depth_full = np.zeros(n)
    depth_full[cur] = depth
    dur = ts[cur] - ts[prev]
    dur_full = np.zeros(n, dtype=np.int64)
    dur_full[cur] = dur
    return {
        "Avg. Drawdown [%]": -float(depth_full.sum() / len(cur)) * 100,
        "Max. Drawdown Duration": days(_ceil(int(dur.max()), unit_ns)),
        "Avg. Drawdown Duration": days(_ceil(int(dur_full.sum(dtype=np.float64) / len(cur)), unit_ns)),
    }


def _trade_figures(t: dict[str, np.ndarray], unit_ns: int) -> dict[str, Any]:
    """Closed trades' figures: win rate on P&L, the rest on returns, durations rounded up to the unit."""
    pl, returns, dur = t["pl"], t["pl_pct"], t["duration_ns"]
    n = len(pl)
    win_rate = float(np.mean(pl > 0)) if n else math.nan
    mean_ret = float(np.mean(returns)) if n else math.nan
    std_pl = float(np.std(pl, ddof=1)) if n > 1 else math.nan
    avg_win = float(np.mean(pl[pl > 0])) if np.any(pl > 0) else math.nan
    avg_loss = float(np.mean(pl[pl < 0])) if np.any(pl < 0) else math.nan
    return {
        "# Trades": n,
        "Win Rate [%]": win_rate * 100,
        "Best Trade [%]": nan_max(returns) * 100,
        "Worst Trade [%]": nan_min(returns) * 100,
        "Avg. Trade [%]": float(_geometric_mean(returns) * 100),
        "Max. Trade Duration": days(_ceil(int(dur.max()), unit_ns)) if n else math.nan,
        "Avg. Trade Duration": days(_ceil(int(dur.sum(dtype=np.float64) / n), unit_ns)) if n else math.nan,
        "Profit Factor": divide(float(returns[returns > 0].sum()),
                                abs(float(returns[returns < 0].sum())) or math.nan),
        "Expectancy [%]": mean_ret * 100,
        "SQN": divide(math.sqrt(n) * (float(np.mean(pl)) if n else math.nan), std_pl or math.nan),
        "Kelly Criterion": win_rate - divide(1 - win_rate, divide(avg_win, -avg_loss)),
    }


def _ceil(ns: int, unit_ns: int) -> float:
    """pandas `Timedelta.ceil`: up to a whole number of `unit_ns`."""
    return float(-(-ns // unit_ns) * unit_ns)
