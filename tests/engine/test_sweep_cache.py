"""A sweep run twice computes nothing the second time and returns an identical table."""

from engine.cache import ResultCache
from engine.data.demo import generate_bars
from engine.sweep import run_sweep


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
