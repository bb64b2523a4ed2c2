"""The benchmark runner's mechanics: JSON fields, --compare regressions, CLI errors.

Nothing here passes or fails on how fast anything ran: the synthetic baselines are 1000x off, and
the comparison logic is tested on plain dicts.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import runner
from benchmarks.runner import Registry, compare, main, parse_threshold

REPO = Path(__file__).resolve().parents[2]

RESULT_KEYS = {"suite", "name", "median_s", "min_s", "max_s", "p95_s", "repeats", "rate", "unit",
               "peak_tracemalloc_mb", "peak_rss_mb"}


def tiny_registry() -> Registry:
    reg = Registry()

    @reg.benchmark(suite="toy", name="sum_1k", unit="items/s", repeats=3, quick_repeats=2, min_time=0.001)
    def _sum(ctx):
        """sum of 1,000 floats"""
        x = np.arange(1_000, dtype=np.float64)

        def work():
            x.sum()
            return len(x)
        return work, {"n": len(x)}

    @reg.benchmark(suite="toy", name="sleepless_latency", unit="s", latency=True, repeats=3, min_time=0.0,
                   tracemalloc=False)
    def _latency(ctx):
        return lambda: None

    @reg.benchmark(suite="toy", name="peer_thing", unit="items/s", repeats=2, gate=False, min_time=0.001)
    def _peer(ctx):
        return lambda: 10

    @reg.ratio(suite="toy", name="sum_vs_peer", target=1e-12)
    def _ratio(get):
        return get("peer_thing")["median_s"] / get("sum_1k")["median_s"]

    @reg.ratio(suite="toy", name="needs_missing")
    def _missing(get):
        return get("not_a_benchmark")["median_s"]

    return reg


@pytest.fixture
def toy_run(tmp_path):
    out = tmp_path / "results.json"
    assert main(["--suite", "toy", "--quick", "--out", str(out)], registry=tiny_registry()) == 0
    return out, json.loads(out.read_text())


@pytest.mark.slow
def test_results_json_has_documented_fields(toy_run):
    _, doc = toy_run
    for key in ("machine", "versions", "git_commit", "created", "results", "ratios"):
        assert key in doc
    for key in ("platform", "cpu_count_logical", "cpu_count_physical", "memory_total_gb"):
        assert key in doc["machine"]
    for key in ("python", "numpy", "numba"):
        assert doc["versions"][key]
    assert [r["name"] for r in doc["results"]] == ["sum_1k", "sleepless_latency", "peer_thing"]
    for r in doc["results"]:
        assert RESULT_KEYS <= set(r), RESULT_KEYS - set(r)
        assert r["min_s"] <= r["median_s"] <= r["max_s"]
        assert r["min_s"] <= r["p95_s"] <= r["max_s"]
        assert r["peak_rss_mb"] > 0
    summed = doc["results"][0]
    assert summed["repeats"] == 2 and summed["work"] == 1000.0 and summed["info"] == {"n": 1000}
    assert summed["rate"] == pytest.approx(1000.0 / summed["median_s"])
    assert summed["peak_tracemalloc_mb"] is not None
    latency = doc["results"][1]
    assert latency["rate"] is None and latency["peak_tracemalloc_mb"] is None and latency["p95_s"] is not None
    # a ratio whose input is missing is left out; the other one is evaluated against its target
    assert [q["name"] for q in doc["ratios"]] == ["sum_vs_peer"]
    q = doc["ratios"][0]
    assert set(q) >= {"name", "value", "target", "meets"} and q["meets"] is True and q["value"] > 0


def _scaled(doc, factor):
    base = copy.deepcopy(doc)
    for r in base["results"]:
        for key in ("median_s", "min_s", "max_s", "p95_s"):
            r[key] *= factor
        if r["rate"] is not None:
            r["rate"] /= factor
    return base


@pytest.mark.slow
def test_compare_flags_a_synthetic_regression(toy_run, tmp_path, capsys):
    _, doc = toy_run
    faster = tmp_path / "faster_baseline.json"
    faster.write_text(json.dumps(_scaled(doc, 1e-3)))  # the baseline was 1000x faster
    code = main(["--suite", "toy", "--quick", "--compare", str(faster), "--threshold", "10%"],
                registry=tiny_registry())
    out = capsys.readouterr().out
    assert code == 1
    assert "REGRESSED" in out and "REGRESSION past 10%" in out
    assert "sum_1k" in out.split("REGRESSION past")[1]
    # a peer's own timing is shown but never gates
    assert "peer_thing" not in out.split("REGRESSION past")[1]


@pytest.mark.slow
def test_compare_passes_against_a_slower_baseline(toy_run, tmp_path, capsys):
    _, doc = toy_run
    slower = tmp_path / "slower_baseline.json"
    slower.write_text(json.dumps(_scaled(doc, 1e3)))
    assert main(["--suite", "toy", "--quick", "--compare", str(slower)], registry=tiny_registry()) == 0
    assert "REGRESSED" not in capsys.readouterr().out


def _res(name, median, rate=None, work=100.0, gate=True):
    return {"suite": "s", "name": name, "median_s": median, "rate": rate, "work": work, "unit": "bars/s",
            "gate": gate}


def test_compare_rules_on_plain_dicts():
    base = {"results": [_res("t", 1.0), _res("r", 1.0, rate=100.0), _res("p", 1.0, gate=False),
                        _res("w", 1.0, work=50.0), _res("same", 1.0, rate=100.0)]}
    cur = {"results": [_res("t", 1.2), _res("r", 1.05, rate=85.0), _res("p", 5.0, gate=False),
                       _res("w", 9.0, work=100.0), _res("same", 1.09, rate=92.0), _res("new", 1.0)]}
    rows = {r["name"]: r for r in compare(cur, base, 0.10)}
    assert rows["t"]["regressed"] and rows["t"]["time_change"] == pytest.approx(0.2)
    assert rows["r"]["regressed"] and rows["r"]["rate_change"] == pytest.approx(-0.15)  # rate down 15 %
    assert not rows["p"]["regressed"] and rows["p"]["status"].startswith("slower")
    assert not rows["w"]["regressed"] and rows["w"]["status"] == "other size"
    assert not rows["same"]["regressed"] and rows["same"]["status"] == "ok"
    assert rows["new"]["status"] == "new"


def test_repeats_of_a_suite_are_interleaved():
    calls = []
    reg = Registry()
    for label in ("a", "b"):
        @reg.benchmark(suite="pair", name=label, unit="x/s", repeats=3, warmup=1, min_time=0.0, rss=False,
                       tracemalloc=False)
        def _f(ctx, _label=label):
            return lambda: calls.append(_label) or 1
    assert main(["--suite", "pair"], registry=reg) == 0
    # setup: warm-up of a, warm-up of b; then the three timed rounds alternate
    assert calls == ["a", "b"] + ["a", "b"] * 3


def test_threshold_parsing():
    assert parse_threshold("10%") == pytest.approx(0.10)
    assert parse_threshold("2.5") == pytest.approx(0.025)
    with pytest.raises(runner.UsageError):
        parse_threshold("ten")
    with pytest.raises(runner.UsageError):
        parse_threshold("-5%")


def test_unknown_suite_is_one_clear_line_and_exit_2():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--suite", "nosuch"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown suite 'nosuch'" in lines[0] and "backtest" in lines[0] and "peers" in lines[0]
    assert proc.stdout == ""


def test_missing_baseline_is_a_usage_error(tmp_path, capsys):
    code = main(["--suite", "toy", "--compare", str(tmp_path / "nope.json")], registry=tiny_registry())
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_failing_benchmark_is_reported_and_exit_3(capsys):
    reg = Registry()

    @reg.benchmark(suite="bad", name="boom", unit="x/s")
    def _boom(ctx):
        raise RuntimeError("parity check failed: 1 vs 2")

    assert main(["--suite", "bad"], registry=reg) == 3
    assert "parity check failed" in capsys.readouterr().out


@pytest.mark.slow
def test_backtest_suite_smoke_at_tiny_size(tmp_path):
    """The real backtest suite's warm benchmarks run end to end (tiny bars; figures not checked)."""
    out = tmp_path / "bt.json"
    assert main(["--suite", "backtest", "--tiny", "--filter", "sma_cross_*", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    names = {r["name"] for r in doc["results"]}
    assert {f"sma_cross_{k}_{s}" for k in ("10k", "1m") for s in ("warm", "signals", "simulate", "stats")} == names
    assert all(r["rate"] > 0 and r["info"]["bars"] in (2_000, 20_000) for r in doc["results"])
    assert {"simulate_kernel_bars_per_s", "backtest_1m_bars_per_s", "stages_over_whole_1m"} <= {
        q["name"] for q in doc["ratios"]}
    assert doc["mode"]["tiny"] is True
