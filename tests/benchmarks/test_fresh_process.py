"""The whole-process benchmarks of issue 17 run end to end: their equality checks pass and each ratio is
computed (tiny sizes, --quick: the figures themselves are not checked here)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from benchmarks.runner import main


@pytest.mark.slow
def test_import_vs_duckdb_loader_runs_and_checks_same_bars(tmp_path):
    out = tmp_path / "data.json"
    assert main(["--suite", "data", "--tiny", "--quick", "--filter", "*_process", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {r["name"] for r in doc["results"]} == {"import_csv_1m_process", "duckdb_read_csv_1m_process",
                                                  "import_parquet_1m_process", "duckdb_read_parquet_1m_process"}
    assert all(r["info"]["rows"] == 5_000 for r in doc["results"])
    ratios = {q["name"]: q for q in doc["ratios"]}
    for name in ("import_csv_process_over_duckdb", "import_parquet_process_over_duckdb"):
        assert ratios[name]["value"] > 0 and ratios[name]["target"] == 2.0 and ratios[name]["better"] == "lower"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("backtesting") is None, reason="needs the 'peers' extra")
def test_first_backtest_vs_backtesting_py_runs_on_equal_results(tmp_path):
    out = tmp_path / "peers.json"
    assert main(["--suite", "peers", "--quick", "--filter", "*goog*", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    ours = next(r for r in doc["results"] if r["name"] == "backbench_run_goog_process")
    assert ours["info"]["bars"] == 2148 and ours["info"]["closed_trades"] > 0
    ratio = next(q for q in doc["ratios"] if q["name"] == "first_backtest_goog_vs_backtesting_py")
    assert ratio["value"] > 0 and ratio["target"] == 1.5
