"""Plain-Python reference of docs/simulation.md, "Several working orders": backtesting.py's broker with
exclusive_orders=False (hedging=False) and limit / stop entries, as objects in lists the way its `_Broker` keeps
them (an order list, a trade list), for engine/kernels/simulate_book.py to be checked against. Called by
tests/engine/reference_simulate.py's `reference_simulate` for such runs; same arguments and results.
"""

from __future__ import annotations

import math

from engine.kernels.simulate_records import (
    EXIT_BANKRUPT,
    EXIT_END,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    ORDER_SIZE_UNITS,
)

FULL = 0.9999999999999998  # buy() without a size


class Order:
    def __init__(self, kind, size, limit=None, stop=None, sl=None, tp=None, trade=None):
        self.kind, self.size, self.limit, self.stop = kind, size, limit, stop  # kind: entry/close/sl/tp/end
        self.sl, self.tp, self.trade = sl, tp, trade


class Trade:
    def __init__(self, size, price, bar):
        self.size, self.price, self.bar = size, price, bar
        self.sl_order = self.tp_order = None


class Book:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cash = cfg.init_cash
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.records: list[dict] = []
        self.cancelled = 0

    def fee(self, size, price):
        return self.cfg.fixed_fee + abs(size) * price * self.cfg.commission

    def equity(self, price):
        return self.cash + (price * sum(t.size for t in self.trades) - sum(t.size * t.price for t in self.trades))

    def margin_available(self, price):
        used = sum(abs(t.size) * price / (1 / self.cfg.margin) for t in self.trades)
        return max(0.0, self.equity(price) - used)

    def close(self, trade, units, price, bar, reason):
        """Close `units` of `trade` (all of it: it leaves with its stop-loss and take-profit orders)."""
        closed = trade.size if units >= abs(trade.size) else math.copysign(units, trade.size)
        fee = self.fee(closed, price)
        efee = self.fee(closed, trade.price)
        pnl = closed * (price - trade.price) - efee - fee
        self.records.append(dict(entry_bar=trade.bar, exit_bar=bar, side=1 if closed > 0 else -1, size=abs(closed),
                                 entry_price=trade.price, exit_price=price, pnl=pnl,
                                 return_pct=pnl / (abs(closed) * trade.price) * 100, entry_fee=efee, exit_fee=fee,
                                 is_open=False, exit_reason=reason))
        self.cash += closed * (price - trade.price) - fee
        if closed == trade.size:
            self.trades.remove(trade)
            for o in (trade.sl_order, trade.tp_order):
                if o is not None and o in self.orders:
                    self.orders.remove(o)
        else:
            trade.size -= closed

    def process(self, i, o, h, l, c, prev_close):
        """_process_orders: each order of the list as it stands, in its order; True: run again."""
        toc = self.cfg.compat == "backtesting" and self.cfg.fill == "close"
        again = False
        for order in list(self.orders):
            if order not in self.orders:
                continue
            long = order.size > 0
            stop = order.stop
            if stop is not None:
                if not (h >= stop if long else l <= stop):
                    continue
                order.stop = None
            contingent = order.kind in ("sl", "tp")
            if order.limit is not None:
                hit = l <= order.limit if long else h >= order.limit
                if not hit or (stop is not None and (order.limit <= stop if long else order.limit >= stop)):
                    continue
                price = min(stop or o, order.limit) if long else max(stop or o, order.limit)
            else:
                price = prev_close if toc and not contingent else o
                if stop is not None:
                    price = max(price, stop) if long else min(price, stop)
            market = order.limit is None and stop is None
            bar = i - 1 if market and toc and not contingent else i
            if order.kind != "entry":
                if order.trade in self.trades:
                    reason = {"sl": EXIT_STOP_LOSS, "tp": EXIT_TAKE_PROFIT, "end": EXIT_END}.get(order.kind,
                                                                                                EXIT_SIGNAL)
                    self.close(order.trade, abs(order.size), price, bar, reason)
                if order in self.orders:
                    self.orders.remove(order)
                continue
            sign = 1 if long else -1
            adjusted = price * (1 + sign * self.cfg.slippage)
            per_unit = adjusted + self.fee(order.size, price) / abs(order.size)
            size = order.size
            if -1 < size < 1:
                size = sign * float(int(self.margin_available(c) / self.cfg.margin * abs(size) // per_unit))
                if size == 0:
                    self.cancelled += 1
                    self.orders.remove(order)
                    continue
            need = size
            for trade in list(self.trades):
                if (trade.size > 0) == long:
                    continue
                if abs(need) >= abs(trade.size):
                    need += trade.size
                    self.close(trade, abs(trade.size), price, bar, EXIT_SIGNAL)
                else:
                    self.close(trade, abs(need), price, bar, EXIT_SIGNAL)
                    need = 0
                if not need:
                    break
            if abs(need) * per_unit > self.margin_available(c) / self.cfg.margin:
                self.cancelled += 1
                self.orders.remove(order)
                continue
            if need:
                trade = Trade(need, adjusted, bar)
                self.trades.append(trade)
                self.cash -= self.fee(need, adjusted)
                if order.tp is not None:
                    trade.tp_order = Order("tp", -need, limit=order.tp, trade=trade)
                    self.orders.append(trade.tp_order)
                if order.sl is not None:
                    trade.sl_order = Order("sl", -need, stop=order.sl, trade=trade)
                    self.orders.insert(0, trade.sl_order)
                if order.sl is not None or order.tp is not None:
                    if market:
                        again = True
                    elif stop is not None and order.limit is None and order.tp is not None and (
                            (long and order.tp <= h and (order.sl or -math.inf) < l)
                            or (not long and order.tp >= l and (order.sl or math.inf) > h)):
                        again = True
            self.orders.remove(order)
        return again

    def next(self, i, o, h, l, c):
        while self.process(i, o[i], h[i], l[i], c[i], c[i - 1] if i > 0 else math.nan):
            pass

    def ruin(self, i, price):
        for trade in self.trades:  # (as the broker's loop does: it skips every other trade while removing)
            self.close(trade, abs(trade.size), price, i, EXIT_BANKRUPT)
        self.cash = 0.0


def reference_book(o, h, l, c, e, x, se, sx, cfg, orders):
    n = len(c)
    b = Book(cfg)
    start = max(1, cfg.warmup_bars)
    equity = [cfg.init_cash] * n
    status = 0
    for i in range(start, n):
        b.next(i, o, h, l, c)
        equity[i] = b.equity(c[i])
        if equity[i] <= 0:
            b.ruin(i, c[i])
            equity[i:] = [0.0] * (n - i)
            status = 1
            break
        order = orders[i] or {}
        side = 1 if e[i] else (-1 if se[i] else 0)
        pos = sum(t.size for t in b.trades)
        if side == 0 and ((x[i] and pos > 0) or (sx[i] and pos < 0)):
            portion = order.get("exit_portion") or 1.0
            for t in b.trades:  # position.close(portion)
                b.orders.insert(0, Order("close", -math.copysign(max(1, round(abs(t.size) * portion)), t.size),
                                         trade=t))
        if side != 0:
            size = order.get("size")
            if size is not None and order.get("size_type", ORDER_SIZE_UNITS) == ORDER_SIZE_UNITS:
                assert size == round(size) >= 1
            b.orders.append(Order("entry", side * (FULL if size is None else size), limit=order.get("limit"),
                                  stop=order.get("stop"), sl=order.get("sl_price"), tp=order.get("tp_price")))
    if cfg.at_end == "close" and status == 0 and n > start:  # finalize_trades
        for t in reversed(b.trades):
            b.orders.insert(0, Order("end", -t.size, trade=t))
        b.next(n - 1, o, h, l, c)
        equity[n - 1] = b.equity(c[n - 1])
        if equity[n - 1] <= 0:
            b.ruin(n - 1, c[n - 1])
            equity[n - 1] = 0.0
            status = 1
    for t in b.trades:
        efee = b.fee(t.size, t.price)
        pnl = t.size * (c[n - 1] - t.price) - efee
        b.records.append(dict(entry_bar=t.bar, exit_bar=n - 1, side=1 if t.size > 0 else -1, size=abs(t.size),
                              entry_price=t.price, exit_price=c[n - 1], pnl=pnl,
                              return_pct=pnl / (abs(t.size) * t.price) * 100, entry_fee=efee, exit_fee=0.0,
                              is_open=True, exit_reason=EXIT_END))
    return equity, b.records, status, b.cancelled
