"""`backbench sweep`: JSON rows, files, progress on stderr, walk-forward, and bad input."""

import json

import polars as pl
import pytest

from app.cli import main

BASE = ["sweep", "--demo", "-g", "n1=5:20:5", "-g", "n2=20:60:20", "--workers", "1", "--no-cache"]


def test_json_rows_hold_params_and_run_stats(capsys):
    assert main([*BASE, "--where", "n1<n2 and n2<=4*n1", "--json"]) == 0
    out = capsys.readouterr()
    rows = json.loads(out.out)["rows"]
    assert rows and all(r["n1"] < r["n2"] <= 4 * r["n1"] for r in rows)
    run_keys = set(json.loads(_run_json(capsys))["stats"])
    assert run_keys <= set(rows[0])
    assert "combos" in out.err  # the progress bar


def _run_json(capsys):
    assert main(["run", "--demo", "--json"]) == 0
    return capsys.readouterr().out


def test_sweep_row_equals_run_json(capsys):
    assert main([*BASE, "--json", "--commission", "0.001"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    row = next(r for r in rows if r["n1"] == 10 and r["n2"] == 40)
    assert main(["run", "--demo", "--json", "-p", "n1=10", "-p", "n2=40", "--commission", "0.001"]) == 0
    stats = json.loads(capsys.readouterr().out)["stats"]
    assert {k: row[k] for k in stats} == stats


def test_table_csv_parquet_and_random(capsys, tmp_path):
    assert main([*BASE, "--top", "3", "--csv", str(tmp_path / "a.csv")]) == 0
    text = capsys.readouterr().out
    assert "sharpe_ratio" in text and len(text.strip().splitlines()) == 5
    assert len(pl.read_csv(tmp_path / "a.csv")) == 11  # 4 x 3 minus (20, 20): n1 < n2
    assert main([*BASE, "--random", "4", "--seed", "1", "--parquet", str(tmp_path / "a.parquet")]) == 0
    assert len(pl.read_parquet(tmp_path / "a.parquet")) == 4


def test_walk_forward_json(capsys):
    assert main([*BASE, "--walk-forward", "1500:1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["windows"]) == 4 and {"stats", "trades"} <= set(out)
    assert {"n1", "n2", "is_sharpe_ratio", "oos_return_pct"} <= set(out["windows"][0])


@pytest.mark.parametrize(("argv", "message"), [
    (["-g", "n1"], "expected NAME=START:STOP"),
    (["-g", "n1=9:1"], "grid n1='9:1'"),
    (["-g", "n7=1:3"], "unknown parameter 'n7'"),
    (["--where", "import os"], "not a valid condition"),
    (["--walk-forward", "x"], "TRAIN:TEST"),
    (["--executor", "ftp:/x"], "sweep.executor='ftp:/x' is not one of"),
    (["--metric", "bogus"], "--metric: sweep.metric='bogus' is not one of"),
])
def test_bad_input_exit_2(capsys, argv, message):
    assert main([*BASE, *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("backbench: error:") and message in err


def test_sweep_holds_the_macos_activity_while_it_runs(capsys, monkeypatch):
    """On macOS a sweep must not be App-Napped: `backbench sweep` runs inside sweep_activity (the OS call
    is injected here; tests/packaging/test_macos_activity.py covers the ctypes side)."""
    import app.macos_activity as activity

    calls = []

    class Recorder:
        def begin(self, reason):
            calls.append(("begin", reason))
            return 1

        def end(self, token):
            calls.append(("end", token))

    monkeypatch.setattr(activity, "_default", Recorder())
    assert main([*BASE, "--json"]) == 0
    assert [c[0] for c in calls] == ["begin", "end"] and "sweep" in calls[0][1]


def test_optimize_gives_grid_rows_and_shares_the_cache(capsys):
    pytest.importorskip("optuna")
    argv = ["sweep", "--demo", "-s", "sma_cross", "-g", "n1=5:100:5", "-g", "n2=10:200:10", "--where", "n1 < n2",
            "--workers", "1"]
    assert main([*argv, "--optimize", "tpe", "--trials", "30", "--seed", "2", "--json"]) == 0
    optimized = json.loads(capsys.readouterr().out)["rows"]
    assert len(optimized) == 30 and len({(r["n1"], r["n2"]) for r in optimized}) == 30
    assert main([*argv, "--json"]) == 0
    grid = {(r["n1"], r["n2"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert all(grid[(r["n1"], r["n2"])] == r for r in optimized)  # the grid's own rows
    assert main([*argv, "--optimize", "cmaes", "--trials", "10", "--random", "5"]) == 2
    assert "--optimize runs on one dataset, without --random" in capsys.readouterr().err


def _workers_seen(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the real command to its exit, polling its spawn-pool workers (not the resource tracker)."""
    import subprocess
    import time

    import psutil

    seen: set[int] = set()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            for child in parent.children(recursive=True):
                if "spawn_main" in " ".join(child.cmdline()):
                    seen.add(child.pid)
        except psutil.Error:
            pass
        time.sleep(0.02)
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0
    return len(seen), out


@pytest.mark.slow  # two whole commands, ~15 s on a shared 2-core machine
def test_a_fully_cached_sweep_command_starts_no_worker_process(tmp_path):
    import os
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("backbench"))
    env = {**os.environ, "BACKBENCH_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [exe, "sweep", "--demo", "-g", "n1=5:20:5", "-g", "n2=20:60:20", "--workers", "2", "--json"]
    computed, first = _workers_seen(cmd, env)
    assert computed == 2  # the first run computes: it does start its two workers (the poll sees them)
    cached, again = _workers_seen(cmd, env)
    assert cached == 0  # every combo is in the cache: no worker was started
    assert json.loads(again)["rows"] == json.loads(first)["rows"]


def test_a_cached_file_sweep_does_not_parse_the_file_again(capsys, tmp_path, monkeypatch):
    """`backbench sweep --file` named by the file's bytes (engine/cache/file_dataset.py): run twice, the
    second run reads the file's identity from the cache, parses nothing and prints the same rows."""
    import engine.data.importers as importers
    from engine.cache import reset_default_cache
    from engine.data.demo import generate_bars

    bars = generate_bars("FILED", 1_200, "1d", seed=5)
    path = tmp_path / "FILED.parquet"
    pl.DataFrame({"Date": pl.Series(bars.ts).cast(pl.Datetime("ns")), "Open": bars.open, "High": bars.high,
                  "Low": bars.low, "Close": bars.close, "Volume": bars.volume}).write_parquet(path)
    parsed = []
    real = importers.load_file
    monkeypatch.setattr(importers, "load_file", lambda p, *a, **k: parsed.append(p) or real(p, *a, **k))
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    cmd = ["sweep", "--file", str(path), "-g", "n1=5:20:5", "-g", "n2=20:60:20", "--workers", "1", "--json"]
    reset_default_cache()
    try:
        assert main(cmd) == 0
        first = json.loads(capsys.readouterr().out)["rows"]
        assert len(parsed) == 1
        reset_default_cache()  # a new process's view: the disk level only
        assert main(cmd) == 0
        again = json.loads(capsys.readouterr().out)["rows"]
        assert len(parsed) == 1 and again == first and {r["symbol"] for r in again} == {"FILED"}
        assert main([*cmd, "-g", "n1=5:25:5"]) == 0  # a combo not cached: the file is parsed
        assert len(parsed) == 2 and len(json.loads(capsys.readouterr().out)["rows"]) > len(first)
    finally:
        reset_default_cache()
