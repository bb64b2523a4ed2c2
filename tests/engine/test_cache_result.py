"""ResultCache, run_backtest(cache=...), a hit across processes, @cached, default_cache and the CLI."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.backtest import run_backtest
from engine.cache import ResultCache, cached, configure_default_cache, default_cache, reset_default_cache
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.runtime.profiling import Registry

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"n1": 10, "n2": 30}
CONFIG = SimConfig(commission=0.001, sl=0.05)


@pytest.fixture(scope="module")
def bars():
    return generate_bars("ACME", 2000)


def same_result(a, b):
    assert a.stats == b.stats
    assert np.array_equal(a.equity, b.equity)
    assert np.array_equal(a.drawdown_pct, b.drawdown_pct)
    assert a.trade_records.dtype == b.trade_records.dtype
    assert np.array_equal(a.trade_records, b.trade_records)
    assert (a.status, a.n_cancelled_orders, a.params, a.strategy) == (b.status, b.n_cancelled_orders,
                                                                        b.params, b.strategy)
    assert a.trades.equals(b.trades)
    assert a.to_json_dict() == b.to_json_dict()


def test_run_backtest_hit_is_identical(bars, tmp_path):
    plain = run_backtest(bars, "sma_cross", PARAMS, CONFIG)
    cache = ResultCache(tmp_path)
    miss = run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=cache)
    l1_hit = run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=cache)
    l2_hit = run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=ResultCache(tmp_path))
    assert not plain.from_cache and not miss.from_cache and l1_hit.from_cache and l2_hit.from_cache
    for r in (miss, l1_hit, l2_hit):
        same_result(plain, r)
    assert "cache" in l1_hit.timings and not l1_hit.equity.flags.writeable
    other = run_backtest(bars, "sma_cross", {"n1": 11, "n2": 30}, CONFIG, cache=cache)
    assert not other.from_cache
    s = cache.stats()
    assert (s["l1"]["hits"], s["l1"]["misses"], s["l2"]["misses"], s["l2"]["writes"]) == (1, 2, 2, 2)


def test_hit_across_processes(bars, tmp_path):
    code = ("from engine.backtest import run_backtest; from engine.cache import ResultCache; "
            "from engine.config import SimConfig; from engine.data.demo import generate_bars; "
            f"r = run_backtest(generate_bars('ACME', 2000), 'sma_cross', {PARAMS!r}, "
            f"SimConfig(commission=0.001, sl=0.05), cache=ResultCache({str(tmp_path)!r})); "
            "print(r.from_cache)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    cache = ResultCache(tmp_path)
    hit = run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=cache)
    assert hit.from_cache and cache.stats()["l2"]["hits"] == 1
    same_result(run_backtest(bars, "sma_cross", PARAMS, CONFIG), hit)


def test_malformed_entry_is_recomputed_and_overwritten(bars, tmp_path):
    from engine.cache.keys import backtest_key

    cache = ResultCache(tmp_path)
    key = backtest_key(bars, "sma_cross", PARAMS, CONFIG)
    cache.put(key, {"equity": np.zeros(3)})  # well-formed bytes, wrong shape of value
    r = run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=cache)
    assert not r.from_cache
    assert run_backtest(bars, "sma_cross", PARAMS, CONFIG, cache=ResultCache(tmp_path)).from_cache


def test_get_many_put_many_promote_and_stats(tmp_path):
    reg = Registry()
    cache = ResultCache(tmp_path, registry=reg, name="rc")
    rows = {f"k{i}": {"sharpe_ratio": i / 10, "n_trades": i} for i in range(10)}
    cache.put_many(rows)
    assert cache.get_many(["k1", "k2", "nope"]) == {"k1": rows["k1"], "k2": rows["k2"]}
    fresh = ResultCache(tmp_path)
    assert fresh.get_many(list(rows) + ["nope"]) == rows  # from L2
    assert fresh.get_many(list(rows)) == rows  # now from L1
    s = fresh.stats()
    assert s["l2"]["hits"] == 10 and s["l1"]["hits"] == 10 and s["l1"]["entries"] == 10
    assert s["hit_rate"] == pytest.approx(20 / 21)
    snap = reg.snapshot()
    assert snap["counters"]["rc.l1.hits"] == 2 and snap["gauges"]["rc.l1.entries"] == 10
    cache.delete("k0")
    assert cache.get("k0") is None and fresh.l2.get("k0", None) is None
    assert cache.clear()["entries"] == 9 and cache.get("k1") is None


def test_put_freezes_arrays(tmp_path):
    cache = ResultCache(tmp_path)
    a = np.arange(3.0)
    cache.put("a", {"x": a})
    with pytest.raises(ValueError):
        cache.get("a")["x"][0] = 9.0


def test_memory_only_cache(bars):
    cache = ResultCache(disk=False)
    run_backtest(bars, "sma_cross", PARAMS, cache=cache)
    assert run_backtest(bars, "sma_cross", PARAMS, cache=cache).from_cache
    assert cache.stats()["l2"] is None


def test_cached_decorator(bars, tmp_path):
    calls = []
    cache = ResultCache(tmp_path)

    @cached(cache, key_fn=lambda b, n: (b, n), namespace="test.rolling_max/1")
    def rolling_max(b, n):
        calls.append(n)
        return np.maximum.accumulate(b.close[::n])

    a = rolling_max(bars, 3)
    assert np.array_equal(rolling_max(bars, 3), a) and calls == [3]
    rolling_max(bars, 4)
    assert calls == [3, 4]
    assert rolling_max.cache_key(bars, 3) != rolling_max.cache_key(bars, 4)

    @cached(ResultCache(tmp_path), key_fn=lambda b, n: (b, n), namespace="test.rolling_max/1")
    def same_ns(b, n):
        calls.append("again")

    assert np.array_equal(same_ns(bars, 3), a) and "again" not in calls  # from disk, another instance


def test_the_default_cache_is_memory_only_until_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "env"))  # the app's setting: the engine ignores it
    reset_default_cache()
    try:
        c = default_cache()
        assert c is default_cache() and c.l2 is None and c.l1.max_bytes == 256 << 20
        configure_default_cache(tmp_path / "given", l2_bytes=1 << 20)
        c = default_cache()
        assert c.l2 is not None and c.l2.root == tmp_path / "given" and c.l2.max_bytes == 1 << 20
        assert not (tmp_path / "env").exists()
    finally:
        reset_default_cache()


def test_cli_run_uses_the_cache_and_no_cache_skips_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path))
    reset_default_cache()
    try:
        argv = ["run", "--demo", "--json", "-p", "n1=12"]
        assert main([*argv, "--no-cache"]) == 0
        plain = capsys.readouterr().out
        assert main(["cache", "stats", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["entries"] == 0
        assert main(argv) == 0 and main(argv) == 0
        first, second = capsys.readouterr().out.splitlines()
        assert first == second == plain.strip()
        assert default_cache().stats()["l1"]["hits"] == 1
        assert main(["run", "--demo", "-p", "n1=12", "--profile"]) == 0
        out = capsys.readouterr().out
        assert "Profile (from cache" in out and "backtest.load" in out
        assert main(["cache", "stats"]) == 0 and "entries    1" in capsys.readouterr().out
        assert main(["cache", "clear"]) == 0 and "removed 1 entries" in capsys.readouterr().out
    finally:
        reset_default_cache()


def test_write_behind_flush_and_exit(tmp_path, monkeypatch):
    from engine.cache import writer

    monkeypatch.setattr(writer, "_IDLE_EXIT_SECONDS", 0.05)
    cache = ResultCache(tmp_path, write_behind=True)
    rows = {f"k{i}": {"sharpe_ratio": float(i)} for i in range(200)}
    cache.put_many(rows)
    assert cache.get("k7") == rows["k7"]  # visible in this process at once
    cache.flush()
    assert cache.stats()["l2"]["pending_writes"] == 0
    assert ResultCache(tmp_path).get_many(list(rows)) == rows
    with pytest.raises(TypeError):
        cache.put("bad", {"x": object()})
    assert cache.get("bad") is None
    deadline = time.monotonic() + 5
    while cache._writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache._writer._thread is None  # idle writer thread exits ...
    cache.put("later", [1, 2])  # ... and restarts on demand
    cache.flush()
    assert ResultCache(tmp_path).get("later") == [1, 2]
    # a process that exits without flushing still writes its queue (atexit)
    code = (f"from engine.cache import ResultCache; c = ResultCache({str(tmp_path)!r}, write_behind=True); "
            "c.put_many({f'p{i}': [i] * 50 for i in range(300)})")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(ResultCache(tmp_path).get_many([f"p{i}" for i in range(300)])) == 300
