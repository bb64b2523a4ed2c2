"""The runner's newer mechanics: `report` renders HTML from a results JSON, a missing suite is one clear
line (exit 2), self-timed calls and figure rows, heavy benchmarks under --quick, and `backbench bench`.

Small and fast: toy registries and hand-made results, nothing is timed for real.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from benchmarks.runner import FigureRow, Registry, Sample, main


def tiny_results(factor: float = 1.0) -> dict:
    def res(suite, name, median, rate=None, work=None, unit="s", gate=True):
        return {"suite": suite, "name": name, "unit": unit, "description": f"{name} does x", "gate": gate,
                "latency": rate is None, "median_s": median * factor, "min_s": 0.9 * median * factor,
                "max_s": 1.2 * median * factor, "p95_s": 1.15 * median * factor, "repeats": 3, "number": 1,
                "warmup": 1, "work": work, "rate": (work / (median * factor)) if work else None,
                "peak_tracemalloc_mb": 1.5, "peak_rss_mb": 300.0, "rss_delta_mb": 2.0, "times_s": [], "info": {}}
    return {
        "machine": {"processor": "Toy CPU", "cpu_count_usable": 2, "cpu_count_physical": 2, "memory_total_gb": 8,
                    "platform": "toy", "load_avg_1_5_15": [0.1, 0.1, 0.1]},
        "versions": {"python": "3.11"}, "git_commit": "abc123", "created": "2026-01-01T00:00:00+00:00",
        "mode": {"suites": ["sweep", "cache"], "quick": True, "tiny": False, "filter": []},
        "suite_seconds": {"sweep": 12.0, "cache": 3.0},
        "results": [res("sweep", "ours_100k", 0.5, rate=1, work=30e6, unit="bar-steps/s"),
                    res("sweep", "vectorbt_100k", 14.0, rate=1, work=30e6, unit="bar-steps/s", gate=False),
                    res("cache", "l1_get_hit", 3e-7)],
        "ratios": [{"suite": "sweep", "name": "ours_vs_vectorbt_sweep_100k", "value": 28.0, "target": 20.0,
                    "better": "higher", "meets": True, "unit": "x", "value_from_min": 29.0,
                    "description": "vectorbt / ours"},
                   {"suite": "sweep", "name": "sweep_1000x1m_peak_mb", "value": 1400.0, "target": 500.0,
                    "better": "lower", "meets": False, "unit": "MB", "value_from_min": 1400.0,
                    "description": "peak RSS"}],
        "checks": [{"name": "sweep parity", "ok": True, "detail": "300 combos equal"}],
        "notes": ["a note <with markup>"],
    }


@pytest.fixture
def results_files(tmp_path):
    cur, base = tmp_path / "results.json", tmp_path / "baseline.json"
    cur.write_text(json.dumps(tiny_results()))
    base.write_text(json.dumps(tiny_results(factor=0.5)))  # the baseline was twice as fast: regressions
    return cur, base


def test_report_renders_html_with_every_section(results_files, tmp_path):
    cur, base = results_files
    out = tmp_path / "report.html"
    assert main(["report", str(cur), "--compare", str(base), "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for section in ('id="run"', 'id="targets"', 'id="suite-sweep"', 'id="suite-cache"', 'id="checks"'):
        assert section in page, section
    assert "Toy CPU" in page and "abc123" in page
    # every figure beside its target and every benchmark beside its baseline
    assert "ours_vs_vectorbt_sweep_100k" in page and "&gt;= 20.0x" in page and "NO" in page
    assert "ours_100k" in page and "REGRESSED" in page and "+100.0%" in page
    assert "a note &lt;with markup&gt;" in page  # text is escaped
    # charts: PNGs embedded as base64 (targets + one per suite with a baseline)
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) == 3
    assert all(base64.b64decode(p)[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_report_without_baseline_says_so(results_files, tmp_path):
    cur, _ = results_files
    out = tmp_path / "report.html"
    assert main(["report", str(cur), "--suite", "cache", "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'id="suite-cache"' in page and 'id="suite-sweep"' not in page
    assert "No baseline given" in page


def test_report_of_a_suite_not_in_the_results_is_one_clear_line(results_files, capsys):
    cur, _ = results_files
    assert main(["report", str(cur), "--suite", "gui", "--html", "unused.html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "suite 'gui' is not in" in err[0] and "it has: sweep, cache" in err[0]


def test_report_needs_a_results_file(tmp_path, capsys):
    assert main(["report"]) == 2
    assert "report needs a results JSON" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert main(["report", str(bad)]) == 2
    assert "is not a results JSON" in capsys.readouterr().err


def test_self_timed_calls_and_figure_rows(tmp_path):
    reg = Registry()

    @reg.benchmark(suite="toy", name="child", unit="items/s", repeats=3, warmup=0, min_time=0.0,
                   tracemalloc=False, memory="reported",
                   rows=(FigureRow("setup_ms", "child_setup", 1e-3),
                         FigureRow("rows_per_s", "child_rows", unit="rows/s", work="rows", inverse=True)))
    def _child(ctx):
        return lambda: Sample(100, 0.5, {"setup_ms": 20.0, "rows_per_s": 1000.0, "rows": 10, "peak_rss_mb": 123.0})

    out = tmp_path / "r.json"
    assert main(["--suite", "toy", "--out", str(out)], registry=reg) == 0
    rows = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["child"]["median_s"] == 0.5 and rows["child"]["rate"] == pytest.approx(200.0)  # its own time
    assert rows["child"]["peak_rss_mb"] == 123.0 and rows["child"]["figures"]["setup_ms"]["median"] == 20.0
    assert rows["child_setup"]["median_s"] == pytest.approx(0.02) and rows["child_setup"]["rate"] is None
    assert rows["child_rows"]["median_s"] == pytest.approx(0.01) and rows["child_rows"]["rate"] == pytest.approx(1000)


@pytest.mark.slow
def test_quick_skips_heavy_benchmarks_unless_their_suite_is_named(tmp_path, capsys):
    reg = Registry()
    for name, heavy in (("light", False), ("big", True)):
        @reg.benchmark(suite="toy", name=name, unit="x/s", repeats=1, warmup=0, min_time=0.0, rss=False,
                       tracemalloc=False, heavy=heavy)
        def _f(ctx):
            return lambda: 1

    @reg.benchmark(suite="other", name="o", unit="x/s", repeats=1, warmup=0, min_time=0.0, rss=False,
                   tracemalloc=False)
    def _o(ctx):
        return lambda: 1

    out = tmp_path / "r.json"
    assert main(["--quick", "--out", str(out)], registry=reg) == 0
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["results"]] == ["light", "o"]
    assert any("heavy benchmarks of 'toy' skipped (big)" in n for n in doc["notes"])
    assert main(["--quick", "--suite", "toy", "--out", str(out)], registry=reg) == 0
    assert [r["name"] for r in json.loads(out.read_text())["results"]] == ["light", "big"]


def test_backbench_bench_is_the_same_command(results_files, tmp_path):
    from app.cli import build_parser
    from app.cli import main as backbench

    cur, _ = results_files
    out = tmp_path / "via_cli.html"
    assert backbench(["bench", "report", str(cur), "--html", str(out)]) == 0
    assert 'id="targets"' in out.read_text(encoding="utf-8")
    from benchmarks.runner import build_parser as bench_parser

    sub = next(a for a in build_parser()._subparsers._group_actions if a.dest == "command").choices["bench"]
    options = sorted(o for a in sub._actions for o in a.option_strings)
    assert options == sorted(o for a in bench_parser()._actions for o in a.option_strings)


@pytest.mark.slow
def test_data_and_cache_adapters_smoke_at_tiny_size(tmp_path):
    """bench_data's and bench_cache's functions run as suites: every figure row, with its ratios."""
    out = tmp_path / "dc.json"
    assert main(["--suite", "data", "cache", "--tiny", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = {(r["suite"], r["name"]): r for r in doc["results"]}
    for name in ("import_csv_1m", "import_parquet_1m", "naive_executemany", "read_1m", "demo_fill_store"):
        assert ("data", name) in rows, name
    assert rows[("data", "import_csv_1m")]["work"] == 20_000 and rows[("data", "read_1m")]["rate"] > 0
    assert rows[("data", "naive_executemany")]["work"] == 200 and not rows[("data", "naive_executemany")]["gate"]
    for name in ("l1_get_hit", "l2_get_hit_10k", "run_backtest_10k_l2_hit", "record_backtest", "row_put_sync"):
        assert rows[("cache", name)]["latency"] and rows[("cache", name)]["median_s"] > 0, name
    ratios = {q["name"] for q in doc["ratios"]}
    assert {"import_csv_vs_executemany", "read_rows_per_s", "l1_get_hit_ns", "profiling_overhead_pct"} <= ratios


def test_a_regression_needs_the_fastest_repeat_slower_too():
    from benchmarks.runner import compare

    def res(name, median, fastest):
        return {"suite": "s", "name": name, "median_s": median, "min_s": fastest, "rate": None, "work": None,
                "unit": "s", "gate": True}
    base = {"results": [res("noisy", 1.0, 0.9), res("slower", 1.0, 0.9)]}
    cur = {"results": [res("noisy", 1.3, 0.92), res("slower", 1.3, 1.2)]}
    rows = {r["name"]: r for r in compare(cur, base, 0.10)}
    assert not rows["noisy"]["regressed"] and rows["noisy"]["status"].startswith("ok (median only")
    assert rows["slower"]["regressed"] and rows["slower"]["min_change"] == pytest.approx(1.2 / 0.9 - 1)
