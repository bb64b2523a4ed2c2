"""`backbench bench`: the benchmark runner (`python -m benchmarks`), with the same arguments.

The arguments are defined here, once, and `benchmarks/runner.py` builds its own parser from
`add_bench_arguments`; so the two commands cannot drift. The command starts the runner as a program
(`python -m benchmarks ...`): nothing in app/ imports `benchmarks` (docs/architecture.md, "Layers"). The
benchmarks ship with the source distribution, not with the frozen app, where the command says so.
"""

from __future__ import annotations

import argparse

from engine.errors import BackbenchError

ACTIONS = ("run", "list", "report")


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="run", choices=ACTIONS, metavar="ACTION",
                   help="run (default): run suites; list: the suites, benchmarks and figures; "
                        "report: render a results JSON (RESULTS) as text or --html")
    p.add_argument("results", nargs="?", metavar="RESULTS", help="report: the results JSON to render")
    p.add_argument("--suite", action="extend", nargs="+", metavar="NAME",
                   help="suites: backtest, peers, sweep, data, cache, gui, stress, analysis, metrics (default: all; "
                        "with report: the suites to show)")
    p.add_argument("--filter", action="append", metavar="PATTERN",
                   help="only benchmarks whose name contains PATTERN or matches it as a glob (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="fewer repeats, same sizes; heavy benchmarks (the stress suite, the 1,000-combo sweep) are "
                        "skipped unless their suite is named")
    p.add_argument("--tiny", action="store_true", help="tiny sizes and 1-2 repeats: smoke tests only")
    p.add_argument("--out", metavar="FILE", help="write the results JSON here")
    p.add_argument("--save-baseline", action="store_true",
                   help="also write benchmarks/baselines/<os>-<arch>-<N>core.json")
    p.add_argument("--compare", metavar="BASELINE",
                   help="compare with a results JSON; run: exit 1 on a regression; report: show it beside")
    p.add_argument("--threshold", default="10%", help="regression threshold for --compare (default 10%%)")
    p.add_argument("--html", metavar="FILE", help="write the HTML report here (run or report)")
    p.add_argument("--metrics-file", metavar="OUT.prom",
                   help="run: also write the results in the Prometheus text format (docs/metrics.md; needs the "
                        "'metrics' extra)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark suites, compare with a baseline, render a report",
                       description="Backbench's benchmarks (the same as `python -m benchmarks`): medians of "
                                   "repeats, peak memory, figures against targets and a saved baseline. "
                                   "See docs/performance.md.")
    add_bench_arguments(p)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess
    import sys

    if getattr(sys, "frozen", False) or importlib.util.find_spec("benchmarks") is None:
        raise BackbenchError("the benchmarks are not part of this installation: run `backbench bench` from a "
                             "source checkout (pip install -e '.[peers]')")
    return subprocess.call([sys.executable, "-m", "benchmarks", *bench_argv(args)])


def bench_argv(args: argparse.Namespace) -> list[str]:
    """The command line of `python -m benchmarks` that means what `args` (parsed by add_bench_arguments) do."""
    out = [args.action] + ([args.results] if args.results else [])
    for name in args.suite or []:
        out += ["--suite", name]
    for pattern in args.filter or []:
        out += ["--filter", pattern]
    out += [flag for flag, on in (("--quick", args.quick), ("--tiny", args.tiny),
                                  ("--save-baseline", args.save_baseline)) if on]
    for flag, value in (("--out", args.out), ("--compare", args.compare), ("--html", args.html),
                        ("--metrics-file", args.metrics_file)):
        if value:
            out += [flag, value]
    if args.threshold != "10%":
        out += ["--threshold", args.threshold]
    return out
