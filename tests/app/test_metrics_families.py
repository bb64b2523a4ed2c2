"""The registry as OpenMetrics (app/metrics/): names, units and labels, both text formats through prometheus_client's
own parsers, the app's server switched by its setting, benchmark results as metrics, the Grafana panel's names."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client import generate_latest  # noqa: E402
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics  # noqa: E402
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as parse_text  # noqa: E402

from app.metrics.exporter import MetricsServer, collector_registry, is_loopback, sync_app_server, warn_if_exposed  # noqa: E402
from app.metrics.families import families  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.settings.model import MetricsSettings  # noqa: E402
from engine.runtime.profiling import Registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def filled() -> Registry:
    reg = Registry(window=8)
    reg.counter("backtest.runs").inc(3)
    reg.counter("backtest.cached").inc(2)
    reg.counter("sweep.combos.computed").inc(40)
    reg.counter("sweep.combos.cached").inc(7)
    reg.counter("import.rows").inc(1234)
    reg.counter("some.new.thing").inc(5)  # unknown to the table: still exported
    reg.gauge("sweep.workers_busy").set(2)
    for s in (0.001, 0.002, 0.003):
        reg.timer("backtest.simulate").record(s)
    reg.record_worker_report("tls://127.0.0.1:4000", 0.5, 100 << 20, 1000, tasks=4)  # a Dask worker's address
    reg.add_collector("cache", lambda: {"counters": {"cache.l1.hits": 9, "cache.l2.misses": 1},
                                        "gauges": {"cache.l1.bytes": 4096}})
    return reg


def values(text: str, openmetrics: bool) -> dict:
    parse = parse_openmetrics if openmetrics else parse_text
    return {(s.name, frozenset(s.labels.items())): s.value for f in parse(text) for s in f.samples}


@pytest.mark.parametrize("openmetrics", [False, True], ids=["text-0.0.4", "openmetrics"])
def test_names_units_and_labels_parse_back(openmetrics):
    reg = collector_registry(filled())
    text = (generate_openmetrics if openmetrics else generate_latest)(reg).decode()
    v = values(text, openmetrics)
    assert v[("backbench_backtests_total", frozenset({("source", "computed")}))] == 3
    assert v[("backbench_backtests_total", frozenset({("source", "cache")}))] == 2
    assert v[("backbench_sweep_combos_total", frozenset({("result", "cached")}))] == 7
    assert v[("backbench_import_rows_total", frozenset())] == 1234
    assert v[("backbench_some_new_thing_total", frozenset())] == 5
    assert v[("backbench_workers_busy", frozenset())] == 2
    assert v[("backbench_cache_hits_total", frozenset({("level", "l1")}))] == 9
    assert v[("backbench_cache_size_bytes", frozenset({("level", "l1")}))] == 4096
    worker = frozenset({("worker", "tls://127.0.0.1:4000")})
    assert v[("backbench_worker_rss_bytes", worker)] == 100 << 20
    assert v[("backbench_worker_combos_total", worker)] == 4
    stage = frozenset({("stage", "simulate"), ("kind", "backtest")})
    assert v[("backbench_stage_seconds_count", stage)] == 3
    assert v[("backbench_stage_seconds_sum", stage)] == pytest.approx(0.006)
    assert v[("backbench_stage_seconds", stage | {("quantile", "0.5")})] == pytest.approx(0.002)
    if openmetrics:
        fams = {f.name: f for f in parse_openmetrics(text)}
        assert fams["backbench_stage_seconds"].unit == "seconds" and fams["backbench_stage_seconds"].type == "summary"
        assert fams["backbench_worker_rss_bytes"].unit == "bytes"


def test_an_empty_registry_is_valid_openmetrics():
    text = generate_openmetrics(collector_registry(Registry())).decode()
    list(parse_openmetrics(text))
    assert families(Registry().snapshot()) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return b"backbench_" in resp.read() or resp.status == 200
    except OSError:
        return False


def test_server_serves_then_closes():
    server = MetricsServer(filled(), "127.0.0.1", free_port()).start()
    try:
        assert answers(server.url)
    finally:
        server.stop()
    assert not answers(server.url)


def test_the_apps_switch_starts_and_stops_the_server():
    port = free_port()
    on = Settings(metrics=MetricsSettings(app=True, port=port))
    url = sync_app_server(on)
    try:
        assert url == f"http://127.0.0.1:{port}/metrics" and answers(url)
        assert sync_app_server(on) == url  # unchanged settings: the same server
    finally:
        assert sync_app_server(Settings(metrics=MetricsSettings(app=False, port=port))) is None
    assert not answers(url)


def test_loopback_only_unless_told_and_then_a_warning(capsys):
    assert MetricsServer(Registry()).host == "127.0.0.1"
    assert Settings().metrics.host == "127.0.0.1"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    warn_if_exposed("127.0.0.1")
    assert capsys.readouterr().err == ""
    warn_if_exposed("0.0.0.0")
    assert "warning: /metrics listens on 0.0.0.0" in capsys.readouterr().err


def test_a_busy_port_is_a_one_line_error():
    from engine.errors import ConfigError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="cannot listen"):
            MetricsServer(Registry(), "127.0.0.1", s.getsockname()[1]).start()


def test_benchmark_results_as_metrics(tmp_path):
    from app.metrics.bench import write_bench_file

    doc = {"results": [{"suite": "metrics", "name": "sweep_metrics_on", "unit": "bar-steps/s", "median_s": 1.2,
                        "min_s": 1.0, "p95_s": 1.5, "rate": 4e7, "peak_rss_mb": 10.0},
                       {"suite": "metrics", "name": "broken", "error": "boom"}],
           "ratios": [{"suite": "metrics", "name": "exporter_overhead_pct", "value": 0.5, "target": 1.0,
                       "better": "lower", "meets": True, "unit": "%"}]}
    out = tmp_path / "bench.prom"
    write_bench_file(doc, out)
    v = values(out.read_text(), False)
    assert v[("backbench_bench_seconds", frozenset({("suite", "metrics"), ("name", "sweep_metrics_on"),
                                                    ("stat", "median")}))] == 1.2
    assert v[("backbench_bench_peak_rss_bytes", frozenset({("suite", "metrics"), ("name", "sweep_metrics_on")}))] \
        == 10 * 1024 * 1024
    assert v[("backbench_bench_figure_meets_target", frozenset({("suite", "metrics"),
                                                                ("name", "exporter_overhead_pct")}))] == 1


def grafana_metric_names() -> set[str]:
    doc = json.loads((ROOT / "docs" / "grafana" / "backbench-sweep.json").read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    return {name for e in exprs for name in re.findall(r"backbench_[a-z_]+", e)}


def test_the_grafana_panels_use_documented_metrics():
    doc = (ROOT / "docs" / "metrics.md").read_text()
    for name in grafana_metric_names():
        base = name.removeprefix("backbench_")
        assert f"`{base}`" in doc or f"`{base.removesuffix('_total')}_total`" in doc, name
