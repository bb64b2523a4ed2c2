"""The simulate kernel: one numba loop over bars that turns signals into fills, trades and equity.

Inside bar i, in this order (docs/simulation.md has a worked example of each rule):
1. market orders queued at bar i-1's close (fill=next_open) fill at bar i's open: a close before an open;
2. the position's stops and targets are checked against bar i's range: a gap through a level fills at the
   open, otherwise at the level; if stop and target are both inside the bar, the stop is assumed first;
   the trailing stop follows the best price of the bars *before* bar i (no intra-bar look-ahead);
3. a working limit or stop entry order is checked against bar i's range (a gap through its price fills
   at the open, otherwise at its price); a fill first closes a position on the other side; the new
   trade's stop-loss is then checked against the same bar, the worst case assumed;
4. signals at bar i's close are read: market orders fill at once (fill=close) or are queued for bar
   i+1's open (fill=next_open); a limit or stop entry starts working at bar i+1;
5. equity is marked to bar i's close; equity <= 0 closes the position and ends the run.

Orders (per-bar arrays, NaN = not set; see ORDER_SIZE_* below) give an entry signal at that bar its type
(limit or stop price, how many bars it stays open), its size (`size`, read as `size_type`) and its
trade's stop-loss and take-profit (a price, or a distance from the fill) and trailing distance; unset
fields fall back to the run-wide options. An empty orders array means market orders throughout.

Accounting ("margin" style, as backtesting.py keeps it): `cash` is the realised balance
(initial cash + realised P&L - fees); equity = cash + size * (close - entry_price).
Fill prices move against the trader by `slippage` (the backtesting preset: entries only, as backtesting.py's
`spread`). Fees = commission * |size| * price + fixed fee, charged on each leg.

The common entry (from flat, without per-bar orders) and exit (one lot, whole) are inlined into the loop
(`_enter_plain`, `_exit_fast`); the general cases are calls. Called with the order arrays, a helper passes a
dozen arrays each time, and that cost the 1M-bar SMA-cross loop twice its time; inlining the general helpers
instead cost three times the compile time (docs/performance.md).

Inputs are plain arrays: the bars' columns, the signals, and the options as one record of
SIM_PARAMS_DTYPE read by field name (built from a SimConfig in one place, engine/simulation.py's
`sim_params`), so no caller can pass two options in each other's place. The records and the enums' codes
are in engine/kernels/simulate_records.py; sizing, lots, entries and exits in engine/kernels/simulate_lots.py;
the order log, kept only with `log_orders`, in engine/kernels/simulate_log.py (docs/simulation.md).
"""

import numpy as np

from engine.kernels.jit import njit
from engine.kernels.prefetch import prefetch
from engine.kernels.simulate_log import _log_entry, _log_exits
from engine.kernels.simulate_lots import (
    _at,
    _close_units,
    _compact,
    _cover_frac,
    _enter,
    _enter_plain,
    _exit_fast,
    _exit_lots,
    _lot_stop,
    _open_records,
    _units_and_debt,
    _unrealised,
)
from engine.kernels.simulate_records import (
    EXIT_BANKRUPT,
    EXIT_END,
    EXIT_LIQUIDATED,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    FILL_NEXT_OPEN,
    L_BEST,
    L_PX,
    L_SIZE,
    L_SL,
    L_TP,
    L_TRAIL,
    N_LOT_FIELDS,
    OPPOSITE_CLOSE,
    OPPOSITE_REVERSE,
    ORDER_LOG_RECORD,
    SIZE_PERCENT,
    SIZE_VALUE,
    STATUS_BANKRUPT,
    STATUS_OK,
    TRADE_RECORD,
)

# How far ahead of the quiet loop an entry signal has its order's arrays fetched: ~100 ns of memory latency
# at ~2 ns a quiet bar (docs/performance.md, "Quiet bars and cache misses").
PREFETCH_BARS = 64


@njit(cache=True, nogil=True)
def simulate_nb(open_, high, low, close, entries, exits, short_entries, short_exits, orders, params):
    """Run one backtest: the bars' columns, long and short entry/exit signals (bool arrays of the same
    length), `orders` (the named tuple of order arrays: simulate_records.py; all empty: market orders) and `params`, one
    record of SIM_PARAMS_DTYPE.

    Returns (equity[n], trades[TRADE_DTYPE], status, n_cancelled, n_records, orders[ORDER_LOG_DTYPE]): when
    n_records exceeds len(trades), the array had no room for every record (partial exits split trades): run
    again with `extra_records` raised by the difference. `orders` is the order log (engine/kernels/simulate_log.py),
    empty unless `log_orders`.
    """
    p = params[0]
    # what the loop reads on every bar, read once
    fill_mode, warmup = p.fill_mode, p.warmup
    reenter, entry_wins, accumulate, opposite = p.reenter, p.entry_wins, p.accumulate, p.opposite
    bt_fifo = accumulate and p.bt_orders
    has_orders = (orders.limit.shape[0] + orders.stop.shape[0] + orders.size.shape[0] + orders.sl_price.shape[0]
                  + orders.tp_price.shape[0] + orders.sl_dist.shape[0] + orders.tp_dist.shape[0]
                  + orders.trail_dist.shape[0]) > 0
    size_type = orders.size_type[0]
    run_stops = p.sl > 0.0 or p.tp > 0.0 or p.trail > 0.0
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    # Every trade is opened by an entry signal (at once, at the next open, or by the order it placed), so
    # there are at most as many trades as entry signals, plus what partial exits split off. (Growing the
    # array inside the loop instead costs the loop half its speed: numba then reloads it on every bar.)
    cap = 1 + p.extra_records
    for i in range(n):
        cap += entries[i] + short_entries[i]
    trades = np.empty(cap, dtype=TRADE_RECORD)
    lots = np.empty((cap if accumulate else 1, N_LOT_FIELDS), dtype=np.float64)
    # the order log: at most one entry per entry signal and one exit per trade record (docs/simulation.md)
    log_on = p.log_orders
    log = np.empty(2 * cap if log_on else 0, dtype=ORDER_LOG_RECORD)
    log_n = np.zeros(2, dtype=np.int64)  # fills logged, trade records already logged as exits
    nl = 0
    nt = 0
    n_cancelled = 0
    status = STATUS_OK
    cash = p.init_cash

    pend_exit = False  # a market order queued for the next open
    pend_frac = 1.0  # the share of each lot it closes
    pend_entry = 0
    pend_k = -1  # the signal bar of the queued entry (its order details)
    work_side = 0  # a working limit/stop entry order: side, kind (1 limit, 2 stop), price, last bar, signal bar
    work_kind = 0
    work_px = 0.0
    work_until = 0
    work_k = -1
    last = n
    eq_before = 0.0
    # Bars on which nothing can happen are marked to the close in a tight loop (docs/simulation.md, "Quiet
    # bars"): no order queued, no margin call possible, no signal on the bar, and flat (with no working entry
    # order, or one the bar's range does not reach) or one lot with no trailing stop whose stop-loss and
    # take-profit the bar's range does not reach.
    # The loop writes what the full bar would (the same expression, so the same bits); a bar with a signal, or
    # one whose equity reaches 0, goes through the full bar.
    flat_quiet = not p.bt_trade_on_close
    held_quiet = flat_quiet and p.maintenance <= 0.0

    # (the order fields read at an entry signal, or the bars' lows when a field is not per bar: a harmless
    # fetch of a line the loops read anyway)
    pf_limit = orders.limit if orders.limit.shape[0] == n else low
    pf_stop = orders.stop if orders.stop.shape[0] == n else low
    pf_sl = orders.sl_dist if orders.sl_dist.shape[0] == n else (
        orders.sl_price if orders.sl_price.shape[0] == n else low)
    i = 0
    while i < n:
        if not pend_exit and pend_entry == 0 and i >= warmup:
            # (open_[i] == open_[i]: a NaN open goes through the full bar; reading the open also keeps it in
            # the cache for the next fill, which otherwise waits ~100 ns on memory each time)
            if work_side != 0:
                if nl == 0 and flat_quiet and cash > 0.0:
                    # flat with a working limit or stop entry that this bar's range does not reach (its last bar
                    # at most: the bar after expires it)
                    lim = min(work_until, n - 1)
                    if (work_kind == 1) == (work_side > 0):  # it fills when the price comes down to it
                        while i <= lim and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]) and (
                                (open_[i] > work_px) & (low[i] > work_px)):
                            equity[i] = cash
                            i += 1
                    else:  # when the price comes up to it
                        while i <= lim and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]) and (
                                (open_[i] < work_px) & (high[i] < work_px)):
                            equity[i] = cash
                            i += 1
            elif nl == 0 and flat_quiet and cash > 0.0:
                if has_orders:
                    while i < n and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]
                                         | (open_[i] != open_[i])):
                        equity[i] = cash
                        ahead = i + PREFETCH_BARS
                        if ahead < n and (entries[ahead] | short_entries[ahead]):
                            prefetch(pf_limit, ahead)
                            prefetch(pf_stop, ahead)
                            prefetch(pf_sl, ahead)
                            prefetch(high, ahead + 1)
                            prefetch(low, ahead + 1)
                        i += 1
                else:
                    while i < n and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]
                                         | (open_[i] != open_[i])):
                        equity[i] = cash  # cash + 0.0, as the full bar's mark of no lots
                        i += 1
            elif nl == 1 and held_quiet and np.isnan(lots[0, L_TRAIL]):
                size0 = lots[0, L_SIZE]
                px0 = lots[0, L_PX]
                if np.isnan(lots[0, L_SL]) and np.isnan(lots[0, L_TP]):
                    while i < n and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]
                                         | (open_[i] != open_[i])):
                        eq = cash + size0 * (close[i] - px0)  # _unrealised's one-lot mark
                        if eq <= 0.0:
                            break  # the full bar handles the bankruptcy
                        equity[i] = eq
                        i += 1
                else:
                    # a bar quiet for the lot's stop-loss and take-profit: the whole bar (open, high and low)
                    # strictly on the safe side of both (_lot_stop finds neither); a NaN price is not
                    below = lots[0, L_SL] if size0 > 0.0 else lots[0, L_TP]  # the level under the price
                    above = lots[0, L_TP] if size0 > 0.0 else lots[0, L_SL]
                    below = -np.inf if np.isnan(below) else below
                    above = np.inf if np.isnan(above) else above
                    while i < n and not (entries[i] | exits[i] | short_entries[i] | short_exits[i]) and (
                            (open_[i] > below) & (low[i] > below) & (open_[i] < above) & (high[i] < above)):
                        eq = cash + size0 * (close[i] - px0)
                        if eq <= 0.0:
                            break
                        equity[i] = eq
                        i += 1
            if i >= n:
                break
        o_i = open_[i]
        # 1. queued market orders fill at this bar's open
        if pend_exit and nl > 0:
            cash, nt, nl = _exit_fast(trades, nt, lots, nl, pend_frac, i, o_i, cash, p, EXIT_SIGNAL)
        if pend_entry != 0:
            if nl == 0 and not has_orders:
                cash, nl, c = _enter_plain(lots, nl, float(pend_entry), i, o_i, cash, p)
                if log_on and c == 0:
                    _log_entry(log, log_n, trades, nt, lots, nl - 1)
            else:
                cash, nt, nl, c, added = _enter(trades, nt, lots, nl, float(pend_entry), pend_k, i, o_i,
                                                close[i] if p.bt_orders else o_i, cash, orders, size_type, p)
                if log_on and added >= 0:
                    _log_entry(log, log_n, trades, nt, lots, added)
            n_cancelled += c
        pend_exit = False
        pend_entry = 0

        # 2. each lot's stops and targets against this bar's range
        stopped = False
        if nl > 0 and (run_stops or has_orders):
            j = 0
            while j < nl:
                exit_px, reason = _lot_stop(lots[j, L_SIZE], lots[j, L_SL], lots[j, L_TRAIL], lots[j, L_BEST],
                                            lots[j, L_TP], o_i, high[i], low[i], p.stop_first)
                if not np.isnan(exit_px) and p.trade_on_ruin and lots[j, L_SIZE] < 0.0:
                    # vectorbt: the stop buys back the short (all its lots: one set of stops) as far as the cash
                    # pays; what is left keeps its stops, its trailing anchor moved by this bar
                    frac = _cover_frac(lots, nl, cash, exit_px, p)
                    if frac > 0.0:
                        cash, nt, nl = _exit_lots(trades, nt, lots, nl, frac, i, exit_px, cash, p, reason)
                    for m in range(nl):
                        lots[m, L_BEST] = min(lots[m, L_BEST], low[i])
                    stopped = True
                    break
                elif not np.isnan(exit_px) and p.merge_exits and nl > 1:
                    # vectorbt: the position's stop closes all of it, as one exit order (one trade)
                    cash, nt, nl = _exit_lots(trades, nt, lots, nl, 1.0, i, exit_px, cash, p, reason)
                    stopped = True
                elif not np.isnan(exit_px):
                    cash = _close_units(trades, nt, lots, j, abs(lots[j, L_SIZE]), i, exit_px, cash, p, reason)
                    nt += 1
                    nl = _compact(lots, nl)
                    stopped = True
                else:
                    if lots[j, L_SIZE] > 0.0:
                        lots[j, L_BEST] = max(lots[j, L_BEST], high[i])
                    else:
                        lots[j, L_BEST] = min(lots[j, L_BEST], low[i])
                    j += 1

        # 3. a working limit or stop entry order against this bar's range
        if work_side != 0:
            if i > work_until:
                work_side = 0  # expired
            else:
                ws = float(work_side)
                fill_px = np.nan
                if work_kind == 1:  # limit: at or better than its price
                    if ws * o_i <= ws * work_px:
                        fill_px = o_i
                    elif (low[i] <= work_px) if ws > 0 else (high[i] >= work_px):
                        fill_px = work_px
                else:  # stop: once the price reaches it
                    if ws * o_i >= ws * work_px:
                        fill_px = o_i
                    elif (high[i] >= work_px) if ws > 0 else (low[i] <= work_px):
                        fill_px = work_px
                if not np.isnan(fill_px):
                    work_side = 0
                    same = nl > 0 and (lots[0, L_SIZE] > 0.0) == (ws > 0)
                    if same and not reenter and not accumulate:
                        pass  # already in a position on this side: the order is dropped
                    else:
                        if nl > 0 and not (same and accumulate):  # the other side (a reversal), or reenter
                            cash, nt, nl = _exit_lots(trades, nt, lots, nl, 1.0, i, fill_px, cash, p,
                                                               EXIT_SIGNAL)
                        cash, nt, nl, c, j = _enter(trades, nt, lots, nl, ws, work_k, i, fill_px,
                                                             close[i] if p.bt_orders else fill_px, cash, orders,
                                                             size_type, p)
                        n_cancelled += c
                        if log_on and j >= 0:
                            _log_entry(log, log_n, trades, nt, lots, j)
                        if j >= 0 and not p.bt_orders:
                            # the rest of this bar: a level already passed closes at the fill; else the
                            # stop-loss is assumed hit if the bar's range reaches it (the take-profit is not).
                            # backtesting.py checks the new trade's levels from the next bar on.
                            sl_lv, tp_lv = lots[j, L_SL], lots[j, L_TP]
                            ex = np.nan
                            why = EXIT_STOP_LOSS
                            if not np.isnan(sl_lv) and ws * fill_px <= ws * sl_lv:
                                ex = fill_px
                            elif not np.isnan(tp_lv) and ws * fill_px >= ws * tp_lv:
                                ex = fill_px
                                why = EXIT_TAKE_PROFIT
                            elif not np.isnan(sl_lv) and ((low[i] <= sl_lv) if ws > 0 else (high[i] >= sl_lv)):
                                ex = sl_lv
                            if not np.isnan(ex):
                                cash = _close_units(trades, nt, lots, j, abs(lots[j, L_SIZE]), i, ex, cash, p, why)
                                nt += 1
                                nl = _compact(lots, nl)

        # 4. signals at this bar's close
        if i >= warmup and not (stopped and p.stop_bar_quiet):
            e = entries[i]
            x = exits[i]
            se = short_entries[i]
            sx = short_exits[i]
            if e and x:
                if entry_wins:
                    x = False
                else:
                    e = False
                    x = False
            if se and sx:
                if entry_wins:
                    sx = False
                else:
                    se = False
                    sx = False
            if e and se:  # contradictory entries: do nothing new (the backtesting preset: the long wins)
                se = False
                if not p.long_wins:
                    e = False
            # an exit on the side of a working entry order cancels it
            if ((work_side > 0 and x) or (work_side < 0 and sx)) and not p.bt_orders:
                work_side = 0
            pos_side = 0 if nl == 0 else (1 if lots[0, L_SIZE] > 0.0 else -1)
            want_exit = False
            want_entry = 0
            full = False  # closed by an entry against it: all of it
            if pos_side != 0:
                same_e = e if pos_side > 0 else se  # an entry on the position's side
                other_e = se if pos_side > 0 else e  # and against it
                if x if pos_side > 0 else sx:
                    want_exit = True
                if same_e and reenter:
                    want_exit = True
                    want_entry = pos_side
                elif same_e and accumulate:
                    want_entry = pos_side
                elif other_e:
                    if bt_fifo:  # backtesting.py, exclusive_orders=False: the order nets against the lots
                        want_entry = -pos_side
                    elif opposite == OPPOSITE_REVERSE:
                        want_exit = True
                        want_entry = -pos_side
                    elif opposite == OPPOSITE_CLOSE:
                        want_exit = True
                        full = True
            else:
                if e:
                    want_entry = 1
                elif se:
                    want_entry = -1
            if want_entry != 0:
                work_side = 0  # a new entry replaces a working order
                limit = _at(orders.limit, i)
                stop = _at(orders.stop, i)
                if not (np.isnan(limit) and np.isnan(stop)):
                    # a limit or stop entry: works from the next bar; the position stays until it fills
                    work_side = want_entry
                    work_kind = 1 if not np.isnan(limit) else 2
                    work_px = limit if work_kind == 1 else stop
                    valid = _at(orders.valid, i)
                    work_until = n if (np.isnan(valid) or valid <= 0.0) else i + int(valid)
                    work_k = i
                    want_entry = 0
                    if not (x if pos_side > 0 else sx if pos_side < 0 else False) and not p.bt_orders:
                        want_exit = False  # a reversal waits for the order's fill (backtesting.py: it does not)
            # an exit signal alone closes the share its order names (orders.exit_portion; vectorbt's
            # accumulation: the order's size); a reversal closes everything
            frac = 1.0
            if want_exit and want_entry == 0 and not full:
                portion = _at(orders.exit_portion, i)
                if not np.isnan(portion):
                    frac = portion
                elif p.exit_by_size:
                    units, debt = _units_and_debt(lots, nl)
                    if p.sizing == SIZE_PERCENT and pos_side > 0:
                        amount = p.size_value * units  # vectorbt sells the percent of the position
                    elif p.sizing == SIZE_PERCENT:
                        # vectorbt buys back what the percent of its cash (ours plus the short's proceeds, its
                        # debt) pays, fees on top, at most the position
                        amount = ((cash + debt) * p.size_value / (1.0 + p.fee_rate)) / close[i]
                    else:
                        amount = p.size_value / close[i] if p.sizing == SIZE_VALUE else p.size_value
                    # vectorbt sells the whole position when the size is within 1e-9 of it
                    frac = 1.0 if amount >= units * (1.0 - 1e-9) else amount / units

            if fill_mode == FILL_NEXT_OPEN or (p.bt_trade_on_close and i == n - 1):
                # (trade_on_close: the last bar's orders never fill, but finalize_trades below fills them)
                pend_exit = want_exit
                pend_frac = frac
                pend_entry = want_entry
                pend_k = i
            else:
                c_i = close[i]
                eq_before = cash + _unrealised(lots, nl, c_i)
                if want_exit and nl > 0:
                    # (the vectorbt preset fills at the close only, so queued exits never need this cut)
                    if p.trade_on_ruin and lots[0, L_SIZE] < 0.0:
                        frac = min(frac, _cover_frac(lots, nl, cash, c_i, p))  # vectorbt: what its cash pays
                    if frac > 0.0:
                        cash, nt, nl = _exit_fast(trades, nt, lots, nl, frac, i, c_i, cash, p, EXIT_SIGNAL)
                if want_entry != 0:
                    # (trade_on_close: backtesting.py sizes the order in the next bar's pass, valuing the open
                    # trades at that bar's close)
                    ref = close[i + 1] if p.bt_trade_on_close else c_i
                    if nl == 0 and not has_orders:
                        cash, nl, c = _enter_plain(lots, nl, float(want_entry), i, c_i, cash, p)
                        if log_on and c == 0:
                            _log_entry(log, log_n, trades, nt, lots, nl - 1)
                    else:
                        cash, nt, nl, c, added = _enter(trades, nt, lots, nl, float(want_entry), i, i, c_i, ref,
                                                        cash, orders, size_type, p)
                        if log_on and added >= 0:
                            _log_entry(log, log_n, trades, nt, lots, added)
                    n_cancelled += c

        # 5. mark to the close
        eq = cash + _unrealised(lots, nl, close[i])
        if nl > 0 and p.maintenance > 0.0 and eq > 0.0:
            held = 0.0
            for j in range(nl):
                held += abs(lots[j, L_SIZE])
            if eq < p.maintenance * held * close[i]:
                # below the maintenance margin: the position is liquidated at the close (a margin call)
                cash, nt, nl = _exit_lots(trades, nt, lots, nl, 1.0, i, close[i], cash, p,
                                                   EXIT_LIQUIDATED)
                eq = cash
        equity[i] = eq_before if p.bt_trade_on_close and warmup <= i < n - 1 else eq
        if eq <= 0.0:
            status = STATUS_BANKRUPT
            if not p.trade_on_ruin:  # (vectorbt trades on below zero; the status still says it was ruined)
                cash, nt, nl = _exit_lots(trades, nt, lots, nl, 1.0, i, close[i], cash, p, EXIT_BANKRUPT)
                if p.ruin_zero:
                    cash = 0.0
                equity[i] = cash
                last = i + 1
                break
        i += 1

    for j in range(last, n):
        equity[j] = cash

    # backtesting.py's finalize_trades: the open trades close at the last bar's open (oldest first), then an
    # entry queued at the last close fills there too and stays open, marked to the last close. With
    # trade_on_close both fill where that broker's one more pass puts its market orders: at the close before
    # the last bar, booked on that bar.
    if p.finalize and last == n and n > 0:
        at = n - 2 if p.bt_trade_on_close and n > 1 else n - 1
        px_end = close[at] if p.bt_trade_on_close else open_[n - 1]
        for j in range(nl):
            cash = _close_units(trades, nt, lots, j, abs(lots[j, L_SIZE]), at, px_end, cash, p, EXIT_END)
            nt += 1
        nl = 0
        if pend_entry != 0:
            cash, nt, nl, c, added = _enter(trades, nt, lots, nl, float(pend_entry), pend_k, at, px_end,
                                            close[n - 1], cash, orders, size_type, p)
            n_cancelled += c
            if log_on and added >= 0:
                _log_entry(log, log_n, trades, nt, lots, added)
        equity[n - 1] = cash + _unrealised(lots, nl, close[n - 1])
        nt = _open_records(trades, nt, lots, nl, n - 1, close[n - 1], p)
        nl = 0

    # end of data: close at the last close, or report the open lots marked to it (no exit fee)
    if nl > 0:
        if p.close_at_end:
            cash, nt, nl = _exit_lots(trades, nt, lots, nl, 1.0, n - 1, close[n - 1], cash, p,
                                               EXIT_END)
            equity[n - 1] = cash
        else:
            nt = _open_records(trades, nt, lots, nl, n - 1, close[n - 1], p)

    if log_on:
        _log_exits(log, log_n, trades, nt)  # the exits since the last entry
    return equity, trades[:min(nt, cap)].copy(), status, n_cancelled, nt, log[:min(log_n[0], log.shape[0])].copy()
