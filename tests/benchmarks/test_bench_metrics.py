"""`python -m benchmarks run --metrics-file` / `backbench bench --metrics-file`: the results as Prometheus metrics."""

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from app.cli import build_parser  # noqa: E402
from app.cli_bench import bench_argv  # noqa: E402
from benchmarks.runner import main  # noqa: E402
from tests.benchmarks.test_runner import tiny_registry  # noqa: E402


def test_a_run_writes_its_results_as_metrics(tmp_path):
    out = tmp_path / "bench.prom"
    assert main(["--suite", "toy", "--quick", "--filter", "sum_1k", "--filter", "peer_thing", "--metrics-file",
                 str(out)], registry=tiny_registry()) == 0
    samples = {(s.name, s.labels.get("name"), s.labels.get("stat")): s.value
               for f in text_string_to_metric_families(out.read_text()) for s in f.samples}
    assert samples[("backbench_bench_seconds", "sum_1k", "median")] > 0
    assert ("backbench_bench_figure", "sum_vs_peer", None) in samples


def test_backbench_bench_passes_the_option_on(tmp_path):
    args = build_parser().parse_args(["bench", "--suite", "metrics", "--metrics-file", "x.prom"])
    assert bench_argv(args)[-2:] == ["--metrics-file", "x.prom"]
