"""The simulate kernel: one numba loop over bars that turns signals into fills, trades and equity.

Inside bar i, in this order (docs/simulation.md has a worked example of each rule):
1. orders queued at bar i-1's close (fill=next_open) fill at bar i's open: a close before an open;
2. stops and targets are checked against bar i's range: a gap through a level fills at the open,
   otherwise at the level; if stop and target are both inside the bar, the stop is assumed first;
   the trailing stop follows the best price of the bars *before* bar i (no intra-bar look-ahead);
3. signals at bar i's close are read: with fill=close they fill at once at the close, with
   fill=next_open they are queued for bar i+1's open;
4. equity is marked to bar i's close; equity <= 0 closes the position and ends the run.

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
    ],
    align=True,
)

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
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "end", "bankrupt")

STATUS_OK = 0
STATUS_BANKRUPT = 1

# backtesting.py sizes "all available margin" with size = 1 - eps; we size all_units the same way.
_BT_FRACTION = 0.9999999999999998


@njit(cache=True, nogil=True)
def _entry_units(price, cash, p):
    """Units to buy/sell at `price` (already slipped) for a new position, opened while flat
    (so equity == cash); 0 means the order is cancelled. `p`: the options record."""
    fee_rate, fixed_fee, sizing, size_value = p.fee_rate, p.fixed_fee, p.sizing, p.size
    if sizing == SIZE_ALL:
        units = ((cash - fixed_fee) / (1.0 + fee_rate)) / price
    elif sizing == SIZE_ALL_UNITS:
        # backtesting.py: adjusted price plus commission per unit, whole units, 1-eps of the margin
        apc = price + (fixed_fee + _BT_FRACTION * price * fee_rate) / _BT_FRACTION
        margin = max(0.0, cash)
        units = float(int((margin * _BT_FRACTION) // apc))
        if units * apc > margin:
            units = 0.0
    elif sizing == SIZE_FIXED:
        units = size_value
        if units * price * (1.0 + fee_rate) + fixed_fee > cash:
            units = 0.0
    else:  # SIZE_PERCENT
        units = ((cash * size_value - fixed_fee) / (1.0 + fee_rate)) / price
    if not units > 0.0:
        return 0.0
    return units


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
def _fill(trades, nt, bar, price, want_exit, want_entry, pos, entry_price, entry_fee, entry_bar, best, cash,
          n_cancelled, p):
    """Orders decided at one moment fill at `price`: a close first, then an open (if flat).

    Returns the new (nt, pos, entry_price, entry_fee, entry_bar, best, cash, n_cancelled).
    """
    if want_exit and pos != 0.0:
        cash = _close_position(trades, nt, bar, price, pos, entry_price, entry_fee, entry_bar, cash, p,
                               EXIT_SIGNAL)
        nt += 1
        pos = 0.0
    if want_entry != 0 and pos == 0.0:
        px = price * (1.0 + want_entry * p.slippage)
        units = _entry_units(px, cash, p)
        if units > 0.0:
            entry_fee = units * px * p.fee_rate + p.fixed_fee
            cash -= entry_fee
            pos, entry_price, entry_bar, best = want_entry * units, px, bar, px
        else:
            n_cancelled += 1
    return nt, pos, entry_price, entry_fee, entry_bar, best, cash, n_cancelled


@njit(cache=True, nogil=True)
def simulate_nb(open_, high, low, close, entries, exits, short_entries, short_exits, params):
    """Run one backtest: the bars' columns, long and short entry/exit signals (bool arrays of the same
    length) and `params`, one record of SIM_PARAMS_DTYPE.

    Returns (equity[n], trades[TRADE_DTYPE], status, n_cancelled).
    """
    p = params[0]
    # what the loop reads on every bar, read once
    sl, tp, trail = p.sl, p.tp, p.trail
    fill_mode, warmup = p.fill, p.warmup
    reenter, entry_wins = p.reenter, p.entry_wins
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty(n + 1, dtype=TRADE_DTYPE)
    nt = 0
    n_cancelled = 0
    status = STATUS_OK

    cash = p.init_cash
    pos = 0.0  # signed units
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = 0
    best = 0.0  # best price since entry (trailing stop)

    pend_exit = False
    pend_entry = 0
    last = n

    for i in range(n):
        # 1. queued orders fill at this bar's open
        if pend_exit or pend_entry != 0:
            nt, pos, entry_price, entry_fee, entry_bar, best, cash, n_cancelled = _fill(
                trades, nt, i, open_[i], pend_exit, pend_entry, pos, entry_price, entry_fee, entry_bar, best,
                cash, n_cancelled, p)
            pend_exit = False
            pend_entry = 0

        # 2. stops and targets against this bar's range
        if pos != 0.0 and (sl > 0.0 or tp > 0.0 or trail > 0.0):
            side = 1.0 if pos > 0.0 else -1.0
            stop_px = np.nan
            stop_reason = EXIT_STOP_LOSS
            if sl > 0.0:
                stop_px = entry_price * (1.0 - side * sl)
            if trail > 0.0:
                tr_px = best * (1.0 - side * trail)
                # the tighter stop (closer to the price) is hit first
                if np.isnan(stop_px) or side * tr_px > side * stop_px:
                    stop_px = tr_px
                    stop_reason = EXIT_TRAILING
            tp_px = entry_price * (1.0 + side * tp) if tp > 0.0 else np.nan
            exit_px = np.nan
            reason = EXIT_SIGNAL
            if not np.isnan(stop_px) and side * open_[i] <= side * stop_px:
                exit_px = open_[i]
                reason = stop_reason
            elif not np.isnan(tp_px) and side * open_[i] >= side * tp_px:
                exit_px = open_[i]
                reason = EXIT_TAKE_PROFIT
            elif not np.isnan(stop_px) and (low[i] <= stop_px if side > 0 else high[i] >= stop_px):
                exit_px = stop_px
                reason = stop_reason
            elif not np.isnan(tp_px) and (high[i] >= tp_px if side > 0 else low[i] <= tp_px):
                exit_px = tp_px
                reason = EXIT_TAKE_PROFIT
            if not np.isnan(exit_px):
                cash = _close_position(trades, nt, i, exit_px, pos, entry_price, entry_fee, entry_bar, cash, p,
                                       reason)
                nt += 1
                pos = 0.0
            elif side > 0:
                best = max(best, high[i])
            else:
                best = min(best, low[i])

        # 3. signals at this bar's close
        if i >= warmup:
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
            if e and se:  # contradictory entries: do nothing new
                e = False
                se = False
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

            if fill_mode == FILL_NEXT_OPEN:
                pend_exit = want_exit
                pend_entry = want_entry
            elif want_exit or want_entry != 0:
                nt, pos, entry_price, entry_fee, entry_bar, best, cash, n_cancelled = _fill(
                    trades, nt, i, close[i], want_exit, want_entry, pos, entry_price, entry_fee, entry_bar, best,
                    cash, n_cancelled, p)

        # 4. mark to the close
        eq = cash + pos * (close[i] - entry_price)
        equity[i] = eq
        if eq <= 0.0:
            if pos != 0.0:
                cash = _close_position(trades, nt, i, close[i], pos, entry_price, entry_fee, entry_bar, cash, p,
                                       EXIT_BANKRUPT)
                nt += 1
                pos = 0.0
            equity[i] = cash
            status = STATUS_BANKRUPT
            last = i + 1
            break

    for j in range(last, n):
        equity[j] = cash

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
