"""`backbench run` (one backtest) and `backbench strategies` (what can be run)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from app.cli_options import (
    add_data_args,
    add_metrics_args,
    add_setting_flags,
    add_sim_args,
    add_strategy_args,
    backtest_from_args,
)
from app.stat_labels import format_stat, stat_label, trade_count_text
from app.tables import format_pairs, format_table


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one backtest and print its stats and trades",
                         description="Run one backtest on a file, the demo data or a stored symbol.")
    add_data_args(run)
    add_strategy_args(run)
    add_sim_args(run)
    run.add_argument("--benchmark", metavar="SYMBOL|FILE",
                     help="also measure the run against this series (a stored symbol, or a CSV/Parquet file): "
                          "alpha, beta, information ratio, tracking error, correlation (docs/stats.md)")
    run.add_argument("--json", action="store_true", help="print one JSON object {stats, trades[, benchmark]}")
    run.add_argument("--trades", type=int, default=10, metavar="N", help="how many last trades to print")
    run.add_argument("--no-cache", action="store_true", help="always compute; neither read nor store the result cache")
    run.add_argument("--profile", action="store_true",
                     help="print the stage timings (load, signals, simulate, stats) after the result")
    add_metrics_args(run)
    run.set_defaults(func=cmd_run)

    strategies = sub.add_parser("strategies", help="list strategies and their parameters")
    add_setting_flags(strategies, "strategies.dir")
    strategies.set_defaults(func=cmd_strategies)


def cmd_run(args: argparse.Namespace) -> int:
    from app.cli_cache import profile_report

    bars, result = backtest_from_args(args)
    against = benchmark_of(args, bars, result.equity) if args.benchmark else None
    if args.json:
        out = result.to_json_dict()
        if against is not None:
            out["benchmark"] = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                for k, v in against.items()}
        json.dump(out, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_run(result, last_trades=args.trades))
        if against is not None:
            name = against.pop("name")
            print(f"\nAgainst {name}:")
            print(format_pairs([(stat_label(k), format_stat(k, v)) for k, v in against.items()], indent="  ",
                               value_width=18))
    if args.profile:
        print(profile_report(result), file=sys.stderr if args.json else sys.stdout)
    return 0


def benchmark_of(args: argparse.Namespace, bars, equity) -> dict:
    """{"name", BENCHMARK_KEYS...} of the run's `equity` against --benchmark: a file if that path exists,
    else a stored symbol at the run's timeframe."""
    from pathlib import Path

    from app.cli_options import bars_from_file, fill_demo_store
    from engine.analysis.benchmark import relative_stats

    spec = args.benchmark
    path = Path(spec)
    if path.is_file() or path.suffix.lower() in (".csv", ".parquet", ".pq") or "/" in spec:
        series, name = bars_from_file(path), path.name  # (a missing file: "file not found")
    else:
        fill_demo_store(args.workbench)  # as --symbol does: a missing store starts with the demo data
        series, name = args.workbench.load_bars(spec, bars.timeframe), spec
    return {"name": name, **relative_stats(bars.ts, equity, series.ts, series.close)}


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
