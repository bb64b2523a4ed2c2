"""A running `backbench gui` ends cleanly on SIGTERM and SIGINT (exit 128 + the signal, window closed, no
sweep worker left), and its workers exit when it is killed outright (issue 13.4, 13.6). Real processes,
real signals. On 48df530 SIGTERM killed the app at once and SIGKILL left its warmed workers running."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from engine.data.demo import generate_bars
from engine.data.store import Store
from tests.processes import alive

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def start_gui(tmp_path: Path) -> tuple[subprocess.Popen, list[psutil.Process]]:
    db = tmp_path / "bars.duckdb"
    with Store(db) as store:
        store.write_bars(generate_bars("ACME", 500, "1d"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYQTGRAPH_QT_LIB="PySide6",
               BACKBENCH_CACHE_DIR=str(tmp_path / "cache"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "gui", "--db", str(db), "--workers", "2"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline:  # the pool is started and warmed in the background at launch
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "resource_tracker" not in " ".join(c.cmdline())]
        if len(workers) >= 2:
            break
        time.sleep(0.2)
    if len(workers) < 2:  # no app left behind by a failed start
        for p in [*psutil.Process(proc.pid).children(recursive=True), psutil.Process(proc.pid)]:
            p.kill()
        proc.communicate(timeout=20)
    assert len(workers) >= 2, "the app's sweep pool did not start"
    time.sleep(2.0)  # let the workers finish warming up
    return proc, workers


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_closes_the_app_cleanly(tmp_path, sig, code):
    proc, workers = start_gui(tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err[-2000:]
    deadline = time.monotonic() + 5
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers)


def test_workers_exit_when_the_app_is_killed(tmp_path):
    proc, workers = start_gui(tmp_path)
    proc.kill()
    proc.wait(30)
    deadline = time.monotonic() + 10
    while alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers)
