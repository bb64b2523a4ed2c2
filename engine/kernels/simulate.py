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
Fill prices move against the trader by `slippage`. Fees = commission * |size| * price + fixed fee,
charged on each leg.

Inputs are plain arrays: the bars' columns, the signals, and the options as one record of
SIM_PARAMS_DTYPE read by field name (built from a SimConfig in one place, engine/simulation.py's
`sim_params`), so no caller can pass two options in each other's place. Codes for the enums are the
module constants below.
"""

import numpy as np
from numba import njit

# Trade record layout (a numpy structured array; `engine.result` turns it into a DataFrame).
TRADE_DTYPE = np.dtype(
    [
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("side", np.int64),  # +1 long, -1 short
        ("size", np.float64),  # units, always > 0
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("pnl", np.float64),  # net of both legs' fees
        ("return_pct", np.float64),  # pnl / (size * entry_price) * 100
        ("entry_fee", np.float64),
        ("exit_fee", np.float64),
        ("is_open", np.bool_),
        ("exit_reason", np.int64),  # EXIT_* below
    ],
    align=True,
)

# The options of one run (docs/simulation.md), one record: a numpy structured array of shape (1,).
SIM_PARAMS_DTYPE = np.dtype(
    [
        ("init_cash", np.float64),
        ("fee_rate", np.float64),  # commission, a fraction of traded value per leg
        ("fixed_fee", np.float64),  # per order
        ("slippage", np.float64),  # fraction every fill moves against the trader
        ("size", np.float64),  # units (SIZE_FIXED) or fraction of equity (SIZE_PERCENT)
        ("sl", np.float64),  # stop-loss, take-profit, trailing-stop distances; <= 0 means off
        ("tp", np.float64),
        ("trail", np.float64),
        ("fill", np.int64),  # FILL_* below
        ("sizing", np.int64),  # SIZE_* below
        ("warmup", np.int64),  # signals on bars before this index are ignored
        ("reenter", np.bool_),  # an entry while in a same-side position closes and re-opens
        ("entry_wins", np.bool_),  # an entry and an exit on one bar: keep the entry (else drop both)
        ("close_at_end", np.bool_),  # close an open trade at the last close (else report it open)
        # the backtesting preset (docs/compat.md): a long and a short entry on one bar: the long wins
        # (else both are dropped); `finalize` closes at the end as backtesting.py's finalize_trades does
        ("long_wins", np.bool_),
        ("finalize", np.bool_),
        # fills at a bar's close as backtesting.py's trade_on_close books them: in the next bar's equity, and
        # orders of the last bar never fill
        ("bt_trade_on_close", np.bool_),
        # stops as both peers check them: the stop-loss (gap or range) before the take-profit
        ("stop_first", np.bool_),
        # vectorbt: the signals of a bar where a stop or target closed the trade are ignored
        ("stop_bar_quiet", np.bool_),
        # a fixed size the cash cannot pay is cut to what it can (vectorbt's allow_partial), not cancelled
        ("partial_fills", np.bool_),
        # backtesting.py's order rules: buy(size=fraction) in whole units of that share of the cash; a new
        # order closes the open trade at once (exclusive_orders); an exit does not cancel a working order
        ("bt_orders", np.bool_),
        ("leverage", np.float64),  # 1 / margin: the cash buys this many times its value
        ("maintenance", np.float64),  # equity below this fraction of the position's value liquidates it; 0 = off
        ("ruin_zero", np.bool_),  # backtesting.py: a ruined account shows equity 0 from that bar on
    ],
    align=True,
)

# Orders (docs/simulation.md, "Orders") come as `orders`, a named tuple of float64 arrays (engine/simulation.py,
# `OrderArrays`): limit, stop, valid, size, sl_price, tp_price, sl_dist, tp_dist, trail_dist, each of length
# n (per bar), 1 (every bar) or 0 (not set), NaN where a bar sets nothing; and size_type, an int64 array of
# one ORDER_SIZE_* code. Read through `_at`.
ORDER_SIZE_UNITS = 0  # units
ORDER_SIZE_EQUITY = 1  # fraction of equity, in (0, 1]
ORDER_SIZE_VALUE = 2  # currency value of the position
ORDER_SIZE_RISK = 3  # fraction of equity lost if the stop-loss is hit (needs a stop-loss)

FILL_NEXT_OPEN = 0
FILL_CLOSE = 1

SIZE_ALL = 0
SIZE_ALL_UNITS = 1
SIZE_FIXED = 2
SIZE_PERCENT = 3

EXIT_SIGNAL = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_TRAILING = 3
EXIT_END = 4  # closed at the last bar (at_end=close) or marked open there
EXIT_BANKRUPT = 5
EXIT_LIQUIDATED = 6  # equity fell below the maintenance margin
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "end", "bankrupt", "liquidated")

STATUS_OK = 0
STATUS_BANKRUPT = 1

# backtesting.py sizes "all available margin" with size = 1 - eps; we size all_units the same way.
_BT_FRACTION = 0.9999999999999998


@njit(cache=True, nogil=True)
def _entry_units(price, cash, p):
    """Units to buy/sell at `price` (already slipped) for a new position by the run's sizing, opened while
    flat (so equity == cash); 0 means the order is cancelled. The cash buys `leverage` (1 / margin) times
    its value. `p`: the options record."""
    fee_rate, fixed_fee, sizing, size_value = p.fee_rate, p.fixed_fee, p.sizing, p.size
    buy = cash * p.leverage
    if sizing == SIZE_ALL:
        units = ((buy - fixed_fee) / (1.0 + fee_rate)) / price
    elif sizing == SIZE_ALL_UNITS:
        # backtesting.py: adjusted price plus commission per unit, whole units, 1-eps of the margin
        apc = price + (fixed_fee + _BT_FRACTION * price * fee_rate) / _BT_FRACTION
        margin = max(0.0, buy)
        units = float(int((margin * _BT_FRACTION) // apc))
        if units * apc > margin:
            units = 0.0
    elif sizing == SIZE_FIXED:
        units = size_value
        if units * price * (1.0 + fee_rate) + fixed_fee > buy:
            # vectorbt's allow_partial: as many units as the cash buys; else the order is cancelled
            units = ((buy - fixed_fee) / (1.0 + fee_rate)) / price if p.partial_fills else 0.0
    else:  # SIZE_PERCENT
        units = ((buy * size_value - fixed_fee) / (1.0 + fee_rate)) / price
    if not units > 0.0:
        return 0.0
    return units


@njit(cache=True, nogil=True)
def _order_units(price, cash, p, size, size_type, sl_level):
    """Units for an order that names its own size (`size` read as `size_type`), or 0 (cancelled) when
    the position and its fees would cost more than the cash buys (`leverage` times the cash)."""
    buy = cash * p.leverage
    if size_type == ORDER_SIZE_UNITS:
        units = size
    elif size_type == ORDER_SIZE_EQUITY and p.bt_orders:  # the backtesting preset: buy(size=fraction)
        # whole units of the fraction of the margin, each costing its price and its share of the commission
        apc = price + (p.fixed_fee + size * price * p.fee_rate) / size
        units = float(int((max(0.0, buy) * size) // apc))
        return units if units > 0.0 and units * apc <= buy else 0.0
    elif size_type == ORDER_SIZE_EQUITY:
        units = ((buy * size - p.fixed_fee) / (1.0 + p.fee_rate)) / price
    elif size_type == ORDER_SIZE_VALUE:
        units = size / price
    else:  # ORDER_SIZE_RISK: lose `size` of equity if the stop-loss is hit
        risk = abs(price - sl_level)
        units = cash * size / risk if risk > 0.0 else 0.0
    if not units > 0.0 or units * price * (1.0 + p.fee_rate) + p.fixed_fee > buy * (1.0 + 1e-12):
        return 0.0
    return units


@njit(cache=True, nogil=True, inline="always")
def _at(a, k):
    """Bar k's value of an order field: NaN when the field is not set (length 0), its one value when it is
    the same for every bar (length 1)."""
    m = a.shape[0]
    if m == 0:
        return np.nan
    if m == 1:
        return a[0]
    return a[k]


@njit(cache=True, nogil=True)
def _levels(orders, k, px, side, p):
    """(stop-loss level, take-profit level, trailing distance) of a trade opened at `px` by the entry
    signal at bar k: the order's price, else its distance from the fill, else the run's fraction; NaN =
    none. A trailing fraction is returned negative (-fraction), a distance positive."""
    sl = np.nan
    tp = np.nan
    trail = -p.trail if p.trail > 0.0 else np.nan
    if p.sl > 0.0:
        sl = px * (1.0 - side * p.sl)
    if p.tp > 0.0:
        tp = px * (1.0 + side * p.tp)
    if k >= 0:
        sl_price, sl_dist = _at(orders.sl_price, k), _at(orders.sl_dist, k)
        tp_price, tp_dist = _at(orders.tp_price, k), _at(orders.tp_dist, k)
        trail_dist = _at(orders.trail_dist, k)
        if not np.isnan(sl_price):
            sl = sl_price
        elif not np.isnan(sl_dist):
            sl = px - side * sl_dist
        if not np.isnan(tp_price):
            tp = tp_price
        elif not np.isnan(tp_dist):
            tp = px + side * tp_dist
        if not np.isnan(trail_dist):
            trail = trail_dist
    return sl, tp, trail


@njit(cache=True, nogil=True)
def _open(price, side, k, cash, orders, size_type, p):
    """Open a position at `price` (slipped here) for the entry signal of bar k: its size and levels.

    Returns (units, fill price, entry fee, stop-loss, take-profit, trailing); units 0: cancelled (too
    little cash), nothing else changed."""
    px = price * (1.0 + side * p.slippage)
    sl_lv, tp_lv, trail = _levels(orders, k, px, side, p)
    size = _at(orders.size, k) if k >= 0 else np.nan
    if not np.isnan(size):
        units = _order_units(px, cash, p, size, size_type, sl_lv)
    else:
        units = _entry_units(px, cash, p)
    fee = units * px * p.fee_rate + p.fixed_fee if units > 0.0 else 0.0
    return units, px, fee, sl_lv, tp_lv, trail


@njit(cache=True, nogil=True)
def _write_trade(trades, nt, entry_bar, exit_bar, pos, entry_price, exit_price, entry_fee, exit_fee,
                 reason, is_open):
    t = trades[nt]
    t.entry_bar = entry_bar
    t.exit_bar = exit_bar
    t.side = 1 if pos > 0.0 else -1
    t.size = abs(pos)
    t.entry_price = entry_price
    t.exit_price = exit_price
    t.pnl = pos * (exit_price - entry_price) - entry_fee - exit_fee
    t.return_pct = t.pnl / (abs(pos) * entry_price) * 100.0
    t.entry_fee = entry_fee
    t.exit_fee = exit_fee
    t.is_open = is_open
    t.exit_reason = reason


@njit(cache=True, nogil=True)
def _close_position(trades, nt, bar, price, pos, entry_price, entry_fee, entry_bar, cash, p, reason):
    """Close the whole position at `price` (slipped here) and record the trade; returns new cash."""
    px = price * (1.0 - p.slippage) if pos > 0.0 else price * (1.0 + p.slippage)
    fee = abs(pos) * px * p.fee_rate + p.fixed_fee
    _write_trade(trades, nt, entry_bar, bar, pos, entry_price, px, entry_fee, fee, reason, False)
    return cash + pos * (px - entry_price) - fee


@njit(cache=True, nogil=True)
def _stop_hit(side, o, h, lo, stop_px, stop_reason, tp_px, stop_first):
    """(price, reason) at which a position's stop or target closes it inside a bar (o, h, lo); price NaN =
    neither. A gap through a level fills at the open; with both inside the bar the stop comes first.
    `stop_first` (both presets): a stop reached anywhere in the bar wins over a target, even one gapped through."""
    if not np.isnan(stop_px) and side * o <= side * stop_px:
        return o, stop_reason
    if stop_first and not np.isnan(stop_px) and (lo <= stop_px if side > 0 else h >= stop_px):
        return stop_px, stop_reason
    if not np.isnan(tp_px) and side * o >= side * tp_px:
        return o, EXIT_TAKE_PROFIT
    if not np.isnan(stop_px) and (lo <= stop_px if side > 0 else h >= stop_px):
        return stop_px, stop_reason
    if not np.isnan(tp_px) and (h >= tp_px if side > 0 else lo <= tp_px):
        return tp_px, EXIT_TAKE_PROFIT
    return np.nan, EXIT_SIGNAL


@njit(cache=True, nogil=True)
def simulate_nb(open_, high, low, close, entries, exits, short_entries, short_exits, orders, params):
    """Run one backtest: the bars' columns, long and short entry/exit signals (bool arrays of the same
    length), `orders` (the named tuple of order arrays above; all empty: market orders) and `params`, one
    record of SIM_PARAMS_DTYPE.

    Returns (equity[n], trades[TRADE_DTYPE], status, n_cancelled).
    """
    p = params[0]
    # what the loop reads on every bar, read once
    fill_mode, warmup = p.fill, p.warmup
    reenter, entry_wins = p.reenter, p.entry_wins
    has_orders = (orders.limit.shape[0] + orders.stop.shape[0] + orders.size.shape[0] + orders.sl_price.shape[0]
                  + orders.tp_price.shape[0] + orders.sl_dist.shape[0] + orders.tp_dist.shape[0]
                  + orders.trail_dist.shape[0]) > 0
    size_type = orders.size_type[0]
    run_stops = p.sl > 0.0 or p.tp > 0.0 or p.trail > 0.0
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    # Every trade is opened by an entry signal (at once, at the next open, or by the order it placed), so
    # there are at most as many trades as entry signals. (Growing the array inside the loop instead costs
    # the loop half its speed: numba then reloads it on every bar.)
    cap = 1
    for i in range(n):
        cap += entries[i] + short_entries[i]
    trades = np.empty(cap, dtype=TRADE_DTYPE)
    nt = 0
    n_cancelled = 0
    status = STATUS_OK

    cash = p.init_cash
    pos = 0.0  # signed units
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = 0
    best = 0.0  # best price since entry (trailing stop)
    sl_lv = np.nan  # the open trade's stop-loss and take-profit levels, trailing distance (< 0: a fraction)
    tp_lv = np.nan
    trail = np.nan

    pend_exit = False  # a market order queued for the next open
    pend_entry = 0
    pend_k = -1  # the signal bar of the queued entry (its order details)
    work_side = 0  # a working limit/stop entry order: side, kind (1 limit, 2 stop), price, last bar, signal bar
    work_kind = 0
    work_px = 0.0
    work_until = 0
    work_k = -1
    last = n
    eq_before = 0.0

    for i in range(n):
        o_i = open_[i]
        # 1. queued market orders fill at this bar's open
        if pend_exit and pos != 0.0:
            cash = _close_position(trades, nt, i, o_i, pos, entry_price, entry_fee, entry_bar, cash, p, EXIT_SIGNAL)
            nt += 1
            pos = 0.0
        if pend_entry != 0 and pos == 0.0:
            units, px, fee, sl_new, tp_new, trail_new = _open(o_i, pend_entry, pend_k, cash, orders, size_type, p)
            if units > 0.0:
                cash -= fee
                pos, entry_price, entry_fee, entry_bar, best = pend_entry * units, px, fee, i, px
                sl_lv, tp_lv, trail = sl_new, tp_new, trail_new
            else:
                n_cancelled += 1
        pend_exit = False
        pend_entry = 0

        # 2. the position's stops and targets against this bar's range
        stopped = False
        if pos != 0.0 and (run_stops or has_orders):
            side = 1.0 if pos > 0.0 else -1.0
            stop_px = sl_lv
            stop_reason = EXIT_STOP_LOSS
            if not np.isnan(trail):
                tr_px = best * (1.0 + side * trail) if trail < 0.0 else best - side * trail
                # the tighter stop (closer to the price) is hit first
                if np.isnan(stop_px) or side * tr_px > side * stop_px:
                    stop_px = tr_px
                    stop_reason = EXIT_TRAILING
            exit_px, reason = _stop_hit(side, o_i, high[i], low[i], stop_px, stop_reason, tp_lv, p.stop_first)
            if not np.isnan(exit_px):
                cash = _close_position(trades, nt, i, exit_px, pos, entry_price, entry_fee, entry_bar, cash, p,
                                       reason)
                nt += 1
                pos = 0.0
                stopped = True
            elif side > 0:
                best = max(best, high[i])
            else:
                best = min(best, low[i])

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
                    if pos != 0.0 and (pos > 0.0) == (ws > 0) and not reenter:
                        pass  # already in a position on this side: the order is dropped
                    else:
                        if pos != 0.0:  # the other side (a reversal), or the same side with reenter
                            cash = _close_position(trades, nt, i, fill_px, pos, entry_price, entry_fee, entry_bar,
                                                   cash, p, EXIT_SIGNAL)
                            nt += 1
                            pos = 0.0
                        units, px, fee, sl_new, tp_new, trail_new = _open(fill_px, ws, work_k, cash, orders,
                                                                          size_type, p)
                        if units > 0.0:
                            cash -= fee
                            pos, entry_price, entry_fee, entry_bar, best = ws * units, px, fee, i, px
                            sl_lv, tp_lv, trail = sl_new, tp_new, trail_new
                            # the rest of this bar: a level already passed closes at the fill; else the
                            # stop-loss is assumed hit if the bar's range reaches it (the take-profit is not).
                            # backtesting.py checks the new trade's levels from the next bar on.
                            ex = np.nan
                            why = EXIT_STOP_LOSS
                            if p.bt_orders:
                                pass
                            elif not np.isnan(sl_lv) and ws * fill_px <= ws * sl_lv:
                                ex = fill_px
                            elif not np.isnan(tp_lv) and ws * fill_px >= ws * tp_lv:
                                ex = fill_px
                                why = EXIT_TAKE_PROFIT
                            elif not np.isnan(sl_lv) and ((low[i] <= sl_lv) if ws > 0 else (high[i] >= sl_lv)):
                                ex = sl_lv
                            if not np.isnan(ex):
                                cash = _close_position(trades, nt, i, ex, pos, entry_price, entry_fee, entry_bar,
                                                       cash, p, why)
                                nt += 1
                                pos = 0.0
                        else:
                            n_cancelled += 1

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
            want_exit = False
            want_entry = 0
            if pos > 0.0:
                if x or se:
                    want_exit = True
                if e and reenter:
                    want_exit = True
                    want_entry = 1
                elif se:
                    want_entry = -1
            elif pos < 0.0:
                if sx or e:
                    want_exit = True
                if se and reenter:
                    want_exit = True
                    want_entry = -1
                elif e:
                    want_entry = 1
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
                    if not (x if pos > 0.0 else sx if pos < 0.0 else False) and not p.bt_orders:
                        want_exit = False  # a reversal waits for the order's fill (backtesting.py: it does not)

            if fill_mode == FILL_NEXT_OPEN:
                pend_exit = want_exit
                pend_entry = want_entry
                pend_k = i
            elif not (p.bt_trade_on_close and i == n - 1):
                c_i = close[i]
                eq_before = cash + pos * (c_i - entry_price)
                if want_exit and pos != 0.0:
                    cash = _close_position(trades, nt, i, c_i, pos, entry_price, entry_fee, entry_bar, cash, p,
                                           EXIT_SIGNAL)
                    nt += 1
                    pos = 0.0
                if want_entry != 0 and pos == 0.0:
                    units, px, fee, sl_new, tp_new, trail_new = _open(c_i, want_entry, i, cash, orders, size_type, p)
                    if units > 0.0:
                        cash -= fee
                        pos, entry_price, entry_fee, entry_bar, best = want_entry * units, px, fee, i, px
                        sl_lv, tp_lv, trail = sl_new, tp_new, trail_new
                    else:
                        n_cancelled += 1

        # 5. mark to the close
        eq = cash + pos * (close[i] - entry_price)
        if pos != 0.0 and p.maintenance > 0.0 and 0.0 < eq < p.maintenance * abs(pos) * close[i]:
            # below the maintenance margin: the position is liquidated at the close (a margin call)
            cash = _close_position(trades, nt, i, close[i], pos, entry_price, entry_fee, entry_bar, cash, p,
                                   EXIT_LIQUIDATED)
            nt += 1
            pos = 0.0
            eq = cash
        equity[i] = eq_before if p.bt_trade_on_close and warmup <= i < n - 1 else eq
        if eq <= 0.0:
            if pos != 0.0:
                cash = _close_position(trades, nt, i, close[i], pos, entry_price, entry_fee, entry_bar, cash, p,
                                       EXIT_BANKRUPT)
                nt += 1
                pos = 0.0
            if p.ruin_zero:
                cash = 0.0
            equity[i] = cash
            status = STATUS_BANKRUPT
            last = i + 1
            break

    for j in range(last, n):
        equity[j] = cash

    # backtesting.py's finalize_trades: the open trade closes at the last bar's open, then an entry queued at
    # the last close fills there too and stays open, marked to the last close
    if p.finalize and last == n and n > 0:
        o_last = open_[n - 1]
        if pos != 0.0:
            cash = _close_position(trades, nt, n - 1, o_last, pos, entry_price, entry_fee, entry_bar, cash, p,
                                   EXIT_END)
            nt += 1
            pos = 0.0
        if pend_entry != 0:
            units, px, fee, sl_new, tp_new, trail_new = _open(o_last, pend_entry, pend_k, cash, orders, size_type, p)
            if units > 0.0:
                cash -= fee
                pos, entry_price, entry_fee, entry_bar = pend_entry * units, px, fee, n - 1
            else:
                n_cancelled += 1
        equity[n - 1] = cash + pos * (close[n - 1] - entry_price)
        if pos != 0.0:
            _write_trade(trades, nt, entry_bar, n - 1, pos, entry_price, close[n - 1], entry_fee, 0.0, EXIT_END,
                         True)
            nt += 1
        pos = 0.0

    # end of data: close at the last close, or report the open trade marked to it (no exit fee)
    if pos != 0.0:
        if p.close_at_end:
            cash = _close_position(trades, nt, n - 1, close[n - 1], pos, entry_price, entry_fee,
                                   entry_bar, cash, p, EXIT_END)
            equity[n - 1] = cash
        else:
            _write_trade(trades, nt, entry_bar, n - 1, pos, entry_price, close[n - 1], entry_fee, 0.0,
                         EXIT_END, True)
        nt += 1

    return equity, trades[:nt].copy(), status, n_cancelled
