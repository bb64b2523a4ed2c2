"""`backbench report`: one backtest as a self-contained HTML page to share (docs/report.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli_options import (
    add_data_args,
    add_sim_args,
    add_strategy_args,
    backtest_from_args,
)


def register(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("report", help="write one backtest as a self-contained HTML report",
                         description="Run one backtest as `run` does and write its report: settings, stats (and "
                                     "the peer's under a preset), equity and drawdown, monthly returns, the trade "
                                     "returns' distribution, Monte Carlo bands and the trade list, in one HTML file "
                                     "that fetches nothing.")
    add_data_args(rep)
    add_strategy_args(rep)
    add_sim_args(rep)
    rep.add_argument("--html", required=True, metavar="OUT.html", help="where to write the report")
    rep.add_argument("--runs", type=int, default=1000, metavar="N",
                     help="Monte Carlo runs of the trades for the report's bands (0: none; default 1000)")
    rep.add_argument("--seed", type=int, default=0, metavar="K", help="Monte Carlo seed (default 0)")
    rep.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from app.report.html import run_report
    from engine.analysis.montecarlo import run_montecarlo

    _, result = backtest_from_args(args)
    mc = None
    if args.runs > 0 and (~result.trade_records["is_open"].astype(bool)).any():
        mc = run_montecarlo(result.equity, result.trade_records, result.config.init_cash, runs=args.runs,
                            seed=args.seed)
    write_report(args.html, run_report(result, mc))
    return 0


def write_report(path: str, text: str) -> Path:
    """Write an HTML report (its folder must exist) and say where, on stderr (stdout may be JSON)."""
    import sys

    from engine.errors import ConfigError

    out = Path(path)
    if not out.parent.is_dir():
        raise ConfigError(f"--html {out}: no such folder {out.parent}")
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size / 1024:,.0f} KiB)", file=sys.stderr)
    return out
