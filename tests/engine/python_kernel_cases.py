"""Configs and a per-bar orders strategy for tests/engine/test_python_kernels.py (imported by its child
process too, so both sides build the same scenarios)."""

from __future__ import annotations

import numpy as np

from engine.config import SimConfig
from engine.strategies.base import Orders, Param, Signals, Strategy


def _entries_and_exits(bars, every: int, exit_every: int):
    """(close, entries on a rising close every `every` bars, exits on a falling one every `exit_every`, limit
    prices under the close for every other entry, stop prices above it for the others)."""
    c = np.asarray(bars.close)
    up = np.r_[False, c[1:] > c[:-1]] & (np.arange(len(c)) % every == 0)
    down = np.r_[False, c[1:] < c[:-1]] & (np.arange(len(c)) % exit_every == 0)
    use_limit = np.cumsum(up) % 2 == 0
    return c, up, down, np.where(up & use_limit, c * 0.995, np.nan), np.where(up & ~use_limit, c * 1.004, np.nan)


class OrdersStrategy(Strategy):
    """Entries on a close above the previous close, as limit orders under it or stop orders above it (every
    other signal), valid 3 bars, sized by risk with a stop-loss distance; exits of half the position."""

    name = "python_kernel_orders"
    params = (Param("k", int, 3, 1, 10, 1),)

    def signals(self, bars, k=3):
        c, up, down, limit, stop = _entries_and_exits(bars, k, k + 2)
        orders = Orders(limit=limit, stop=stop, valid=3.0, size=0.02, size_type="risk", sl_dist=c * 0.03,
                        tp_dist=c * 0.06, exit_portion=0.5)
        return Signals(up, down, orders=orders)


class BacktestingOrdersStrategy(Strategy):
    """The orders backtesting.py has (and its preset takes): limit and stop entries good till filled, a size as
    a fraction of the cash, stop-loss and take-profit prices, exits of half the position."""

    name = "python_kernel_bt_orders"
    params = (Param("k", int, 4, 1, 10, 1),)

    def signals(self, bars, k=4):
        c, up, down, limit, stop = _entries_and_exits(bars, k, k + 3)
        orders = Orders(limit=limit, stop=stop, size=0.5, size_type="equity", sl_price=c * 0.96, tp_price=c * 1.08,
                        exit_portion=0.5)
        return Signals(up, down, orders=orders)


def configs() -> list[SimConfig]:
    return [
        SimConfig(),
        SimConfig(sl=0.03, tp=0.05, commission=0.001),
        SimConfig(trail=0.02, direction="both", fill="close"),
        SimConfig(direction="short", margin=0.2, maintenance=0.1, sizing="percent", size=0.5),
        SimConfig(accumulate=True, on_entry_while_long="ignore", sizing="value", size=2_000.0),
        SimConfig.preset("backtesting", init_cash=10_000, commission=0.002),
        # (exclusive_orders=False with working orders: the order book's kernel, engine/kernels/simulate_book.py)
        SimConfig.preset("backtesting", init_cash=10_000, commission=0.002, accumulate=True, direction="both"),
        SimConfig.preset("vectorbt", init_cash=10_000, commission=0.001, direction="both"),
    ]
