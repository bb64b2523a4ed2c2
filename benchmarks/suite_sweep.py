"""Suite "sweep": parameter-sweep throughput, ours against vectorbt's own sweep, parallel efficiency, memory.

Workload (issue 4): SMA cross, n1 in 5..100 step 5, n2 in 10..200 step 10, n1 < n2: 300 combos (the
issue says 190, which would be the 20-choose-2 pairs of one window list; this grid has 300), on seeded
demo minute bars, 10,000 cash, 0.2 % commission, vectorbt's semantics (fill at the signal bar's close,
all cash, fractional units: our "vectorbt" preset). Figures are in bar-steps per second (combos x bars
/ seconds of the whole sweep: signals, simulate and stats of every combo).

Every side runs in a child process of its own (benchmarks/sweep_child.py) that stays up between
calls: it times only the sweep, and reports the peak RSS of its own process tree (itself plus its pool
workers, sampled every 10 ms during the sweep, after freed heap pages were handed back to the OS), so
the runner's memory never counts:
- ours: `run_sweep(..., executor=LocalExecutor(N))`, N = the CPUs this process may use (all cores);
  one child for the 100,000-bar figures, one for the 1,000,000-bar ones (so the 100k memory figure
  never includes a 1M run's leftovers), one with LocalExecutor(1) for the parallel-efficiency figure.
  Both pools get the same chunk size, so they do the same work. The efficiency is measured on 100k
  bars (every run) and on 1M bars (heavy: full runs only), where the sweep's fixed costs weigh less.
- vectorbt: `MA.run(close, n1s, run_unique=True)`, the same for n2s, `ma_crossed_above/below`,
  `Portfolio.from_signals(close, entries, exits, init_cash, fees, freq)` over all 300 columns at once,
  `pf.stats(agg_func=None)` (stats per column): its documented way to sweep, on the 100,000-bar case.
  Its first full-size call runs ~1.6x slower than later ones (measured), so it gets one untimed call
  first, as every benchmark does.

Equal results, checked before anything is timed: our signals fed to vectorbt's from_signals give our
final equity for every combo (1e-9 relative) and our closed-trade count; then, on vectorbt's own
pipeline (its MA and crossover, which can differ from ours: docs/compat.md), every combo whose
native signals equal ours has our final equity, and the run fails unless at least 95 % of the
combos' native signals are equal to ours (on this data all 300 are).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from benchmarks.child import ChildServer
from benchmarks.runner import Context, Sample, Skip, benchmark, ratio
from benchmarks.sweep_child import GRIDS, pairs

SUITE = "sweep"
TARGET_VS_VECTORBT = 20.0
TARGET_MEMORY_VS_VECTORBT = 2.0  # ours at no more than half vectorbt's peak
TARGET_EFFICIENCY = 0.9
TARGET_1000X1M_MB = 500.0
RTOL = 1e-9
MIN_NATIVE_EQUAL = 0.95

SERVER = dict(unit="bar-steps/s", tracemalloc=False, memory="reported", min_time=0.0)


def _has_vectorbt() -> str | None:
    import importlib.util

    return None if importlib.util.find_spec("vectorbt") else "vectorbt not installed (pip install -e '.[peers]')"


def all_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def _chunk_size(ctx: Context) -> int:
    """The chunk size the N-worker pool picks for the 300-combo grid; the 1-worker pool gets it too."""
    from engine.sweep.run import _auto_chunk

    return _auto_chunk(len(pairs("issue4")), all_cores())


# The children of the suite: key -> (role, pool workers). All are spawned when the suite is set up, and
# their slow starts (imports, pool workers) overlap one another (nothing is timed during setup).
CHILDREN = {"100k": ("ours", None), "1worker": ("ours", 1), "1m": ("ours", None), "vectorbt": ("vectorbt", None)}


def _children(ctx: Context) -> dict[str, tuple[ChildServer, dict[str, Any]]]:
    def make() -> dict[str, tuple[ChildServer, dict[str, Any]]]:
        spawned = {}
        for key, (role, _) in CHILDREN.items():
            if role == "vectorbt" and _has_vectorbt():
                continue
            child = ChildServer("benchmarks.sweep_child", role)
            ctx.at_suite_end(child.close)
            spawned[key] = child
        for key, child in spawned.items():
            workers = CHILDREN[key][1]
            child.send("start", **({} if CHILDREN[key][0] == "vectorbt" else {"workers": workers or all_cores()}))
        return {key: (child, child.receive("start")) for key, child in spawned.items()}
    return ctx.shared("sweep:children", make)


def _server(ctx: Context, key: str) -> tuple[ChildServer, dict[str, Any]]:
    return _children(ctx)[key]


def _sweep_call(child: ChildServer, n: int, grid: str, chunk_size: int | None):
    def work() -> Sample:
        r = child.call("sweep", n=n, grid=grid, chunk_size=chunk_size)
        return Sample(r["work"], r["seconds"], {"peak_rss_mb": r["peak_rss_mb"], "peak_pss_mb": r["peak_pss_mb"],
                                                "idle_rss_mb": r["start_rss_mb"], "hwm_sum_mb": r["hwm_sum_mb"]})
    return work


def _n100k(ctx: Context) -> int:
    return ctx.size(100_000, 5_000)


def _n1m(ctx: Context) -> int:
    return ctx.size(1_000_000, 20_000)


# ----------------------------------------------------------------------------------------------- parity

def parity(ctx: Context) -> dict[str, Any]:
    return ctx.shared("sweep:parity", lambda: _parity(ctx))


def _parity(ctx: Context) -> dict[str, Any]:
    """Our 100k sweep vs vectorbt fed our signals; starts the vectorbt child the timed runs use."""
    if _has_vectorbt():
        return {}
    ours, started = _server(ctx, "100k")
    n = _n100k(ctx)
    mine = ours.call("sweep", n=n, grid="issue4", chunk_size=_chunk_size(ctx), want_equity=True)
    combos = pairs("issue4")
    if [tuple(p) for p in mine["params"]] != combos:
        raise RuntimeError("run_sweep's combo order differs from the vectorbt columns' order")
    path = str(ctx.scratch / f"sweep_inputs_{n}.npz")
    ours.call("write_inputs", n=n, grid="issue4", path=path)

    vbt, info = _server(ctx, "vectorbt")
    vbt.call("load", path=path)
    fed = vbt.call("check")
    equity = np.asarray(mine["equity_final"], dtype=float)
    theirs = np.asarray(fed["fed_final_value"], dtype=float)
    rel = np.abs(theirs - equity) / np.maximum(1.0, np.maximum(np.abs(equity), np.abs(theirs)))
    trades_equal = fed["fed_closed_trades"] == mine["n_trades"]
    ok = bool(np.all(rel <= RTOL) and trades_equal)
    detail = (f"{len(combos)} combos x {n:,} bars, our signals fed to vectorbt's from_signals: final equity "
              f"max rel diff {rel.max():.1e}, closed trades {'equal' if trades_equal else 'DIFFER'}")
    ctx.checks.append({"name": "sweep: vectorbt from_signals fed our signals vs ours (compat=vectorbt)",
                       "ok": ok, "detail": detail})
    if not ok:
        raise RuntimeError(f"sweep parity failed: {detail}")
    ctx.note(f"vectorbt child: import {info['import_s']:.1f} s; its numba functions compile during the parity "
             "check and the untimed first call")
    return {"vbt": vbt, "equity": equity, "bars": n, "combos": len(combos), "workers": started["workers"]}


def _check_native(ctx: Context, reply: dict[str, Any], equity: np.ndarray) -> None:
    same = np.asarray(reply["native_signals_equal"], dtype=bool)
    native = np.asarray(reply["native_final_value"], dtype=float)
    rel = np.abs(native - equity) / np.maximum(1.0, np.maximum(np.abs(equity), np.abs(native)))
    worst = float(rel[same].max()) if same.any() else 0.0
    ok = bool(same.mean() >= MIN_NATIVE_EQUAL and worst <= RTOL)
    detail = (f"vectorbt's own MA + crossover: native signals equal ours on {int(same.sum())}/{len(same)} combos; "
              f"on those, final equity max rel diff {worst:.1e}")
    ctx.checks.append({"name": "sweep: vectorbt native pipeline vs ours (compat=vectorbt)", "ok": ok,
                       "detail": detail})
    if not ok:
        raise RuntimeError(f"sweep parity (native) failed: {detail}")


# ----------------------------------------------------------------------------------------------- benchmarks

@benchmark(suite=SUITE, name="ours_100k", repeats=5, quick_repeats=3, **SERVER)
def _ours_100k(ctx: Context):
    """run_sweep, 300 combos x 100,000 bars, LocalExecutor(all cores), own child process"""
    p = parity(ctx)
    child, started = _server(ctx, "100k")
    return _sweep_call(child, _n100k(ctx), "issue4", _chunk_size(ctx)), {
        "bars": _n100k(ctx), "combos": len(pairs("issue4")), "workers": started["workers"],
        "chunk_size": _chunk_size(ctx), "parity": bool(p)}


@benchmark(suite=SUITE, name="vectorbt_100k", gate=False, repeats=3, quick_repeats=1, warmup=0, **SERVER)
def _vectorbt_100k(ctx: Context):
    """vectorbt: MA.run x2 + crossed_above/below + from_signals over 300 columns + stats per column"""
    why = _has_vectorbt()
    if why:
        raise Skip(why)
    p = parity(ctx)
    vbt: ChildServer = p["vbt"]
    first = vbt.call("pipeline", grid="issue4", want_check=True)  # untimed: the slow first call, and the check
    _check_native(ctx, first, p["equity"])

    def work() -> Sample:
        r = vbt.call("pipeline", grid="issue4")
        return Sample(r["work"], r["seconds"], {"peak_rss_mb": r["peak_rss_mb"], "peak_pss_mb": r["peak_pss_mb"],
                                                "idle_rss_mb": r["start_rss_mb"]})
    return work, {"bars": p["bars"], "combos": p["combos"], "first_call_s": first["seconds"],
                  "engine": "numba (vectorbt-rust not installed)"}


@benchmark(suite=SUITE, name="ours_100k_1_worker", repeats=5, quick_repeats=3, **SERVER)
def _ours_1_worker(ctx: Context):
    """the same sweep on LocalExecutor(1), same chunk size: T(1) of the parallel efficiency"""
    child, started = _server(ctx, "1worker")
    return _sweep_call(child, _n100k(ctx), "issue4", _chunk_size(ctx)), {
        "bars": _n100k(ctx), "workers": started["workers"], "chunk_size": _chunk_size(ctx)}


@benchmark(suite=SUITE, name="ours_1m", repeats=3, quick_repeats=1, quick_warmup=0, **SERVER)
def _ours_1m(ctx: Context):
    """run_sweep, 300 combos x 1,000,000 bars, LocalExecutor(all cores), own child process"""
    child, started = _server(ctx, "1m")
    return _sweep_call(child, _n1m(ctx), "issue4", _chunk_size(ctx)), {
        "bars": _n1m(ctx), "combos": len(pairs("issue4")), "workers": started["workers"],
        "chunk_size": _chunk_size(ctx)}


@benchmark(suite=SUITE, name="ours_1m_1_worker", repeats=3, heavy=True, **SERVER)
def _ours_1m_1_worker(ctx: Context):
    """the 1M sweep on LocalExecutor(1), same chunk size: T(1) of the parallel efficiency on 1M bars"""
    child, started = _server(ctx, "1worker")
    return _sweep_call(child, _n1m(ctx), "issue4", _chunk_size(ctx)), {
        "bars": _n1m(ctx), "workers": started["workers"], "chunk_size": _chunk_size(ctx)}


@benchmark(suite=SUITE, name="ours_1000x1m_memory", repeats=1, quick_repeats=1, warmup=0, heavy=True, **SERVER)
def _ours_1000(ctx: Context):
    """run_sweep, 1,000 combos (seeded sample) x 1,000,000 bars: peak RSS of the whole process tree"""
    child, started = _server(ctx, "1m")
    spec, where, random_n = GRIDS["random1000"]
    return _sweep_call(child, _n1m(ctx), "random1000", None), {
        "bars": _n1m(ctx), "combos": random_n, "workers": started["workers"], "grid": spec, "where": where}


# ----------------------------------------------------------------------------------------------- figures

@ratio(suite=SUITE, name="ours_vs_vectorbt_sweep_100k", target=TARGET_VS_VECTORBT)
def _vs_vbt(get) -> float:
    """vectorbt's sweep time / ours, 300 combos x 100k bars, equal results (median of repeats)"""
    return get("vectorbt_100k")["median_s"] / get("ours_100k")["median_s"]


@ratio(suite=SUITE, name="vectorbt_peak_memory_over_ours_100k", target=TARGET_MEMORY_VS_VECTORBT)
def _mem_vs_vbt(get) -> float:
    """vectorbt's peak RSS / ours (process + pool workers), 100k case (>= 2: ours at most half)"""
    return get("vectorbt_100k")["peak_rss_mb"] / get("ours_100k")["peak_rss_mb"]


@ratio(suite=SUITE, name="sweep_100k_bar_steps_per_s", unit="bar-steps/s")
def _rate_100k(get) -> float:
    """our sweep throughput on 100k bars, all cores"""
    return get("ours_100k")["rate"]


@ratio(suite=SUITE, name="sweep_1m_bar_steps_per_s", unit="bar-steps/s")
def _rate_1m(get) -> float:
    """our sweep throughput on 1M bars, all cores"""
    return get("ours_1m")["rate"]


@ratio(suite=SUITE, name="parallel_efficiency", target=TARGET_EFFICIENCY)
def _efficiency(get) -> float:
    """T(1 worker) / (N x T(N workers)), same sweep and chunks, N = all cores"""
    n = get("ours_100k")["info"]["workers"]
    return get("ours_100k_1_worker")["median_s"] / (n * get("ours_100k")["median_s"])


@ratio(suite=SUITE, name="parallel_efficiency_1m", target=TARGET_EFFICIENCY)
def _efficiency_1m(get) -> float:
    """the same on 1M bars, where a sweep's fixed costs (pool dispatch, rows, frame) weigh less"""
    n = get("ours_1m")["info"]["workers"]
    return get("ours_1m_1_worker")["median_s"] / (n * get("ours_1m")["median_s"])


@ratio(suite=SUITE, name="sweep_1000x1m_peak_mb", better="lower", unit="MB")
def _peak_1000(get) -> float:
    """peak RSS, process + workers, of a 1,000-combo sweep over 1M bars (counts shared pages once per process;
    the target is on the PSS figure below, as issue 17 decided)"""
    return get("ours_1000x1m_memory")["peak_rss_mb"]


def _figure_max(get, name: str, figure: str) -> float:
    return get(name)["figures"][figure]["max"]


@ratio(suite=SUITE, name="sweep_1000x1m_peak_pss_mb", target=TARGET_1000X1M_MB, unit="MB", better="lower")
def _pss_1000(get) -> float:
    """the same peak as PSS (shared libraries and shared-memory bars counted once, not per process)"""
    return _figure_max(get, "ours_1000x1m_memory", "peak_pss_mb")


@ratio(suite=SUITE, name="sweep_1m_idle_tree_mb", unit="MB", better="lower")
def _idle_1m(get) -> float:
    """RSS of the 1M child (process + workers, bars loaded) just before a sweep starts"""
    return get("ours_1m")["figures"]["idle_rss_mb"]["median"]


@ratio(suite=SUITE, name="sweep_100k_peak_mb", unit="MB", better="lower")
def _peak_100k(get) -> float:
    """peak RSS, process + workers, of the 300-combo sweep over 100k bars"""
    return get("ours_100k")["peak_rss_mb"]


@ratio(suite=SUITE, name="vectorbt_100k_peak_mb", unit="MB", better="lower")
def _peak_vbt(get) -> float:
    """vectorbt's peak RSS (one process) for the same sweep"""
    return get("vectorbt_100k")["peak_rss_mb"]



# The whole-process figures of issue 17 (command to exit: cached vs computed, 2-worker scaling against the
# machine's own side-by-side efficiency) live in their own module; importing it registers them here.
from benchmarks import sweep_process  # noqa: E402,F401
