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
`sim_params`), so no caller can pass two options in each other's place. Codes for the enums are the
module constants below.
"""

import numpy as np

from engine.kernels.jit import njit
from engine.kernels.prefetch import prefetch

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
        ("size_value", np.float64),  # units (SIZE_FIXED), fraction of equity (SIZE_PERCENT) or currency (SIZE_VALUE)
        ("sl", np.float64),  # stop-loss, take-profit, trailing-stop distances; <= 0 means off
        ("tp", np.float64),
        ("trail", np.float64),
        ("fill_mode", np.int64),  # FILL_* below
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
        # vectorbt: an account whose equity reaches 0 trades on (the run does not stop), and a short is bought back
        # only as far as its cash (ours plus the short's proceeds) pays
        ("trade_on_ruin", np.bool_),
        ("accumulate", np.bool_),  # an entry on the position's side adds a lot (else it is ignored)
        ("opposite", np.int64),  # OPPOSITE_* below: what an entry against the position does
        # vectorbt: an exit order is one trade record (its lots merged at their average entry price)
        ("merge_exits", np.bool_),
        # vectorbt's accumulation with a fixed size: an exit signal sells `size` units, not the position
        ("exit_by_size", np.bool_),
        # vectorbt's min_size: an entry for fewer units is rejected (cancelled); 0 = off
        ("min_units", np.float64),
        ("extra_records", np.int64),  # room for trade records beyond one per entry signal (partial exits)
    ],
    align=True,
)

# The same layouts as record dtypes (equal to the plain ones, and the same type to numba): a record indexed from
# an array of them has its fields as attributes in Python too, as the kernel reads and writes them when it runs
# as Python (engine/kernels/jit.py). (A field read that way must not share its name with an attribute of numpy
# scalars, such as `size` or `fill`: numpy's record looks those up first.)
TRADE_RECORD = np.dtype((np.record, TRADE_DTYPE))
SIM_PARAMS_RECORD = np.dtype((np.record, SIM_PARAMS_DTYPE))

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
SIZE_VALUE = 4

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
L_SIZE = 0  # signed units
L_PX = 1  # fill price
L_FEE = 2  # entry fee not yet booked to a closed trade record
L_BAR = 3  # entry bar
L_SL = 4  # stop-loss level (NaN: none)
L_TP = 5  # take-profit level (NaN: none)
L_TRAIL = 6  # trailing distance (< 0: a fraction of the best price; NaN: none)
L_BEST = 7  # best price since entry (the trailing stop's anchor)
N_LOT_FIELDS = 8

OPPOSITE_REVERSE = 0  # an entry against the position closes it and opens the other side
OPPOSITE_CLOSE = 1  # ... only closes it
OPPOSITE_IGNORE = 2  # ... is ignored


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
        debt = 0.0
        for j in range(nl):
            debt += abs(lots[j, L_SIZE]) * lots[j, L_PX]
        free = cash - debt
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
    units = 0.0
    debt = 0.0
    for j in range(nl):
        units += abs(lots[j, L_SIZE])
        debt += abs(lots[j, L_SIZE]) * lots[j, L_PX]
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


# How far ahead of the quiet loop an entry signal has its order's arrays fetched: ~100 ns of memory latency
# at ~2 ns a quiet bar (docs/performance.md, "Quiet bars and cache misses").
PREFETCH_BARS = 64


@njit(cache=True, nogil=True)
def simulate_nb(open_, high, low, close, entries, exits, short_entries, short_exits, orders, params):
    """Run one backtest: the bars' columns, long and short entry/exit signals (bool arrays of the same
    length), `orders` (the named tuple of order arrays above; all empty: market orders) and `params`, one
    record of SIM_PARAMS_DTYPE.

    Returns (equity[n], trades[TRADE_DTYPE], status, n_cancelled, n_records): when n_records exceeds
    len(trades), the array had no room for every record (partial exits split trades): run again with
    `extra_records` raised by the difference.
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
            else:
                cash, nt, nl, c, _ = _enter(trades, nt, lots, nl, float(pend_entry), pend_k, i, o_i,
                                            close[i] if p.bt_orders else o_i, cash, orders, size_type, p)
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
                    units = 0.0
                    debt = 0.0
                    for j in range(nl):
                        units += abs(lots[j, L_SIZE])
                        debt += abs(lots[j, L_SIZE]) * lots[j, L_PX]
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
                    else:
                        cash, nt, nl, c, _ = _enter(trades, nt, lots, nl, float(want_entry), i, i, c_i, ref, cash,
                                                    orders, size_type, p)
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
            cash, nt, nl, c, _ = _enter(trades, nt, lots, nl, float(pend_entry), pend_k, at, px_end, close[n - 1],
                                        cash, orders, size_type, p)
            n_cancelled += c
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

    return equity, trades[:min(nt, cap)].copy(), status, n_cancelled, nt
