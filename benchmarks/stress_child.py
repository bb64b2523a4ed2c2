"""One-shot child processes of the stress suite: `python -m benchmarks.stress_child ROLE ARGS...`.

Each prints one JSON object on its last stdout line. Run in a process of their own so that their
memory figures (RSS growth, peak RSS) are theirs alone and the runner does not keep gigabytes around.

- backtests N WARMUP BARS: N backtests in this process (SMA cross with varying windows on demo bars,
  no cache); RSS after WARMUP of them (after gc) and at the end; growth in %.
- e2e N: N minute bars end to end: generate -> write to a fresh DuckDB store -> read back -> backtest.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from typing import Any

from benchmarks.procmem import high_water_mb, release_free_memory, rss_sum


def _rss_mb() -> float:
    return rss_sum([os.getpid()]) / 2**20


def backtests(n: int, warmup: int, n_bars: int) -> dict[str, Any]:
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import generate_bars

    bars = generate_bars("STRESS", n_bars, "1d", seed=7)
    config = SimConfig(commission=0.001)
    windows = [(a, b) for a in range(5, 30) for b in range(31, 71, 2)]  # 500 distinct combos, cycled

    def one(i: int) -> None:
        a, b = windows[i % len(windows)]
        run_backtest(bars, "sma_cross", {"n1": a, "n2": b}, config)

    for i in range(warmup):
        one(i)
    release_free_memory()
    after_warmup = _rss_mb()
    trace = [after_warmup]
    t0 = time.perf_counter()
    step = max(1, (n - warmup) // 9)
    for i in range(warmup, n):
        one(i)
        if (i - warmup + 1) % step == 0:
            gc.collect()
            trace.append(_rss_mb())
    seconds = time.perf_counter() - t0
    release_free_memory()
    end = _rss_mb()
    return {"seconds": seconds, "backtests_timed": n - warmup, "bars": n_bars, "work": (n - warmup) * n_bars,
            "rss_after_warmup_mb": after_warmup, "rss_end_mb": end,
            "rss_growth_pct": 100.0 * (end - after_warmup) / after_warmup, "rss_trace_mb": trace,
            "peak_rss_mb": high_water_mb(os.getpid()) or max(trace)}


def e2e(n: int) -> dict[str, Any]:
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import generate_bars
    from engine.data.store import Store

    out: dict[str, Any] = {"bars": n}
    with tempfile.TemporaryDirectory(prefix="backbench-e2e-") as d:
        generate_bars("WARM", 100, "1m", seed=1)  # numba: load the kernel outside the timing
        t0 = time.perf_counter()
        bars = generate_bars("E2E", n, "1m", seed=11)
        out["generate_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        with Store(os.path.join(d, "e2e.duckdb")) as store:
            written = store.write_bars(bars, source="stress")
        out["write_s"] = time.perf_counter() - t
        if written.inserted != n:
            raise RuntimeError(f"wrote {written.inserted} rows, expected {n}")
        expected = bars.fingerprint()
        del bars
        release_free_memory()
        t = time.perf_counter()
        with Store(os.path.join(d, "e2e.duckdb"), read_only=True) as store:
            loaded = store.load("E2E", "1m")
        out["read_s"] = time.perf_counter() - t
        if len(loaded) != n or loaded.fingerprint() != expected:
            raise RuntimeError("the bars read back differ from the bars written")
        t = time.perf_counter()
        result = run_backtest(loaded, "sma_cross", {"n1": 50, "n2": 200}, SimConfig(commission=0.001))
        out["backtest_s"] = time.perf_counter() - t
        out["seconds"] = time.perf_counter() - t0
        out["trades"] = int(result.stats["n_trades"])
        out["db_mb"] = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) / 2**20
    out["peak_rss_mb"] = high_water_mb(os.getpid()) or _rss_mb()
    out["work"] = n
    return out


if __name__ == "__main__":
    role, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    reply = backtests(*args) if role == "backtests" else e2e(*args)
    sys.stdout.write(json.dumps(reply) + "\n")
