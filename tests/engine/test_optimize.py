"""`sweep --optimize`: Optuna's samplers over a grid (engine/sweep/optimize.py, docs/optimize.md)."""

from __future__ import annotations

import pytest

from engine.cache import ResultCache
from engine.data.demo import demo_bars
from engine.errors import ConfigError
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor

pytest.importorskip("optuna")

from engine.sweep.optimize import optimize  # noqa: E402

# the documented case (docs/optimize.md): sma_cross on the demo's ACME, a 20 x 20 grid with n1 < n2 (300 combos)
GRID = {"n1": list(range(5, 101, 5)), "n2": list(range(10, 201, 10))}
WHERE = "n1 < n2"


@pytest.fixture(scope="module")
def bars():
    return demo_bars("ACME")


@pytest.fixture(scope="module")
def grid_rows(bars):
    return run_sweep(bars, "sma_cross", GRID, where=WHERE).rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tpe_finds_the_grids_best_within_2_percent_in_a_fifth_of_its_trials(bars, grid_rows, seed):
    trials = len(grid_rows) // 5
    result = optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", sampler="tpe", trials=trials, seed=seed,
                      where=WHERE)
    assert result.total == trials == len(result.rows)
    best = grid_rows["sharpe_ratio"].max()
    assert result.rows["sharpe_ratio"].max() >= best - 0.02 * abs(best)


def test_rows_are_the_grids_rows_for_the_same_combos(bars, grid_rows):
    result = optimize(bars, "sma_cross", GRID, metric="return_pct", sampler="tpe", trials=25, seed=3, where=WHERE)
    assert result.rows.columns == grid_rows.columns
    assert result.rows["combo"].to_list() == list(range(25))  # in the order they were tried
    for row in result.rows.iter_rows(named=True):
        assert row["n1"] in GRID["n1"] and row["n2"] in GRID["n2"] and row["n1"] < row["n2"]
        same = grid_rows.filter((grid_rows["n1"] == row["n1"]) & (grid_rows["n2"] == row["n2"]))
        assert same.drop("combo").row(0) == tuple(v for k, v in row.items() if k != "combo")
    assert len({(r["n1"], r["n2"]) for r in result.rows.iter_rows(named=True)}) == 25  # no combo twice


def test_minimize_and_cmaes(bars, grid_rows):
    result = optimize(bars, "sma_cross", GRID, metric="max_drawdown_pct", minimize=True, sampler="cmaes", trials=40,
                      seed=0, where=WHERE)
    assert len(result.rows) == 40
    # minimising: the lowest value it found is among the grid's lowest tenth
    lowest = result.rows["max_drawdown_pct"].min()
    assert (grid_rows["max_drawdown_pct"] < lowest).sum() < len(grid_rows) // 10


def test_more_trials_than_valid_combos_stops_at_the_grid(bars):
    small = {"n1": [5, 10, 15], "n2": [10, 20]}  # n1 < n2: 4 valid combos
    result = optimize(bars, "sma_cross", small, metric="sharpe_ratio", trials=30, seed=0, where=WHERE)
    assert result.total == len(result.rows) == 4


def test_trials_run_on_the_sweep_executor_and_share_its_cache(bars, tmp_path):
    cache = ResultCache(tmp_path / "cache")
    with LocalExecutor(workers=2) as pool:
        first = optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", trials=12, seed=5, where=WHERE,
                         executor=pool, cache=cache)
    assert first.computed == 12
    # the grid, afterwards: the optimiser's combos come from the cache
    grid = run_sweep(bars, "sma_cross", GRID, where=WHERE, cache=cache)
    assert grid.computed == grid.total - 12
    again = optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", trials=12, seed=5, where=WHERE, cache=cache)
    assert again.computed == 0 and again.rows.equals(first.rows)


def test_bad_options_are_refused(bars):
    with pytest.raises(ConfigError, match="sampler"):
        optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", sampler="random")
    with pytest.raises(ConfigError, match="trials"):
        optimize(bars, "sma_cross", GRID, metric="sharpe_ratio", trials=0)
