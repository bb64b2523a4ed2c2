"""`Result`: what one backtest produces (stats, trades, equity, drawdown), plus its JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from engine.bars import Bars
from engine.config import SimConfig
from engine.kernels.jit import kernels_for
from engine.kernels.simulate_records import EXIT_REASONS, STATUS_BANKRUPT
from engine.kernels.stats import drawdown_nb

# Trade columns in `run --json` output, in order.
TRADE_JSON_KEYS = ("entry_bar", "exit_bar", "entry_time", "exit_time", "size", "entry_price",
                   "exit_price", "pnl", "return_pct", "fees", "is_open")


@dataclass
class Result:
    """One backtest.

    stats: snake_case figures (docs/stats.md); durations in days; start/end as ISO-8601 UTC strings.
    trades: polars DataFrame, one row per trade (the open trade at the end, if any, has is_open=True).
    equity: account equity at each bar's close; drawdown_pct: equity below its running peak, in % (<= 0).
    status: "ok", or "bankrupt" when equity reached zero and the run stopped early (under compat="vectorbt" the
        run trades on below zero, as vectorbt does).
    indicator_warmup: bars before every line of the strategy's `indicators()` is defined; set under
        compat="backtesting", where the peer's Buy & Hold starts there (docs/compat.md#the-peers-stats).
    order_log: every fill of the run, in order, where the config keeps them (vectorbt's accumulation); else
        empty, or None when not known.
    """

    config: SimConfig
    strategy: str
    params: dict[str, Any]
    bars: Bars
    equity: np.ndarray
    trade_records: np.ndarray
    stats: dict[str, Any]
    status: str = "ok"
    n_cancelled_orders: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False
    indicator_warmup: int = 0
    # the drawdown curve when the run already had it (a cache hit, a walk-forward); else made on first read
    drawdown: np.ndarray | None = field(default=None, repr=False)
    # the run's fills in order (ORDER_LOG_DTYPE, engine/kernels/simulate_log.py) where its config keeps them
    # (engine.simulation.keeps_order_log: vectorbt's accumulation, whose peer_stats books each entry order)
    order_log: np.ndarray | None = field(default=None, repr=False)

    @property
    def drawdown_pct(self) -> np.ndarray:
        """Equity below its running peak, in % (<= 0), bar by bar. Made when first read: the CLI and the API
        seldom need it, and at 1M bars it is an 8 MB array and ~0.5 ms of a ~20 ms run (docs/performance.md)."""
        if self.drawdown is None:
            with kernels_for(len(self.equity)):  # as Python for a small run, as the run was (engine/kernels/jit.py)
                self.drawdown = drawdown_nb(self.equity) * 100.0
        return self.drawdown

    @property
    def trades(self) -> pl.DataFrame:
        return trades_frame(self.trade_records, self.bars)

    def to_json_dict(self) -> dict[str, Any]:
        """The `backbench run --json` object: {"stats": {...}, "trades": [...]}, plus "peer_stats" (the
        peer's own table, engine/compat/) under a compat preset."""
        rec = self.trade_records
        times = self.bars.times()
        trades = []
        for k in range(len(rec)):
            t = rec[k]
            trades.append({
                "entry_bar": int(t["entry_bar"]),
                "exit_bar": int(t["exit_bar"]),
                "entry_time": _iso(times[t["entry_bar"]]),
                "exit_time": _iso(times[t["exit_bar"]]),
                "size": float(t["size"]) * int(t["side"]),
                "entry_price": float(t["entry_price"]),
                "exit_price": float(t["exit_price"]),
                "pnl": float(t["pnl"]),
                "return_pct": float(t["return_pct"]),
                "fees": float(t["entry_fee"] + t["exit_fee"]),
                "is_open": bool(t["is_open"]),
            })
        out: dict[str, Any] = {"stats": {k: _json_value(v) for k, v in self.stats.items()}, "trades": trades}
        if self.config.compat is not None:
            from engine.compat import peer_stats

            table = peer_stats(self)
            if table is not None:
                out["peer_stats"] = {k: _json_value(v) for k, v in table.items()}
        return out


def trades_frame(rec: np.ndarray, bars: Bars) -> pl.DataFrame:
    """Trade records as a DataFrame with times, signed size, total fees and duration in days."""
    times = bars.times()
    entry_bar = rec["entry_bar"]
    exit_bar = rec["exit_bar"]
    return pl.DataFrame({
        "entry_bar": entry_bar,
        "exit_bar": exit_bar,
        "entry_time": times[entry_bar],
        "exit_time": times[exit_bar],
        "side": np.where(rec["side"] > 0, "long", "short"),
        "size": rec["size"] * rec["side"],
        "entry_price": rec["entry_price"],
        "exit_price": rec["exit_price"],
        "pnl": rec["pnl"],
        "return_pct": rec["return_pct"],
        "fees": rec["entry_fee"] + rec["exit_fee"],
        "duration_days": (bars.ts[exit_bar] - bars.ts[entry_bar]) / 86_400e9,
        "exit_reason": [EXIT_REASONS[int(r)] for r in rec["exit_reason"]],
        "is_open": rec["is_open"],
    })


def status_name(code: int) -> str:
    return "bankrupt" if code == STATUS_BANKRUPT else "ok"


def _iso(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t, unit="s")) + "Z"


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _json_value(v.item())
    return v
