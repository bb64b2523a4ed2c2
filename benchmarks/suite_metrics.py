"""Suite "metrics": what the /metrics endpoint costs a sweep (issue 19; docs/metrics.md).

Both benchmarks run the same sweep, SMA cross over 480 combos of 100,000 seeded bars on a warm pool of
2 local workers (the pool is shared, so both do the same work on the same processes), no result cache:
- sweep_metrics_off: the sweep alone;
- sweep_metrics_on: the sweep with app.metrics' server listening on a 127.0.0.1 port of this process and
  scraped, with prometheus_client's parser reading every answer, every SCRAPE_EVERY_S = 0.25 seconds by a
  thread here (Prometheus' default is every 15 s; this is 60 times harsher, so every call sees scrapes).
Their repeats are interleaved by the runner, so load from other processes falls on both alike.
Figure: exporter_overhead_pct = (on / off - 1) x 100, target under 1 %. On a busy machine this paired
figure is noisy (compare its value from the fastest repeats), so a second one bounds it from below the
noise: scrape_metrics times one scrape (snapshot, exposition, HTTP, parse) of a registry that holds a
sweep's figures, and scrape_core_pct_at_1s is that time as a share of one core when scraped every second.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from typing import Any

from benchmarks.runner import Context, Skip, benchmark, ratio

SUITE = "metrics"
TARGET_PCT = 1.0
SCRAPE_EVERY_S = 0.25  # the paired benchmark: every sweep call (~0.5 s here) sees scrapes
GRID = {"n1": list(range(5, 125, 5)), "n2": list(range(130, 330, 10))}  # 24 x 20 = 480 combos


def _sweep_setup(ctx: Context) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        from engine.data.demo import generate_bars
        from engine.sweep.executors import LocalExecutor

        bars = generate_bars("BENCH", ctx.size(100_000, 2_000), "1m", seed=20240611)
        executor = LocalExecutor(2)
        ctx.at_suite_end(executor.close)
        return {"bars": bars, "executor": executor}
    return ctx.shared("metrics:sweep", make)


def _sweep(setup: dict[str, Any]) -> int:
    from engine.sweep import run_sweep

    result = run_sweep(setup["bars"], "sma_cross", GRID, executor=setup["executor"])
    return result.total * len(setup["bars"])


@benchmark(suite=SUITE, name="sweep_metrics_off", unit="bar-steps/s", repeats=21, quick_repeats=7, min_time=0.0,
           tracemalloc=False, memory="none")
def _off(ctx: Context):
    """480-combo SMA-cross sweep of 100,000 bars on 2 workers, no /metrics server"""
    setup = _sweep_setup(ctx)
    return lambda: _sweep(setup)


@benchmark(suite=SUITE, name="sweep_metrics_on", unit="bar-steps/s", repeats=21, quick_repeats=7, min_time=0.0,
           tracemalloc=False, memory="none")
def _on(ctx: Context):
    """the same sweep with /metrics served on 127.0.0.1 and scraped every 0.25 s"""
    try:
        from prometheus_client.parser import text_string_to_metric_families

        from app.metrics.exporter import MetricsServer
    except ImportError:
        raise Skip("prometheus_client not installed (pip install -e '.[metrics]')") from None
    from engine.runtime.profiling import default_registry

    setup = _sweep_setup(ctx)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = MetricsServer(default_registry(), "127.0.0.1", port).start()
    stop = threading.Event()
    scrapes = [0]

    def scraper() -> None:
        while not stop.wait(SCRAPE_EVERY_S):
            with urllib.request.urlopen(server.url, timeout=10) as resp:
                list(text_string_to_metric_families(resp.read().decode()))
            scrapes[0] += 1

    thread = threading.Thread(target=scraper, name="metrics-scraper", daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=15)
        server.stop()
        ctx.note(f"metrics/sweep_metrics_on: {scrapes[0]} scrapes of /metrics during the suite")
    ctx.at_suite_end(close)
    return lambda: _sweep(setup)


@benchmark(suite=SUITE, name="scrape_metrics", unit="s", latency=True, repeats=11, quick_repeats=5,
           tracemalloc=False, memory="none")
def _scrape(ctx: Context):
    """one GET /metrics on 127.0.0.1 and its parse, the registry holding a sweep's figures"""
    try:
        from prometheus_client.parser import text_string_to_metric_families

        from app.metrics.exporter import MetricsServer
    except ImportError:
        raise Skip("prometheus_client not installed (pip install -e '.[metrics]')") from None
    from engine.runtime.profiling import default_registry

    _sweep(_sweep_setup(ctx))  # the registry holds what a sweep records (workers, stages, cache)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = MetricsServer(default_registry(), "127.0.0.1", port).start()
    ctx.at_suite_end(server.stop)

    def work() -> None:
        with urllib.request.urlopen(server.url, timeout=10) as resp:
            list(text_string_to_metric_families(resp.read().decode()))
    return work


@ratio(suite=SUITE, name="scrape_core_pct_at_1s", target=TARGET_PCT, better="lower", unit="%")
def _scrape_share(get) -> float:
    """one scrape's time as a share of one core, scraped every second (Prometheus' default: every 15 s)"""
    return get("scrape_metrics")["median_s"] / 1.0 * 100.0


@ratio(suite=SUITE, name="exporter_overhead_pct", target=TARGET_PCT, better="lower", unit="%")
def _overhead(get) -> float:
    """sweep time with /metrics served and scraped every 0.25 s, over without it, minus 1, in percent"""
    return (get("sweep_metrics_on")["median_s"] / get("sweep_metrics_off")["median_s"] - 1.0) * 100.0
