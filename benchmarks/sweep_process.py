"""Sweep figures of issue 17 as a user waits for them: the whole `backbench sweep` process, command to exit.

Registered in the "sweep" suite (imported by benchmarks/suite_sweep.py). Every call starts the real
command (`<venv>/bin/backbench sweep --file BARS.parquet ...`) with its own store, cache and settings
in the run's scratch folder, and times it from start to exit; the repeats of all of them are
interleaved by the runner, so the ratios below compare calls made under the same load.

All run the 300-combo grid of the sweep suite on 1,000,000 minute bars (heavy: `--suite sweep` runs them).
- cached vs computed: 2 workers, with `--no-cache` (computed: cli_1m_2_workers) and with every combo
  already in the result cache (primed during setup).
- scaling: `--no-cache`: one process with 1 worker (the whole grid), one with 2 workers, and, as the
  machine's own yardstick, two 1-worker processes side by side, each
  on half the grid (n1 split into two bands of about 150 combos), timed until both have exited. The
  figure is our 2-worker efficiency T1 / (2 x T2) over the side-by-side efficiency T1 / (2 x Tpair),
  which is Tpair / T2: it holds on any box, loaded or not, as long as both are measured together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.fresh_process import with_bytecode
from benchmarks.runner import Context, Sample, benchmark, ratio
from benchmarks.sweep_child import GRIDS, SEED, SYMBOL, TIMEFRAME, grid_ranges

SUITE = "sweep"
TARGET_CACHED_SPEEDUP = 5.0
TARGET_SCALING_VS_SIDE_BY_SIDE = 0.95

PROCESS: dict[str, Any] = dict(unit="bar-steps/s", tracemalloc=False, memory="none", min_time=0.0, warmup=1)


def backbench_exe() -> str:
    exe = Path(sys.executable).with_name("backbench")
    return str(exe) if exe.exists() else shutil.which("backbench") or "backbench"


def _bars_file(ctx: Context, n: int) -> Path:
    def make() -> Path:
        import polars as pl

        from engine.data.demo import generate_bars

        b = generate_bars(SYMBOL, n, TIMEFRAME, seed=SEED)
        path = ctx.scratch / f"sweep_process_{n}.parquet"
        pl.DataFrame({"ts": b.ts.astype("datetime64[ns]"), "open": b.open, "high": b.high, "low": b.low,
                      "close": b.close, "volume": b.volume}).write_parquet(path)
        return path
    return ctx.shared(f"sweep_process:bars:{n}", make)


def _env(ctx: Context, name: str) -> dict[str, str]:
    home = ctx.scratch / f"sweep_process_{name}"
    home.mkdir(parents=True, exist_ok=True)
    return with_bytecode({**os.environ, "BACKBENCH_CACHE_DIR": str(home / "cache"),
                          "BACKBENCH_DB": str(home / "bars.duckdb"), "BACKBENCH_CONFIG": str(home / "backbench.toml")},
                         ctx)


def n1_bands() -> tuple[str, str]:
    """The grid's n1 values cut into two bands of about equal combo counts (n1 < n2 makes low n1 heavier)."""
    r = grid_ranges("issue4")
    n1s, n2s = list(r["n1"]), list(r["n2"])
    counts = [sum(1 for b in n2s if a < b) for a in n1s]
    total, run, cut = sum(counts), 0, 0
    for i, c in enumerate(counts):
        if abs(run + c - total / 2) > abs(run - total / 2):
            break
        run, cut = run + c, i + 1
    return ",".join(map(str, n1s[:cut])), ",".join(map(str, n1s[cut:]))


def _grid_args(n1: str | None = None) -> list[str]:
    spec, where, _ = GRIDS["issue4"]
    (a1, b1, s1), (a2, b2, s2) = spec["n1"], spec["n2"]
    return ["-g", f"n1={n1 or f'{a1}:{b1}:{s1}'}", "-g", f"n2={a2}:{b2}:{s2}", "--where", where.replace(" ", ""),
            "--top", "1"]


def _command(path: Path, workers: int, *extra: str, n1: str | None = None) -> list[str]:
    return [backbench_exe(), "sweep", "--file", str(path), *_grid_args(n1), "--workers", str(workers), *extra]


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def _combos() -> int:
    r = grid_ranges("issue4")
    return sum(1 for a in r["n1"] for b in r["n2"] if a < b)


def _process(ctx: Context, n: int, name: str, workers: int, *extra: str, prime: bool = False):
    path = _bars_file(ctx, n)
    env = _env(ctx, name)
    cmd = _command(path, workers, *extra)
    if prime:
        _run(_command(path, workers), env)  # fills the result cache: every later call is served from it
    work = _combos() * n

    def call() -> Sample:
        return Sample(work, _run(cmd, env))
    return call, {"bars": n, "combos": _combos(), "workers": workers, "command": " ".join(cmd[1:])}


def _n1m(ctx: Context) -> int:
    return ctx.size(1_000_000, 20_000)


@benchmark(suite=SUITE, name="cli_1m_cached", repeats=3, quick_repeats=1, heavy=True, **PROCESS)
def _cli_cached(ctx: Context):
    """`backbench sweep`, 300 combos x 1M bars, 2 workers, every combo already in the result cache"""
    return _process(ctx, _n1m(ctx), "cached", 2, prime=True)


@benchmark(suite=SUITE, name="cli_1m_1_worker", repeats=3, quick_repeats=1, heavy=True, **PROCESS)
def _cli_1m_1(ctx: Context):
    """`backbench sweep`, 300 combos x 1M bars, --workers 1, --no-cache: command to exit"""
    return _process(ctx, _n1m(ctx), "scaling", 1, "--no-cache")


@benchmark(suite=SUITE, name="cli_1m_2_workers", repeats=3, quick_repeats=1, heavy=True, **PROCESS)
def _cli_1m_2(ctx: Context):
    """the same with --workers 2: command to exit"""
    return _process(ctx, _n1m(ctx), "scaling", 2, "--no-cache")


@benchmark(suite=SUITE, name="cli_1m_halves_side_by_side", repeats=3, quick_repeats=1, heavy=True, **PROCESS)
def _cli_1m_halves(ctx: Context):
    """two `--workers 1` processes side by side, each on one n1 band (half the grid): until both exit"""
    n = _n1m(ctx)
    path = _bars_file(ctx, n)
    env = _env(ctx, "scaling")
    cmds = [_command(path, 1, "--no-cache", n1=band) for band in n1_bands()]

    def call() -> Sample:
        t0 = time.perf_counter()
        procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in cmds]
        outs = [p.communicate(timeout=900) for p in procs]
        seconds = time.perf_counter() - t0
        for p, (_, err) in zip(procs, outs, strict=True):
            if p.returncode != 0:
                raise RuntimeError(f"half-grid sweep exited {p.returncode}: {err[-2000:]}")
        return Sample(_combos() * n, seconds)
    info: dict[str, Any] = {"bars": n, "combos": _combos(), "bands": list(n1_bands())}
    return call, info


@ratio(suite=SUITE, name="cli_cached_over_computed", target=TARGET_CACHED_SPEEDUP)
def _cached_speedup(get) -> float:
    """`backbench sweep` computed (--no-cache) / fully cached, 300 combos x 1M bars, 2 workers"""
    return get("cli_1m_2_workers")["median_s"] / get("cli_1m_cached")["median_s"]


@ratio(suite=SUITE, name="cli_1m_efficiency_2_workers", unit="x")
def _eff_2(get) -> float:
    """T(1 worker) / (2 x T(2 workers)), whole processes, 300 combos x 1M bars"""
    return get("cli_1m_1_worker")["median_s"] / (2 * get("cli_1m_2_workers")["median_s"])


@ratio(suite=SUITE, name="cli_1m_efficiency_side_by_side", unit="x")
def _eff_side(get) -> float:
    """the machine's own: T(1 worker, whole grid) / (2 x T(two 1-worker halves side by side))"""
    return get("cli_1m_1_worker")["median_s"] / (2 * get("cli_1m_halves_side_by_side")["median_s"])


@ratio(suite=SUITE, name="cli_1m_scaling_vs_side_by_side", target=TARGET_SCALING_VS_SIDE_BY_SIDE)
def _scaling(get) -> float:
    """our 2-worker efficiency over the side-by-side one (= T(halves side by side) / T(2 workers))"""
    return get("cli_1m_halves_side_by_side")["median_s"] / get("cli_1m_2_workers")["median_s"]
