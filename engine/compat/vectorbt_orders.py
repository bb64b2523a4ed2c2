"""vectorbt 1.2.0's orders and exit trades, from our run's order log (docs/compat.md#the-peers-stats).

Under vectorbt's accumulation a trade record of ours merges the entry orders it closes, so the stats table
(engine/compat/vectorbt_stats.py) takes vectorbt's orders from the run's order log
(docs/simulation.md#the-order-log) and derives the trades from them as vectorbt does (`get_exit_trades_nb`,
portfolio/nb.py): a reversal's fee split between the trade it closes and the one it opens, a partial exit's
share of the entry fees, the average entry price, in vectorbt's order of operations, so that a trade breaking
even to the last bit is a win or a loss as in vectorbt.
"""

from __future__ import annotations

import math

import numpy as np

from engine.kernels.simulate_records import TRADE_DTYPE

# vectorbt's tolerances (utils/math_.py)
_REL_TOL, _ABS_TOL = 1e-9, 1e-12

Order = tuple[int, float, float, float]  # (bar, signed size: + buys, - sells, price, fee)


def logged_orders(log: np.ndarray, fee_rate: float) -> list[Order]:
    """vectorbt's orders, from the order log (ORDER_LOG_DTYPE): each fill an order, but the fills of one bar at
    one price on one side are one order of their summed size, as vectorbt fills at most one order a bar (a
    reversal is our close and our opening there, and its one order), whose fee vectorbt takes on the whole
    order: size * price * fee_rate (its sell_nb and buy_nb, the preset having no fixed fee)."""
    out: list[Order] = []
    for b, u, p, f in zip(log["bar"].tolist(), log["units"].tolist(), log["price"].tolist(), log["fee"].tolist(),
                          strict=True):
        if out and out[-1][0] == b and out[-1][2] == p and (out[-1][1] > 0) == (u > 0):
            units = out[-1][1] + u
            out[-1] = (b, units, p, abs(units) * p * fee_rate)
        else:
            out.append((int(b), float(u), float(p), float(f)))
    return out


def _is_close(a: float, b: float) -> bool:
    """vectorbt's `is_close_nb`."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return a == b or abs(a - b) <= max(_REL_TOL * max(abs(a), abs(b)), _ABS_TOL)


def exit_trades(orders: list[Order], n: int, last_close: float) -> np.ndarray:
    """vectorbt's `get_exit_trades_nb` over `orders` on `n` bars: one trade per exit order (or per closing part of a
    reversal), plus the position still open at the end marked to `last_close`; as TRADE_DTYPE records (sizes,
    prices, fees, bars, side, open; the P&L is left to the table, which computes it as vectorbt does)."""
    rows = []
    in_position = False
    long = True
    entry_bar = 0
    size_sum = gross_sum = fees_sum = 0.0
    for bar, signed, price, fee in orders:
        buy, size = signed > 0, abs(signed)
        if not in_position:
            in_position, entry_bar, long = True, bar, buy
            size_sum = gross_sum = fees_sum = 0.0
        if buy == long:  # the position grows
            size_sum += size
            gross_sum += size * price
            fees_sum += fee
        elif _is_close(size, size_sum) or size < size_sum:  # it shrinks or closes
            exit_size = size_sum if _is_close(size, size_sum) else size
            rows.append((entry_bar, bar, long, exit_size, gross_sum / size_sum, price,
                         exit_size / size_sum * fees_sum, fee, False))
            if _is_close(size, size_sum):
                in_position = False
            else:  # the earlier orders weigh less
                fraction = (size_sum - size) / size_sum
                size_sum *= fraction
                gross_sum *= fraction
                fees_sum *= fraction
        else:  # it reverses: the close takes its share of the order's fee, the new trade the rest
            closed = size_sum
            closed_fee = closed / size * fee
            rows.append((entry_bar, bar, long, closed, gross_sum / size_sum, price, closed / size_sum * fees_sum,
                         closed_fee, False))
            size_sum = size - closed
            gross_sum = size_sum * price
            fees_sum = fee - closed_fee
            entry_bar, long = bar, not long
    if in_position and not _is_close(-size_sum, 0.0) and -size_sum < 0:  # (is_less_nb)
        rows.append((entry_bar, n - 1, long, size_sum, gross_sum / size_sum, last_close,
                     size_sum / size_sum * fees_sum, 0.0, True))
    out = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for k, (entry, exit_, is_long, size, entry_px, exit_px, entry_fee, exit_fee, is_open) in enumerate(rows):
        out[k] = (entry, exit_, 1 if is_long else -1, size, entry_px, exit_px, 0.0, 0.0, entry_fee, exit_fee,
                  is_open, 0)
    return out
