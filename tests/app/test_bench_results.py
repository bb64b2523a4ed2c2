"""Reading results files for the GUI's Benchmarks tab and the runner: one format check, clear faults."""

import json
from pathlib import Path

import pytest

from app.bench_results import ResultsFileError, compare, load_results, machine_label, suites_of

BASELINE = Path(__file__).resolve().parents[2] / "benchmarks" / "baselines" / "linux-x86_64-2core.json"


def test_the_committed_baseline_is_a_results_file():
    doc = load_results(BASELINE)
    assert "backtest" in suites_of(doc) and len(doc["results"]) > 10
    assert "CPUs" in machine_label(doc)


@pytest.mark.parametrize(("text", "fault"), [
    ("{not json", "not valid JSON (line 1, column 2"),
    ("[1, 2]", "the top level is a JSON list"),
    ('{"machine": {}}', "no 'results' list (its keys: machine)"),
    ('{"results": [{"suite": "s"}]}', "results entry 1 has no 'name'"),
    ('{"results": [{"suite": "s", "name": "n"}]}', "results entry 1 (s/n) has no number 'median_s'"),
    ('{"results": [], "ratios": [{"suite": "s", "name": "q", "value": "fast"}]}', "not a number"),
])
def test_a_file_that_is_not_a_results_json_names_itself_and_the_fault(tmp_path, text, fault):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ResultsFileError) as info:
        load_results(path)
    assert str(info.value).startswith("broken.json: ") and fault in str(info.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ResultsFileError, match="gone.json: file not found"):
        load_results(tmp_path / "gone.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ResultsFileError, match="bin.json: not a text file"):
        load_results(tmp_path / "bin.json")


def test_an_error_entry_needs_no_median(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"results": [{"suite": "s", "name": "n", "error": "boom"}]}))
    assert load_results(path)["results"][0]["error"] == "boom"


def test_compare_flags_a_gated_result_slower_past_the_threshold():
    doc = load_results(BASELINE)
    slower = json.loads(json.dumps(doc))
    r = slower["results"][0]
    r["median_s"] *= 1.5
    r["min_s"] *= 1.5
    r["rate"] /= 1.5
    rows = compare(slower, doc, 0.10)
    assert rows[0]["regressed"] and rows[0]["time_change"] == pytest.approx(0.5)
    assert not any(row["regressed"] for row in rows[1:])

