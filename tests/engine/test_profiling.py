"""Profiling registry: counters, gauges, timers (rolling percentiles), snapshots, threads, engine hooks."""

import json
import threading
import time

import numpy as np
import pytest

from engine.runtime import profiling
from engine.runtime.profiling import Registry, default_registry, format_snapshot, record_worker_report, timer


def test_counter_gauge_timer_and_snapshot_is_plain_data():
    reg = Registry(window=8)
    reg.inc("a")
    reg.counter("a").inc(4)
    reg.set_gauge("g", 2.5)
    for v in range(1, 21):  # window of 8 keeps 13..20
        reg.observe("t", float(v))
    snap = reg.snapshot()
    json.dumps(snap)  # plain numbers only
    assert snap["counters"] == {"a": 5} and snap["gauges"] == {"g": 2.5}
    t = snap["timers"]["t"]
    assert t["count"] == 20 and t["total"] == sum(range(1, 21))
    window = np.arange(13.0, 21.0)
    assert t["p50"] == pytest.approx(np.percentile(window, 50))
    assert t["p95"] == pytest.approx(np.percentile(window, 95))
    assert t["p99"] == pytest.approx(np.percentile(window, 99))
    assert (t["min"], t["max"]) == (13.0, 20.0)
    assert "t" in format_snapshot(snap)
    reg.reset()
    assert reg.snapshot()["timers"] == {}


def test_span_context_manager_and_decorator():
    reg = Registry()
    with reg.time("stage"):
        time.sleep(0.01)

    @reg.time("fn")
    def f(x):
        return x * 2

    assert f(2) == 4 and f(3) == 6
    with pytest.raises(ZeroDivisionError), reg.time("boom"):
        raise ZeroDivisionError
    snap = reg.snapshot()["timers"]
    assert snap["stage"]["count"] == 1 and snap["stage"]["total"] >= 0.009
    assert snap["fn"]["count"] == 2 and snap["boom"]["count"] == 1
    with timer("store.read"):
        pass
    assert default_registry().snapshot()["timers"]["store.read"]["count"] >= 1


def test_threads_recording_lose_nothing():
    reg = Registry(window=1024)
    c, t = reg.counter("c"), reg.timer("t")
    snaps = []

    def work():
        for _ in range(5000):
            c.inc()
            t.record(0.001)

    def read():
        for _ in range(50):
            snaps.append(reg.snapshot())

    threads = [threading.Thread(target=work) for _ in range(8)] + [threading.Thread(target=read)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    snap = reg.snapshot()
    assert snap["counters"]["c"] == 40_000
    assert snap["timers"]["t"]["count"] == 40_000
    assert snap["timers"]["t"]["total"] == pytest.approx(40.0)
    assert all(s["timers"].get("t", {"p50": 0.001})["p50"] in (0.0, 0.001) for s in snaps)


def test_backtest_records_stages_and_bar_steps():
    from engine.backtest import run_backtest
    from engine.data.demo import generate_bars

    reg = default_registry()
    bars = generate_bars("ACME", 500)
    before = reg.snapshot()
    run_backtest(bars, "sma_cross")
    after = reg.snapshot()
    assert after["counters"]["bar_steps"] - before["counters"].get("bar_steps", 0) == 500
    assert after["counters"]["backtest.runs"] - before["counters"].get("backtest.runs", 0) == 1
    for stage in ("signals", "simulate", "stats", "total"):
        assert after["timers"][f"backtest.{stage}"]["count"] >= 1
    reg.enabled = False
    try:
        run_backtest(bars, "sma_cross")
        assert reg.snapshot()["counters"]["backtest.runs"] == after["counters"]["backtest.runs"]
    finally:
        reg.enabled = True


def test_worker_reports():
    reg = Registry()
    record_worker_report(3, 0.5, 100_000_000, 10_000, compile_seconds=1.2, registry=reg)
    reg.record_worker_report(3, 0.25, 120_000_000, 5_000, tasks=4)
    reg.record_worker_report("w2", 1.0, 90_000_000, 1_000)
    s = reg.snapshot()
    assert s["counters"]["tasks.done"] == 6 and s["counters"]["bar_steps"] == 16_000
    assert s["counters"]["worker.3.tasks"] == 5
    assert s["gauges"]["worker.3.rss_bytes"] == 120_000_000
    assert s["timers"]["worker.3.task"]["total"] == 0.75 and s["timers"]["worker.task"]["count"] == 3
    assert s["timers"]["worker.compile"]["total"] == 1.2


def test_numba_compile_time_is_recorded():
    from numba import njit
    from numba.core import event

    reg = Registry()
    listener = profiling.install_numba_compile_listener(reg)
    assert listener is not None

    @njit
    def inner(x):
        return x + 1

    @njit
    def outer(x):
        return inner(x) * 2

    assert outer(1) == 4
    t = reg.snapshot()["timers"]["numba.compile"]
    assert t["count"] == 1 and t["total"] > 0  # the nested compile of `inner` is inside `outer`'s
    outer(2)
    assert reg.snapshot()["timers"]["numba.compile"]["count"] == 1
    event.unregister("numba:compile", listener)


def test_collectors_are_merged_into_snapshots():
    reg = Registry()
    reg.add_collector("x", lambda: {"counters": {"x.hits": 3}, "gauges": {"x.bytes": 10}})
    s = reg.snapshot()
    assert s["counters"]["x.hits"] == 3 and s["gauges"]["x.bytes"] == 10
    reg.remove_collector("x")
    assert "x.hits" not in reg.snapshot()["counters"]
