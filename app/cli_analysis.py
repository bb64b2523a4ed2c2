"""`backbench montecarlo`: is a run's result luck? (docs/montecarlo.md)"""

from __future__ import annotations

import argparse
import json
import sys

from app.cli_options import (
    add_data_args,
    add_sim_args,
    add_strategy_args,
    backtest_from_args,
)
from app.tables import format_table


def register(sub: argparse._SubParsersAction) -> None:
    mc = sub.add_parser("montecarlo", help="resample a run's trades or bar returns: percentile bands, P(loss), "
                                           "P(ruin)",
                        description="Run one backtest as `run` does, then resample it N times: its closed trades "
                                    "(drawn with replacement, or shuffled) or its bar returns (in blocks).")
    add_data_args(mc)
    add_strategy_args(mc)
    add_sim_args(mc)
    mc.add_argument("--method", choices=("trades", "shuffle", "blocks"), default="trades",
                    help="trades: draw the closed trades with replacement; shuffle: reorder them; blocks: "
                         "resample the bar returns in blocks of --block bars (default: trades)")
    mc.add_argument("--runs", type=_positive_int, default=1000, metavar="N", help="resampled runs (default 1000)")
    mc.add_argument("--seed", type=int, default=0, metavar="K", help="random seed: the same seed, the same output")
    mc.add_argument("--ruin", type=float, default=0.5, metavar="F",
                    help="ruin: equity at or below this fraction of the initial cash at any step (default 0.5)")
    mc.add_argument("--block", type=_positive_int, default=20, metavar="BARS",
                    help="block length for --method blocks (default 20)")
    mc.add_argument("--json", action="store_true", help="print one JSON object {actual, percentiles, p_loss, "
                                                        "p_ruin, ...}")
    mc.set_defaults(func=cmd_montecarlo)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def cmd_montecarlo(args: argparse.Namespace) -> int:
    from engine.analysis.montecarlo import run_montecarlo

    bars, result = backtest_from_args(args)
    mc = run_montecarlo(result.equity, result.trade_records, result.config.init_cash, method=args.method,
                        runs=args.runs, seed=args.seed, ruin=args.ruin, block=args.block)
    if args.json:
        json.dump(mc.to_json_dict(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print(format_montecarlo(mc, f"{result.strategy} on {bars.symbol or 'bars'} {bars.timeframe}"))
    return 0


def format_montecarlo(mc, title: str) -> str:
    """The actual figures beside the resampled percentiles, then P(loss) and P(ruin)."""
    actual, pct = mc.actual(), mc.percentiles()
    names = {"final_return_pct": "Final return [%]", "max_drawdown_pct": "Max. drawdown [%]",
             "longest_drawdown": f"Longest drawdown [{mc.unit}s]"}
    rows = [{"figure": names[k], "actual": actual[k], **{f"p{q}": v for q, v in pct[k].items()}} for k in names]
    method = {"trades": "trades drawn with replacement", "shuffle": "trades shuffled",
              "blocks": f"bar returns in blocks of {mc.block}"}[mc.method]
    lines = [f"Monte Carlo of {title}: {mc.runs:,} runs, {method}, seed {mc.seed}", "",
             format_table(rows, ("figure", "actual", "p5", "p25", "p50", "p75", "p95"), indent="  "), "",
             f"  P(loss)  {mc.p_loss:.1%}",
             f"  P(ruin)  {mc.p_ruin:.1%}  (equity at or below {mc.ruin:g} x the initial cash)"]
    return "\n".join(lines)
