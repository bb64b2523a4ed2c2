"""Suite "stress" (heavy: skipped with --quick unless named): the engine under load, at scale.

- multi_dataset_100x100: one run_sweep of 100 parameter sets over 100 symbols at once (2,000 daily
  demo bars each: 10,000 backtests) on LocalExecutor(all cores); every row present, none failed, and a
  spot check of one (symbol, combo) against run_backtest.
- l1_cache_1m_ops_8_threads: 1,000,000 operations (80 % get, 20 % put over 20,000 keys) from 8 threads
  on one L1Cache bounded so that it evicts; afterwards hits + misses = gets, every hit returned the
  value put for its key, and the cache is within its byte bound.
- backtests_10k_rss_growth: 10,000 backtests in one fresh process (2,000 bars each, windows cycling
  over 500 combos, no cache); RSS after 1,000 of them (the warm-up) against RSS at the end. Aim: < 5 %.
- end_to_end_10m: 10,000,000 minute bars generated, written to a fresh DuckDB store, read back
  (checked equal by fingerprint) and backtested, in a fresh process; a row per stage.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from typing import Any

from benchmarks.machine import REPO_ROOT
from benchmarks.runner import Context, FigureRow, Sample, benchmark, ratio
from benchmarks.suite_backtest import child_env
from benchmarks.suite_sweep import all_cores

SUITE = "stress"
TARGET_RSS_GROWTH_PCT = 5.0
HEAVY = dict(heavy=True, tracemalloc=False, min_time=0.0)


def _one_shot(role: str, *args: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.stress_child", role, *map(str, args)], cwd=REPO_ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        tail = " | ".join(x.strip() for x in proc.stderr.strip().splitlines()[-4:]) or "(no stderr)"
        raise RuntimeError(f"stress child {role} failed (exit {proc.returncode}): {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------- many datasets

@benchmark(suite=SUITE, name="multi_dataset_100x100", unit="bar-steps/s", repeats=3, warmup=1, **HEAVY)
def _multi(ctx: Context):
    """run_sweep: 100 param sets x 100 symbols x 2,000 bars at once, LocalExecutor(all cores)"""
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import generate_bars
    from engine.sweep import run_sweep
    from engine.sweep.executors import LocalExecutor

    n_symbols, n_bars = ctx.size(100, 5), ctx.size(2_000, 300)
    datasets = [generate_bars(f"S{i:03d}", n_bars, "1d") for i in range(n_symbols)]
    combos = [{"n1": a, "n2": b} for a in range(5, 55, 5) for b in range(60, 260, 20)]
    config = SimConfig(commission=0.001)
    executor = LocalExecutor(all_cores())
    ctx.at_suite_end(executor.close)
    expected_rows = len(combos) * n_symbols

    def work() -> int:
        result = run_sweep(datasets, "sma_cross", combos=combos, config=config, executor=executor)
        if result.errors or result.rows.height != expected_rows:
            raise RuntimeError(f"{result.rows.height} rows and {len(result.errors)} errors, expected "
                               f"{expected_rows} rows")
        return expected_rows * n_bars

    result = run_sweep(datasets, "sma_cross", combos=combos, config=config, executor=executor)
    d, c = random.Random(5).randrange(n_symbols), random.Random(6).randrange(len(combos))
    row = result.rows.filter((result.rows["dataset"] == d) & (result.rows["combo"] == c)).to_dicts()[0]
    ref = run_backtest(datasets[d], "sma_cross", combos[c], config).stats
    ok = row["symbol"] == datasets[d].symbol and row["equity_final"] == ref["equity_final"]
    ctx.checks.append({"name": "stress: multi-dataset sweep row equals run_backtest", "ok": ok,
                       "detail": f"{datasets[d].symbol} {combos[c]}: {row['equity_final']!r} vs "
                                 f"{ref['equity_final']!r}"})
    if not ok:
        raise RuntimeError("multi-dataset sweep row differs from run_backtest")
    return work, {"symbols": n_symbols, "combos": len(combos), "bars": n_bars, "workers": executor.workers}


# ----------------------------------------------------------------------------------------------- cache

@benchmark(suite=SUITE, name="l1_cache_1m_ops_8_threads", unit="ops/s", repeats=3, warmup=0, **HEAVY)
def _cache(ctx: Context):
    """1,000,000 L1Cache ops (80 % get / 20 % put, 20,000 keys) from 8 threads, evicting"""
    from engine.cache import L1Cache

    threads, total, n_keys = 8, ctx.size(1_000_000, 40_000), 20_000
    per_thread = total // threads
    keys = [f"{i:032x}" for i in range(n_keys)]

    def work() -> Sample:
        cache = L1Cache(2 << 20)  # ~2 MB: holds a fraction of the keys, so puts evict
        counts = [[0, 0, 0] for _ in range(threads)]  # gets, wrong values, puts
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def run(t: int) -> None:
            rng = random.Random(t)
            c = counts[t]
            try:
                start.wait()
                for _ in range(per_thread):
                    k = rng.randrange(n_keys)
                    if rng.random() < 0.8:
                        c[0] += 1
                        v = cache.get(keys[k], None)
                        if v is not None and v["k"] != k:
                            c[1] += 1
                    else:
                        c[2] += 1
                        cache.put(keys[k], {"k": k, "sharpe_ratio": 1.0, "return_pct": 2.0, "n_trades": 3})
            except BaseException as exc:  # noqa: B036 - reported below
                errors.append(exc)

        pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        import time

        t0 = time.perf_counter()
        for th in pool:
            th.start()
        for th in pool:
            th.join()
        seconds = time.perf_counter() - t0
        stats = cache.stats()
        gets, wrong = sum(c[0] for c in counts), sum(c[1] for c in counts)
        if errors or wrong or stats["hits"] + stats["misses"] != gets or stats["bytes"] > stats["max_bytes"]:
            raise RuntimeError(f"L1 under 8 threads: errors={errors[:1]}, wrong values={wrong}, "
                               f"hits+misses={stats['hits'] + stats['misses']} vs gets={gets}, "
                               f"bytes={stats['bytes']} of {stats['max_bytes']}")
        return Sample(threads * per_thread, seconds, {"hits": stats["hits"], "evictions": stats["evictions"],
                                                      "entries": stats["entries"]})
    return work, {"threads": threads, "ops": threads * per_thread, "keys": n_keys}


# ----------------------------------------------------------------------------------------------- one process

@benchmark(suite=SUITE, name="backtests_10k_rss_growth", unit="bars/s", repeats=1, warmup=0, memory="reported",
           **HEAVY)
def _growth(ctx: Context):
    """10,000 backtests in one fresh process: RSS growth after the first 1,000"""
    n, warm, n_bars = ctx.size(10_000, 300), ctx.size(1_000, 50), ctx.size(2_000, 500)

    def work() -> Sample:
        r = _one_shot("backtests", n, warm, n_bars)
        return Sample(r["work"], r["seconds"], {k: v for k, v in r.items() if not isinstance(v, list)})
    return work, {"backtests": n, "warmup_backtests": warm, "bars": n_bars}


@benchmark(suite=SUITE, name="end_to_end_10m", unit="bars/s", repeats=2, warmup=0, memory="reported", rows=(
    FigureRow("generate_s", "e2e_10m_generate", unit="bars/s", work="bars", description="generate_bars, 10M"),
    FigureRow("write_s", "e2e_10m_write", unit="rows/s", work="bars", description="Store.write_bars, fresh"),
    FigureRow("read_s", "e2e_10m_read", unit="rows/s", work="bars", description="Store.load -> Bars"),
    FigureRow("backtest_s", "e2e_10m_backtest", unit="bars/s", work="bars", description="run_backtest")),
    **HEAVY)
def _e2e(ctx: Context):
    """10M minute bars: generate -> store write -> read -> backtest, one fresh process"""
    n = ctx.size(10_000_000, 50_000)

    def work() -> Sample:
        r = _one_shot("e2e", n)
        return Sample(r["work"], r["seconds"], r)
    return work, {"bars": n}


# ----------------------------------------------------------------------------------------------- figures

@ratio(suite=SUITE, name="rss_growth_10k_backtests_pct", target=TARGET_RSS_GROWTH_PCT, better="lower", unit="%")
def _growth_pct(get) -> float:
    """RSS growth over 9,000 backtests after a 1,000-backtest warm-up, one process"""
    return get("backtests_10k_rss_growth")["figures"]["rss_growth_pct"]["median"]


@ratio(suite=SUITE, name="e2e_10m_peak_mb", unit="MB", better="lower")
def _e2e_peak(get) -> float:
    """peak RSS of the 10M-bar end-to-end process"""
    return get("end_to_end_10m")["peak_rss_mb"]


@ratio(suite=SUITE, name="l1_ops_per_s_8_threads", unit="ops/s")
def _cache_rate(get) -> float:
    """L1 operations per second, 8 threads together"""
    return get("l1_cache_1m_ops_8_threads")["rate"]
