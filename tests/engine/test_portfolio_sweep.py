"""Portfolio sweeps (docs/portfolio.md, "Sweeps"): each row is a direct run_portfolio's stats, exactly, whatever
the executor and worker count; rows come from the cache on a rerun; errors before any work."""

from __future__ import annotations

import math

import pytest

from engine.cache import ResultCache
from engine.data.demo import demo_bars
from engine.errors import BackbenchError
from engine.portfolio import PortfolioConfig, parse_score, run_portfolio
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor
from tests.engine.portfolio_data import random_universe

DEMO = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE"]
GRID = {"n1": [5, 10, 20], "n2": [30, 60]}


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def assert_rows_are_direct_runs(result, datasets, config, score=None):
    assert result.rows.height == len(result.rows["combo"].unique())
    for row in result.rows.iter_rows(named=True):
        assert row["symbol"] == "portfolio"
        params = {k: row[k] for k in GRID}
        direct = run_portfolio(datasets, "sma_cross", params, config, score=parse_score(score))
        diff = {k: (row[k], v) for k, v in direct.stats.items() if not same(row[k], v)}
        assert not diff, (params, diff)


@pytest.mark.parametrize("config, score", [
    (PortfolioConfig(commission=0.001, max_positions=2), "momentum:20"),
    (PortfolioConfig(sizing="percent", size=0.3, rebalance="1M", slippage=0.001), None),
    (PortfolioConfig(sizing="value", size=2_000, commission_by_symbol={"S1": 0.01}, at_end="close"), None),
    (PortfolioConfig(compat="vectorbt", sizing="percent", size=0.5, commission=0.002), None),
])
def test_each_row_is_a_direct_portfolio_run(config, score):
    datasets = random_universe(3, 5, 300)  # gaps, late listings, early delistings
    result = run_sweep(datasets, "sma_cross", GRID, where="n1 < n2", portfolio=config, score=score)
    assert result.total == result.computed == 6 and not result.errors
    assert_rows_are_direct_runs(result, datasets, config, score)


def test_rows_are_identical_with_one_and_two_workers_and_in_process():
    datasets = [demo_bars(s) for s in DEMO]
    config = PortfolioConfig(commission=0.001, max_positions=3, rebalance="1Q")
    serial = run_sweep(datasets, "sma_cross", GRID, portfolio=config, score="momentum:63")
    with LocalExecutor(1) as one:
        rows1 = run_sweep(datasets, "sma_cross", GRID, portfolio=config, score="momentum:63", executor=one,
                          chunk_size=2).rows
    with LocalExecutor(2) as two:
        rows2 = run_sweep(datasets, "sma_cross", GRID, portfolio=config, score="momentum:63", executor=two,
                          chunk_size=1).rows
        again = run_sweep(datasets, "sma_cross", GRID, portfolio=config, score="momentum:63", executor=two,
                          chunk_size=4).rows  # the same workers, the dataset published again
    assert rows1.equals(serial.rows) and rows2.equals(serial.rows) and again.equals(serial.rows)
    assert_rows_are_direct_runs(serial, datasets, config, "momentum:63")


def test_a_cached_rerun_computes_nothing_and_a_changed_option_computes_again(tmp_path):
    datasets = random_universe(5, 4, 200)
    config = PortfolioConfig(max_positions=2)
    cache = ResultCache(tmp_path / "c")
    first = run_sweep(datasets, "sma_cross", GRID, portfolio=config, cache=cache)
    cache.flush()
    fresh = ResultCache(tmp_path / "c")  # another process's view: disk only
    rerun = run_sweep(datasets, "sma_cross", GRID, portfolio=config, cache=fresh)
    assert first.computed == 6 and rerun.computed == 0 and rerun.rows.equals(first.rows)
    assert run_sweep(datasets, "sma_cross", GRID, portfolio=config, score="momentum:5", cache=fresh).computed == 6
    assert run_sweep(datasets, "sma_cross", GRID, portfolio=config.replace(max_positions=3),
                     cache=fresh).computed == 6
    assert run_sweep(datasets[:3], "sma_cross", GRID, portfolio=config, cache=fresh).computed == 6
    single = run_sweep(datasets[0], "sma_cross", GRID, cache=fresh)  # a single sweep's rows are not these
    assert single.computed == 6


def test_optimize_runs_portfolios():
    pytest.importorskip("optuna")
    from engine.sweep.optimize import optimize

    datasets = random_universe(2, 4, 250)
    config = PortfolioConfig(max_positions=2)
    result = optimize(datasets, "sma_cross", GRID, metric="sharpe_ratio", trials=4, seed=1, portfolio=config,
                      score="momentum:10")
    assert result.rows.height == 4
    assert_rows_are_direct_runs(result, datasets, config, "momentum:10")


def test_one_symbol_is_a_portfolio_of_one():
    bars = demo_bars("ACME")
    config = PortfolioConfig(sizing="percent", size=0.5)
    result = run_sweep([bars], "sma_cross", GRID, portfolio=config)
    assert_rows_are_direct_runs(result, [bars], config)


@pytest.mark.parametrize("kwargs, message", [
    ({"portfolio": PortfolioConfig(commission_by_symbol={"XX": 0.1})}, "'XX', which is not one of the symbols"),
    ({"portfolio": PortfolioConfig(), "score": "foo:3"}, "score: 'foo'"),
    ({"portfolio": PortfolioConfig(compat="vectorbt", sizing="percent", size=0.5), "score": "momentum:5"},
     "cannot be combined with compat='vectorbt'"),
])
def test_bad_options_fail_before_any_work(kwargs, message):
    with pytest.raises(BackbenchError, match=message):
        run_sweep(random_universe(1, 3, 50), "sma_cross", GRID, **kwargs)


@pytest.mark.slow
def test_rows_are_identical_on_dask():
    pytest.importorskip("distributed")
    from engine.sweep.dask_executor import DaskExecutor

    datasets = random_universe(6, 4, 250)
    config = PortfolioConfig(max_positions=2, rebalance="1W")
    serial = run_sweep(datasets, "sma_cross", GRID, portfolio=config)
    with DaskExecutor(None, workers=2) as dask:
        rows = run_sweep(datasets, "sma_cross", GRID, portfolio=config, executor=dask, chunk_size=2).rows
    assert rows.equals(serial.rows)
