"""A benchmark results document (benchmarks/runner.py) in the Prometheus text format (docs/metrics.md):

    backbench_bench_seconds{suite, name, stat="median"|"min"|"p95"}   seconds per call
    backbench_bench_rate{suite, name, unit}                           work per second (median)
    backbench_bench_peak_rss_bytes{suite, name}                       peak RSS of the process tree
    backbench_bench_figure{suite, name, unit}                         each derived figure (ratio), and
    backbench_bench_figure_target{...} / backbench_bench_figure_meets_target{...}  its target, 1 if met

so a nightly `backbench bench --metrics-file bench.prom` lands beside the node's other metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.metrics.exporter import require_client


def bench_families(doc: dict[str, Any]) -> list[Any]:
    from prometheus_client.core import GaugeMetricFamily

    seconds = GaugeMetricFamily("backbench_bench_seconds", "Seconds per call of each benchmark.",
                                labels=["suite", "name", "stat"], unit="seconds")
    rate = GaugeMetricFamily("backbench_bench_rate", "Work per second of each benchmark (medians).",
                             labels=["suite", "name", "unit"])
    rss = GaugeMetricFamily("backbench_bench_peak_rss_bytes", "Peak RSS of the process tree during one call.",
                            labels=["suite", "name"], unit="bytes")
    figure = GaugeMetricFamily("backbench_bench_figure", "Each derived figure (from medians).",
                               labels=["suite", "name", "unit"])
    target = GaugeMetricFamily("backbench_bench_figure_target", "The figure's target.",
                               labels=["suite", "name", "unit", "better"])
    meets = GaugeMetricFamily("backbench_bench_figure_meets_target", "1 if the figure meets its target, else 0.",
                              labels=["suite", "name"])
    for r in doc.get("results", []):
        if "error" in r:
            continue
        for stat, key in (("median", "median_s"), ("min", "min_s"), ("p95", "p95_s")):
            if r.get(key) is not None:
                seconds.add_metric([r["suite"], r["name"], stat], float(r[key]))
        if r.get("rate") is not None:
            rate.add_metric([r["suite"], r["name"], r.get("unit") or ""], float(r["rate"]))
        mb = r.get("peak_rss_mb")
        if mb is not None:
            rss.add_metric([r["suite"], r["name"]], float(mb) * 1024 * 1024)
    for q in doc.get("ratios", []):
        figure.add_metric([q["suite"], q["name"], q["unit"]], float(q["value"]))
        if q.get("target") is not None:
            target.add_metric([q["suite"], q["name"], q["unit"], q["better"]], float(q["target"]))
            meets.add_metric([q["suite"], q["name"]], 1.0 if q["meets"] else 0.0)
    return [seconds, rate, rss, figure, target, meets]


def write_bench_file(doc: dict[str, Any], path: str | Path) -> None:
    require_client("--metrics-file")
    from prometheus_client import CollectorRegistry, write_to_textfile

    class _Doc:
        def collect(self) -> list[Any]:
            return bench_families(doc)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Doc())  # type: ignore[arg-type]
    write_to_textfile(str(path), reg)
