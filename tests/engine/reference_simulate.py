"""A plain-Python reference of the simulation rules (docs/simulation.md), written as a small broker
object so that the numba kernel's control flow is checked against an independent reading of the rules.
Slow and obvious on purpose. It reads the options from the SimConfig by name, not from the kernel's
record (engine/simulation.py, `sim_params`), so comparing the two also checks how the options are wired
into the kernel (tests/engine/test_simulate_options.py). Returns the same (equity, trades, status,
n_cancelled) shape, with trades as a list of dicts keyed like engine.kernels.simulate.TRADE_DTYPE, and with
`with_log` the order log too (every fill in order, kept under vectorbt's accumulation only, as the kernel's:
engine/kernels/simulate_log.py), as a list of (bar, signed units, price, fee).
Orders (limit and stop entries, per-order sizes, stop-loss / take-profit / trailing levels, exit portions)
are read from a list of per-bar dicts (None = a market order with the run's options), as
docs/simulation.md, "Orders", states them. A position is a list of lots (one per entry; several only
with `accumulate`), oldest first.
"""

from __future__ import annotations

import math

from engine.kernels.simulate_records import (
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
from tests.engine.same_run import assert_same_run  # noqa: F401  (the tests import it from here)

BT_FRACTION = 0.9999999999999998


class Lot:
    def __init__(self, size, price, fee, bar, sl, tp, trail):
        self.size, self.price, self.fee, self.bar = size, price, fee, bar  # size: signed units
        self.sl, self.tp, self.trail = sl, tp, trail  # trail: ("frac", f) or ("dist", d) or None
        self.best = price


class Broker:
    def __init__(self, cfg):
        self.cfg = cfg
        self.bt = cfg.compat == "backtesting"
        self.vbt = cfg.compat == "vectorbt"
        self.cash = cfg.init_cash
        self.lots: list[Lot] = []
        self.trades: list[dict] = []
        self.cancelled = 0
        self.keep_log = self.vbt and cfg.accumulate  # the order log: vectorbt's accumulation books each fill
        self.log: list[tuple[int, float, float, float]] = []

    @property
    def pos(self):
        return sum(lot.size for lot in self.lots)

    def side(self):
        return 0 if not self.lots else (1 if self.lots[0].size > 0 else -1)

    def free_cash(self, price):
        """What a new lot may spend: equity at `price` less the margin the open lots hold. vectorbt's free
        cash of a short is its cash less twice its debt (the short's value at entry): our cash less that value."""
        if not self.lots:
            return self.cash
        # rounding's leftovers are no cash (vectorbt: its min_size rejects the dust lot; only rounding is cut)
        cut = (1e-12 if self.vbt else 1e-9) * self.cfg.init_cash
        if self.vbt and self.side() < 0:
            free = self.cash - sum(abs(lot.size) * lot.price for lot in self.lots)
            return free if free > cut else 0.0
        used = sum(abs(lot.size) * price for lot in self.lots)
        free = self.equity(price) - used / (1.0 / self.cfg.margin)
        return free if free > cut else 0.0

    def units_for(self, price, cash, raw, side):
        u = self._units_for(price, cash, raw, side)
        if self.vbt and u < 1e-8 - 1e-12:  # vectorbt's min_size (its is_less tolerance)
            return 0.0
        return u

    def _units_for(self, price, cash, raw, side):
        cfg = self.cfg
        c, f, fixed = cash / cfg.margin, cfg.commission, cfg.fixed_fee  # what the cash buys
        if self.vbt and side < 0 and cfg.sizing in ("fixed", "value"):  # vectorbt shorts a size whatever its cash
            u = cfg.size / price if cfg.sizing == "value" else cfg.size
            return u if u > 0 else 0.0
        if cfg.sizing == "all":
            u = ((c - fixed) / (1 + f)) / price
        elif cfg.sizing == "all_units":
            # backtesting.py: the commission at the price before its spread (our slippage under the preset)
            apc = price + (fixed + BT_FRACTION * (raw if self.bt else price) * f) / BT_FRACTION
            margin = max(0.0, c)
            u = float(int((margin * BT_FRACTION) // apc))
            if u * apc > margin:
                u = 0.0
        elif cfg.sizing == "fixed":
            u = cfg.size
            if u * price * (1 + f) + fixed > c:  # the vectorbt preset buys what the cash can (allow_partial)
                u = ((c - fixed) / (1 + f)) / price if self.vbt else 0.0
        elif cfg.sizing == "value":
            u = cfg.size / price
            if u * price * (1 + f) + fixed > c:
                u = ((c - fixed) / (1 + f)) / price if self.vbt else 0.0
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

    def order_units(self, price, size, size_type, sl, cash, raw):
        cfg = self.cfg
        buy = cash / cfg.margin
        if size_type == ORDER_SIZE_UNITS:
            u = size
        elif size_type == ORDER_SIZE_EQUITY and self.bt:  # buy(size=fraction)
            apc = price + (cfg.fixed_fee + size * raw * cfg.commission) / size
            u = float(int((max(0.0, buy) * size) // apc))
            return u if u > 0 and u * apc <= buy else 0.0
        elif size_type == ORDER_SIZE_EQUITY:
            u = ((buy * size - cfg.fixed_fee) / (1 + cfg.commission)) / price
        elif size_type == ORDER_SIZE_VALUE:
            u = size / price
        else:  # risk
            risk = abs(price - sl)
            u = cash * size / risk if risk > 0 else 0.0
        if not u > 0 or u * price * (1 + cfg.commission) + cfg.fixed_fee > buy * (1 + 1e-12):
            return 0.0
        return u

    def enter(self, side, raw_price, bar, order=None, ref_price=None):
        """Fill an entry at `raw_price` (slipped here): open when flat; add a lot on the same side with
        `accumulate` (else nothing); against the position only with backtesting.py's exclusive_orders=False,
        which nets the order against the lots, oldest first. Returns the new lot or None."""
        cfg = self.cfg
        cur = self.side()
        if cur == side and not cfg.accumulate:
            return None
        fifo = cur == -side
        if fifo and not (cfg.accumulate and self.bt):
            return None
        ref = raw_price if ref_price is None else ref_price
        cash = self.free_cash(ref)
        price = raw_price * (1 + side * cfg.slippage)
        sl, tp, trail = self.levels(side, price, order)
        if order and order.get("size") is not None:
            units = self.order_units(price, order["size"], order.get("size_type", ORDER_SIZE_UNITS), sl, cash,
                                     raw_price)
        else:
            units = self.units_for(price, cash, raw_price, side)
        if units <= 0:
            self.cancelled += 1
            return None
        if fifo:
            need = units
            while need > 0 and self.lots:
                lot = self.lots[0]
                u = min(need, abs(lot.size))
                self.close_units(lot, u, raw_price, bar, EXIT_SIGNAL)
                need -= u
            if need <= 0:
                return None
            per_unit = price + (cfg.fixed_fee + units * raw_price * cfg.commission) / units
            if need * per_unit > self.free_cash(ref) / cfg.margin:
                self.cancelled += 1
                return None
            units = need
        fee = units * price * cfg.commission + cfg.fixed_fee
        self.cash -= fee
        lot = Lot(side * units, price, fee, bar, sl, tp, trail)
        if self.vbt:  # one set of stops per position: an added lot moves them all to its levels
            for other in self.lots:
                other.sl, other.tp, other.trail, other.best = sl, tp, trail, price
        self.lots.append(lot)
        if self.keep_log:
            self.log.append((bar, side * units, price, fee))
        return lot

    def close_units(self, lot, units, raw_price, bar, reason):
        """Close `units` of `lot` at `raw_price` (slipped here); the lot keeps the rest."""
        cfg = self.cfg
        side = 1 if lot.size > 0 else -1
        price = raw_price if self.bt else raw_price * (1 - side * cfg.slippage)  # backtesting.py's spread: entries
        fee = units * price * cfg.commission + cfg.fixed_fee
        whole = units >= abs(lot.size)
        units = min(units, abs(lot.size))
        efee = lot.fee if whole else lot.fee * (units / abs(lot.size))
        if self.bt:  # backtesting.py: the commission of the closed size at entry
            efee = units * lot.price * cfg.commission + cfg.fixed_fee
        self._record(lot.bar, bar, side * units, lot.price, price, efee, fee, reason, False)
        self.cash += side * units * (price - lot.price) - fee
        lot.fee = max(0.0, lot.fee - efee)
        if whole:
            self.lots.remove(lot)
        else:
            lot.size -= side * units

    def cover_share(self, price):
        """vectorbt buys a short back with its cash (ours plus the short's proceeds): the share of the position
        that cash pays at `price` with its fee (1: all, within its 1e-9; 0: none, or under its min_size)."""
        cfg = self.cfg
        units = sum(abs(lot.size) for lot in self.lots)
        cash_v = self.cash + sum(abs(lot.size) * lot.price for lot in self.lots)
        need = units * price * (1 + cfg.commission) + cfg.fixed_fee
        if need - cash_v <= 1e-9 * need:
            return 1.0
        can = (cash_v - cfg.fixed_fee) / (1 + cfg.commission) / price
        return 0.0 if cash_v <= 1e-12 * cfg.init_cash or can < 1e-8 - 1e-12 else can / units

    def close(self, raw_price, bar, reason, frac=1.0):
        """Close `frac` of every lot (vectorbt: as one trade at their average entry price, and a short only as
        far as its cash pays)."""
        if not self.lots:
            return
        cfg = self.cfg
        if self.vbt and self.side() < 0:
            frac = min(frac, self.cover_share(raw_price))
            if frac <= 0:
                return
        if self.vbt and len(self.lots) > 1:
            side = self.side()
            price = raw_price * (1 - side * cfg.slippage)
            parts = [(lot, abs(lot.size) * frac if frac < 1 else abs(lot.size)) for lot in self.lots]
            units = sum(u for _, u in parts)
            gross = sum(u * lot.price for lot, u in parts)
            efee = 0.0
            for lot, u in parts:
                share = lot.fee * (u / abs(lot.size))
                efee += share
                lot.fee -= share
                lot.size = lot.size - side * u if frac < 1 else 0.0
            fee = units * price * cfg.commission + cfg.fixed_fee
            self._record(self.lots[0].bar, bar, side * units, gross / units, price, efee, fee, reason, False)
            self.cash += side * (units * price - gross) - fee
            self.lots = [lot for lot in self.lots if lot.size != 0]
            return
        # backtesting.py's position.close() books the newest trade first
        for lot in (list(reversed(self.lots)) if self.bt else list(self.lots)):
            a = abs(lot.size)
            if frac >= 1:
                u = a
            elif self.bt:
                u = min(a, max(1.0, float(round(a * frac))))
            else:
                u = a * frac
            self.close_units(lot, u, raw_price, bar, reason)

    def record_open(self, bar, price):
        if self.vbt and len(self.lots) > 1:
            units = sum(abs(lot.size) for lot in self.lots)
            gross = sum(abs(lot.size) * lot.price for lot in self.lots)
            self._record(self.lots[0].bar, bar, self.side() * units, gross / units, price,
                         sum(lot.fee for lot in self.lots), 0.0, EXIT_END, True)
            return
        for lot in self.lots:
            efee = abs(lot.size) * lot.price * self.cfg.commission + self.cfg.fixed_fee if self.bt else lot.fee
            self._record(lot.bar, bar, lot.size, lot.price, price, efee, 0.0, EXIT_END, True)

    def _record(self, entry_bar, bar, size, entry_price, price, efee, fee, reason, is_open):
        if self.keep_log and not is_open:  # an exit order (vectorbt's: one per trade record)
            self.log.append((bar, -size, price, fee))
        pnl = size * (price - entry_price) - efee - fee
        self.trades.append(dict(
            entry_bar=entry_bar, exit_bar=bar, side=1 if size > 0 else -1, size=abs(size),
            entry_price=entry_price, exit_price=price, pnl=pnl,
            return_pct=pnl / (abs(size) * entry_price) * 100, entry_fee=efee,
            exit_fee=fee, is_open=is_open, exit_reason=reason))

    def equity(self, price):
        return self.cash + sum(lot.size * (price - lot.price) for lot in self.lots)


def decide(cfg, cur, e, x, se, sx):
    """(close the position?, side to open or 0, closed by an opposite entry?) for the signals read at one
    bar's close; `cur`: the position's side (0 flat)."""
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
    if cur == 0:
        return False, (1 if e else (-1 if se else 0)), False
    same, other, exit_ = (e, se, x) if cur > 0 else (se, e, sx)
    if same and reenter:
        return True, cur, False
    if same and cfg.accumulate:
        return bool(exit_), cur, False
    if other:
        if cfg.accumulate and cfg.compat == "backtesting":  # exclusive_orders=False: nets against the lots
            return bool(exit_), -cur, False
        if cfg.on_opposite_entry == "reverse":
            return True, -cur, False
        if cfg.on_opposite_entry == "close":
            return True, 0, True
    return bool(exit_), 0, False


def stop_exit(b, lot, o, h, l, stop_first=False):
    """(price, reason) if the lot's stop or target closes it inside this bar, else None. `stop_first`
    (the presets): a stop reached anywhere in the bar wins over the target, even one gapped through."""
    side = 1 if lot.size > 0 else -1
    levels = []  # (price, reason) of protective stops
    if lot.sl is not None:
        levels.append((lot.sl, EXIT_STOP_LOSS))
    if lot.trail is not None:
        kind, v = lot.trail
        levels.append((lot.best * (1 - side * v) if kind == "frac" else lot.best - side * v, EXIT_TRAILING))
    stop = None
    for lv in levels:  # the stop nearest the price; sl wins a tie
        if stop is None or side * lv[0] > side * stop[0]:
            stop = lv
    target = lot.tp
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


def reference_simulate(o, h, l, c, e, x, se, sx, cfg, orders=None, with_log=False):
    """`orders`: None, or a list of len(c) with, per bar, None or a dict of the order fields set there
    (limit, stop, valid, size, size_type, sl_price, tp_price, sl_dist, tp_dist, trail_dist, exit_portion).
    `with_log`: also return the order log (a fifth item)."""
    run = _reference_simulate(o, h, l, c, e, x, se, sx, cfg, orders)
    return run if with_log else run[:4]


def _reference_simulate(o, h, l, c, e, x, se, sx, cfg, orders):
    n = len(c)
    orders = orders or [None] * n
    if cfg.compat == "backtesting" and cfg.accumulate and any(
            d and {"limit", "stop", "sl_price", "tp_price"} & d.keys() for d in orders):
        from tests.engine.reference_book import reference_book  # several working orders (docs/simulation.md)

        return reference_book(o, h, l, c, e, x, se, sx, cfg, orders)
    b = Broker(cfg)
    bt = cfg.compat == "backtesting"
    equity = [math.nan] * n
    status = 0
    queued = None  # (close?, share closed, side, signal bar) for the next open
    working = None  # {"side", "kind", "price", "until", "bar"}
    for i in range(n):
        ref = c[i] if bt else None  # backtesting.py values open trades at the bar's close to size an order
        # 1. queued market orders at the open
        if queued is not None:
            do_close, frac, side, k = queued
            if do_close:
                b.close(o[i], i, EXIT_SIGNAL, frac)
            if side != 0:
                b.enter(side, o[i], i, orders[k], ref)
            queued = None
        # 2. each lot's stops and targets
        stopped = False
        for lot in list(b.lots):  # both presets check the stop-loss before the take-profit, gap or not
            hit = stop_exit(b, lot, o[i], h[i], l[i], stop_first=cfg.compat is not None)
            if hit and b.vbt and (len(b.lots) > 1 or lot.size < 0):
                # vectorbt: the position's stop closes all of it at once (a short: as far as the cash pays; what
                # is left keeps its stops and moves its trailing anchor)
                b.close(hit[0], i, hit[1])
                for other in b.lots:
                    other.best = min(other.best, l[i])
                stopped = True
                break
            if hit:
                b.close_units(lot, abs(lot.size), hit[0], i, hit[1])
                stopped = True
            elif lot.size > 0:
                lot.best = max(lot.best, h[i])
            else:
                lot.best = min(lot.best, l[i])
        # 3. a working limit / stop entry
        if working is not None:
            if i > working["until"]:
                working = None
            else:
                px = working_fill(working, o[i], h[i], l[i])
                if px is not None:
                    side, k = working["side"], working["bar"]
                    working = None
                    same = b.side() == side
                    if not (same and cfg.on_entry_while_long != "reenter" and not cfg.accumulate):
                        if b.lots and not (same and cfg.accumulate):
                            b.close(px, i, EXIT_SIGNAL)
                        lot = b.enter(side, px, i, orders[k], ref)
                        if lot is not None and not bt:  # (the peer: from the next bar)
                            if lot.sl is not None and side * px <= side * lot.sl:
                                b.close_units(lot, abs(lot.size), px, i, EXIT_STOP_LOSS)
                            elif lot.tp is not None and side * px >= side * lot.tp:
                                b.close_units(lot, abs(lot.size), px, i, EXIT_TAKE_PROFIT)
                            elif lot.sl is not None and (l[i] <= lot.sl if side > 0 else h[i] >= lot.sl):
                                b.close_units(lot, abs(lot.size), lot.sl, i, EXIT_STOP_LOSS)
        # 4. signals at the close (the vectorbt preset ignores them on a bar a stop closed the trade)
        if i >= cfg.warmup_bars and not (stopped and cfg.compat == "vectorbt"):
            ee, xx, ses, sxx = bool(e[i]), bool(x[i]), bool(se[i]), bool(sx[i])
            cur = b.side()
            do_close, side, opposite_close = decide(cfg, cur, ee, xx, ses, sxx)
            wins = cfg.same_bar_conflict == "entry_wins"
            long_exit = xx and not (ee and not wins) and not (ee and wins)  # an exit that survived the conflict rule
            short_exit = sxx and not ses
            if working is not None and not bt and ((working["side"] > 0 and long_exit)
                                                   or (working["side"] < 0 and short_exit)):
                working = None
            order = orders[i]
            explicit_exit = long_exit if cur > 0 else short_exit if cur < 0 else False
            if side != 0:
                working = None
                if order and (order.get("limit") is not None or order.get("stop") is not None):
                    kind = "limit" if order.get("limit") is not None else "stop"
                    valid = order.get("valid")
                    working = {"side": side, "kind": kind, "price": order[kind], "bar": i,
                               "until": n if not valid else i + int(valid)}
                    side = 0
                    if not explicit_exit and not bt:
                        do_close = False
            # an exit signal alone closes the share its order names; vectorbt's accumulation with a fixed
            # size sells that size; a reversal, or a close by an opposite entry, closes everything
            frac = 1.0
            if do_close and side == 0 and not opposite_close:
                if order and order.get("exit_portion") is not None:
                    frac = order["exit_portion"]
                elif cfg.compat == "vectorbt" and cfg.accumulate and cfg.sizing in ("fixed", "value", "percent"):
                    amount = cfg.size / c[i] if cfg.sizing == "value" else cfg.size  # vectorbt sells `size` again
                    if cfg.sizing == "percent" and cur > 0:  # that share of the position
                        amount = cfg.size * abs(b.pos)
                    elif cfg.sizing == "percent":  # buys back what that share of its cash pays, fees on top
                        cash_v = b.cash + sum(abs(lot.size) * lot.price for lot in b.lots)  # (the short's proceeds)
                        amount = cash_v * cfg.size / (1 + cfg.commission) / c[i]
                    frac = 1.0 if amount >= abs(b.pos) * (1 - 1e-9) else amount / abs(b.pos)  # its tolerance
            bt_toc = bt and cfg.fill == "close"  # backtesting.py's trade_on_close
            if cfg.fill == "next_open" or (bt_toc and i == n - 1):  # (the peer never fills the last bar's
                queued = (do_close, frac, side, i)  # orders with trade_on_close, but finalize_trades does)
            else:
                before = b.equity(c[i])  # ... and books these fills on the next bar's equity
                if do_close:
                    b.close(c[i], i, EXIT_SIGNAL, frac)
                if side != 0:
                    b.enter(side, c[i], i, order, c[i + 1] if bt_toc else c[i])  # (the peer sizes it a bar on)
        # 5. mark to the close
        held = sum(abs(lot.size) for lot in b.lots)
        if b.lots and cfg.maintenance and 0 < b.equity(c[i]) < cfg.maintenance * held * c[i]:
            b.close(c[i], i, EXIT_LIQUIDATED)  # below the maintenance margin
        equity[i] = b.equity(c[i])
        if bt and cfg.fill == "close" and cfg.warmup_bars <= i < n - 1:
            equity[i] = before
        if b.equity(c[i]) <= 0 and b.vbt:
            status = 1  # vectorbt trades on below zero
        elif b.equity(c[i]) <= 0:
            b.close(c[i], i, EXIT_BANKRUPT)
            for j in range(i, n):  # backtesting.py shows a ruined account as 0
                equity[j] = 0.0 if bt else b.cash
            status = 1
            break
    if bt and cfg.at_end == "close" and status == 0:
        # backtesting.py's finalize_trades: close at the last open, oldest first, then a queued entry fills
        # there and stays open
        # (trade_on_close: its broker's extra pass fills both at the close before the last bar, booked there)
        at, px = (n - 2, c[n - 2]) if cfg.fill == "close" and n > 1 else (n - 1, o[n - 1])
        for lot in list(b.lots):
            b.close_units(lot, abs(lot.size), px, at, EXIT_END)
        if queued is not None and queued[2] != 0:
            b.enter(queued[2], px, at, orders[queued[3]], c[n - 1])
        equity[n - 1] = b.equity(c[n - 1])
        b.record_open(n - 1, c[n - 1])
        return equity, b.trades, status, b.cancelled, b.log
    if b.lots:
        if cfg.at_end == "close":
            b.close(c[n - 1], n - 1, EXIT_END)
            equity[n - 1] = b.cash
        else:
            b.record_open(n - 1, c[n - 1])
    return equity, b.trades, status, b.cancelled, b.log
