"""Suite "cache": benchmarks/bench_cache.py's figures (result cache and profiling), run by this runner.

Each benchmark is one of bench_cache's functions, called once per repeat; every figure it returns is
summarised over the repeats (median, min, max, p95) and the time figures are rows of their own:
- l1: L1 get on a hit (plain LRU, with TTL, through ResultCache), ns per call in a tight loop;
- l2_and_hits: a 10k-bar backtest result: L2 get and put, and the whole run_backtest computed, on an
  L1 hit and on an L2 hit (a fresh process's view);
- profiling: a 10k-bar backtest with the metrics registry on vs off (paired, order alternating), and
  the cost of each recording call;
- sweep_rows: per stats row, put_many (synchronous and write-behind) and get_many (L2, L1, miss);
- sweep_cache: a 1,000-combo sweep on 10k bars computed, then repeated from L1 and from L2 (restart);
- session: a scripted interactive session's hit rate (runs, a sweep and its rerun), and after a restart.
Targets are bench_cache's: L1 hit < 1 us, profiling overhead < 2 %.
"""

from __future__ import annotations

from benchmarks import bench_cache
from benchmarks.runner import Context, FigureRow, Sample, benchmark, ratio

SUITE = "cache"
N_BARS = 10_000
TARGET_L1_NS = 1000.0
TARGET_OVERHEAD_PCT = 2.0

COMMON = dict(unit="s", tracemalloc=False, min_time=0.0, memory="during", repeats=5, quick_repeats=3)


def _ns(figure: str, name: str, description: str) -> FigureRow:
    return FigureRow(figure, name, 1e-9, gate=True, description=description)


def _ms(figure: str, name: str, description: str) -> FigureRow:
    return FigureRow(figure, name, 1e-3, gate=True, description=description)


def _us(figure: str, name: str, description: str) -> FigureRow:
    return FigureRow(figure, name, 1e-6, gate=True, description=description)


def _s(figure: str, name: str, description: str) -> FigureRow:
    return FigureRow(figure, name, 1.0, gate=True, description=description)


FEWER = dict(COMMON, repeats=3, quick_repeats=1)  # whole sweeps and sessions: slower per repeat


@benchmark(suite=SUITE, name="l1", gate=False, warmup=1, rows=(
    _ns("l1_get_hit_ns", "l1_get_hit", "L1Cache.get, hit (LRU)"),
    _ns("l1_ttl_get_hit_ns", "l1_ttl_get_hit", "L1Cache.get, hit (TTL + LRU)"),
    _ns("resultcache_get_l1_hit_ns", "resultcache_get_l1_hit", "ResultCache.get, L1 hit")), **COMMON)
def _l1(ctx: Context):
    """bench_cache.bench_l1: ns per L1 get on a hit (median of batches of 1,000)"""
    batches = ctx.size(300, 10) if not ctx.quick else 100
    return lambda: Sample(None, None, bench_cache.bench_l1(batches)), {"batches": batches}


@benchmark(suite=SUITE, name="l2_and_hits", gate=False, warmup=0, rows=(
    _ms("l2_get_hit_ms", "l2_get_hit_10k", "DiskCache.get of a 10k-bar result: read, verify, decompress, decode"),
    _ms("l2_put_ms", "l2_put_10k", "DiskCache.put of a 10k-bar result"),
    _ms("run_backtest_computed_ms", "run_backtest_10k_computed", "run_backtest, no cache"),
    _ms("run_backtest_l1_hit_ms", "run_backtest_10k_l1_hit", "run_backtest served from L1"),
    _ms("run_backtest_l2_hit_ms", "run_backtest_10k_l2_hit", "run_backtest served from L2 (empty L1)")), **COMMON)
def _l2(ctx: Context):
    """bench_cache.bench_l2_and_run_hits on a 10k-bar backtest"""
    n, reps = ctx.size(N_BARS, 1_000), (10 if ctx.quick or ctx.tiny else 40)
    return lambda: Sample(None, None, bench_cache.bench_l2_and_run_hits(n, reps)), {"bars": n, "reps": reps}


@benchmark(suite=SUITE, name="profiling", gate=False, warmup=0, rows=(
    _ms("backtest_ms_profiling_on", "backtest_10k_profiling_on", "run_backtest with the metrics registry on"),
    _ms("backtest_ms_profiling_off", "backtest_10k_profiling_off", "run_backtest with the metrics registry off"),
    _ns("record_backtest_ns", "record_backtest", "profiling.record_backtest per run"),
    _ns("counter_inc_ns", "counter_inc", "Counter.inc"),
    _ns("timer_record_ns", "timer_record", "Timer.record")), **COMMON)
def _profiling(ctx: Context):
    """bench_cache.bench_profiling: on vs off on a 10k-bar backtest, paired"""
    n = ctx.size(N_BARS, 1_000)
    pairs, batches = (100, 30) if (ctx.quick or ctx.tiny) else (400, 300)
    return lambda: Sample(None, None, bench_cache.bench_profiling(n, pairs, batches)), {"bars": n, "pairs": pairs}


@benchmark(suite=SUITE, name="sweep_rows", gate=False, warmup=0, rows=(
    _us("row_put_sync_us", "row_put_sync", "ResultCache.put_many per stats row, synchronous"),
    _us("row_put_behind_us", "row_put_behind", "put_many per row, write-behind (caller's time)"),
    _us("row_get_many_l2_us", "row_get_many_l2", "get_many per row from L2"),
    _us("row_get_many_l1_us", "row_get_many_l1", "get_many per row from L1"),
    _us("row_get_many_miss_us", "row_get_many_miss", "get_many per row, miss")), **COMMON)
def _rows(ctx: Context):
    """bench_cache.bench_sweep_rows: what a sweep pays per stats row"""
    n = 300 if (ctx.quick or ctx.tiny) else 2000
    return lambda: Sample(None, None, bench_cache.bench_sweep_rows(n)), {"rows": n}


@benchmark(suite=SUITE, name="sweep_cache", gate=False, warmup=0, rows=(
    _s("sweep_computed_s", "sweep_1000_computed", "1,000-combo sweep, 10k bars, computed and stored"),
    _s("sweep_l1_s", "sweep_1000_from_l1", "the same sweep again, from L1"),
    _s("sweep_l2_s", "sweep_1000_from_l2", "the same sweep in a fresh cache (restart), from L2")), **FEWER)
def _sweep_cache(ctx: Context):
    """bench_cache.bench_sweep_cache: a repeated 1,000-combo sweep served from cache vs computed"""
    n = ctx.size(N_BARS, 1_000)
    return lambda: Sample(None, None, bench_cache.bench_sweep_cache(n)), {"bars": n, "combos": 1000}


@benchmark(suite=SUITE, name="session", gate=False, warmup=0, **FEWER)
def _session(ctx: Context):
    """bench_cache.bench_session: a scripted interactive session (15 runs, a sweep and its rerun) and a restart"""
    n = ctx.size(N_BARS, 1_000)
    return lambda: Sample(None, None, bench_cache.bench_session(n)), {"bars": n}


def _fig(get, bench: str, figure: str) -> float:
    return get(bench)["figures"][figure]["median"]


@ratio(suite=SUITE, name="l1_get_hit_ns", target=TARGET_L1_NS, better="lower", unit="ns")
def _l1_target(get) -> float:
    """L1 get on a hit, ns (median over repeats)"""
    return get("l1_get_hit")["median_s"] * 1e9


@ratio(suite=SUITE, name="profiling_overhead_pct", target=TARGET_OVERHEAD_PCT, better="lower", unit="%")
def _overhead(get) -> float:
    """10k-bar backtest, profiling on vs off: median paired difference / off (median over repeats)"""
    return _fig(get, "profiling", "profiling_overhead_pct_measured")


@ratio(suite=SUITE, name="profiling_overhead_direct_pct", target=TARGET_OVERHEAD_PCT, better="lower", unit="%")
def _overhead_direct(get) -> float:
    """cost of the recording calls per backtest / the backtest's time"""
    return _fig(get, "profiling", "profiling_overhead_pct_direct")


@ratio(suite=SUITE, name="run_backtest_l1_hit_speedup", unit="x")
def _hit_speedup(get) -> float:
    """run_backtest computed / served from L1 (10k bars)"""
    return get("run_backtest_10k_computed")["median_s"] / get("run_backtest_10k_l1_hit")["median_s"]


def _figure_ratio(name: str, bench: str, figure: str, unit: str, description: str) -> None:
    """A derived figure that is one of a benchmark's own figures (median over repeats)."""
    ratio(suite=SUITE, name=name, unit=unit, description=description)(
        lambda get: _fig(get, bench, figure))


for _args in (
    ("sweep_1000_cached_speedup_l1", "sweep_cache", "sweep_computed_over_l1", "x",
     "1,000-combo sweep computed / repeated from L1"),
    ("sweep_1000_cached_speedup_l2", "sweep_cache", "sweep_computed_over_l2", "x",
     "1,000-combo sweep computed / repeated from L2 after a restart"),
    ("session_hit_rate_pct", "session", "session_hit_rate_pct", "%",
     "scripted session: runs served from the cache"),
    ("restart_hit_rate_pct", "session", "restart_hit_rate_pct", "%",
     "after a restart: the first three runs again, from disk"),
):
    _figure_ratio(*_args)
