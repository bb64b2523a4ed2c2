"""Result cache and profiling benchmarks: `python -m benchmarks.bench_cache [--quick]`.

Figures: L1 hit latency (median ns per get, tight loop), L2 hit latency for a 10k-bar backtest result
(median ms, read + verify + decompress + decode), the whole `run_backtest` on an L1 / L2 hit,
profiling overhead on a 10k-bar backtest (enabled vs disabled, interleaved; and the direct cost of
the recording calls), ns per counter/timer record, a 1,000-combo sweep computed vs repeated from L1
and from L2 (a restarted app), and the hit rate of a scripted interactive session. Prints a table
and returns a dict of the figures.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from typing import Any

from engine.backtest import run_backtest
from engine.cache import DiskCache, L1Cache, ResultCache
from engine.cache.keys import backtest_key
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.runtime.profiling import Registry, default_registry, record_backtest
from engine.sweep import run_sweep

CONFIG = SimConfig(commission=0.001)


def _per_call_ns(fn: Any, batches: int, per_batch: int = 1000, rounds: int = 3) -> float:
    """Mean ns per call of `fn()` in a tight loop of `per_batch` calls: the median over `batches`
    batches, best of `rounds` rounds (the machine is shared; the best round is the least disturbed).
    Includes the loop and the call of `fn` itself (~30-60 ns)."""
    rng = range(per_batch)
    best = float("inf")
    for _ in range(rounds):
        samples = []
        for _ in range(max(1, batches // rounds)):
            t0 = time.perf_counter_ns()
            for _ in rng:
                fn()
            samples.append((time.perf_counter_ns() - t0) / per_batch)
        best = min(best, statistics.median(samples))
    return best


def bench_l1(batches: int) -> dict[str, float]:
    l1 = L1Cache(256 << 20)
    row = {"sharpe_ratio": 1.2, "return_pct": 14.0, "n_trades": 31}
    for i in range(1000):
        l1.put(f"{i:032x}", row)
    key = f"{500:032x}"
    get = l1.get
    rc = ResultCache(disk=False)
    rc.put(key, row)
    rc_get = rc.get
    l1_ns = _per_call_ns(functools.partial(get, key), batches)
    rc_ns = _per_call_ns(functools.partial(rc_get, key), batches)
    ttl = L1Cache(256 << 20, ttl=3600.0)
    ttl.put(key, row)
    ttl_ns = _per_call_ns(functools.partial(ttl.get, key), batches)
    return {"l1_get_hit_ns": l1_ns, "l1_ttl_get_hit_ns": ttl_ns, "resultcache_get_l1_hit_ns": rc_ns}


def bench_l2_and_run_hits(n_bars: int, reps: int) -> dict[str, float]:
    bars = generate_bars("ACME", n_bars)
    params = {"n1": 10, "n2": 30}
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        cache = ResultCache(d)
        run_backtest(bars, "sma_cross", params, CONFIG, cache=cache)
        key = backtest_key(bars, "sma_cross", params, CONFIG)
        disk = DiskCache(d)
        path = disk.path_for(key)
        out["l2_entry_kib"] = path.stat().st_size / 1024
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            disk.get(key)
            times.append(time.perf_counter() - t0)
        out["l2_get_hit_ms"] = statistics.median(times) * 1e3
        times = []
        for _ in range(reps):  # a new process's view: empty L1, entry on disk
            fresh = ResultCache(d, registry=None)
            t0 = time.perf_counter()
            r = run_backtest(bars, "sma_cross", params, CONFIG, cache=fresh)
            times.append(time.perf_counter() - t0)
            assert r.from_cache
        out["run_backtest_l2_hit_ms"] = statistics.median(times) * 1e3
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            run_backtest(bars, "sma_cross", params, CONFIG, cache=cache)
            times.append(time.perf_counter() - t0)
        out["run_backtest_l1_hit_ms"] = statistics.median(times) * 1e3
        times = []
        for _ in range(max(5, reps // 4)):
            t0 = time.perf_counter()
            run_backtest(bars, "sma_cross", params, CONFIG)
            times.append(time.perf_counter() - t0)
        out["run_backtest_computed_ms"] = statistics.median(times) * 1e3
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            disk.put(key, cache.get(key))
            times.append(time.perf_counter() - t0)
        out["l2_put_ms"] = statistics.median(times) * 1e3
    return out


def bench_profiling(n_bars: int, pairs: int, batches: int) -> dict[str, float]:
    """Profiling on vs off on the same backtest, in pairs whose order alternates (on-off, off-on) so
    drift and warm-cache effects cancel; the overhead is the median paired difference."""
    bars = generate_bars("ACME", n_bars)
    reg = default_registry()
    params = {"n1": 10, "n2": 30}
    run_backtest(bars, "sma_cross", params, CONFIG)  # warm (JIT / numba cache load)

    def once(enabled: bool) -> float:
        reg.enabled = enabled
        t0 = time.perf_counter()
        run_backtest(bars, "sma_cross", params, CONFIG)
        return time.perf_counter() - t0

    on: list[float] = []
    off: list[float] = []
    for i in range(pairs):
        if i % 2:
            a = once(True)
            b = once(False)
        else:
            b = once(False)
            a = once(True)
        on.append(a)
        off.append(b)
    reg.enabled = True
    med_off = statistics.median(off)
    diff = statistics.median(a - b for a, b in zip(on, off, strict=True))
    scratch = Registry()
    timings = {"signals": 1e-3, "simulate": 1e-3, "stats": 1e-3}
    record_ns = _per_call_ns(functools.partial(record_backtest, timings, n_bars, registry=scratch), batches)
    c, t = scratch.counter("c"), scratch.timer("t")
    return {
        "backtest_ms_profiling_on": statistics.median(on) * 1e3,
        "backtest_ms_profiling_off": med_off * 1e3,
        "profiling_overhead_pct_measured": diff / med_off * 100.0,
        "record_backtest_ns": record_ns,
        "profiling_overhead_pct_direct": record_ns * 1e-9 / med_off * 100.0,
        "counter_inc_ns": _per_call_ns(c.inc, batches),
        "timer_record_ns": _per_call_ns(functools.partial(t.record, 1e-6), batches),
    }


def bench_sweep_rows(n_rows: int) -> dict[str, float]:
    """What a sweep pays per stats row: put_many (sync vs write-behind, main-thread time), get_many."""
    bars = generate_bars("ACME", 2000)
    row = {k: v for k, v in run_backtest(bars, "sma_cross").stats.items()}
    rows = {f"{i:032x}": {**row, "n1": i} for i in range(n_rows)}
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        sync = ResultCache(d + "/sync")
        t0 = time.perf_counter()
        sync.put_many(rows)
        out["row_put_sync_us"] = (time.perf_counter() - t0) / n_rows * 1e6
        behind = ResultCache(d + "/behind", write_behind=True)
        t0 = time.perf_counter()
        behind.put_many(rows)
        out["row_put_behind_us"] = (time.perf_counter() - t0) / n_rows * 1e6
        behind.flush()
        out["row_put_behind_flushed_us"] = (time.perf_counter() - t0) / n_rows * 1e6
        fresh = ResultCache(d + "/sync")
        t0 = time.perf_counter()
        assert len(fresh.get_many(list(rows))) == n_rows
        out["row_get_many_l2_us"] = (time.perf_counter() - t0) / n_rows * 1e6
        t0 = time.perf_counter()
        fresh.get_many(list(rows))
        out["row_get_many_l1_us"] = (time.perf_counter() - t0) / n_rows * 1e6
        t0 = time.perf_counter()
        fresh.get_many([k + "x" for k in rows])
        out["row_get_many_miss_us"] = (time.perf_counter() - t0) / n_rows * 1e6
    return out


# 1,000 combos (seeded sample of n1 in 2..200 step 2 x n2 in 10..500 step 10, n1 < n2), as in the sweep suite.
SWEEP_GRID = {"n1": list(range(2, 201, 2)), "n2": list(range(10, 501, 10))}
SWEEP_ARGS = dict(where="n1 < n2", random_n=1000, seed=0, config=CONFIG)


def bench_sweep_cache(n_bars: int) -> dict[str, float]:
    """A 1,000-combo sweep (in this process) computed, then repeated: served from L1, and from L2 by a
    fresh ResultCache on the same directory (the app restarted). Every repeat must equal the computed
    table; seconds per sweep and the ratios computed / cached."""
    bars = generate_bars("ACME", n_bars)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        plain = run_sweep(bars, "sma_cross", SWEEP_GRID, **SWEEP_ARGS)
        no_cache_s = time.perf_counter() - t0
        cache = ResultCache(d)
        t0 = time.perf_counter()
        computed = run_sweep(bars, "sma_cross", SWEEP_GRID, cache=cache, **SWEEP_ARGS)
        computed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        from_l1 = run_sweep(bars, "sma_cross", SWEEP_GRID, cache=cache, **SWEEP_ARGS)
        l1_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        from_l2 = run_sweep(bars, "sma_cross", SWEEP_GRID, cache=ResultCache(d), **SWEEP_ARGS)
        l2_s = time.perf_counter() - t0
    assert computed.computed == plain.total == 1000 and from_l1.computed == from_l2.computed == 0
    assert computed.rows.equals(plain.rows) and from_l1.rows.equals(plain.rows) and from_l2.rows.equals(plain.rows)
    return {"sweep_no_cache_s": no_cache_s, "sweep_computed_s": computed_s, "sweep_l1_s": l1_s,
            "sweep_l2_s": l2_s, "sweep_computed_over_l1": computed_s / l1_s,
            "sweep_computed_over_l2": computed_s / l2_s}


# (strategy, params, config): what a user clicks through in the app.
SESSION: list[tuple[str, str, dict[str, Any], SimConfig]] = [
    ("open run 1", "sma_cross", {"n1": 10, "n2": 30}, CONFIG),
    ("open run 2", "ema_cross", {}, CONFIG),
    ("open run 3", "rsi_reversion", {}, CONFIG),
    ("open run 4", "bollinger_breakout", {}, CONFIG),
    ("open run 5", "macd", {}, CONFIG),
    ("tweak run 5: slow=30", "macd", {"slow": 30}, CONFIG),
    ("tweak again: slow=34", "macd", {"slow": 34}, CONFIG),
    ("back to run 2", "ema_cross", {}, CONFIG),
    ("rerun run 2", "ema_cross", {}, CONFIG),
    ("back to run 5 (slow=26)", "macd", {}, CONFIG),
    ("back to the slow=30 tweak", "macd", {"slow": 30}, CONFIG),
    ("run 1 with commission 0.002", "sma_cross", {"n1": 10, "n2": 30}, SimConfig(commission=0.002)),
    ("back to run 1", "sma_cross", {"n1": 10, "n2": 30}, CONFIG),
    ("rerun run 1", "sma_cross", {"n1": 10, "n2": 30}, CONFIG),
    ("back to run 3", "rsi_reversion", {}, CONFIG),
]


def bench_session(n_bars: int) -> dict[str, Any]:
    bars = generate_bars("ACME", n_bars)
    with tempfile.TemporaryDirectory() as d:
        cache = ResultCache(d)
        steps = []
        for label, strat, params, cfg in SESSION:
            t0 = time.perf_counter()
            r = run_backtest(bars, strat, params, cfg, cache=cache)
            steps.append((label, r.from_cache, (time.perf_counter() - t0) * 1e3))
        for label in ("sweep sma_cross n1 x n2 (40 combos)", "rerun the sweep"):
            t0 = time.perf_counter()
            sw = run_sweep(bars, "sma_cross", {"n1": [5, 10, 15, 20, 25], "n2": [30, 40, 50, 60, 70, 80, 90, 100]},
                           config=CONFIG, cache=cache)
            steps.append((label, sw.computed == 0, (time.perf_counter() - t0) * 1e3))
        hits = sum(hit for _, hit, _ in steps)
        restart = ResultCache(d)  # the app reopened: runs 1-3 again, from disk
        reopened = [run_backtest(bars, s, p, c, cache=restart).from_cache for _, s, p, c in SESSION[:3]]
    return {"session_steps": steps, "session_hits": hits, "session_runs": len(steps),
            "session_hit_rate_pct": 100.0 * hits / len(steps),
            "restart_hit_rate_pct": 100.0 * sum(reopened) / len(reopened)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_cache", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = ap.parse_args(argv)
    batches, reps = (30, 10) if args.quick else (300, 40)
    n_bars = 10_000
    figures: dict[str, Any] = {}
    bench_l1(batches // 10)  # warm-up: the first tight loops on a shared machine run slow
    figures.update(bench_l1(batches))
    figures.update(bench_l2_and_run_hits(n_bars, reps))
    figures.update(bench_profiling(n_bars, reps * 40, batches))
    figures.update(bench_sweep_rows(300 if args.quick else 2000))
    figures.update(bench_sweep_cache(2_000 if args.quick else n_bars))
    figures.update(bench_session(n_bars))
    print(format_figures(figures))
    return figures


def format_figures(f: dict[str, Any]) -> str:
    rows = [
        ("L1 get, hit (median)", f"{f['l1_get_hit_ns']:.0f} ns", "< 1000 ns"),
        ("L1 get with TTL, hit", f"{f['l1_ttl_get_hit_ns']:.0f} ns", ""),
        ("ResultCache.get, L1 hit", f"{f['resultcache_get_l1_hit_ns']:.0f} ns", ""),
        ("L2 get, hit, 10k-bar result", f"{f['l2_get_hit_ms']:.3f} ms ({f['l2_entry_kib']:.0f} KiB file)", ""),
        ("L2 put, 10k-bar result", f"{f['l2_put_ms']:.3f} ms", ""),
        ("run_backtest 10k bars, computed", f"{f['run_backtest_computed_ms']:.3f} ms", ""),
        ("run_backtest 10k bars, L1 hit", f"{f['run_backtest_l1_hit_ms']:.3f} ms", ""),
        ("run_backtest 10k bars, L2 hit", f"{f['run_backtest_l2_hit_ms']:.3f} ms", ""),
        ("backtest, profiling on / off", f"{f['backtest_ms_profiling_on']:.3f} / "
                                         f"{f['backtest_ms_profiling_off']:.3f} ms", ""),
        ("profiling overhead, measured", f"{f['profiling_overhead_pct_measured']:+.2f} % "
                                         "(median paired diff)", "< 2 %"),
        ("profiling overhead, direct", f"{f['profiling_overhead_pct_direct']:.4f} % "
                                       f"({f['record_backtest_ns']:.0f} ns/run)", "< 2 %"),
        ("counter inc / timer record", f"{f['counter_inc_ns']:.0f} / {f['timer_record_ns']:.0f} ns", ""),
        ("sweep row put (sync / behind)", f"{f['row_put_sync_us']:.0f} / {f['row_put_behind_us']:.0f} us "
                                          f"({f['row_put_behind_flushed_us']:.0f} flushed)", ""),
        ("sweep row get_many L2/L1/miss", f"{f['row_get_many_l2_us']:.0f} / {f['row_get_many_l1_us']:.1f} / "
                                          f"{f['row_get_many_miss_us']:.0f} us", ""),
        ("1,000-combo sweep: computed (no cache / storing)", f"{f['sweep_no_cache_s']:.2f} / "
                                                          f"{f['sweep_computed_s']:.2f} s", ""),
        ("repeated from L1 / from L2 (restart)", f"{f['sweep_l1_s']*1e3:.1f} / {f['sweep_l2_s']*1e3:.1f} ms "
                                                 f"({f['sweep_computed_over_l1']:.0f}x / "
                                                 f"{f['sweep_computed_over_l2']:.0f}x faster)", ""),
        ("scripted session hit rate", f"{f['session_hit_rate_pct']:.1f} % "
                                      f"({f['session_hits']}/{f['session_runs']})", ""),
        ("after restart (runs 1-3)", f"{f['restart_hit_rate_pct']:.0f} %", ""),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{'figure':<{w0}}  {'value':<{w1}}  target", "-" * (w0 + w1 + 12)]
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    lines += ["", "session:"]
    lines += [f"  {'hit ' if hit else 'miss'}  {ms:8.2f} ms  {label}" for label, hit, ms in f["session_steps"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
