"""vectorbt 1.2.0's `Portfolio.stats()` table for `Portfolio.from_signals(..., freq=...)`, from our run.

The frequency is the bars' median spacing (whole nanoseconds), the year 365 days, as vectorbt's
defaults have it. Our fills are booked as vectorbt's broker books them (`sizes_and_fees`), and every
figure follows vectorbt's own kernels (returns/nb.py, generic/nb.py, portfolio/nb.py and trades.py),
summing left to right as its numba loops do; docs/compat.md#the-peers-stats.
Durations are days (float), times ISO 8601 strings; vectorbt's NaT and NaN are NaN here, its inf stays inf.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.compat.values import NS_PER_DAY, days, divide, iso, nan_max, nan_min, seq_mean, seq_sum
from engine.compat.vectorbt_orders import exit_trades, logged_orders

_YEAR_NS = 365 * NS_PER_DAY
# vectorbt's tolerances (utils/math_.py): a sum this close to zero is taken as zero
_REL_TOL, _ABS_TOL = 1e-9, 1e-12


def table(ts: np.ndarray, close: np.ndarray, trades: np.ndarray, init_cash: float,
          fee_rate: float, all_in: bool = True, order_log: np.ndarray | None = None) -> dict[str, Any]:
    """The table for bars at times `ts` (int64 ns, at least 2) with closes `close` and our trade records,
    starting from `init_cash` with commission `fee_rate`. Sizes, fees and the value curve are booked
    from our fills as vectorbt books them: with `all_in` (from_signals' default size, long only) its sizes
    and fees are rebuilt from its own cash, else (a size and size_type, or shorts) taken from the records.
    Shorts are booked as vectorbt books them: their value is debt, taken twice off the free cash, and the
    gross exposure counts |position value| against the free cash.
    `order_log` (ORDER_LOG_DTYPE, the run's fills in order): the orders are the log's, not rebuilt from the
    trades (vectorbt's accumulation, where a trade merges several entry orders), and the trades derived from
    them as vectorbt derives its exit trades (engine/compat/vectorbt_orders.py)."""
    n = len(ts)
    freq_ns = int(np.median(np.diff(ts)))
    ann_factor = _YEAR_NS / freq_ns if freq_ns > 0 else math.nan
    if order_log is not None and all_in and int(np.count_nonzero(order_log["units"] > 0)) == len(trades):
        # all the cash, long: an entry leaves no cash for another (vectorbt's is exactly 0), so each trade has
        # its one entry, as without accumulation, and the sizes rebuilt from vectorbt's cash settle the last bits
        order_log = None
    if order_log is None:
        tr = _trades(trades, close, init_cash, fee_rate, all_in)
        orders = _orders(tr)
    else:
        orders = logged_orders(order_log, fee_rate)
        tr = _trades(exit_trades(orders, n, float(close[-1])), close, init_cash, fee_rate, False)
    closed = ~tr["is_open"]
    cash, free_cash, position = _cash_and_position(orders, n, init_cash)
    position_value = np.where(position == 0, 0.0, close * position)
    value = cash + position_value  # vectorbt's `value`; our equity but for the last bits
    exposure = np.abs(position_value)  # gross: a short's value counts as much as a long's
    denom = _add(exposure, free_cash)
    gross_exposure = np.divide(exposure, denom, out=np.zeros(n), where=denom != 0)

    total_profit = _total_profit(orders, float(close[-1]))
    benchmark = _returns(close / close[0] * init_cash, init_cash)
    s: dict[str, Any] = {
        "Start": iso(ts[0]), "End": iso(ts[-1]), "Period": days(n * freq_ns),
        "Start Value": float(init_cash), "End Value": total_profit + init_cash,
        "Total Return [%]": total_profit / init_cash * 100,
        "Benchmark Return [%]": (float(np.multiply.accumulate(benchmark + 1)[-1]) - 1) * 100,
        "Max Gross Exposure [%]": float(np.max(gross_exposure)) * 100,
        "Total Fees Paid": seq_sum(np.array([fee for *_, fee in orders])),
    }
    depth, duration = _drawdowns(value)
    s["Max Drawdown [%]"] = -nan_min(depth) * 100
    s["Max Drawdown Duration"] = days(nan_max(duration) * freq_ns)
    s["Total Trades"] = len(tr["pnl"])
    s["Total Closed Trades"] = int(closed.sum())
    s["Total Open Trades"] = int((~closed).sum())
    s["Open Trade PnL"] = seq_sum(tr["pnl"][~closed])
    s.update(_trade_figures({k: v[closed] for k, v in tr.items()}, freq_ns))
    s.update(_return_ratios(_returns(value, init_cash), ann_factor))
    return s


def _is_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """vectorbt's `is_close_nb`, elementwise."""
    with np.errstate(invalid="ignore"):
        near = (a == b) | (np.abs(a - b) <= np.maximum(_REL_TOL * np.maximum(np.abs(a), np.abs(b)), _ABS_TOL))
    return near & np.isfinite(a) & np.isfinite(b)


def _add1(a: float, b: float) -> float:
    """vectorbt's `add_nb` on two floats: a + b, or exactly 0 when the two (nearly) cancel."""

    def close(x: float, y: float) -> bool:
        if not (math.isfinite(x) and math.isfinite(y)):
            return False
        return x == y or abs(x - y) <= max(_REL_TOL * max(abs(x), abs(y)), _ABS_TOL)

    zero = close(abs(a), abs(b)) if np.sign(a) != np.sign(b) else close(a + b, 0.0)
    return 0.0 if zero else a + b


def _add(a: Any, b: Any) -> np.ndarray:
    """vectorbt's `add_nb`, elementwise (as `_add1`)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    zero = np.where(np.sign(a) != np.sign(b), _is_close(np.abs(a), np.abs(b)), _is_close(a + b, np.zeros_like(a)))
    return np.where(zero, 0.0, a + b)


def _trades(trades: np.ndarray, close: np.ndarray, init_cash: float, fee_rate: float,
            all_in: bool) -> dict[str, np.ndarray]:
    """Our trades (bars, prices, open or closed) as vectorbt books them: sizes and fees from its own cash
    (`sizes_and_fees`) when it spends it all, else the records' own; P&L and return by its
    `get_trade_stats_nb` (an open trade is valued at the last close, with no exit fee)."""
    is_open = trades["is_open"].astype(bool)
    entry = trades["entry_price"]
    if all_in:
        size, entry_fee, exit_fee = sizes_and_fees(entry, trades["exit_price"], is_open, init_cash, fee_rate)
    else:
        size, entry_fee = trades["size"].astype(np.float64), trades["entry_fee"].astype(np.float64)
        exit_fee = np.where(is_open, 0.0, trades["exit_fee"])
    exit_ = np.where(is_open, close[-1], trades["exit_price"])
    side = trades["side"].astype(np.float64)
    entry_val = size * entry
    exit_val = size * exit_
    with np.errstate(divide="ignore", invalid="ignore"):
        gross = np.where(side > 0, _add(exit_val, -entry_val), _add(entry_val, -exit_val))  # a short gains falls
        pnl = gross - entry_fee - exit_fee
        ret = pnl / entry_val
    return {"entry_bar": trades["entry_bar"], "exit_bar": trades["exit_bar"], "size": size, "side": side,
            "entry_price": entry, "exit_price": exit_, "entry_fee": entry_fee, "exit_fee": exit_fee,
            "pnl": pnl, "return": ret, "is_open": is_open}


def sizes_and_fees(entry_price: np.ndarray, exit_price: np.ndarray, is_open: np.ndarray, init_cash: float,
                   fee_rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each trade's size, entry fee and exit fee as vectorbt's `buy_nb` / `sell_nb` compute them for
    from_signals' defaults (all the cash, fee on top): an entry spends the whole cash c on
    size = (c / (1 + fee)) / price and leaves exactly 0; an exit brings size * price less its fee.
    Our simulator uses the same formula but keeps its cash another way, so its sizes differ from these in
    the last bits (docs/compat.md#the-peers-stats), and a break-even to the last bit decides ties."""
    n = len(entry_price)
    size, entry_fee, exit_fee = np.zeros(n), np.zeros(n), np.zeros(n)
    cash = float(init_cash)
    for k in range(n):
        max_req_cash = _add1(cash, -0.0) / (1 + fee_rate)
        size[k] = max_req_cash / float(entry_price[k])
        entry_fee[k] = cash - max_req_cash
        cash = 0.0
        if not is_open[k]:
            acquired = size[k] * float(exit_price[k])
            exit_fee[k] = acquired * fee_rate
            cash = _add1(acquired, -exit_fee[k])
    return size, entry_fee, exit_fee


def _orders(tr: dict[str, np.ndarray]) -> list[tuple[int, float, float, float]]:
    """(bar, signed size: + buys, - sells, price, fee) of every order in time order (a trade's exit before
    the next trade's entry on one bar)."""
    out = []
    for k in range(len(tr["pnl"])):
        side = float(tr["side"][k])
        out.append((int(tr["entry_bar"][k]), 2 * k, side * float(tr["size"][k]), float(tr["entry_price"][k]),
                    float(tr["entry_fee"][k])))
        if not tr["is_open"][k]:
            out.append((int(tr["exit_bar"][k]), 2 * k + 1, -side * float(tr["size"][k]), float(tr["exit_price"][k]),
                        float(tr["exit_fee"][k])))
    out.sort(key=lambda o: (o[0], o[1]))  # by bar, then as the trades follow each other
    return [(bar, size, price, fee) for bar, _, size, price, fee in out]


def _total_profit(orders: list[tuple[int, float, float, float]], last_close: float) -> float:
    """`total_profit_nb`: the cash the orders moved plus the position valued at the last close."""
    cash = assets = 0.0
    for _bar, size, price, fee in orders:
        assets = _add1(assets, size)
        cash = _add1(cash, -(size * price + fee) if size > 0 else -size * price - fee)
    return cash + assets * last_close


def _free_cash_flow(before: float, now: float, debt: float, price: float, fee: float) -> tuple[float, float]:
    """`get_free_cash_diff_nb`: (new debt, free cash flow) of an order taking the position from `before` to
    `now`: opening a short books its value as debt and takes it twice from the free cash; covering gives
    it back at the short's average price."""
    size = _add1(now, -before)
    flow = -size * price - fee
    if abs(size) <= _ABS_TOL:  # is_close_nb(size, 0)
        return debt, 0.0
    if size > 0:
        if before < 0:
            short_size = abs(size) if now < 0 else abs(before)
            debt_diff = short_size * (debt / abs(before))
            return _add1(debt, -debt_diff), _add1(2 * debt_diff, flow)
        return debt, flow
    if now < 0:
        short_value = (abs(size) if before < 0 else abs(now)) * price
        return debt + short_value, _add1(flow, -2 * short_value)
    return debt, flow


def _cash_and_position(orders: list[tuple[int, float, float, float]], n: int,
                       init_cash: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cash, free cash and units held at each bar's close, accumulated from the orders as `cash_flow_nb`
    (free and not) and `cash_nb` do."""
    bars, cash_at, free_at, assets_at = [], [], [], []
    cash = free = float(init_cash)
    assets = flow = free_flow = debt = 0.0
    for k, (bar, size, price, fee) in enumerate(orders):
        new_assets = _add1(assets, size)
        flow = _add1(flow, -(new_assets - assets) * price - fee)
        debt, diff = _free_cash_flow(assets, new_assets, debt, price, fee)
        free_flow = _add1(free_flow, diff)
        assets = new_assets
        if k + 1 == len(orders) or orders[k + 1][0] != bar:  # the bar's last order
            cash = _add1(cash, flow)
            free = _add1(free, free_flow)
            bars.append(bar)
            cash_at.append(cash)
            free_at.append(free)
            assets_at.append(assets)
            flow = free_flow = 0.0
    # all hold from one order bar to the next
    idx = np.searchsorted(np.asarray(bars, dtype=np.int64), np.arange(n), side="right") - 1
    cash_now = np.where(idx < 0, float(init_cash), np.asarray(cash_at + [0.0])[idx])
    free_now = np.where(idx < 0, float(init_cash), np.asarray(free_at + [0.0])[idx])
    position = np.where(idx < 0, 0.0, np.asarray(assets_at + [0.0])[idx])
    return cash_now, free_now, position


def _returns(value: np.ndarray, init_value: float) -> np.ndarray:
    """`returns_1d_nb`: (v[i] - v[i-1]) / v[i-1] with v[-1] = init_value (sign flipped below zero;
    from zero: 0 to zero, else +-inf)."""
    prev = np.r_[init_value, value[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (value - prev) / prev
        out = np.where(prev < 0, -out, out)
        return np.where(prev == 0, np.where(value == 0, 0.0, np.inf * np.sign(value)), out)


def _drawdowns(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`get_drawdowns_nb` on the value: one record per run of bars below the running peak. Returns each
    record's depth (valley / peak - 1) and duration in bars (peak + 1 to the recovery bar, or to the
    last bar inclusive while still down)."""
    n = len(value)
    under = value < np.maximum.accumulate(value)
    edges = np.diff(np.r_[0, under.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # ends: first bar back at a peak
    if not len(starts):
        return np.empty(0), np.empty(0)
    peak = value[starts - 1]
    bounds = np.column_stack([starts, ends]).ravel()
    valley = np.minimum.reduceat(np.r_[value, 0.0], bounds)[::2]
    duration = np.where(ends < n, ends - starts, n - starts).astype(np.float64)
    return (valley - peak) / peak, duration


def _trade_figures(t: dict[str, np.ndarray], freq_ns: int) -> dict[str, float]:
    """The closed trades' figures (`Trades.win_rate`, `profit_factor`, `expectancy`, returns, durations)."""
    pnl, ret = t["pnl"], t["return"]
    bars_held = (t["exit_bar"] - t["entry_bar"]).astype(np.float64)
    n = len(pnl)
    win, lose = pnl > 0, pnl < 0
    win_rate = divide(float(win.sum()), n)
    if n:
        total_win, total_loss = seq_sum(pnl[win]), seq_sum(pnl[lose])
        avg_win = seq_mean(pnl[win]) if win.any() else 0.0
        avg_loss = seq_mean(pnl[lose]) if lose.any() else 0.0
        loss_rate = (n - int(win.sum()) - int((pnl == 0).sum())) / n
        profit_factor = divide(total_win, abs(total_loss))
        expectancy = win_rate * avg_win - loss_rate * abs(avg_loss)
    else:
        profit_factor = expectancy = math.nan
    return {
        "Win Rate [%]": win_rate * 100,
        "Best Trade [%]": nan_max(ret) * 100,
        "Worst Trade [%]": nan_min(ret) * 100,
        "Avg Winning Trade [%]": seq_mean(ret[win]) * 100,
        "Avg Losing Trade [%]": seq_mean(ret[lose]) * 100,
        "Avg Winning Trade Duration": days(seq_mean(bars_held[win]) * freq_ns),
        "Avg Losing Trade Duration": days(seq_mean(bars_held[lose]) * freq_ns),
        "Profit Factor": profit_factor,
        "Expectancy": expectancy,
    }


def _return_ratios(r: np.ndarray, ann_factor: float) -> dict[str, float]:
    """Sharpe, Calmar, Omega and Sortino of the per-bar returns (returns/nb.py, risk-free 0, ddof 1)."""
    n = len(r)
    with np.errstate(all="ignore"):
        mean = seq_mean(r)
        if n < 2:
            sharpe = sortino = math.nan
        else:
            std = math.sqrt(seq_sum((r - mean) ** 2) / n * n / (n - 1))
            sharpe = math.inf if std == 0 else mean / std * math.sqrt(ann_factor)
            downside = math.sqrt(seq_mean(np.minimum(r, 0.0) ** 2)) * math.sqrt(ann_factor)
            sortino = math.inf if downside == 0 else mean * ann_factor / downside
        cum = np.multiply.accumulate(r + 1) * 100.0
        max_dd = float(np.min(cum / np.maximum.accumulate(cum) - 1)) if n else math.nan
        if max_dd == 0:
            calmar = math.nan
        else:
            growth = np.float64(np.multiply.accumulate(r + 1)[-1]) if n else np.float64(math.nan)
            calmar = float(growth ** (ann_factor / n) - 1) / abs(max_dd) if n else math.nan
        threshold = 0.0 if ann_factor == 1 else (1 + 0.0) ** (1.0 / ann_factor) - 1
        x = r - 0.0 - threshold
        numer, denom = seq_sum(x[x > 0]), -1.0 * seq_sum(x[x < 0])
        omega = math.inf if denom == 0 else numer / denom
    return {"Sharpe Ratio": sharpe, "Calmar Ratio": calmar, "Omega Ratio": omega, "Sortino Ratio": sortino}
