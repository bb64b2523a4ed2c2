"""The simulate kernel's helpers: sizing an entry, the lots of a position, entries, exits and the stop check
of one lot. Called from engine/kernels/simulate.py's loop; the hot ones are inlined into it (see there)."""

import numpy as np

from engine.kernels.jit import njit
from engine.kernels.simulate_records import (
    EXIT_END,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TRAILING,
    L_BAR,
    L_BEST,
    L_FEE,
    L_PX,
    L_SIZE,
    L_SL,
    L_TP,
    L_TRAIL,
    ORDER_SIZE_EQUITY,
    ORDER_SIZE_UNITS,
    ORDER_SIZE_VALUE,
    SIZE_ALL,
    SIZE_ALL_UNITS,
    SIZE_FIXED,
    SIZE_VALUE,
)

# backtesting.py sizes "all available margin" with size = 1 - eps; we size all_units the same way.
_BT_FRACTION = 0.9999999999999998


@njit(cache=True, nogil=True)
def _entry_units(price, raw, cash, side, p):
    """Units to buy/sell (`side` +1/-1) at `price` (already slipped from `raw`) for a new position by the run's
    sizing, with `cash` to spend (the free cash); 0 means the order is cancelled. The cash buys `leverage`
    (1 / margin) times its value. `p`: the options record."""
    fee_rate, fixed_fee, sizing, size_value = p.fee_rate, p.fixed_fee, p.sizing, p.size_value
    buy = cash * p.leverage
    if side < 0.0 and p.partial_fills and (sizing == SIZE_FIXED or sizing == SIZE_VALUE):
        # vectorbt sells a short of a given size (amount, or value / price) whatever its cash: sell_nb checks
        # the cash only for size=inf (all of it) or a percent
        units = size_value / price if sizing == SIZE_VALUE else size_value
        return units if units > 0.0 and units >= p.min_units - 1e-12 else 0.0
    if sizing == SIZE_ALL:
        units = ((buy - fixed_fee) / (1.0 + fee_rate)) / price
    elif sizing == SIZE_ALL_UNITS:
        # backtesting.py: adjusted price plus commission per unit, whole units, 1-eps of the margin
        # (backtesting.py prices the commission at the price before its spread, our slippage under the preset)
        apc = price + (fixed_fee + _BT_FRACTION * (raw if p.bt_orders else price) * fee_rate) / _BT_FRACTION
        margin = max(0.0, buy)
        units = float(int((margin * _BT_FRACTION) // apc))
        if units * apc > margin:
            units = 0.0
    elif sizing == SIZE_FIXED:
        units = size_value
        if units * price * (1.0 + fee_rate) + fixed_fee > buy:
            # vectorbt's allow_partial: as many units as the cash buys; else the order is cancelled
            units = ((buy - fixed_fee) / (1.0 + fee_rate)) / price if p.partial_fills else 0.0
    elif sizing == SIZE_VALUE:  # `size` in currency: vectorbt's size_type="value"
        units = size_value / price
        if units * price * (1.0 + fee_rate) + fixed_fee > buy:
            units = ((buy - fixed_fee) / (1.0 + fee_rate)) / price if p.partial_fills else 0.0
    else:  # SIZE_PERCENT
        units = ((buy * size_value - fixed_fee) / (1.0 + fee_rate)) / price
    if not units > 0.0 or units < p.min_units - 1e-12:  # (vectorbt's is_less: 1e-12 absolute tolerance)
        return 0.0
    return units


@njit(cache=True, nogil=True)
def _order_units(price, raw, cash, p, size, size_type, sl_level):
    """Units for an order that names its own size (`size` read as `size_type`), or 0 (cancelled) when
    the position and its fees would cost more than the cash buys (`leverage` times the cash)."""
    buy = cash * p.leverage
    if size_type == ORDER_SIZE_UNITS:
        units = size
    elif size_type == ORDER_SIZE_EQUITY and p.bt_orders:  # the backtesting preset: buy(size=fraction)
        # whole units of the fraction of the margin, each costing its price and its share of the commission
        apc = price + (p.fixed_fee + size * raw * p.fee_rate) / size
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
        units = _order_units(px, price, cash, p, size, size_type, sl_lv)
    else:
        units = _entry_units(px, price, cash, side, p)
    fee = units * px * p.fee_rate + p.fixed_fee if units > 0.0 else 0.0
    return units, px, fee, sl_lv, tp_lv, trail


# An open position is a list of lots (rows of `lots`, oldest first), each opened by one entry: without
# `accumulate` there is at most one. Columns:


@njit(cache=True, nogil=True)
def _write_trade(trades, nt, entry_bar, exit_bar, pos, entry_price, exit_price, entry_fee, exit_fee,
                 reason, is_open):
    """Record trade number `nt`; past the array's end nothing is written (the caller counts the records and
    runs again with room for them: engine/simulation.py, `simulate`)."""
    if nt >= trades.shape[0]:
        return
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


@njit(cache=True, nogil=True, inline="always")
def _add_lot(lots, nl, units, px, fee, bar, sl, tp, trail):
    """Append a lot of `units` (signed) filled at `px`; returns the new lot count."""
    lots[nl, L_SIZE] = units
    lots[nl, L_PX] = px
    lots[nl, L_FEE] = fee
    lots[nl, L_BAR] = bar
    lots[nl, L_SL] = sl
    lots[nl, L_TP] = tp
    lots[nl, L_TRAIL] = trail
    lots[nl, L_BEST] = px
    return nl + 1


@njit(cache=True, nogil=True)
def _compact(lots, nl):
    """Drop the lots closed to size 0, keeping the order; returns the new lot count."""
    m = 0
    for j in range(nl):
        if lots[j, L_SIZE] != 0.0:
            if m != j:
                lots[m, :] = lots[j, :]
            m += 1
    return m


@njit(cache=True, nogil=True, inline="always")
def _unrealised(lots, nl, price):
    if nl == 0:
        return 0.0
    if nl == 1:
        return lots[0, L_SIZE] * (price - lots[0, L_PX])
    u = 0.0
    for j in range(nl):
        u += lots[j, L_SIZE] * (price - lots[j, L_PX])
    return u


@njit(cache=True, nogil=True)
def _units_and_debt(lots, nl):
    """The position's units (all its lots) and its value at their entry prices: for a short, vectorbt's debt."""
    units = 0.0
    debt = 0.0
    for j in range(nl):
        units += abs(lots[j, L_SIZE])
        debt += abs(lots[j, L_SIZE]) * lots[j, L_PX]
    return units, debt


@njit(cache=True, nogil=True)
def _free_cash(lots, nl, cash, price, p):
    """What a new lot may spend: the equity at `price` less the margin the open lots hold (the cash when
    flat); backtesting.py's margin_available. Below a billionth of the initial cash it is 0 (under the vectorbt
    preset: a trillionth, and vectorbt's free cash for a short)."""
    if nl == 0:
        return cash
    if p.merge_exits and lots[0, L_SIZE] < 0.0:
        # vectorbt's free cash of a short: its cash (which holds the short's proceeds) less the debt taken
        # twice, the debt being the short's value at its entry prices: our cash less that value, not marked to
        # the price (vectorbt moves free cash only at orders)
        free = cash - _units_and_debt(lots, nl)[1]
        return free if free > 1e-12 * p.init_cash else 0.0
    used = 0.0
    for j in range(nl):
        used += abs(lots[j, L_SIZE]) * price
    free = cash + _unrealised(lots, nl, price) - used / p.leverage
    # what rounding leaves of a fully used margin is no cash: a lot of dust would open on it (vectorbt's
    # min_size rejects such a lot, so under its preset only the rounding itself is cut: it adds to the last
    # 1e-8 units as vectorbt does)
    return free if free > (1e-12 if p.min_units > 0.0 else 1e-9) * p.init_cash else 0.0


@njit(cache=True, nogil=True)
def _cover_frac(lots, nl, cash, price, p):
    """The share of a short position (all its lots) vectorbt buys back at `price`: its buy order is cut to what
    its cash pays, fees on top (buy_nb's allow_partial), its cash being ours plus the short's proceeds (the
    debt). 1: all of it (within vectorbt's 1e-9); 0: none (no cash, or under its min_size)."""
    units, debt = _units_and_debt(lots, nl)
    cash_v = cash + debt
    need = units * price * (1.0 + p.fee_rate) + p.fixed_fee
    if need - cash_v <= 1e-9 * need:
        return 1.0
    can = ((cash_v - p.fixed_fee) / (1.0 + p.fee_rate)) / price
    if cash_v <= 1e-12 * p.init_cash or can < p.min_units - 1e-12:
        return 0.0
    return can / units


def _close_units_py(trades, nt, lots, j, units, bar, price, cash, p, reason):
    """Close `units` (0 < units <= its size) of lot j at `price` (slipped here) and record them as a trade
    with their share of the entry fee; the lot keeps the rest (size 0: closed). Returns the new cash."""
    size = lots[j, L_SIZE]
    side = 1.0 if size > 0.0 else -1.0
    px = price if p.bt_orders else price * (1.0 - side * p.slippage)  # backtesting.py's spread: entries only
    fee = units * px * p.fee_rate + p.fixed_fee
    entry_px = lots[j, L_PX]
    if units >= abs(size):
        units = abs(size)
        efee = lots[j, L_FEE]
    else:
        efee = lots[j, L_FEE] * (units / abs(size))
    if p.bt_orders:  # backtesting.py books each closed trade the commission of its own size at entry
        efee = units * entry_px * p.fee_rate + p.fixed_fee
    _write_trade(trades, nt, int(lots[j, L_BAR]), bar, side * units, entry_px, px, efee, fee, reason, False)
    lots[j, L_SIZE] = size - side * units if units < abs(size) else 0.0
    lots[j, L_FEE] = max(0.0, lots[j, L_FEE] - efee)
    return cash + side * units * (px - entry_px) - fee


# Closing a lot is compiled twice: inlined where a whole single lot closes on the hot path (an exit signal
# without accumulation), and as a call everywhere else (each inlined copy costs compile time).
_close_units = njit(cache=True, nogil=True)(_close_units_py)
_close_units_inline = njit(cache=True, nogil=True, inline="always")(_close_units_py)


@njit(cache=True, nogil=True)
def _exit_lots(trades, nt, lots, nl, frac, bar, price, cash, p, reason):
    """Close `frac` (1: all) of every lot at `price`. Returns (cash, records, lots left).

    backtesting.py closes each trade's share in whole units (at least one) and books the last trade first
    (position.close() queues its orders in front of each other); vectorbt books one exit order as one
    trade: the lots' units, their average entry price and fees (`merge_exits`)."""
    if nl == 0:
        return cash, nt, nl
    if p.merge_exits and nl > 1:
        side = 1.0 if lots[0, L_SIZE] > 0.0 else -1.0
        px = price * (1.0 - side * p.slippage)
        units = 0.0
        gross = 0.0
        efee = 0.0
        for j in range(nl):
            u = abs(lots[j, L_SIZE]) * frac if frac < 1.0 else abs(lots[j, L_SIZE])
            share = lots[j, L_FEE] * (u / abs(lots[j, L_SIZE]))
            units += u
            gross += u * lots[j, L_PX]
            efee += share
            lots[j, L_FEE] -= share
            lots[j, L_SIZE] = lots[j, L_SIZE] - side * u if frac < 1.0 else 0.0
        fee = units * px * p.fee_rate + p.fixed_fee
        _write_trade(trades, nt, int(lots[0, L_BAR]), bar, side * units, gross / units, px, efee, fee, reason,
                     False)
        return cash + side * (units * px - gross) - fee, nt + 1, _compact(lots, nl)
    for step in range(nl):
        j = nl - 1 - step if p.bt_orders else step
        a = abs(lots[j, L_SIZE])
        if frac >= 1.0:
            u = a
        elif p.bt_orders:
            u = min(a, max(1.0, float(np.round(a * frac))))
        else:
            u = a * frac
        cash = _close_units(trades, nt, lots, j, u, bar, price, cash, p, reason)
        nt += 1
    return cash, nt, _compact(lots, nl)


@njit(cache=True, nogil=True)
def _open_records(trades, nt, lots, nl, bar, price, p):
    """Record the open lots marked to `price` (no exit fee); returns the record count."""
    if p.merge_exits and nl > 1:
        units = 0.0
        gross = 0.0
        efee = 0.0
        for j in range(nl):
            units += abs(lots[j, L_SIZE])
            gross += abs(lots[j, L_SIZE]) * lots[j, L_PX]
            efee += lots[j, L_FEE]
        side = 1.0 if lots[0, L_SIZE] > 0.0 else -1.0
        _write_trade(trades, nt, int(lots[0, L_BAR]), bar, side * units, gross / units, price, efee, 0.0, EXIT_END,
                     True)
        return nt + 1
    for j in range(nl):
        efee = lots[j, L_FEE]
        if p.bt_orders:
            efee = abs(lots[j, L_SIZE]) * lots[j, L_PX] * p.fee_rate + p.fixed_fee
        _write_trade(trades, nt, int(lots[j, L_BAR]), bar, lots[j, L_SIZE], lots[j, L_PX], price, efee, 0.0,
                     EXIT_END, True)
        nt += 1
    return nt


@njit(cache=True, nogil=True)
def _enter(trades, nt, lots, nl, side, k, bar, price, ref_px, cash, orders, size_type, p):
    """Fill the entry signal of bar k (side +1/-1) at `price` (slipped here): open a position when flat, add
    a lot to one on the same side (`accumulate`; else nothing happens), or, with backtesting.py's
    exclusive_orders=False (hedging=False), close the other side's lots oldest first by the order's size and
    open what is left. `ref_px` values the open lots for the free cash (backtesting.py: the bar's close).

    Returns (cash, records, lots, cancelled 0/1, the new lot's index or -1)."""
    if nl > 0 and (lots[0, L_SIZE] > 0.0) == (side > 0.0) and not p.accumulate:
        return cash, nt, nl, 0, -1
    if nl > 0 and (lots[0, L_SIZE] > 0.0) != (side > 0.0) and not (p.accumulate and p.bt_orders):
        return cash, nt, nl, 0, -1
    free = _free_cash(lots, nl, cash, ref_px, p)
    units, px, fee, sl, tp, trail = _open(price, side, k, free, orders, size_type, p)
    if units <= 0.0:
        return cash, nt, nl, 1, -1
    if nl > 0 and (lots[0, L_SIZE] > 0.0) != (side > 0.0):
        # hedging=False: the order first closes the opposite lots, oldest first, at the unslipped price
        need = units
        while need > 0.0 and nl > 0:
            a = abs(lots[0, L_SIZE])
            u = min(need, a)
            cash = _close_units(trades, nt, lots, 0, u, bar, price, cash, p, EXIT_SIGNAL)
            nt += 1
            nl = _compact(lots, nl)
            need -= u
        if need <= 0.0:
            return cash, nt, nl, 0, -1
        # what is left opens if the free cash pays for it, the commission per unit taken from the whole order
        if need * (px + (p.fixed_fee + units * price * p.fee_rate) / units) > _free_cash(lots, nl, cash, ref_px,
                                                                                      p) * p.leverage:
            return cash, nt, nl, 1, -1
        units = need
        fee = units * px * p.fee_rate + p.fixed_fee
    cash -= fee
    nl = _add_lot(lots, nl, side * units, px, fee, bar, sl, tp, trail)
    if p.merge_exits and nl > 1:
        # vectorbt keeps one set of stops per position: an entry that adds to it moves them to its own levels
        # (from_signals' default upon_stop_update="override"), so every lot carries the newest lot's
        for m in range(nl - 1):
            lots[m, L_SL] = sl
            lots[m, L_TP] = tp
            lots[m, L_TRAIL] = trail
            lots[m, L_BEST] = px
    return cash, nt, nl, 0, nl - 1


@njit(cache=True, nogil=True)
def _open_plain(price, side, cash, p):
    """`_open` for a run without orders: the run's sizing and its stop-loss, take-profit and trailing
    fractions (scalars only: a cheap call)."""
    px = price * (1.0 + side * p.slippage)
    sl = px * (1.0 - side * p.sl) if p.sl > 0.0 else np.nan
    tp = px * (1.0 + side * p.tp) if p.tp > 0.0 else np.nan
    trail = -p.trail if p.trail > 0.0 else np.nan
    units = _entry_units(px, price, cash, side, p)
    fee = units * px * p.fee_rate + p.fixed_fee if units > 0.0 else 0.0
    return units, px, fee, sl, tp, trail


@njit(cache=True, nogil=True, inline="always")
def _exit_fast(trades, nt, lots, nl, frac, bar, price, cash, p, reason):
    """`_exit_lots` with its common case inlined into the loop: one lot, closed whole."""
    if nl == 1 and frac >= 1.0:
        return _close_units_inline(trades, nt, lots, 0, abs(lots[0, L_SIZE]), bar, price, cash, p, reason), nt + 1, 0
    return _exit_lots(trades, nt, lots, nl, frac, bar, price, cash, p, reason)


@njit(cache=True, nogil=True, inline="always")
def _enter_plain(lots, nl, side, bar, price, cash, p):
    """`_enter`'s common case, inlined into the loop: opening from flat with the run's own sizing and stops
    (no per-bar orders). It takes no order arrays: an inlined helper that binds them costs an atomic
    reference-count increment and decrement per array on every call (docs/performance.md). Returns (cash,
    nl, cancelled)."""
    units, px, fee, sl, tp, trail = _open_plain(price, side, cash, p)
    if units <= 0.0:
        return cash, nl, 1
    nl = _add_lot(lots, nl, side * units, px, fee, bar, sl, tp, trail)
    return cash - fee, nl, 0


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, inline="always")
def _lot_stop(size, stop_px, trail, best, tp_px, o, h, lo, stop_first):
    """(price, reason) at which a lot (its size, stop-loss, trailing distance, best price and take-profit)
    is closed by its stop, trailing stop or target inside this bar; NaN: none. Scalars only: it runs on every
    bar in a position, inlined, and an inlined helper given an array pays two atomic reference counts."""
    side = 1.0 if size > 0.0 else -1.0
    stop_reason = EXIT_STOP_LOSS
    if not np.isnan(trail):
        tr_px = best * (1.0 + side * trail) if trail < 0.0 else best - side * trail
        # the tighter stop (closer to the price) is hit first
        if np.isnan(stop_px) or side * tr_px > side * stop_px:
            stop_px = tr_px
            stop_reason = EXIT_TRAILING
    return _stop_hit(side, o, h, lo, stop_px, stop_reason, tp_px, stop_first)
