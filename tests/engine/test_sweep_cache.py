"""A sweep run twice computes nothing the second time and returns an identical table, without starting
a single worker process."""

import psutil

from engine.cache import ResultCache
from engine.data.demo import generate_bars
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor


def test_second_sweep_is_served_entirely_from_cache(tmp_path):
    bars = generate_bars("CACHED", 2_000, "1d")
    grid = {"n1": [5, 10, 15], "n2": [30, 60]}
    cache = ResultCache(tmp_path / "c")
    first = run_sweep(bars, "sma_cross", grid, cache=cache)
    second = run_sweep(bars, "sma_cross", grid, cache=cache)
    assert first.computed == 6 and second.computed == 0
    assert second.rows.equals(first.rows)
    fresh = ResultCache(tmp_path / "c")  # a new process's view: disk only
    third = run_sweep(bars, "sma_cross", grid, cache=fresh)
    assert third.computed == 0 and third.rows.equals(first.rows)
    partly = run_sweep(bars, "sma_cross", {"n1": [5, 10, 15, 20], "n2": [30, 60]}, cache=cache)
    assert partly.computed == 2
    assert partly.rows.filter(partly.rows["n1"] < 20).equals(first.rows)


def _pool_workers() -> list[psutil.Process]:
    """This process's spawn-pool workers (not multiprocessing's resource tracker)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_a_fully_cached_sweep_starts_no_worker_and_returns_the_identical_table(tmp_path):
    bars = generate_bars("CACHED", 2_000, "1d")
    grid = {"n1": [5, 10, 15], "n2": [30, 60]}
    with LocalExecutor(2) as ex:
        first = run_sweep(bars, "sma_cross", grid, executor=ex, cache=ResultCache(tmp_path / "c"))
    assert first.computed == 6 and not _pool_workers()
    with LocalExecutor(2) as ex:
        again = run_sweep(bars, "sma_cross", grid, executor=ex, cache=ResultCache(tmp_path / "c"))
        assert not _pool_workers() and not ex.started  # every combo was a hit: no pool was ever started
        assert again.computed == 0 and again.rows.equals(first.rows)
        more = run_sweep(bars, "sma_cross", {"n1": [5, 10, 15, 20], "n2": [30, 60]}, executor=ex,
                         cache=ResultCache(tmp_path / "c"))
        assert ex.started and len(_pool_workers()) == 2  # a miss starts the pool: it is lazy, not gone
    assert more.computed == 2 and more.rows.filter(more.rows["n1"] < 20).equals(first.rows)
