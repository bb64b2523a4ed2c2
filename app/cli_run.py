"""`backbench run` (one backtest) and `backbench strategies` (what can be run)."""

from __future__ import annotations

import argparse
import json
import sys

from app.cli_options import (
    add_data_args,
    add_setting_flags,
    add_sim_args,
    add_strategy_args,
    datasets_from_args,
    parse_params,
    sim_config_from_args,
)
from app.stat_labels import format_stat, stat_label, trade_count_text
from app.tables import format_pairs, format_table


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one backtest and print its stats and trades",
                         description="Run one backtest on a file, the demo data or a stored symbol.")
    add_data_args(run)
    add_strategy_args(run)
    add_sim_args(run)
    run.add_argument("--json", action="store_true", help="print one JSON object {stats, trades}")
    run.add_argument("--trades", type=int, default=10, metavar="N", help="how many last trades to print")
    run.add_argument("--no-cache", action="store_true", help="always compute; neither read nor store the result cache")
    run.add_argument("--profile", action="store_true",
                     help="print the stage timings (load, signals, simulate, stats) after the result")
    run.set_defaults(func=cmd_run)

    strategies = sub.add_parser("strategies", help="list strategies and their parameters")
    add_setting_flags(strategies, "strategies.dir")
    strategies.set_defaults(func=cmd_strategies)


def cmd_run(args: argparse.Namespace) -> int:
    from app.cli_cache import profile_report
    from engine.backtest import run_backtest
    from engine.runtime.profiling import timer
    from engine.strategies import resolve_params

    bench = args.workbench
    config = sim_config_from_args(args)
    strategy = bench.strategy(args.strategy)
    params = parse_params(args.param)
    resolve_params(strategy, params)  # bad params fail before any data is read
    with timer("backtest.load"):
        bars = datasets_from_args(args)[0]
    result = run_backtest(bars, strategy, params, config, cache=bench.cache())
    if args.json:
        json.dump(result.to_json_dict(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_run(result, last_trades=args.trades))
    if args.profile:
        print(profile_report(result), file=sys.stderr if args.json else sys.stdout)
    return 0


def format_run(result, last_trades: int = 10) -> str:
    """The stats with their labels and units (app/stat_labels.py, as the app shows them), then the last trades."""
    bars = result.bars
    head = (f"{result.strategy} {_fmt_params(result.params)} on {bars.symbol or 'bars'} {bars.timeframe} "
            f"({len(bars):,} bars)")
    lines = [head, ""]
    stats = [(stat_label(k), format_stat(k, v)) for k, v in result.stats.items()]
    lines.append(format_pairs(stats, indent="  ", value_width=18))
    if result.status != "ok":
        lines.append(f"\n  status: {result.status} (equity reached zero; the run stopped early)")
    if result.n_cancelled_orders:
        lines.append(f"  orders cancelled (not enough cash): {result.n_cancelled_orders}")
    trades = result.trades
    if len(trades) and last_trades > 0:
        shown = trades.tail(last_trades)
        n_open = int(trades["is_open"].sum())
        lines += ["", f"Last {len(shown)} of {trade_count_text(len(trades) - n_open, n_open)}:"]
        cols = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "pnl", "return_pct",
                "exit_reason")
        rows = [{**r, "exit_reason": "open" if r["is_open"] else r["exit_reason"]}
                for r in shown.iter_rows(named=True)]
        lines.append(format_table(rows, cols, indent="  "))
    return "\n".join(lines)


def _fmt_params(params: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


def cmd_strategies(args: argparse.Namespace) -> int:
    strategies, errors = args.workbench.strategies()
    for strat in strategies:
        print(f"{strat.name} (v{strat.version}): {strat.description}")
        for p in strat.params:
            print(f"    {p.name:<10} {p.type.__name__:<5} default {p.default!s:<6} range [{p.min}, {p.max}] "
                  f"step {p.step}")
    for err in errors:
        print(f"load error: {err}", file=sys.stderr)
    return 0
