"""A plain-Python reference of the simulation rules (docs/simulation.md), written as a small broker
object so that the numba kernel's control flow is checked against an independent reading of the rules.
Slow and obvious on purpose. It reads the options from the SimConfig by name, not from the kernel's
record (engine/simulation.py, `sim_params`), so comparing the two also checks how the options are wired
into the kernel (tests/engine/test_simulate_options.py). Returns the same (equity, trades, status,
n_cancelled) shape, with trades as a list of dicts keyed like engine.kernels.simulate.TRADE_DTYPE.
"""

from __future__ import annotations

import math

from engine.kernels.simulate import (
    EXIT_BANKRUPT,
    EXIT_END,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING,
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
        self.trades: list[dict] = []
        self.cancelled = 0

    def units_for(self, price):
        cfg = self.cfg
        c, f, fixed = self.cash, cfg.commission, cfg.fixed_fee
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
            if u * price * (1 + f) + fixed > c:
                u = 0.0
        else:
            u = ((c * cfg.size - fixed) / (1 + f)) / price
        return u if u > 0 else 0.0

    def open(self, side, raw_price, bar):
        price = raw_price * (1 + side * self.cfg.slippage)
        units = self.units_for(price)
        if units <= 0:
            self.cancelled += 1
            return
        self.entry_fee = units * price * self.cfg.commission + self.cfg.fixed_fee
        self.cash -= self.entry_fee
        self.pos = side * units
        self.entry_price = price
        self.entry_bar = bar
        self.best = price

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
    if e and se:
        e = se = False
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


def stop_exit(cfg, b, o, h, l):
    """(price, reason) if a stop or target closes the position inside this bar, else None."""
    side = 1 if b.pos > 0 else -1
    levels = []  # (price, reason) of protective stops
    if cfg.sl:
        levels.append((b.entry_price * (1 - side * cfg.sl), EXIT_STOP_LOSS))
    if cfg.trail:
        levels.append((b.best * (1 - side * cfg.trail), EXIT_TRAILING))
    stop = None
    for lv in levels:  # the stop nearest the price; sl wins a tie
        if stop is None or side * lv[0] > side * stop[0]:
            stop = lv
    target = b.entry_price * (1 + side * cfg.tp) if cfg.tp else None
    if stop and side * o <= side * stop[0]:
        return o, stop[1]
    if target is not None and side * o >= side * target:
        return o, EXIT_TAKE_PROFIT
    if stop and ((side > 0 and l <= stop[0]) or (side < 0 and h >= stop[0])):
        return stop
    if target is not None and ((side > 0 and h >= target) or (side < 0 and l <= target)):
        return target, EXIT_TAKE_PROFIT
    return None


def reference_simulate(o, h, l, c, e, x, se, sx, cfg):
    n = len(c)
    b = Broker(cfg)
    equity = [math.nan] * n
    status = 0
    queued = None
    for i in range(n):
        if queued is not None:
            do_close, side = queued
            if do_close and b.pos != 0:
                b.close(o[i], i, EXIT_SIGNAL)
            if side != 0 and b.pos == 0:
                b.open(side, o[i], i)
            queued = None
        if b.pos != 0 and (cfg.sl or cfg.tp or cfg.trail):
            hit = stop_exit(cfg, b, o[i], h[i], l[i])
            if hit:
                b.close(hit[0], i, hit[1])
            elif b.pos > 0:
                b.best = max(b.best, h[i])
            else:
                b.best = min(b.best, l[i])
        if i >= cfg.warmup_bars:
            action = decide(cfg, b.pos, bool(e[i]), bool(x[i]), bool(se[i]), bool(sx[i]))
            if cfg.fill == "next_open":
                queued = action
            else:
                do_close, side = action
                if do_close and b.pos != 0:
                    b.close(c[i], i, EXIT_SIGNAL)
                if side != 0 and b.pos == 0:
                    b.open(side, c[i], i)
        equity[i] = b.equity(c[i])
        if equity[i] <= 0:
            if b.pos != 0:
                b.close(c[i], i, EXIT_BANKRUPT)
            for j in range(i, n):
                equity[j] = b.cash
            status = 1
            break
    if b.pos != 0:
        if cfg.at_end == "close":
            b.close(c[n - 1], n - 1, EXIT_END)
            equity[n - 1] = b.cash
        else:
            b._record(n - 1, c[n - 1], 0.0, EXIT_END, True)
    return equity, b.trades, status, b.cancelled
