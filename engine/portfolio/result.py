"""`PortfolioResult`: a portfolio run's stats, per-symbol contribution, cash and exposure over time, trades."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.bars import Bars
from engine.kernels.portfolio import PF_EXIT_REASONS, equal_weight_index_nb, filled_close_nb
from engine.portfolio.align import AlignedBars
from engine.portfolio.config import PortfolioConfig
from engine.portfolio.simulate import PortfolioArrays
from engine.simulation import compute_stats

# Trade keys of `portfolio --json`, in order.
TRADE_JSON_KEYS = ("symbol", "entry_time", "exit_time", "size", "entry_price", "exit_price", "pnl", "return_pct",
                   "fees", "exit_reason", "is_open")


@dataclass
class PortfolioResult:
    """One portfolio run (docs/portfolio.md, "Results").

    stats: the keys of a single run (docs/stats.md) on the portfolio's equity; buy_hold_return_pct is that of
        the equal-weight index (`benchmark_close`).
    per_symbol: {symbol: {pnl, n_trades, n_open, win_rate_pct, exposure_pct, fees}}.
    equity, cash, position_value, traded_value: per row of the aligned bars, currency.
    exposure_pct: position value / equity, in %; turnover: traded value / mean equity (times over the run).
    trade_records: PF_TRADE_DTYPE, ordered by entry row, then exit row, then symbol.
    """

    config: PortfolioConfig
    strategy: str
    params: dict[str, Any]
    symbols: tuple[str, ...]
    ts: np.ndarray
    equity: np.ndarray
    cash: np.ndarray
    position_value: np.ndarray
    traded_value: np.ndarray
    trade_records: np.ndarray
    stats: dict[str, Any]
    per_symbol: dict[str, dict[str, Any]]
    n_skipped_entries: int
    turnover: float
    peer_stats: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    from_cache: bool = False
    # [rows x symbols]: each symbol's units held x its last close, at each row (run_portfolio(holdings=True));
    # with the cash it adds up to the equity (the app's allocation chart)
    value_by_symbol: np.ndarray | None = None

    @property
    def exposure_pct(self) -> np.ndarray:
        return np.divide(self.position_value, self.equity, out=np.zeros_like(self.equity),
                         where=self.equity > 0) * 100.0

    def trades_list(self) -> list[dict[str, Any]]:
        """One dict per trade (TRADE_JSON_KEYS), times ISO 8601 UTC."""
        rec = self.trade_records
        times = self.ts.astype("datetime64[ns]")
        out = []
        for k in range(len(rec)):
            t = rec[k]
            out.append({
                "symbol": self.symbols[int(t["symbol"])],
                "entry_time": _iso(times[t["entry_bar"]]),
                "exit_time": _iso(times[t["exit_bar"]]),
                "size": float(t["size"]),
                "entry_price": float(t["entry_price"]),
                "exit_price": float(t["exit_price"]),
                "pnl": float(t["pnl"]),
                "return_pct": float(t["return_pct"]),
                "fees": float(t["entry_fee"] + t["exit_fee"]),
                "exit_reason": "open" if t["is_open"] else PF_EXIT_REASONS[int(t["exit_reason"])],
                "is_open": bool(t["is_open"]),
            })
        return out

    def to_json_dict(self, series: bool = False) -> dict[str, Any]:
        """The `backbench portfolio --json` object: {"stats", "per_symbol", "trades", "portfolio"}, plus
        "peer_stats" (vectorbt's group pf.stats()) under compat="vectorbt", and with `series` the per-row
        {"time", "equity", "cash", "exposure_pct", "traded_value"} lists."""
        out: dict[str, Any] = {
            "stats": {k: _json_value(v) for k, v in self.stats.items()},
            "per_symbol": {s: {k: _json_value(v) for k, v in d.items()} for s, d in self.per_symbol.items()},
            "trades": self.trades_list(),
            "portfolio": {"symbols": list(self.symbols), "turnover": _json_value(self.turnover),
                          "n_skipped_entries": self.n_skipped_entries,
                          "max_exposure_pct": _json_value(float(self.exposure_pct.max()) if len(self.ts) else 0.0),
                          "min_cash": _json_value(float(self.cash.min()) if len(self.ts) else 0.0)},
        }
        if self.peer_stats is not None:
            out["peer_stats"] = {k: _json_value(v) for k, v in self.peer_stats.items()}
        if series:
            times = self.ts.astype("datetime64[ns]")
            out["series"] = {"time": [_iso(t) for t in times], "equity": self.equity.tolist(),
                             "cash": self.cash.tolist(), "exposure_pct": self.exposure_pct.tolist(),
                             "traded_value": self.traded_value.tolist()}
        return out


def benchmark_close(aligned: AlignedBars) -> np.ndarray:
    """The equal-weight index: the mean over symbols of close / first close, each forward-filled and 1.0 before
    its listing (a late symbol joins at its listing price)."""
    return equal_weight_index_nb(filled_close_nb(aligned.close))


def per_symbol_figures(aligned: AlignedBars, arrays: PortfolioArrays) -> dict[str, dict[str, Any]]:
    """Each symbol's contribution: P&L (open trades marked), closed and open trades, win rate of the closed
    ones (P&L > 0), exposure (rows with a position, % of all rows) and fees."""
    tr = arrays.trades
    n = len(aligned.ts)
    out = {}
    for j, sym in enumerate(aligned.symbols):
        t = tr[tr["symbol"] == j]
        closed = t[~t["is_open"]]
        held = np.zeros(n + 1, dtype=np.int64)
        np.add.at(held, t["entry_bar"], 1)
        np.add.at(held, t["exit_bar"] + 1, -1)
        covered = int((np.cumsum(held[:n]) > 0).sum())
        out[sym] = {
            "pnl": float(t["pnl"].sum()),
            "n_trades": int(len(closed)),
            "n_open": int(len(t) - len(closed)),
            "win_rate_pct": float((closed["pnl"] > 0).mean() * 100.0) if len(closed) else math.nan,
            "exposure_pct": covered / n * 100.0 if n else 0.0,
            "fees": float((t["entry_fee"] + t["exit_fee"]).sum()),
        }
    return out


def portfolio_stats(aligned: AlignedBars, arrays: PortfolioArrays, config: PortfolioConfig) -> dict[str, Any]:
    """The stats of a single run (engine.simulation.compute_stats) on the portfolio's equity and trades."""
    bench = benchmark_close(aligned)
    bars = Bars.from_arrays(bench, bench, bench, bench, ts=aligned.ts)
    return compute_stats(bars, arrays.equity, arrays.trades, config.init_cash, config.risk_free_rate)


def _iso(t: np.datetime64) -> str:
    return str(np.datetime_as_string(t, unit="s")) + "Z"


def _json_value(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
