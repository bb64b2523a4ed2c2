"""The book of working orders: backtesting.py's broker with exclusive_orders=False (hedging=False) when entries
are limit or stop orders or carry stop-loss / take-profit orders, several of them working at once
(docs/simulation.md, "Several working orders").

engine/simulation.py runs `simulate_book_nb` instead of engine/kernels/simulate.py's loop only for a run under
`compat="backtesting"` with `accumulate` whose orders set a limit, stop, stop-loss or take-profit price on some
bar; every other run never reaches this module. It keeps what backtesting.py's `_Broker` keeps: a list of
orders (`book`, one row each, in the broker's order: a stop-loss and a `position.close()` order go in front, an
entry and a take-profit at the back) and a list of open trades (`lots`, oldest first), and runs the broker's
`_process_orders` on each bar as it does: each order in turn (those still in the list), a stop order becoming a
market or limit order once its stop is hit, sized at its fill, netted against the opposite trades oldest first,
with its stop-loss and take-profit orders added on its fill; then `Strategy.next()`'s orders at the bar's close.
Numbers are booked as the broker books them (cash, commission per leg at each leg's price, equity = cash +
close * units - cost of the units).

The book grows when full (it doubles), so any number of working orders is kept: backtesting.py's orders never
expire, and an order far from the price works until the end. Each bar looks at every working order once, as
the broker does.
"""

import numpy as np

from engine.kernels.jit import njit
from engine.kernels.simulate_lots import _at, _open_records, _write_trade
from engine.kernels.simulate_records import (
    EXIT_BANKRUPT,
    EXIT_END,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    L_BAR,
    L_BEST,
    L_FEE,
    L_PX,
    L_SIZE,
    L_SL,
    L_TP,
    L_TRAIL,
    N_LOT_FIELDS,
    STATUS_BANKRUPT,
    STATUS_OK,
    TRADE_RECORD,
)

# one order of the book: its id, kind (K_*), signed size (a fraction of the margin in (-1, 1), else units),
# limit and stop prices, its entry's stop-loss and take-profit prices (NaN: none) and its trade's id (-1: none)
B_ID, B_KIND, B_SIZE, B_LIMIT, B_STOP, B_SL, B_TP, B_TRADE = 0, 1, 2, 3, 4, 5, 6, 7
N_BOOK_FIELDS = 8
K_ENTRY = 0  # buy() / sell()
K_CLOSE = 1  # Trade.close() from position.close(portion)
K_SL = 2  # a trade's stop-loss (a stop order)
K_TP = 3  # a trade's take-profit (a limit order)
K_END = 4  # Trade.close() from finalize_trades
L_ID = N_LOT_FIELDS  # a lot's trade id (the column after the simulate kernel's lot fields)
_FULL = 0.9999999999999998  # buy() without a size: backtesting.py's _FULL_EQUITY, 1 - eps of the margin


@njit(cache=True, nogil=True)
def _find(rows, count, col, key):
    """The index of the first of rows[:count] whose column `col` is `key`; -1: none."""
    for m in range(count):
        if rows[m, col] == key:
            return m
    return -1


@njit(cache=True, nogil=True)
def _put(book, nb, front, oid, kind, size, limit, stop, sl, tp, trade):
    """Add an order in front of the book (a stop-loss, a close) or at its back; the book doubles when full.
    Returns (book, its order count)."""
    if nb == book.shape[0]:
        bigger = np.empty((2 * nb + 8, N_BOOK_FIELDS), dtype=np.float64)
        bigger[:nb] = book[:nb]
        book = bigger
    at = nb
    if front:
        for m in range(nb, 0, -1):
            book[m, :] = book[m - 1, :]
        at = 0
    book[at, B_ID] = oid
    book[at, B_KIND] = kind
    book[at, B_SIZE] = size
    book[at, B_LIMIT] = limit
    book[at, B_STOP] = stop
    book[at, B_SL] = sl
    book[at, B_TP] = tp
    book[at, B_TRADE] = trade
    return book, nb + 1


@njit(cache=True, nogil=True)
def _drop(rows, count, at):
    """Remove row `at` of rows[:count], keeping the order; returns the new count."""
    for m in range(at, count - 1):
        rows[m, :] = rows[m + 1, :]
    return count - 1


@njit(cache=True, nogil=True, inline="always")
def _fee(size, price, p):
    """backtesting.py's commission of an order of `size` at `price`."""
    return p.fixed_fee + abs(size) * price * p.fee_rate


@njit(cache=True, nogil=True)
def _equity(lots, nl, cash, price):
    """The broker's equity at `price`: cash + price * units - what the units cost."""
    units = 0.0
    cost = 0.0
    for j in range(nl):
        units += lots[j, L_SIZE]
        cost += lots[j, L_SIZE] * lots[j, L_PX]
    return cash + (price * units - cost)


@njit(cache=True, nogil=True)
def _margin_available(lots, nl, cash, price, p):
    """backtesting.py's margin_available at `price` (the bar's close): equity less each trade's value / leverage."""
    used = 0.0
    for j in range(nl):
        used += abs(lots[j, L_SIZE]) * price / p.leverage
    return max(0.0, _equity(lots, nl, cash, price) - used)


@njit(cache=True, nogil=True)
def _close_part(trades, nt, lots, nl, j, units, bar, price, cash, p, reason, book, nb):
    """Close `units` (at most its size) of trade j at `price` (the broker's _reduce_trade / _close_trade): a
    record with the closed units' commission at entry and at exit; a trade closed whole leaves the list with its
    stop-loss and take-profit orders. Returns (cash, records, trades, orders)."""
    size = lots[j, L_SIZE]
    side = 1.0 if size > 0.0 else -1.0
    whole = units >= abs(size)
    closed = size if whole else side * units
    fee = _fee(closed, price, p)
    _write_trade(trades, nt, int(lots[j, L_BAR]), bar, closed, lots[j, L_PX], price,
                 _fee(closed, lots[j, L_PX], p), fee, reason, False)
    cash += closed * (price - lots[j, L_PX]) - fee
    if not whole:
        lots[j, L_SIZE] = size - closed
        return cash, nt + 1, nl, nb
    tid = lots[j, L_ID]
    m = 0
    while m < nb:
        if book[m, B_TRADE] == tid and (book[m, B_KIND] == K_SL or book[m, B_KIND] == K_TP):
            nb = _drop(book, nb, m)
        else:
            m += 1
    return cash, nt + 1, _drop(lots, nl, j), nb


@njit(cache=True, nogil=True)
def _book_pass(i, o, h, lo, prev_close, close_i, trades, nt, lots, nl, book, nb, cash, ctr, p):
    """One run of the broker's _process_orders on bar i over the orders in the book when it starts.

    Returns (cash, records, trades, book, orders, reprocess?, cancelled)."""
    toc = p.bt_trade_on_close
    snap = book[:nb, B_ID].copy()
    reprocess = False
    cancelled = 0
    guess = 0  # where the next order should be: one past an order left in place (checked, not trusted)
    for s in range(snap.shape[0]):
        at = guess if guess < nb and book[guess, B_ID] == snap[s] else _find(book, nb, B_ID, snap[s])
        if at < 0:
            continue  # removed by an earlier order (its trade closed)
        guess = at + 1
        kind = int(book[at, B_KIND])
        size, limit, stop = book[at, B_SIZE], book[at, B_LIMIT], book[at, B_STOP]
        is_long = size > 0.0
        contingent = kind == K_SL or kind == K_TP
        if not np.isnan(stop):
            if not ((h >= stop) if is_long else (lo <= stop)):
                continue
            book[at, B_STOP] = np.nan  # hit: from now on a market (or limit) order
        if not np.isnan(limit):
            hit = (lo <= limit) if is_long else (h >= limit)
            # a stop-limit hit within the bar: the limit assumed reached before the stop (then it waits)
            before = hit and not np.isnan(stop) and ((limit <= stop) if is_long else (limit >= stop))
            if not hit or before:
                continue
            base = o if np.isnan(stop) else stop
            price = min(base, limit) if is_long else max(base, limit)
        else:
            price = prev_close if toc and not contingent else o
            if not np.isnan(stop):
                price = max(price, stop) if is_long else min(price, stop)
        is_market = np.isnan(limit) and np.isnan(stop)
        bar = i - 1 if is_market and toc and not contingent else i
        if kind != K_ENTRY:  # an order that closes (part of) its trade, if still open
            j = _find(lots, nl, L_ID, book[at, B_TRADE])
            if j >= 0:
                reason = EXIT_STOP_LOSS if kind == K_SL else (
                    EXIT_TAKE_PROFIT if kind == K_TP else (EXIT_END if kind == K_END else EXIT_SIGNAL))
                cash, nt, nl, nb = _close_part(trades, nt, lots, nl, j, abs(size), bar, price, cash, p, reason,
                                               book, nb)
            at = _find(book, nb, B_ID, snap[s])
            if at >= 0:
                nb = _drop(book, nb, at)
                guess = at
            continue
        sl, tp = book[at, B_SL], book[at, B_TP]
        sign = 1.0 if is_long else -1.0
        adjusted = price * (1.0 + sign * p.slippage)  # the spread
        apc = adjusted + _fee(size, price, p) / abs(size)
        units = size
        if -1.0 < size < 1.0:  # a fraction of the margin available (valued at the bar's close): whole units
            units = sign * float(int((_margin_available(lots, nl, cash, close_i, p) * p.leverage * abs(size))
                                     // apc))
            if units == 0.0:
                cancelled += 1
                nb = _drop(book, nb, at)
                guess = at
                continue
        need = units
        j = 0
        while j < nl and need != 0.0:  # hedging=False: the opposite trades first, oldest first
            ts = lots[j, L_SIZE]
            if (ts > 0.0) == is_long:
                j += 1
                continue
            if abs(need) >= abs(ts):
                cash, nt, nl, nb = _close_part(trades, nt, lots, nl, j, abs(ts), bar, price, cash, p, EXIT_SIGNAL,
                                               book, nb)
                need += ts
            else:
                cash, nt, nl, nb = _close_part(trades, nt, lots, nl, j, abs(need), bar, price, cash, p,
                                               EXIT_SIGNAL, book, nb)
                need = 0.0
        at = _find(book, nb, B_ID, snap[s])
        if abs(need) * apc > _margin_available(lots, nl, cash, close_i, p) * p.leverage:
            cancelled += 1
            nb = _drop(book, nb, at)
            guess = at
            continue
        if need != 0.0:
            tid = float(ctr[1])
            ctr[1] += 1
            lots[nl, L_SIZE] = need
            lots[nl, L_PX] = adjusted
            lots[nl, L_FEE] = _fee(need, adjusted, p)
            lots[nl, L_BAR] = bar
            lots[nl, L_SL] = sl
            lots[nl, L_TP] = tp
            lots[nl, L_TRAIL] = np.nan
            lots[nl, L_BEST] = adjusted
            lots[nl, L_ID] = tid
            nl += 1
            cash -= _fee(need, adjusted, p)
            if not np.isnan(tp):  # Trade.tp = ...: a limit order at the back
                book, nb = _put(book, nb, False, float(ctr[0]), K_TP, -need, tp, np.nan, np.nan, np.nan, tid)
                ctr[0] += 1
            if not np.isnan(sl):  # Trade.sl = ...: a stop order in front
                book, nb = _put(book, nb, True, float(ctr[0]), K_SL, -need, np.nan, sl, np.nan, np.nan, tid)
                ctr[0] += 1
            if not (np.isnan(sl) and np.isnan(tp)):
                # the broker runs the book again on this bar for a market order's new levels, and for a stop
                # order's take-profit inside the bar when its stop-loss is not
                if is_market:
                    reprocess = True
                elif not np.isnan(stop) and np.isnan(limit) and not np.isnan(tp) and (
                        (is_long and tp <= h and (-np.inf if np.isnan(sl) else sl) < lo)
                        or (not is_long and tp >= lo and (np.inf if np.isnan(sl) else sl) > h)):
                    reprocess = True
        at = _find(book, nb, B_ID, snap[s])
        nb = _drop(book, nb, at)
        guess = at
    return cash, nt, nl, book, nb, reprocess, cancelled


@njit(cache=True, nogil=True)
def _broker_next(i, open_, high, low, close, trades, nt, lots, nl, book, nb, cash, ctr, p):
    """The broker's next() on bar i: the book processed, again while a fill asks for it. Returns (cash, records,
    trades, book, orders, cancelled)."""
    prev_close = close[i - 1] if i > 0 else np.nan
    cancelled = 0
    again = True
    while again:
        cash, nt, nl, book, nb, again, c = _book_pass(i, open_[i], high[i], low[i], prev_close, close[i], trades,
                                                      nt, lots, nl, book, nb, cash, ctr, p)
        cancelled += c
    return cash, nt, nl, book, nb, cancelled


@njit(cache=True, nogil=True)
def _ruin(trades, nt, lots, nl, i, price, cash, p, book, nb):
    """Equity at or below 0: the broker closes its trades at the close as `for trade in self.trades:` does while
    each close removes one from that list (every other one: the others stay open). Returns (records, trades)."""
    k = 0
    while k < nl:
        cash, nt, nl, nb = _close_part(trades, nt, lots, nl, k, abs(lots[k, L_SIZE]), i, price, cash, p,
                                       EXIT_BANKRUPT, book, nb)
        k += 1
    return nt, nl


@njit(cache=True, nogil=True)
def simulate_book_nb(open_, high, low, close, entries, exits, short_entries, short_exits, orders, params):
    """simulate_nb's arguments and results, for backtesting.py's exclusive_orders=False with working orders:
    its run loop (the broker's next(), then Strategy.next(): buy()/sell() on an entry, position.close(portion)
    on an exit of the position's side), and finalize_trades' last pass."""
    p = params[0]
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    n_entries = 0
    for i in range(n):
        n_entries += entries[i] + short_entries[i]
    cap = 1 + p.extra_records + n_entries
    trades = np.empty(cap, dtype=TRADE_RECORD)
    lots = np.empty((n_entries + 1, N_LOT_FIELDS + 1), dtype=np.float64)
    book = np.empty((16, N_BOOK_FIELDS), dtype=np.float64)
    ctr = np.zeros(2, dtype=np.int64)  # the next order id, the next trade id
    nl = 0
    nb = 0
    nt = 0
    n_cancelled = 0
    status = STATUS_OK
    cash = p.init_cash
    start = max(1, p.warmup)  # backtesting.py's first next() is on bar 1
    for i in range(min(start, n)):
        equity[i] = cash
    ruined = False
    for i in range(start, n):
        cash, nt, nl, book, nb, c = _broker_next(i, open_, high, low, close, trades, nt, lots, nl, book, nb, cash,
                                                 ctr, p)
        n_cancelled += c
        eq = _equity(lots, nl, cash, close[i])
        equity[i] = eq
        if eq <= 0.0:
            nt, nl = _ruin(trades, nt, lots, nl, i, close[i], cash, p, book, nb)
            cash = 0.0
            equity[i:] = 0.0
            status = STATUS_BANKRUPT
            ruined = True
            break
        # Strategy.next() at the close: an entry wins over an exit, a long entry over a short one
        e = entries[i]
        se = short_entries[i] and not e
        side = 1.0 if e else (-1.0 if se else 0.0)
        pos = 0.0 if nl == 0 else lots[0, L_SIZE]
        if (exits[i] and pos > 0.0 or short_exits[i] and pos < 0.0) and side == 0.0:
            portion = _at(orders.exit_portion, i)
            portion = 1.0 if np.isnan(portion) else portion
            for j in range(nl):  # position.close(portion): each trade's order in front (the newest ends first)
                a = abs(lots[j, L_SIZE])
                u = max(1.0, float(np.round(a * portion)))
                book, nb = _put(book, nb, True, float(ctr[0]), K_CLOSE, -np.sign(lots[j, L_SIZE]) * u, np.nan,
                                np.nan, np.nan, np.nan, lots[j, L_ID])
                ctr[0] += 1
        if side != 0.0:
            size = _at(orders.size, i)
            size = _FULL if np.isnan(size) else size
            book, nb = _put(book, nb, False, float(ctr[0]), K_ENTRY, side * size, _at(orders.limit, i),
                            _at(orders.stop, i), _at(orders.sl_price, i), _at(orders.tp_price, i), -1.0)
            ctr[0] += 1
    if p.finalize and not ruined and n > start:
        for step in range(nl):  # for trade in reversed(trades): trade.close(), each in front: the oldest first
            j = nl - 1 - step
            book, nb = _put(book, nb, True, float(ctr[0]), K_END, -lots[j, L_SIZE], np.nan, np.nan, np.nan, np.nan,
                            lots[j, L_ID])
            ctr[0] += 1
        cash, nt, nl, book, nb, c = _broker_next(n - 1, open_, high, low, close, trades, nt, lots, nl, book, nb,
                                                 cash, ctr, p)
        n_cancelled += c
        equity[n - 1] = _equity(lots, nl, cash, close[n - 1])
        if equity[n - 1] <= 0.0:
            nt, nl = _ruin(trades, nt, lots, nl, n - 1, close[n - 1], cash, p, book, nb)
            equity[n - 1] = 0.0
            status = STATUS_BANKRUPT
    nt = _open_records(trades, nt, lots, nl, n - 1, close[n - 1], p)
    return equity, trades[:min(nt, cap)].copy(), status, n_cancelled, nt
