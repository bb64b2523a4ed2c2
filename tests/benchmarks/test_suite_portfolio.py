"""The portfolio benchmark suite runs end to end at tiny sizes, its parity checks pass (figures not checked)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("vectorbt")

from benchmarks.runner import main  # noqa: E402


@pytest.mark.slow
def test_portfolio_suite_smoke_at_tiny_size(tmp_path):
    out = tmp_path / "pf.json"
    assert main(["--suite", "portfolio", "--tiny", "--quick", "--filter", "*_sim", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {r["name"] for r in doc["results"]} == {f"{who}_{shape}_sim" for who in ("ours", "vectorbt")
                                                   for shape in ("daily", "minute")}
    assert all(c["ok"] for c in doc["checks"]) and len(doc["checks"]) == 2
    assert {"ours_vs_vectorbt_daily_sim", "tracemalloc_ours_over_vectorbt_minute_sim"} <= {
        q["name"] for q in doc["ratios"]}
