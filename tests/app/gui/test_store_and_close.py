"""The app holds no store connection while idle, deletes in the background, and closes promptly and
cleanly while an import or a sweep runs (issue 13.5, 13.8): real windows offscreen, real jobs, a real
`backbench` process beside the app, a real process pool."""

import subprocess
import sys
import time

import psutil
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.gui.app import create_app
from app.gui.controller import Controller
from app.gui.main_window import MainWindow
from app.workbench import Workbench
from engine.data.demo import generate_bars
from engine.data.store import Store
from tests.processes import alive_pids

pytestmark = pytest.mark.slow  # real subprocesses, pools and windows: seconds each
WAIT_MS = 60_000

HANGING = '''
import time
from engine.strategies import Param, Signals, Strategy
from engine.kernels.indicators import sma_nb
from engine.kernels.signals import crossover_nb, crossunder_nb


class Stuck(Strategy):
    name = "stuck"
    params = (Param("n1", int, 5, 1, 100, 1), Param("n2", int, 20, 2, 200, 1))

    def signals(self, bars, n1, n2):
        if n1 == 6:
            while True:
                time.sleep(1)
        fast, slow = sma_nb(bars.close, n1), sma_nb(bars.close, n2)
        return Signals(crossover_nb(fast, slow), crossunder_nb(fast, slow))
'''


@pytest.fixture
def make_window(qtbot, store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    create_app()
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "stuck.py").write_text(HANGING)

    def make(workers=1):
        controller = Controller(Workbench.from_values({"store.path": str(store_path), "strategies.dir": str(strategies),
                                                     "workers.count": workers}, use_cache=False))
        win = MainWindow(controller, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(win)
        win.resize(1280, 800)
        win.show()
        with qtbot.waitSignal(controller.datasets_changed, timeout=WAIT_MS):
            controller.start(warm_pool=False)
        return win

    return make


def test_the_command_line_reads_the_store_while_the_app_is_open(make_window, store_path):
    """On 48df530 the app held a read-write connection for its whole life: `backbench data list` failed
    with 'in use by another process'."""
    window = make_window()
    window.data_panel.select("ACME", "1d")
    proc = subprocess.run([sys.executable, "-m", "app.cli", "data", "list", "--db", str(store_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ACME" in proc.stdout and "GLOBEX" in proc.stdout
    cached = window.controller.bars("ACME", "1d")  # the app's bars cache hands out read-only arrays
    assert not cached.close.flags.writeable and window.controller.bars("ACME", "1d") is cached
    window.close()


def test_delete_runs_as_a_job_after_a_real_click(qtbot, make_window, store_path):
    window = make_window()
    assert window.data_panel.select("GLOBEX", "1d")

    def answer_yes():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Yes).click()

    QTimer.singleShot(300, answer_yes)
    with qtbot.waitSignal(window.controller.datasets_changed, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(window.data_panel.delete_button, Qt.MouseButton.LeftButton)
    assert [d["symbol"] for d in blocker.args[0]] == ["ACME"]
    assert "delete" in window.controller.jobs.history
    window.close()
    with Store(store_path, read_only=True) as store:
        assert [d["symbol"] for d in store.datasets()] == ["ACME"]


def test_closing_during_an_import_is_prompt_and_writes_all_or_nothing(qtbot, make_window, store_path, tmp_path):
    bars = generate_bars("BULK", 300_000, "1m", seed=4)
    big = tmp_path / "BULK.csv"
    with big.open("w") as f:
        f.write("ts,open,high,low,close,volume\n")
        for row in zip(bars.ts // 1_000_000_000, bars.open, bars.high, bars.low, bars.close, bars.volume,
                       strict=True):
            f.write(",".join(map(str, row)) + "\n")
    window = make_window()
    job = window.controller.import_files([str(big)])
    qtbot.waitUntil(lambda: job.started, timeout=WAIT_MS)
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 15
    QApplication.processEvents()
    with Store(store_path, read_only=True) as store:  # the app left no connection open
        names = {d["symbol"]: d["rows"] for d in store.datasets()}
    assert names.get("BULK") in (None, len(bars))
    assert names["ACME"] == 1_500


def test_closing_during_a_sweep_with_a_hung_combo_is_prompt_and_leaves_no_worker(qtbot, make_window):
    window = make_window(workers=2)
    controller = window.controller
    window.data_panel.select("ACME", "1d")
    window.strategy_panel.select("stuck")
    template = window.request()
    controller.run_sweep(template, {"n1": [4, 5, 6, 7], "n2": [30]})
    qtbot.waitUntil(lambda: controller._executor is not None and len(controller._executor.worker_pids()) == 2,
                    timeout=WAIT_MS)
    pids = controller._executor.worker_pids()
    qtbot.waitUntil(lambda: any(psutil.Process(p).cpu_times().user > 0 for p in pids), timeout=WAIT_MS)
    qtbot.wait(1500)  # the combo n1=6 sleeps forever in one worker by now
    assert window.strategy_panel.strategy().name == "stuck"
    t0 = time.monotonic()
    executor = controller._executor
    window.close()
    assert time.monotonic() - t0 < 15
    assert executor.kills >= 1  # the hung worker had to be killed: the close did not wait for it
    assert not alive_pids(pids)
