"""A plain-Python reference of the simulation rules (docs/simulation.md), written as a small broker
object so that the numba kernel's control flow is checked against an independent reading of the rules.
Slow and obvious on purpose. It reads the options from the SimConfig by name, not from the kernel's
record (engine/simulation.py, `sim_params`), so comparing the two also checks how the options are wired
into the kernel (tests/engine/test_simulate_options.py). Returns the same (equity, trades, status,
n_cancelled) shape, with trades as a list of dicts keyed like engine.kernels.simulate.TRADE_DTYPE.
Orders (limit and stop entries, per-order sizes, stop-loss / take-profit / trailing levels) are read
from a list of per-bar dicts (None = a market order with the run's options), as docs/simulation.md,
"Orders", states them.
"""

from __future__ import annotations

import math

from engine.kernels.simulate import (
    EXIT_BANKRUPT,
    EXIT_END,
    EXIT_LIQUIDATED,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING,
    ORDER_SIZE_EQUITY,
    ORDER_SIZE_UNITS,
    ORDER_SIZE_VALUE,
)

BT_FRACTION = 0.9999999999999998


class Broker:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cash = cfg.init_cash
        self.pos = 0.0
        self.entry_price = 0.0
        self.entry_fee = 0.0
        self.entry_bar = 0
        self.best = 0.0
        self.sl = self.tp = self.trail = None  # this trade's levels; trail: ("frac", f) or ("dist", d)
        self.trades: list[dict] = []
        self.cancelled = 0

    def units_for(self, price):
        cfg = self.cfg
        c, f, fixed = self.cash / cfg.margin, cfg.commission, cfg.fixed_fee  # what the cash buys
        if cfg.sizing == "all":
            u = ((c - fixed) / (1 + f)) / price
        elif cfg.sizing == "all_units":
            apc = price + (fixed + BT_FRACTION * price * f) / BT_FRACTION
            margin = max(0.0, c)
            u = float(int((margin * BT_FRACTION) // apc))
            if u * apc > margin:
                u = 0.0
        elif cfg.sizing == "fixed":
            u = cfg.size
            if u * price * (1 + f) + fixed > c:  # the vectorbt preset buys what the cash can (allow_partial)
                u = ((c - fixed) / (1 + f)) / price if cfg.compat == "vectorbt" else 0.0
        else:
            u = ((c * cfg.size - fixed) / (1 + f)) / price
        return u if u > 0 else 0.0

    def levels(self, side, price, order):
        cfg = self.cfg
        sl = price * (1 - side * cfg.sl) if cfg.sl else None
        tp = price * (1 + side * cfg.tp) if cfg.tp else None
        trail = ("frac", cfg.trail) if cfg.trail else None
        order = order or {}
        if order.get("sl_price") is not None:
            sl = order["sl_price"]
        elif order.get("sl_dist") is not None:
            sl = price - side * order["sl_dist"]
        if order.get("tp_price") is not None:
            tp = order["tp_price"]
        elif order.get("tp_dist") is not None:
            tp = price + side * order["tp_dist"]
        if order.get("trail_dist") is not None:
            trail = ("dist", order["trail_dist"])
        return sl, tp, trail

    def order_units(self, price, size, size_type, sl):
        cfg = self.cfg
        buy = self.cash / cfg.margin
        if size_type == ORDER_SIZE_UNITS:
            u = size
        elif size_type == ORDER_SIZE_EQUITY and cfg.compat == "backtesting":  # buy(size=fraction)
            apc = price + (cfg.fixed_fee + size * price * cfg.commission) / size
            u = float(int((max(0.0, buy) * size) // apc))
            return u if u > 0 and u * apc <= buy else 0.0
        elif size_type == ORDER_SIZE_EQUITY:
            u = ((buy * size - cfg.fixed_fee) / (1 + cfg.commission)) / price
        elif size_type == ORDER_SIZE_VALUE:
            u = size / price
        else:  # risk
            risk = abs(price - sl)
            u = self.cash * size / risk if risk > 0 else 0.0
        if not u > 0 or u * price * (1 + cfg.commission) + cfg.fixed_fee > buy * (1 + 1e-12):
            return 0.0
        return u

    def open(self, side, raw_price, bar, order=None):
        """Open at `raw_price` (slipped here); True if it opened (False: cancelled, too little cash)."""
        price = raw_price * (1 + side * self.cfg.slippage)
        sl, tp, trail = self.levels(side, price, order)
        if order and order.get("size") is not None:
            units = self.order_units(price, order["size"], order.get("size_type", ORDER_SIZE_UNITS), sl)
        else:
            units = self.units_for(price)
        if units <= 0:
            self.cancelled += 1
            return False
        self.sl, self.tp, self.trail = sl, tp, trail
        self.entry_fee = units * price * self.cfg.commission + self.cfg.fixed_fee
        self.cash -= self.entry_fee
        self.pos = side * units
        self.entry_price = price
        self.entry_bar = bar
        self.best = price
        return True

    def close(self, raw_price, bar, reason):
        side = 1 if self.pos > 0 else -1
        price = raw_price * (1 - side * self.cfg.slippage)
        fee = abs(self.pos) * price * self.cfg.commission + self.cfg.fixed_fee
        self._record(bar, price, fee, reason, False)
        self.cash += self.pos * (price - self.entry_price) - fee
        self.pos = 0.0

    def _record(self, bar, price, fee, reason, is_open):
        pnl = self.pos * (price - self.entry_price) - self.entry_fee - fee
        self.trades.append(dict(
            entry_bar=self.entry_bar, exit_bar=bar, side=1 if self.pos > 0 else -1, size=abs(self.pos),
            entry_price=self.entry_price, exit_price=price, pnl=pnl,
            return_pct=pnl / (abs(self.pos) * self.entry_price) * 100, entry_fee=self.entry_fee,
            exit_fee=fee, is_open=is_open, exit_reason=reason))

    def equity(self, price):
        return self.cash + self.pos * (price - self.entry_price)


def decide(cfg, pos, e, x, se, sx):
    """(close the position?, side to open or 0) for the signals read at one bar's close."""
    wins = cfg.same_bar_conflict == "entry_wins"
    if e and x:
        e, x = (True, False) if wins else (False, False)
    if se and sx:
        se, sx = (True, False) if wins else (False, False)
    if e and se:  # both dropped; the backtesting preset: the long wins (its strategies buy() first)
        se = False
        if cfg.compat != "backtesting":
            e = False
    reenter = cfg.on_entry_while_long == "reenter"
    if pos > 0:
        if e and reenter:
            return True, 1
        if se:
            return True, -1
        return bool(x), 0
    if pos < 0:
        if se and reenter:
            return True, -1
        if e:
            return True, 1
        return bool(sx), 0
    return False, (1 if e else (-1 if se else 0))


def stop_exit(b, o, h, l, stop_first=False):
    """(price, reason) if the position's stop or target closes it inside this bar, else None. `stop_first`
    (the presets): a stop reached anywhere in the bar wins over the target, even one gapped through."""
    side = 1 if b.pos > 0 else -1
    levels = []  # (price, reason) of protective stops
    if b.sl is not None:
        levels.append((b.sl, EXIT_STOP_LOSS))
    if b.trail is not None:
        kind, v = b.trail
        levels.append((b.best * (1 - side * v) if kind == "frac" else b.best - side * v, EXIT_TRAILING))
    stop = None
    for lv in levels:  # the stop nearest the price; sl wins a tie
        if stop is None or side * lv[0] > side * stop[0]:
            stop = lv
    target = b.tp
    if stop and side * o <= side * stop[0]:
        return o, stop[1]
    if stop_first and stop and ((side > 0 and l <= stop[0]) or (side < 0 and h >= stop[0])):
        return stop
    if target is not None and side * o >= side * target:
        return o, EXIT_TAKE_PROFIT
    if stop and ((side > 0 and l <= stop[0]) or (side < 0 and h >= stop[0])):
        return stop
    if target is not None and ((side > 0 and h >= target) or (side < 0 and l <= target)):
        return target, EXIT_TAKE_PROFIT
    return None


def working_fill(order, o, h, l):
    """The price a working limit/stop entry order fills at inside this bar, else None."""
    side, kind, price = order["side"], order["kind"], order["price"]
    if kind == "limit":
        if side * o <= side * price:
            return o
        return price if (l <= price if side > 0 else h >= price) else None
    if side * o >= side * price:
        return o
    return price if (h >= price if side > 0 else l <= price) else None


def reference_simulate(o, h, l, c, e, x, se, sx, cfg, orders=None):
    """`orders`: None, or a list of len(c) with, per bar, None or a dict of the order fields set there
    (limit, stop, valid, size, size_type, sl_price, tp_price, sl_dist, tp_dist, trail_dist)."""
    n = len(c)
    orders = orders or [None] * n
    b = Broker(cfg)
    equity = [math.nan] * n
    status = 0
    queued = None  # (close?, side, signal bar) for the next open
    working = None  # {"side", "kind", "price", "until", "bar"}
    for i in range(n):
        # 1. queued market orders at the open
        if queued is not None:
            do_close, side, k = queued
            if do_close and b.pos != 0:
                b.close(o[i], i, EXIT_SIGNAL)
            if side != 0 and b.pos == 0:
                b.open(side, o[i], i, orders[k])
            queued = None
        # 2. the position's stops and targets
        stopped = False
        if b.pos != 0:  # both presets check the stop-loss before the take-profit, gap or not
            hit = stop_exit(b, o[i], h[i], l[i], stop_first=cfg.compat is not None)
            if hit:
                b.close(hit[0], i, hit[1])
                stopped = True
            elif b.pos > 0:
                b.best = max(b.best, h[i])
            else:
                b.best = min(b.best, l[i])
        # 3. a working limit / stop entry
        if working is not None:
            if i > working["until"]:
                working = None
            else:
                px = working_fill(working, o[i], h[i], l[i])
                if px is not None:
                    side, k = working["side"], working["bar"]
                    working = None
                    same = b.pos != 0 and (b.pos > 0) == (side > 0)
                    if not (same and cfg.on_entry_while_long != "reenter"):
                        if b.pos != 0:
                            b.close(px, i, EXIT_SIGNAL)
                        if b.open(side, px, i, orders[k]) and cfg.compat != "backtesting":  # (the peer: next bar)
                            if b.sl is not None and side * px <= side * b.sl:
                                b.close(px, i, EXIT_STOP_LOSS)
                            elif b.tp is not None and side * px >= side * b.tp:
                                b.close(px, i, EXIT_TAKE_PROFIT)
                            elif b.sl is not None and (l[i] <= b.sl if side > 0 else h[i] >= b.sl):
                                b.close(b.sl, i, EXIT_STOP_LOSS)
        # 4. signals at the close (the vectorbt preset ignores them on a bar a stop closed the trade)
        if i >= cfg.warmup_bars and not (stopped and cfg.compat == "vectorbt"):
            ee, xx, ses, sxx = bool(e[i]), bool(x[i]), bool(se[i]), bool(sx[i])
            do_close, side = decide(cfg, b.pos, ee, xx, ses, sxx)
            wins = cfg.same_bar_conflict == "entry_wins"
            long_exit = xx and not (ee and not wins) and not (ee and wins)  # an exit that survived the conflict rule
            short_exit = sxx and not ses
            bt = cfg.compat == "backtesting"  # exclusive_orders: only a new order cancels one, and closes the trade
            if working is not None and not bt and ((working["side"] > 0 and long_exit)
                                                   or (working["side"] < 0 and short_exit)):
                working = None
            order = orders[i]
            if side != 0:
                working = None
                if order and (order.get("limit") is not None or order.get("stop") is not None):
                    kind = "limit" if order.get("limit") is not None else "stop"
                    valid = order.get("valid")
                    working = {"side": side, "kind": kind, "price": order[kind], "bar": i,
                               "until": n if not valid else i + int(valid)}
                    explicit_exit = long_exit if b.pos > 0 else short_exit if b.pos < 0 else False
                    side = 0
                    if not explicit_exit and not bt:
                        do_close = False
            bt_toc = cfg.compat == "backtesting" and cfg.fill == "close"  # backtesting.py's trade_on_close
            if cfg.fill == "next_open":
                queued = (do_close, side, i)
            elif not (bt_toc and i == n - 1):  # the peer never fills the last bar's orders
                before = b.equity(c[i])  # ... and books these fills on the next bar's equity
                if do_close and b.pos != 0:
                    b.close(c[i], i, EXIT_SIGNAL)
                if side != 0 and b.pos == 0:
                    b.open(side, c[i], i, order)
        # 5. mark to the close
        if b.pos != 0 and cfg.maintenance and 0 < b.equity(c[i]) < cfg.maintenance * abs(b.pos) * c[i]:
            b.close(c[i], i, EXIT_LIQUIDATED)  # below the maintenance margin
        equity[i] = b.equity(c[i])
        if cfg.compat == "backtesting" and cfg.fill == "close" and cfg.warmup_bars <= i < n - 1:
            equity[i] = before
        if b.equity(c[i]) <= 0:
            if b.pos != 0:
                b.close(c[i], i, EXIT_BANKRUPT)
            for j in range(i, n):  # backtesting.py shows a ruined account as 0
                equity[j] = 0.0 if cfg.compat == "backtesting" else b.cash
            status = 1
            break
    if cfg.compat == "backtesting" and cfg.at_end == "close" and status == 0:
        # backtesting.py's finalize_trades: close at the last open, then a queued entry fills there and stays open
        if b.pos != 0:
            b.close(o[n - 1], n - 1, EXIT_END)
        if queued is not None and queued[1] != 0:
            b.open(queued[1], o[n - 1], n - 1, orders[queued[2]])
        equity[n - 1] = b.equity(c[n - 1])
        if b.pos != 0:
            b._record(n - 1, c[n - 1], 0.0, EXIT_END, True)
        return equity, b.trades, status, b.cancelled
    if b.pos != 0:
        if cfg.at_end == "close":
            b.close(c[n - 1], n - 1, EXIT_END)
            equity[n - 1] = b.cash
        else:
            b._record(n - 1, c[n - 1], 0.0, EXIT_END, True)
    return equity, b.trades, status, b.cancelled


def assert_same_run(kernel, reference):
    """The kernel's (equity, trades, status, n_cancelled) equals the reference's, trade by trade and field by
    field (floats to 1e-12 relative)."""
    import numpy as np

    from engine.kernels.simulate import TRADE_DTYPE

    def close(a, b):
        return np.allclose(a, b, rtol=1e-12, atol=1e-9, equal_nan=True)

    equity, trades, status, cancelled = kernel
    ref_eq, ref_trades, ref_status, ref_cancelled = reference
    assert (status, cancelled) == (ref_status, ref_cancelled)
    assert close(equity, ref_eq)
    assert len(trades) == len(ref_trades)
    for got, want in zip(trades, ref_trades, strict=True):
        for name in TRADE_DTYPE.names:
            if TRADE_DTYPE[name].kind == "f":
                assert close(got[name], want[name]), (name, got, want)
            else:
                assert got[name] == want[name], (name, got, want)
