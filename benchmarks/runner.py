"""The benchmark runner: a registry of benchmarks and derived figures, timing, memory, JSON, comparison.

A suite module registers benchmarks with `@benchmark(...)`. The decorated function is a *factory*:
it gets a `Context`, does the untimed setup (data, compilation, correctness checks) and returns a
callable that does the work once and returns the amount of work done (e.g. the number of bars), or
None for a pure latency. It may instead return `(callable, info_dict)`; the info is stored with the
result. Raise `Skip("why")` from a factory to leave a benchmark out with a note.

    @benchmark(suite="backtest", name="sma_cross_10k_warm", unit="bars/s")
    def _(ctx):
        bars = make_bars(ctx.size(10_000, 2_000))
        return lambda: len(run_backtest(bars, "sma_cross", PARAMS, CFG).equity)

For each benchmark the runner calls the factory, runs the callable `warmup` times and picks how many
calls make up one repeat (so that a repeat lasts at least `min_time`; the time per call is reported).
It then times the repeats of all benchmarks of a suite interleaved (repeat 1 of each, then repeat 2
of each, ...), so load from other processes spreads over all of them, and finally measures memory
in separate untimed calls: peak tracemalloc (Python and
numpy allocations made during one call) and the peak RSS of this process and its children (psutil,
sampled every few ms). `@ratio(...)` registers a figure derived from results of the same run (e.g.
"ours vs vectorbt"), with an optional target.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import psutil

from app.bench_results import ResultsFileError, check_results, compare, fmt_rate, fmt_time, fmt_value
from benchmarks import machine
from benchmarks.errors import UsageError

# Exit codes.
EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3

# Suites known to the runner, in run order: name -> module that registers them when imported.
SUITE_MODULES: dict[str, str] = {
    "backtest": "benchmarks.suite_backtest",
    "peers": "benchmarks.suite_peers",
    "portfolio": "benchmarks.suite_portfolio",
    "sweep": "benchmarks.suite_sweep",
    "data": "benchmarks.suite_data",
    "cache": "benchmarks.suite_cache",
    "gui": "benchmarks.suite_gui",
    "stress": "benchmarks.suite_stress",
    "analysis": "benchmarks.suite_analysis",
    "metrics": "benchmarks.suite_metrics",
}

_MB = 1024.0 * 1024.0
_RSS_SAMPLE_S = 0.01
_RSS_SAMPLE_DURING_S = 0.05  # coarser while timed repeats run (memory="during")
QUICK_MEMORY_SKIP_S = 2.0  # --quick: no extra untimed memory calls for benchmarks whose call takes longer


class Skip(Exception):
    """Raised by a benchmark factory to leave the benchmark out (with the message as a note)."""



@dataclass
class Context:
    """What a benchmark factory may consult: run mode, a scratch folder, and a place for notes/checks."""

    quick: bool = False
    tiny: bool = False
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    notes: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)

    def size(self, full: int, tiny: int) -> int:
        """`full` normally, `tiny` in --tiny mode (smoke tests: figures are meaningless)."""
        return tiny if self.tiny else full

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` once per run and key (e.g. bars or a parity check shared by several benchmarks)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def at_suite_end(self, fn: Callable[[], Any]) -> None:
        """Call `fn()` when the current suite is done (e.g. stop a child process a factory started), so
        idle helpers of one suite never count in another suite's process-tree memory."""
        self.cleanups.append(fn)

    def run_cleanups(self) -> None:
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as exc:  # pragma: no cover - best effort
                self.note(f"cleanup failed: {type(exc).__name__}: {exc}")


@dataclass
class Sample:
    """What a benchmark callable may return instead of a plain amount of work.

    `seconds`: the time to record for this call instead of the wall-clock time of the whole call (a
    *self-timed* call: a child process that times only its measured section, or a standalone benchmark
    script that times its own figures). `figures`: further numbers of this call (e.g. a child's peak
    memory, or every figure a standalone script returns); the runner summarises each over the repeats.
    """

    work: float | None = None
    seconds: float | None = None
    figures: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FigureRow:
    """A figure of a multi-figure benchmark (Sample.figures) shown as a result row of its own.

    The figure is a time in units of `scale_s` seconds (1e-9 for ns), or with `inverse` a rate of
    `work` per second. With `work` (a number, or the name of another figure holding it), the row gets a
    rate in `unit`; without, it is a latency.
    """

    figure: str
    name: str
    scale_s: float = 1.0
    unit: str = "s"
    work: float | str | None = None
    inverse: bool = False
    description: str = ""
    gate: bool | None = None  # counts for --compare (None: as the benchmark it comes from)


@dataclass
class Benchmark:
    suite: str
    name: str
    unit: str
    factory: Callable[[Context], Any]
    description: str = ""
    repeats: int = 7
    quick_repeats: int = 3
    warmup: int = 1
    min_time: float = 0.1  # a repeat lasts at least this long (more calls per repeat if needed)
    tracemalloc: bool = True  # False for benchmarks whose work happens in a child process
    rss: bool = True  # peak RSS of the process tree, sampled during one extra untimed call
    gate: bool = True  # counts for --compare regressions (False: peers' own timings, informational)
    latency: bool = False  # a latency (rate is None; p95 is the figure to watch)
    heavy: bool = False  # skipped with --quick unless its suite is named with --suite
    quick_warmup: int | None = None  # warm-up calls in --quick (default: `warmup`)
    # Peak RSS of the process tree: "call" (an extra untimed call, sampled every 10 ms), "children" (the
    # same, counting only the processes the call starts, not the runner itself), "during"
    # (sampled every 50 ms through the timed repeats: for long calls), "reported" (the call reports it
    # as Sample.figures["peak_rss_mb"], e.g. a child process measuring its own tree), or "none".
    memory: str = "call"
    rows: tuple[FigureRow, ...] = ()  # figures of the call shown as rows of their own


@dataclass
class Ratio:
    suite: str
    name: str
    fn: Callable[[Callable[[str], dict[str, Any]]], float]
    target: float | None = None
    better: str = "higher"  # the target is met when value >= target ("higher") or <= target ("lower")
    unit: str = "x"
    description: str = ""


class Registry:
    """Benchmarks and ratios by suite; suites listed in `modules` are imported on first use."""

    def __init__(self, modules: dict[str, str] | None = None) -> None:
        self.modules = dict(modules or {})
        self.benchmarks: list[Benchmark] = []
        self.ratios: list[Ratio] = []
        self.unavailable: dict[str, Callable[[], str | None]] = {}
        self._loaded: set[str] = set()

    def suite_names(self) -> list[str]:
        names = list(self.modules)
        for b in self.benchmarks:
            if b.suite not in names:
                names.append(b.suite)
        return names

    def benchmark(self, suite: str, name: str, unit: str, **options: Any) -> Callable:
        def register(factory: Callable[[Context], Any]) -> Callable[[Context], Any]:
            if any(b.suite == suite and b.name == name for b in self.benchmarks):
                raise ValueError(f"benchmark {suite}/{name} registered twice")
            desc = options.pop("description", None) or (factory.__doc__ or "").strip().split("\n")[0]
            self.benchmarks.append(Benchmark(suite, name, unit, factory, description=desc, **options))
            return factory
        return register

    def ratio(self, suite: str, name: str, **options: Any) -> Callable:
        def register(fn: Callable) -> Callable:
            desc = options.pop("description", None) or (fn.__doc__ or "").strip().split("\n")[0]
            self.ratios.append(Ratio(suite, name, fn, description=desc, **options))
            return fn
        return register

    def requires(self, suite: str, check: Callable[[], str | None]) -> None:
        """`check()` returns why `suite` cannot run here (e.g. a missing package), or None."""
        self.unavailable[suite] = check

    def load(self, suite: str) -> None:
        if suite in self.modules and suite not in self._loaded:
            importlib.import_module(self.modules[suite])
        self._loaded.add(suite)

    def why_unavailable(self, suite: str) -> str | None:
        check = self.unavailable.get(suite)
        return check() if check else None


REGISTRY = Registry(SUITE_MODULES)
benchmark = REGISTRY.benchmark
ratio = REGISTRY.ratio
requires = REGISTRY.requires


# ----------------------------------------------------------------------------------------------- measuring

class _RssSampler:
    """Peak RSS of this process plus all its descendants, sampled in a thread."""

    def __init__(self, interval: float = _RSS_SAMPLE_S, children_only: bool = False) -> None:
        self.interval = interval
        self.children_only = children_only
        self.proc = psutil.Process()
        self.peak = 0
        self.start_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tree_rss(self) -> int:
        total = 0 if self.children_only else self.proc.memory_info().rss
        try:
            children = self.proc.children(recursive=True)
        except psutil.Error:  # pragma: no cover
            children = []
        for child in children:
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def __enter__(self) -> _RssSampler:
        self.start_rss = self.peak = self.tree_rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.tree_rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self.tree_rss())


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 1]) of already sorted values."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _call(fn: Callable[[], Any], number: int, figures: dict[str, list[float]] | None = None) -> tuple[float, Any]:
    """Call `fn` `number` times: (seconds, the last call's work). A call returning a Sample contributes
    its own `seconds` (if given) instead of its wall-clock time, and its figures to `figures`."""
    work = None
    reported = 0.0
    self_timed = False
    t0 = time.perf_counter()
    for _ in range(number):
        work = fn()
        if isinstance(work, Sample):
            if work.seconds is not None:
                self_timed = True
                reported += work.seconds
            if figures is not None:
                for key, value in work.figures.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                        figures.setdefault(key, []).append(float(value))
            work = work.work
    elapsed = time.perf_counter() - t0
    return (reported if self_timed else elapsed), work


@dataclass
class _Run:
    """A benchmark set up, warmed and calibrated, collecting its timed repeats."""

    bench: Benchmark
    fn: Callable[[], Any]
    info: dict[str, Any]
    repeats: int
    warmup: int
    number: int
    times: list[float] = field(default_factory=list)
    work: Any = None
    setup_s: float = 0.0
    quick: bool = False
    figures: dict[str, list[float]] = field(default_factory=dict)
    peak_rss_during: float | None = None
    start_rss_during: float | None = None


def prepare(bench: Benchmark, ctx: Context) -> _Run:
    """Setup (the factory), warm-up, and the number of calls that make one repeat last >= min_time."""
    t0 = time.perf_counter()
    made = bench.factory(ctx)
    fn, info = made if isinstance(made, tuple) else (made, {})
    repeats = bench.quick_repeats if (ctx.quick or ctx.tiny) else bench.repeats
    if ctx.tiny:
        repeats = min(repeats, 2)
    warmup = bench.warmup
    if (ctx.quick or ctx.tiny) and bench.quick_warmup is not None:
        warmup = bench.quick_warmup
    if ctx.tiny:
        warmup = min(warmup, 1)
    min_time = bench.min_time / (5.0 if ctx.tiny else 2.0 if ctx.quick else 1.0)
    for _ in range(warmup):
        _call(fn, 1)
    number = 1
    if min_time > 0:  # calibrate on a call after the warm-up (the first calls may still be settling)
        one, _work = _call(fn, 1)
        if one < min_time:
            number = min(1_000_000, max(1, math.ceil(min_time / max(one, 1e-9))))
    return _Run(bench, fn, dict(info), max(1, repeats), warmup, number, setup_s=time.perf_counter() - t0,
                quick=ctx.quick or ctx.tiny)


def time_repeat(run: _Run) -> None:
    """One timed repeat: `number` calls, recorded as the time per call."""
    gc.collect()
    if run.bench.memory == "during" and run.bench.rss:
        with _RssSampler(_RSS_SAMPLE_DURING_S) as s:
            elapsed, run.work = _call(run.fn, run.number, run.figures)
        run.peak_rss_during = max(run.peak_rss_during or 0, s.peak)
        if run.start_rss_during is None:
            run.start_rss_during = s.start_rss
    else:
        elapsed, run.work = _call(run.fn, run.number, run.figures)
    run.times.append(elapsed / run.number)


def finish(run: _Run) -> list[dict[str, Any]]:
    """Memory (in separate untimed calls, unless measured otherwise) and the result rows of a benchmark
    whose repeats are done: its own row, then one row per FigureRow."""
    bench, fn = run.bench, run.fn
    median = statistics.median(run.times)
    # --quick: a call that takes seconds is not run again just to measure memory.
    skip_extra = run.quick and median > QUICK_MEMORY_SKIP_S
    memory_note = None
    # Memory is measured apart from the timed repeats: sampling the process tree (psutil scans /proc)
    # while timing slowed a 1.4 s child process to 3.3 s on a 2-core machine.
    peak_rss = rss_delta = None
    mode = bench.memory if bench.rss else "none"
    if mode in ("call", "children") and not skip_extra:
        gc.collect()
        with _RssSampler(children_only=mode == "children") as s:
            _call(fn, run.number)
        peak_rss, rss_delta = s.peak / _MB, (s.peak - s.start_rss) / _MB
    elif mode == "during" and run.peak_rss_during is not None:
        peak_rss = run.peak_rss_during / _MB
        rss_delta = (run.peak_rss_during - (run.start_rss_during or 0)) / _MB
    elif mode == "reported" and run.figures.get("peak_rss_mb"):
        peak_rss = max(run.figures["peak_rss_mb"])
    elif mode in ("call", "children"):
        memory_note = f"RSS not measured (--quick, one call takes over {QUICK_MEMORY_SKIP_S:g} s)"

    peak_tm = None
    if bench.tracemalloc and not skip_extra:
        gc.collect()
        tracemalloc.start()
        try:
            fn()
            peak_tm = tracemalloc.get_traced_memory()[1] / _MB
        finally:
            tracemalloc.stop()

    info = dict(run.info)
    if memory_note:
        info["memory_note"] = memory_note
    work = run.work
    work_num = float(work) if isinstance(work, (int, float)) and not isinstance(work, bool) else None
    row = _row(bench.suite, bench.name, bench.unit, bench.description, bench.gate, bench.latency, run.times,
               run.repeats, run.number, run.warmup, work_num, info)
    row.update({"peak_tracemalloc_mb": _round(peak_tm), "peak_rss_mb": _round(peak_rss),
                "rss_delta_mb": _round(rss_delta)})
    if run.figures:
        row["figures"] = {k: summarise(v) for k, v in run.figures.items()}
    rows = [row]
    for fr in bench.rows:
        values = run.figures.get(fr.figure)
        if not values:
            continue
        amount = fr.work
        if isinstance(amount, str):
            amount = run.figures[amount][-1] if run.figures.get(amount) else None
        if fr.inverse:
            if not amount:
                continue
            times = [amount / v if v > 0 else math.inf for v in values]
        else:
            times = [v * fr.scale_s for v in values]
        gate = bench.gate if fr.gate is None else fr.gate
        sub = _row(bench.suite, fr.name, fr.unit, fr.description or f"{bench.name}: {fr.figure}", gate,
                   amount is None, times, run.repeats, run.number, run.warmup, amount,
                   {"from": f"{bench.name} -> {fr.figure}"})
        sub.update({"peak_tracemalloc_mb": row["peak_tracemalloc_mb"], "peak_rss_mb": row["peak_rss_mb"],
                    "rss_delta_mb": row["rss_delta_mb"], "group": bench.name})
        rows.append(sub)
    return rows


def summarise(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max and p95 of the values a figure took over the repeats."""
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
            "p95": _percentile(ordered, 0.95), "n": len(ordered)}


def _row(suite: str, name: str, unit: str, description: str, gate: bool, latency: bool, times: list[float],
         repeats: int, number: int, warmup: int, work: float | None, info: dict[str, Any]) -> dict[str, Any]:
    ordered = sorted(times)
    median = statistics.median(ordered)
    return {
        "suite": suite,
        "name": name,
        "unit": unit,
        "description": description,
        "gate": gate,
        "latency": latency,
        "median_s": median,
        "min_s": ordered[0],
        "max_s": ordered[-1],
        "p95_s": _percentile(ordered, 0.95),
        "mean_s": statistics.fmean(ordered),
        "stdev_s": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
        "repeats": repeats,
        "number": number,
        "warmup": warmup,
        "work": work,
        "rate": (work / median) if (work is not None and median > 0 and not latency) else None,
        "peak_tracemalloc_mb": None,
        "peak_rss_mb": None,
        "rss_delta_mb": None,
        "times_s": list(times),
        "info": info,
    }


def measure(bench: Benchmark, ctx: Context) -> list[dict[str, Any]]:
    """Run one benchmark on its own: prepare, all repeats, finish."""
    run = prepare(bench, ctx)
    for _ in range(run.repeats):
        time_repeat(run)
    return finish(run)


def _round(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def _at_min(result: dict[str, Any]) -> dict[str, Any]:
    """The result as if every repeat had taken its fastest time (the least load-disturbed estimate)."""
    best = dict(result, median_s=result["min_s"])
    if result.get("rate") is not None and result["min_s"] > 0:
        best["rate"] = result["work"] / result["min_s"]
    return best


def compute_ratios(registry: Registry, suites: Sequence[str], results: list[dict[str, Any]]) -> list[dict]:
    """Evaluate the ratios of `suites` on `results`; a ratio whose inputs are missing is left out.

    `value` uses the medians (the figure with a target); `value_from_min` the same formula on each
    benchmark's fastest repeat, shown beside it as a check on how much load noise moved the value.
    """
    out = []
    by_name = {(x["suite"], x["name"]): x for x in results if "error" not in x}
    for r in registry.ratios:
        if r.suite not in suites:
            continue

        def get(name: str, _suite: str = r.suite) -> dict[str, Any]:
            return by_name[(_suite, name)]

        def get_min(name: str, _suite: str = r.suite) -> dict[str, Any]:
            return _at_min(by_name[(_suite, name)])
        try:
            value = float(r.fn(get))
            value_min = float(r.fn(get_min))
        except KeyError:
            continue
        meets = None
        if r.target is not None:
            meets = value >= r.target if r.better == "higher" else value <= r.target
        out.append({"suite": r.suite, "name": r.name, "value": value, "target": r.target, "better": r.better,
                    "meets": meets, "unit": r.unit, "value_from_min": value_min, "description": r.description})
    return out


# ----------------------------------------------------------------------------------------------- comparing

def parse_threshold(text: str) -> float:
    """"10%" or "10" -> 0.10 (always a percentage)."""
    raw = text.strip().rstrip("%").strip()
    try:
        value = float(raw) / 100.0
    except ValueError:
        raise UsageError(f"--threshold {text!r} is not a percentage like 10%") from None
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--threshold {text!r} must be a percentage >= 0")
    return value


# ----------------------------------------------------------------------------------------------- output

def fmt_num(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    right = right or [False] + [True] * (len(headers) - 1)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def results_table(doc: dict[str, Any]) -> str:
    rows = []
    for r in doc["results"]:
        if "error" in r:
            rows.append([f"{r['suite']}/{r['name']}", "ERROR", "", "", "", "", "", "", ""])
            continue
        rows.append([f"{r['suite']}/{r['name']}", fmt_time(r["median_s"]), fmt_time(r["min_s"]),
                     fmt_time(r["max_s"]), fmt_time(r["p95_s"]), f"{r['repeats']}x{r['number']}",
                     fmt_rate(r["rate"], r["unit"]), fmt_num(r["peak_tracemalloc_mb"]), fmt_num(r["peak_rss_mb"])])
    return table(["benchmark", "median", "min", "max", "p95", "reps", "rate", "tracemalloc MB", "peak RSS MB"], rows)


def ratios_table(doc: dict[str, Any]) -> str:
    rows = []
    for q in doc["ratios"]:
        target = "-" if q["target"] is None else ((">= " if q["better"] == "higher" else "<= ")
                                                  + fmt_value(q["target"], q["unit"]))
        meets = {True: "yes", False: "NO", None: "-"}[q["meets"]]
        rows.append([f"{q['suite']}/{q['name']}", fmt_value(q["value"], q["unit"]), target, meets,
                     fmt_value(q.get("value_from_min"), q["unit"])])
    return table(["figure", "value (medians)", "target", "meets", "from fastest repeats"], rows)


def compare_table(rows: list[dict[str, Any]], baseline: dict[str, Any], doc: dict[str, Any]) -> str:
    out = []
    for r in rows:
        change = r["time_change"]
        out.append([f"{r['suite']}/{r['name']}", fmt_time(r["base_median_s"]), fmt_time(r["median_s"]),
                    "-" if change is None else f"{change * 100:+.1f}%",
                    fmt_rate(r["base_rate"], r["unit"] or ""), fmt_rate(r["rate"], r["unit"] or ""), r["status"]])
    text = table(["benchmark", "baseline", "now", "time", "baseline rate", "rate now", "status"], out)
    base_ratios = {(q["suite"], q["name"]): q for q in baseline.get("ratios", [])}
    qrows = []
    for q in doc["ratios"]:
        b = base_ratios.get((q["suite"], q["name"]))
        qrows.append([f"{q['suite']}/{q['name']}", fmt_value(b["value"] if b else None, q["unit"]),
                      fmt_value(q["value"], q["unit"])])
    if qrows:
        text += "\n\n" + table(["figure", "baseline", "now"], qrows)
    return text


# ----------------------------------------------------------------------------------------------- running

def select(registry: Registry, suites: Sequence[str] | None, patterns: Sequence[str] | None,
           notes: list[str], quick: bool = False) -> tuple[list[str], list[Benchmark]]:
    """The suites to run (UsageError for an unknown or unavailable requested suite) and their benchmarks.

    With `quick`, heavy benchmarks are left out (with a note) unless their suite was named.
    """
    known = registry.suite_names()
    if suites:
        for s in suites:
            if s not in known:
                raise UsageError(f"unknown suite {s!r} (known: {', '.join(known)})")
        chosen = list(dict.fromkeys(suites))
    else:
        chosen = known
    runnable = []
    for s in chosen:
        registry.load(s)
        why = registry.why_unavailable(s)
        if why:
            if suites:
                raise UsageError(f"suite {s!r} cannot run here: {why}")
            notes.append(f"suite {s!r} skipped: {why}")
            continue
        runnable.append(s)
    benches = [b for b in registry.benchmarks if b.suite in runnable
               and (not patterns or any(fnmatch(b.name, p) or p in b.name for p in patterns))]
    if quick:
        named = set(suites or ())
        heavy = [b for b in benches if b.heavy and b.suite not in named]
        for suite in dict.fromkeys(b.suite for b in heavy):
            names = ", ".join(b.name for b in heavy if b.suite == suite)
            notes.append(f"--quick: heavy benchmarks of {suite!r} skipped ({names}); name the suite to run them")
        benches = [b for b in benches if b not in heavy]
        runnable = [s for s in runnable if any(b.suite == s for b in benches) or not any(
            b.suite == s for b in registry.benchmarks)]
    return runnable, benches


def run(registry: Registry, suites: Sequence[str] | None = None, *, quick: bool = False, tiny: bool = False,
        patterns: Sequence[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the chosen suites; return the results document (see module docstring of benchmarks)."""
    notes: list[str] = []
    chosen, benches = select(registry, suites, patterns, notes, quick=quick)
    mode = "".join([" (quick)" if quick else "", " (tiny: figures meaningless)" if tiny else ""])
    log(f"benchmarks: {len(benches)} in suite(s) {', '.join(chosen) or 'none'}{mode}")
    created = datetime.now(UTC).isoformat(timespec="seconds")
    doc: dict[str, Any] = {
        "machine": machine.machine_info(),
        "versions": machine.versions(),
        "git_commit": machine.git_commit(),
        "created": created,
        "mode": {"suites": chosen, "quick": quick, "tiny": tiny, "filter": list(patterns or [])},
    }
    results = []
    # What exists before the run (modules, and in a test process every earlier test's objects) is moved out
    # of the collector's reach: the collections before each repeat then scan only what the run made, and
    # do not take ~0.1-0.5 s each in a long-lived process.
    gc.collect()
    gc.freeze()
    with contextlib.ExitStack() as stack:
        stack.callback(gc.unfreeze)
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="backbench-bench-"))
        ctx = Context(quick=quick, tiny=tiny, scratch=Path(scratch), notes=notes)
        for suite in chosen:
            t_suite = time.perf_counter()
            try:
                results.extend(_run_suite([b for b in benches if b.suite == suite], ctx, log))
            finally:
                ctx.run_cleanups()
            doc.setdefault("suite_seconds", {})[suite] = round(time.perf_counter() - t_suite, 1)
        doc["results"] = results
        try:
            doc["machine"]["load_avg_end"] = [round(x, 2) for x in psutil.getloadavg()]
        except (OSError, AttributeError):  # pragma: no cover
            pass
        doc["ratios"] = compute_ratios(registry, chosen, results)
        doc["checks"] = ctx.checks
        doc["notes"] = notes
    return doc


def _error(bench: Benchmark, exc: Exception, log: Callable[[str], None]) -> dict[str, Any]:
    res = {"suite": bench.suite, "name": bench.name, "unit": bench.unit, "error": f"{type(exc).__name__}: {exc}"}
    log(f"  {bench.suite + '/' + bench.name:<44} ERROR {res['error']}")
    return res


def _run_suite(benches: list[Benchmark], ctx: Context, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Prepare every benchmark of a suite, then time their repeats interleaved (round r of each in
    turn), so a burst of load from other processes falls on all of them alike and the ratios
    between them hold better than with one benchmark's repeats back to back; then memory."""
    runs: list[_Run] = []
    errors: dict[str, dict[str, Any]] = {}
    for bench in benches:
        label = f"{bench.suite}/{bench.name}"
        try:
            run = prepare(bench, ctx)
        except Skip as exc:
            ctx.note(f"{label} skipped: {exc}")
            log(f"  {label:<44} skipped: {exc}")
            continue
        except Exception as exc:  # a failing benchmark is reported, the others still run
            errors[bench.name] = _error(bench, exc, log)
            continue
        runs.append(run)
        log(f"  {label:<44} ready: {run.repeats} repeats of {run.number} call(s)  [setup {run.setup_s:.1f} s]")
    t0 = time.perf_counter()
    for r in range(max((run.repeats for run in runs), default=0)):
        for run in runs:
            if r < run.repeats and run.bench.name not in errors:
                try:
                    time_repeat(run)
                except Exception as exc:
                    errors[run.bench.name] = _error(run.bench, exc, log)
    if runs:
        log(f"  timed {len(runs)} benchmark(s), repeats interleaved  [{time.perf_counter() - t0:.1f} s]")
    out = []
    for bench in benches:
        run = next((x for x in runs if x.bench is bench), None)
        if bench.name in errors:
            out.append(errors[bench.name])
        elif run is not None:
            try:
                rows = finish(run)
            except Exception as exc:
                out.append(_error(bench, exc, log))
                continue
            for res in rows:
                rate = f"  {fmt_rate(res['rate'], res['unit'])}" if res["rate"] is not None else ""
                log(f"  {res['suite'] + '/' + res['name']:<44} median {fmt_time(res['median_s']):>11}  "
                    f"({res['repeats']}x{res['number']}){rate}")
            out.extend(rows)
    return out


def _load_json(path: str, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{what} {path!r} not found") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{what} {path!r} is not a results JSON file: {exc}") from None
    try:
        check_results(doc, Path(path).name)
    except ResultsFileError as exc:
        raise UsageError(f"{what} {path!r} is not a results JSON file: {exc.detail}") from None
    return doc


def build_parser() -> argparse.ArgumentParser:
    """The same arguments as `backbench bench` (defined once, in app/cli_bench.py)."""
    from app.cli_bench import add_bench_arguments

    p = argparse.ArgumentParser(prog="python -m benchmarks", description="Run Backbench's benchmark suites.")
    add_bench_arguments(p)
    return p


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    return run_args(build_parser().parse_args(argv), registry)


def run_args(args: argparse.Namespace, registry: Registry | None = None) -> int:
    """Carry out parsed arguments (`python -m benchmarks ...` and `backbench bench ...`): an exit code."""
    registry = registry or REGISTRY
    try:
        threshold = parse_threshold(args.threshold)
        if args.action == "report":
            return _report(args, threshold)
        if args.results:
            raise UsageError(f"unexpected argument {args.results!r} (a results file goes with `report`)")
        baseline = _load_json(args.compare, "baseline") if args.compare else None
        if args.metrics_file:
            _check_metrics_client()
        if args.action == "list":
            return _list(registry, args.suite)
        doc = run(registry, args.suite, quick=args.quick, tiny=args.tiny, patterns=args.filter)
    except UsageError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    print()
    print(results_table(doc))
    if doc["ratios"]:
        print()
        print(ratios_table(doc))
    for check in doc["checks"]:
        print(f"check: {check.get('name')}: {'ok' if check.get('ok') else 'FAILED'} {check.get('detail', '')}")
    for note in doc["notes"]:
        print(f"note: {note}")
    m = doc["machine"]
    print(f"machine: {m['processor']}, {m['cpu_count_usable']} usable CPUs, load {m['load_avg_1_5_15']} at start, "
          f"{m.get('load_avg_end')} at end; "
          f"commit {doc['git_commit']}; seconds per suite {doc.get('suite_seconds')}")

    outs = [args.out] if args.out else []
    if args.save_baseline:
        outs.append(str(machine.REPO_ROOT / "benchmarks" / "baselines" / f"{machine.machine_tag()}.json"))
    for out in outs:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {out}")
    if args.html:
        _write_html(args.html, doc, baseline, None, threshold)
    if args.metrics_file:
        from app.metrics.bench import write_bench_file

        write_bench_file(doc, args.metrics_file)
        print(f"wrote {args.metrics_file}")

    failed = [f"{r['suite']}/{r['name']}" for r in doc["results"] if "error" in r]
    for r in doc["results"]:
        if "error" in r:
            print(f"FAILED {r['suite']}/{r['name']}: {r['error']}")
    code = EXIT_FAILED if failed else EXIT_OK
    if baseline is not None:
        rows = compare(doc, baseline, threshold)
        print()
        print(f"compared with {args.compare} (created {baseline.get('created')}, "
              f"commit {baseline.get('git_commit')}), threshold {threshold * 100:g}%:")
        print(compare_table(rows, baseline, doc))
        regressed = [f"{r['suite']}/{r['name']}" for r in rows if r["regressed"]]
        if regressed:
            print(f"REGRESSION past {threshold * 100:g}%: {', '.join(regressed)}")
            code = code or EXIT_REGRESSION
    return code


def _check_metrics_client() -> None:
    """--metrics-file needs prometheus_client: say so before any benchmark runs."""
    from app.metrics.exporter import require_client
    from engine.errors import BackbenchError

    try:
        require_client("--metrics-file")
    except BackbenchError as exc:
        raise UsageError(str(exc)) from None


def _report(args: argparse.Namespace, threshold: float) -> int:
    """`report RESULTS [--compare BASELINE] [--suite ...] [--html OUT]`: text tables, or an HTML page."""
    from benchmarks.report import select_suites

    if not args.results:
        raise UsageError("report needs a results JSON: python -m benchmarks report results.json --html report.html")
    doc = _load_json(args.results, "results")
    baseline = _load_json(args.compare, "baseline") if args.compare else None
    suites = select_suites(doc, args.suite, args.results)
    if args.html:
        _write_html(args.html, doc, baseline, suites, threshold)
        return EXIT_OK
    shown = {**doc, "results": [r for r in doc["results"] if r["suite"] in suites],
             "ratios": [q for q in doc.get("ratios", []) if q["suite"] in suites]}
    print(results_table(shown))
    if shown["ratios"]:
        print()
        print(ratios_table(shown))
    if baseline is not None:
        print()
        print(compare_table(compare(shown, baseline, threshold), baseline, shown))
    return EXIT_OK


def _write_html(path: str, doc: dict[str, Any], baseline: dict[str, Any] | None, suites: Sequence[str] | None,
                threshold: float) -> None:
    from benchmarks.report import render_html

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(render_html(doc, baseline, suites, threshold=threshold), encoding="utf-8")
    print(f"wrote {path}")


def _list(registry: Registry, suites: Sequence[str] | None) -> int:
    notes: list[str] = []
    chosen, benches = select(registry, suites, None, notes)
    for s in chosen:
        print(s)
        for b in benches:
            if b.suite == s:
                print(f"  {b.name:<40} {b.unit:<12} {b.description}{' (heavy)' if b.heavy else ''}")
        for r in registry.ratios:
            if r.suite == s:
                print(f"  ratio {r.name:<34} {r.description}")
    for note in notes:
        print(f"note: {note}")
    return EXIT_OK
