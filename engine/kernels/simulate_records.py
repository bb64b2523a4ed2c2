"""The simulate kernel's records and codes: the trade record, the options record, the lot fields and the
enum codes that engine/simulation.py writes and engine/kernels/simulate.py reads (docs/simulation.md)."""

import numpy as np

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
        ("log_orders", np.bool_),  # keep the order log (ORDER_LOG_DTYPE below): vectorbt's accumulation only
    ],
    align=True,
)

# One fill in the order log (docs/simulation.md, "The order log"): every order the run filled, in the order it
# filled them, entries and exits alike. Kept only when the options ask for it (`log_orders`): vectorbt's
# accumulation, whose books need each entry order (a trade record merges them at their average price).
ORDER_LOG_DTYPE = np.dtype(
    [
        ("bar", np.int64),
        ("units", np.float64),  # signed: + buys, - sells
        ("price", np.float64),  # the fill price (slipped)
        ("fee", np.float64),
    ],
    align=True,
)

# The same layouts as record dtypes (equal to the plain ones, and the same type to numba): a record indexed from
# an array of them has its fields as attributes in Python too, as the kernel reads and writes them when it runs
# as Python (engine/kernels/jit.py). (A field read that way must not share its name with an attribute of numpy
# scalars, such as `size` or `fill`: numpy's record looks those up first.)
TRADE_RECORD = np.dtype((np.record, TRADE_DTYPE))
SIM_PARAMS_RECORD = np.dtype((np.record, SIM_PARAMS_DTYPE))
ORDER_LOG_RECORD = np.dtype((np.record, ORDER_LOG_DTYPE))

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
