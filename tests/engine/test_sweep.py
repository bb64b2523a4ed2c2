"""Sweeps: grid specs, safe constraints, identical tables whatever the executor or chunking,
crash recovery, failing combos, cancel and progress."""

import os
import signal
import threading

import pytest

from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.errors import StrategyError
from engine.strategies import get_strategy
from engine.sweep import compile_where, expand_grid, parse_values, run_sweep
from engine.sweep.executors import LocalExecutor, SerialExecutor
from tests.engine.sweep_helpers import thread_env, write_user_strategy

GRID = {"n1": parse_values("5:40:5"), "n2": parse_values("10:80:10")}


@pytest.fixture(scope="module")
def bars():
    return generate_bars("SWEEP", 3_000, "1d", seed=7)


@pytest.fixture(scope="module")
def pool():
    with LocalExecutor(2) as ex:
        yield ex


@pytest.fixture(scope="module")
def serial_rows(bars):
    return run_sweep(bars, "sma_cross", GRID, where="n1 < n2").rows


def test_parse_values():
    assert parse_values("5:20:5") == [5, 10, 15, 20]
    assert parse_values("1:3") == [1, 2, 3]
    assert parse_values("0.5:1.5:0.5") == [0.5, 1, 1.5]
    assert parse_values("3,7,9") == [3, 7, 9]
    for bad in ("5:1", "1:5:0", "a:b", "1:2:3:4", ""):
        with pytest.raises(StrategyError, match="grid"):
            parse_values(bad, "n1")


def test_where_is_parsed_safely():
    pred = compile_where("n1<n2 and n2<=5*n1", ["n1", "n2"])
    assert pred({"n1": 10, "n2": 50}) and not pred({"n1": 10, "n2": 51}) and not pred({"n1": 10, "n2": 5})
    assert compile_where("1 < n1 < 3", ["n1"])({"n1": 2})
    for bad, msg in [("__import__('os').system('x')", "only comparisons"), ("n1.real < 2", "only parameters"),
                     ("n1 < n3", "unknown parameter 'n3'"), ("n1 < 2 or n1 > 5", "only comparisons"),
                     ("n1 <", "not a valid condition")]:
        with pytest.raises(StrategyError, match=msg):
            compile_where(bad, ["n1", "n2"])


def test_expand_grid_applies_where_constraints_and_random():
    strat = get_strategy("sma_cross")
    combos = expand_grid(strat, GRID, "n2 <= 4*n1")
    assert combos and all(c["n1"] < c["n2"] <= 4 * c["n1"] for c in combos)  # n1<n2: strategy constraint
    sample = expand_grid(strat, GRID, random_n=5, seed=3)
    assert len(sample) == 5 and sample == expand_grid(strat, GRID, random_n=5, seed=3)
    assert sample != expand_grid(strat, GRID, random_n=5, seed=4)
    with pytest.raises(StrategyError, match="unknown parameter 'n9'"):
        expand_grid(strat, {"n9": [1]})
    with pytest.raises(StrategyError, match="outside"):
        expand_grid(strat, {"n1": [0]})


def test_rows_hold_params_and_every_stat(serial_rows):
    assert len(serial_rows) == sum(1 for a in GRID["n1"] for b in GRID["n2"] if a < b)
    for col in ("symbol", "n1", "n2", "sharpe_ratio", "n_trades", "max_drawdown_pct", "return_pct"):
        assert col in serial_rows.columns


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_pool_equals_serial_whatever_the_chunking(bars, pool, serial_rows, chunk):
    rows = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", executor=pool, chunk_size=chunk).rows
    assert rows.equals(serial_rows)


def test_sweep_row_equals_single_backtest(bars, serial_rows):
    from engine.backtest import run_backtest

    row = serial_rows.filter((serial_rows["n1"] == 15) & (serial_rows["n2"] == 60)).row(0, named=True)
    single = run_backtest(bars, "sma_cross", {"n1": 15, "n2": 60}, SimConfig())
    for k, v in single.stats.items():
        assert row[k] == pytest.approx(v, nan_ok=True), k


@pytest.mark.parametrize("compat", ["backtesting", "vectorbt"])
def test_compat_preset_sweep_in_workers_equals_single_backtest(bars, pool, compat):
    from engine.backtest import run_backtest

    cfg = SimConfig.preset(compat, commission=0.001)
    rows = run_sweep(bars, "sma_cross", {"n1": [10, 20], "n2": [50]}, config=cfg, executor=pool).rows
    assert len(rows) == 2
    for row in rows.iter_rows(named=True):
        single = run_backtest(bars, "sma_cross", {"n1": row["n1"], "n2": 50}, cfg)
        for k, v in single.stats.items():
            assert row[k] == pytest.approx(v, nan_ok=True), k


def test_many_symbols(pool):
    a, b = generate_bars("AAA", 800, "1d"), generate_bars("BBB", 900, "1d")
    res = run_sweep([a, b], "ema_cross", {"n1": [5, 10], "n2": [20, 40]}, executor=pool)
    assert res.rows["symbol"].to_list() == ["AAA"] * 4 + ["BBB"] * 4
    single = run_sweep(b, "ema_cross", {"n1": [5, 10], "n2": [20, 40]}).rows
    assert res.rows.filter(res.rows["symbol"] == "BBB").drop("dataset").equals(single.drop("dataset"))


def test_workers_see_thread_caps_and_no_qt(pool):
    info = pool.run_in_worker(thread_env)
    assert set(info["env"].values()) == {"1"}
    assert info["numba_threads"] == 1
    assert info["qt_loaded"] is False


@pytest.mark.slow
def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(bars, tmp_path):
    grid = {"n1": [4, 5, 6, 7, 8, 9], "n2": [30, 40]}
    expected = run_sweep(bars, "fragile", grid, strategies_dir=write_user_strategy(tmp_path / "a")).rows
    slow = write_user_strategy(tmp_path / "b", sleep=0.15)  # chunks surely in flight when a worker dies
    with LocalExecutor(2) as ex:
        killed = []

        def progress(p):
            if not killed and p.done >= 2:
                victim = ex.worker_pids()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        res = run_sweep(bars, "fragile", grid, executor=ex, chunk_size=1, progress=progress, strategies_dir=slow)
        assert killed and ex.restarts >= 1
    assert res.errors == []
    assert res.rows.equals(expected)


@pytest.mark.slow
def test_combo_that_kills_its_worker_is_isolated_and_reported(bars, tmp_path):
    folder = write_user_strategy(tmp_path, kill=15)
    grid = {"n1": [5, 10, 15, 20], "n2": [40, 50]}
    with LocalExecutor(2) as ex:
        res = run_sweep(bars, "fragile", grid, executor=ex, chunk_size=1, strategies_dir=folder)
    assert sorted((e["params"]["n1"], e["params"]["n2"]) for e in res.errors) == [(15, 40), (15, 50)]
    assert all("worker process died" in e["error"] for e in res.errors)
    assert sorted(zip(res.rows["n1"], res.rows["n2"], strict=True)) == [
        (a, b) for a in (5, 10, 20) for b in (40, 50)]


def test_combo_that_raises_reports_params_and_the_sweep_goes_on(bars, tmp_path):
    folder = write_user_strategy(tmp_path, boom=10)
    res = run_sweep(bars, "fragile", {"n1": [5, 10, 20], "n2": [40]}, strategies_dir=folder)
    assert [e["params"] for e in res.errors] == [{"n1": 10, "n2": 40}]
    assert "RuntimeError: boom at n1=10" in res.errors[0]["error"]
    assert res.rows["n1"].to_list() == [5, 20]


def test_cancel_returns_finished_rows_only(bars, pool, serial_rows):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done >= 6:
            cancel.set()

    res = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", executor=pool, chunk_size=2, progress=progress,
                    cancel=cancel)
    assert res.cancelled and 6 <= len(res.rows) < len(serial_rows)
    # within one chunk per worker of the cancel: at most the in-flight chunks finish after it
    assert len(res.rows) <= 6 + pool.max_inflight * 2
    merged = res.rows.join(serial_rows, on=["n1", "n2"], suffix="_full")
    assert (merged["sharpe_ratio"] == merged["sharpe_ratio_full"]).all()


def test_progress_is_monotonic_and_complete(bars):
    seen = []
    run_sweep(bars, "sma_cross", GRID, where="n1 < n2", chunk_size=5, progress=seen.append, executor=SerialExecutor())
    done = [p.done for p in seen]
    assert done == sorted(done) and done[-1] == seen[-1].total
    assert seen[-1].eta_s == 0.0 and seen[-1].combos_per_s > 0


def test_prestart_starts_the_workers_in_the_background_and_the_sweep_is_unchanged(bars, serial_rows):
    with LocalExecutor(2) as ex:
        ex.prestart()  # returns while the workers still import the engine (about a second or more each)
        assert ex.started and len(ex.worker_pids()) == 2
        assert not all(f.done() for f in ex._warming)  # it did not wait for them to be up
        res = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", executor=ex)
    assert res.errors == [] and res.rows.equals(serial_rows)
