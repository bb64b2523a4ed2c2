"""`backbench sweep`: a parameter grid, random search or walk-forward over one or many datasets."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.cli_options import (
    add_data_args,
    add_metrics_args,
    add_setting_flags,
    add_sim_args,
    add_strategy_args,
    datasets_from_args,
    existing_file,
    sim_config_from_args,
)
from app.cli_sweep_portfolio import add_portfolio_args, portfolio_inputs, single_file
from app.progress import ProgressBar
from app.stat_labels import format_stat, stat_label
from app.tables import format_pairs, format_table
from engine.errors import StrategyError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a parameter grid / random search / walk-forward in parallel",
                       description="Sweep a strategy's parameters; prints the top rows by a metric.")
    add_data_args(p, several=True)
    add_strategy_args(p)
    g = p.add_argument_group("sweep")
    g.add_argument("-g", "--grid", action="append", default=[], metavar="NAME=START:STOP[:STEP]|A,B,C",
                   help="values of one parameter (repeatable); others keep their defaults")
    g.add_argument("--where", metavar="COND", help='constraint on params, e.g. "n1<n2 and n2<=5*n1"')
    g.add_argument("--random", type=int, metavar="N", help="sample N combos of the grid at random")
    g.add_argument("--seed", type=int, default=0, help="seed for --random and --optimize (default 0)")
    g.add_argument("--optimize", choices=("tpe", "cmaes"),
                   help="let Optuna's TPE or CMA-ES sampler pick --trials combos of the grid, to maximise --metric "
                        "(minimise with --minimize); needs the 'optimize' extra (docs/optimize.md)")
    g.add_argument("--trials", type=int, default=50, metavar="N", help="combos --optimize tries (default 50)")
    g.add_argument("--walk-forward", metavar="TRAIN:TEST[:STEP]", help="walk-forward windows, in bars")
    g.add_argument("--anchored", action="store_true", help="walk-forward training windows all start at bar 0")
    add_setting_flags(g, "sweep", "workers.count")
    g.add_argument("--insecure", action="store_true",
                   help="allow a plain tcp:// Dask scheduler that is not on this machine (unauthenticated, "
                        "unencrypted pickles: anyone who reaches it can run code)")
    g.add_argument("--chunk", type=int, help="combos per task (default: automatic)")
    g.add_argument("--top", type=int, default=10, metavar="K", help="rows to print (default 10)")
    g.add_argument("--no-cache", action="store_true", help="compute every combo, ignore the result cache")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="OUT", help="write every row to a CSV file")
    out.add_argument("--parquet", metavar="OUT", help="write every row to a Parquet file")
    p.add_argument("--json", action="store_true", help='print {"rows": [...]} (or the walk-forward result)')
    p.add_argument("--html", metavar="OUT.html", help="also write a self-contained HTML report: the settings, the "
                                                     "metric's heat table and the top rows (walk-forward: its windows "
                                                     "and out-of-sample equity) (docs/report.md)")
    add_sim_args(p)
    add_metrics_args(p)
    add_portfolio_args(p)
    p.set_defaults(func=cmd_sweep)


def parse_grid(pairs: list[str]) -> dict[str, list[Any]]:
    from engine.sweep import parse_values

    grid: dict[str, list[Any]] = {}
    for pair in pairs:
        name, sep, spec = pair.partition("=")
        if not sep or not name.strip():
            raise StrategyError(f"-g {pair!r}: expected NAME=START:STOP[:STEP] or NAME=A,B,C")
        grid[name.strip()] = parse_values(spec, name.strip())
    return grid


def cmd_sweep(args: argparse.Namespace) -> int:
    from engine.sweep import run_sweep

    bench = args.workbench
    strategy = bench.strategy(args.strategy)
    grid = parse_grid(args.grid)
    from engine.runtime.profiling import timer

    portfolio = None
    executor = bench.executor(insecure=args.insecure)
    if args.no_cache and hasattr(executor, "prestart"):
        # Every combo will be computed: the workers start (in the background) while this process reads
        # the bars, instead of after (docs/performance.md, "2-worker scaling"). With the cache on, the
        # pool waits for the lookup, so a sweep served entirely from the cache starts no worker.
        executor.prestart()
    cache = bench.cache()
    try:
        with timer("sweep.load"):  # the sweep's load stage (docs/metrics.md): its bars, read once in this process
            if args.portfolio:
                datasets, portfolio = portfolio_inputs(args)
                config = None
            else:
                single_file(args)
                config = sim_config_from_args(args)
                if args.file and not (args.walk_forward or args.optimize):
                    # named by its bytes if read before: a sweep whose combos are all cached does not parse it
                    from engine.cache.file_dataset import file_dataset

                    datasets = [file_dataset(existing_file(Path(args.file)), cache)]
                else:
                    datasets = datasets_from_args(args)
    except BaseException:
        executor.close()
        raise
    bar = ProgressBar("sweep", unit="combos")
    cancel = threading.Event()
    interrupted: list[int] = []
    try:
        from app.macos_activity import sweep_activity

        with executor, sweep_activity(), signals_cancel(cancel, interrupted):  # no App Nap on macOS
            if args.walk_forward:
                if portfolio is not None:
                    from app.cli_sweep_portfolio import walk_forward_portfolio

                    return walk_forward_portfolio(args, datasets, strategy, grid, portfolio, executor, bar, cache)
                return _walk_forward(args, datasets[0], strategy, grid, config, executor, bar, cache)
            if args.optimize:
                from engine.sweep.optimize import optimize

                if (len(datasets) != 1 and portfolio is None) or args.random:
                    raise StrategyError("--optimize runs on one dataset, without --random (a --portfolio is one)")
                data = datasets if portfolio is not None else datasets[0]
                result = optimize(data, strategy, grid, metric=args.sweep_metric,
                                  minimize=args.sweep_minimize, sampler=args.optimize, trials=args.trials,
                                  seed=args.seed, where=args.where, config=config, executor=executor, cache=cache,
                                  progress=bar.sweep, cancel=cancel, strategies_dir=bench.strategies_dir,
                                  portfolio=portfolio, score=args.score if portfolio is not None else None)
            else:
                result = run_sweep(datasets, strategy, grid, where=args.where, random_n=args.random, seed=args.seed,
                                   config=config, executor=executor, chunk_size=args.chunk, progress=bar.sweep,
                                   cancel=cancel, strategies_dir=bench.strategies_dir, cache=cache,
                                   portfolio=portfolio, score=args.score if portfolio is not None else None)
    finally:
        bar.finish()
    if interrupted:  # Ctrl+C / SIGTERM: the rows finished so far, then exit 128 + the signal's number
        name = signal.Signals(interrupted[0]).name
        print(f"backbench: interrupted by {name}: {len(result.rows) + len(result.errors)} of {result.total} combos "
              "finished; showing those", file=sys.stderr)
        if cache is not None:
            cache.flush()
    for err in result.errors[:10]:
        print(f"backbench: combo {err['params']} failed: {err['error']}", file=sys.stderr)
    if len(result.errors) > 10:
        print(f"backbench: ... {len(result.errors)} failed combos in all", file=sys.stderr)
    rows = result.rows
    if args.sweep_metric not in rows.columns and not rows.is_empty():
        raise StrategyError(f"--metric {args.sweep_metric!r}: not a stat (one of: {', '.join(rows.columns)})")
    if args.html:
        from app.cli_report import write_report
        from app.report.pages import sweep_report

        write_report(args.html, sweep_report(result, strategy.name, [p.name for p in strategy.params],
                                             args.sweep_metric, args.sweep_minimize, _settings(args, config)))
    if args.csv:
        _public(rows).write_csv(Path(args.csv))
    if args.parquet:
        _public(rows).write_parquet(Path(args.parquet))
    if args.json:
        json.dump({"rows": [_json_row(r) for r in _public(rows).iter_rows(named=True)]}, sys.stdout,
                  allow_nan=False)
        sys.stdout.write("\n")
    else:
        if portfolio is not None:
            print(f"portfolio of {len(datasets)} symbols ({', '.join(b.symbol for b in datasets)}), one cash balance")
        print(f"{result.total} combos ({result.computed} computed, {result.total - result.computed} from cache) "
              f"in {result.elapsed_s:.2f} s on {getattr(executor, 'workers', 1)} worker(s)")
        if not rows.is_empty():
            top = result.top(args.sweep_metric, args.top, descending=not args.sweep_minimize)
            print(format_top(top, strategy, args.sweep_metric))
    if interrupted:
        return 128 + interrupted[0]
    return 0 if not result.errors else 1


@contextmanager
def signals_cancel(cancel: threading.Event, received: list[int]) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM cancel the sweep (it returns the rows finished so far, its workers
    stopped) instead of killing the command; `received` collects the signals' numbers."""
    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        cancel.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def _walk_forward(args, bars, strategy, grid, config, executor, bar, cache) -> int:
    from engine.sweep.walkforward import parse_walk_forward, walk_forward

    train, test, step = parse_walk_forward(args.walk_forward)
    wf = walk_forward(bars, strategy, grid, train=train, test=test, step=step, anchored=args.anchored,
                      metric=args.sweep_metric, minimize=args.sweep_minimize, where=args.where, config=config,
                      executor=executor, strategies_dir=args.workbench.strategies_dir, progress=bar.sweep,
                      cache=cache, hindsight=bool(args.html))
    bar.finish()
    if args.html:
        from app.cli_report import write_report
        from app.report.pages import walkforward_report

        write_report(args.html, walkforward_report(wf, bars, strategy.name, _settings(args, config)))
    from app.wf_output import print_walk_forward

    return print_walk_forward(wf, f"walk-forward {args.walk_forward} ({'anchored' if args.anchored else 'rolling'}), "
                                  f"optimising {args.sweep_metric}: {len(wf.windows)} windows",
                              "stitched out-of-sample", args.json)
    print(f"walk-forward {args.walk_forward} ({'anchored' if args.anchored else 'rolling'}), "
          f"optimising {args.sweep_metric}: {len(wf.windows)} windows")
    print(format_table(wf.windows.iter_rows(named=True), wf.windows.columns))
    print("\nstitched out-of-sample:")
    keys = ("return_pct", "return_ann_pct", "sharpe_ratio", "max_drawdown_pct", "n_trades", "win_rate_pct")
    print(format_pairs([(stat_label(k), format_stat(k, wf.result.stats[k])) for k in keys], indent="  ",
                       value_width=14))
    print(f"  Walk-forward efficiency  {wf.efficiency:.3f}  (mean annualised out-of-sample return / in-sample; "
          "docs/guide.md)")
    return 0


def _settings(args: argparse.Namespace, config) -> dict[str, Any]:
    """What a report says of the sweep: the grid, the condition, the windows, and every simulation option."""
    out: dict[str, Any] = {"grid": " ".join(args.grid) or "(defaults)"}
    if args.where:
        out["where"] = args.where
    if args.walk_forward:
        out["walk-forward"] = args.walk_forward + (" anchored" if args.anchored else "")
    if args.portfolio:
        out["portfolio"] = "one cash balance over the symbols (docs/portfolio.md)"
        return out
    return {**out, **{k: v for k, v in config.to_dict().items() if v is not None}}


def _public(rows):
    return rows.drop([c for c in ("combo", "dataset") if c in rows.columns])


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def format_top(top, strategy, metric: str) -> str:
    names = [p.name for p in strategy.params]
    cols = ["symbol", *names, metric]
    for extra in ("return_pct", "max_drawdown_pct", "n_trades", "win_rate_pct"):
        if extra not in cols:
            cols.append(extra)
    cols = [c for c in cols if c in top.columns]
    return format_table(top.iter_rows(named=True), cols)
