"""Crash safety: SIGKILL an import mid-transaction; the store holds the old content or the whole import."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from engine.data.demo import generate_bars
from engine.data.store import Store

from .helpers import same_bars

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
REPO = Path(__file__).resolve().parents[3]
N = 400_000

SCRIPT = textwrap.dedent("""
    import sys, time
    from engine.data.importers import import_files
    mode = sys.argv[3]
    def stage(name):
        print(name, flush=True)
        if mode == "hang_before_commit" and name.startswith("written:"):
            time.sleep(60)  # the test kills us here: all rows inserted, nothing committed
    import_files(sys.argv[1], [sys.argv[2]], on_stage=stage)
    print("exit", flush=True)
""")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    bars = generate_bars("BIG", N, "1m")
    path = d / "big.parquet"
    pl.DataFrame({"timestamp": bars.times(), "open": bars.open, "high": bars.high, "low": bars.low,
                  "close": bars.close, "volume": bars.volume}).write_parquet(path)
    return path, bars


def _state(db: Path, old) -> str:
    with Store(db) as st:  # read-write: replays the WAL like the next start of the app would
        names = {(d["symbol"], d["timeframe"]): d["rows"] for d in st.datasets()}
        assert same_bars(st.load("OLD"), old)
        if ("BIG", "1m") not in names:
            assert st.con.execute("SELECT count(*) FROM bars WHERE symbol = 'BIG'").fetchall()[0][0] == 0
            return "old"
        assert names[("BIG", "1m")] == N
        return "complete"


def _run_and_kill(tmp_path, big_file, mode, kill_on, delay=0.0, must_kill=True):
    path, bars = big_file
    db = tmp_path / "s.duckdb"
    db.unlink(missing_ok=True)
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    old = generate_bars("OLD", 300, "1d")
    with Store(db) as st:
        st.write_bars(old)
    (tmp_path / "imp.py").write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "imp.py"), str(db), str(path), mode],
                            cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline().strip()
            seen.append(line)
            if line.startswith(kill_on) or not line:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        seen += proc.stdout.read().split()
    finally:
        if proc.poll() is None:
            proc.kill()
    if must_kill:
        assert proc.returncode == -signal.SIGKILL, seen
    seen.append(f"returncode {proc.returncode}")
    return _state(db, old), seen


def test_kill_right_after_begin_leaves_old_content(tmp_path, big_file):
    state, seen = _run_and_kill(tmp_path, big_file, "normal", "begin")
    assert "begin" in seen
    if "committed" not in seen:  # killed inside the transaction (the usual case)
        assert state == "old"
    else:
        assert state == "complete"


def test_kill_after_all_rows_inserted_before_commit_leaves_old_content(tmp_path, big_file):
    state, seen = _run_and_kill(tmp_path, big_file, "hang_before_commit", "written:")
    assert "committed" not in seen and state == "old"


def test_kill_after_commit_keeps_the_complete_import(tmp_path, big_file):
    state, seen = _run_and_kill(tmp_path, big_file, "normal", "committed")
    assert state == "complete"
    with Store(tmp_path / "s.duckdb", read_only=True) as st:
        assert same_bars(st.load("BIG"), big_file[1])


@pytest.fixture(scope="module")
def write_window(tmp_path_factory, big_file):
    """Seconds from "validated" to "committed" in an import that is left alone: the span the kills below aim
    into, measured rather than guessed (a fixed 0.2 s once landed after the process had already exited)."""
    d = tmp_path_factory.mktemp("window")
    with Store(d / "s.duckdb") as st:
        st.write_bars(generate_bars("OLD", 300, "1d"))
    (d / "imp.py").write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(d / "imp.py"), str(d / "s.duckdb"), str(big_file[0]), "normal"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    at = {}
    for line in proc.stdout:
        at.setdefault(line.strip(), time.monotonic())
    assert proc.wait(60) == 0 and {"validated", "committed"} <= set(at)
    return at["committed"] - at["validated"]


@pytest.mark.parametrize("fraction", [0.25, 0.75])
def test_kill_at_random_points_is_old_or_complete(tmp_path, big_file, write_window, fraction):
    """Killed a fraction of the way into the write. The write's length varies from run to run; a kill that
    came after the import had already exited is tried again sooner (the kill itself must happen)."""
    delay = fraction * write_window
    for _ in range(5):
        state, seen = _run_and_kill(tmp_path, big_file, "normal", "validated", delay, must_kill=False)
        assert state in ("old", "complete")
        if "exit" not in seen:
            break
        delay /= 2
    assert f"returncode {-signal.SIGKILL}" in seen, f"the import exited before every kill: {seen}"
