"""UI responsiveness: how late a 5 ms timer fires on the UI thread while the app works.

    python -m benchmarks.bench_gui [--seconds 5]

Scenarios (offscreen, real widgets):
- pan: the chart of 1,000,000 one-minute bars is panned in small steps for a few seconds, each step
  repainted, as a person dragging it would;
- sweep: a full-core sweep (LocalExecutor on every core) runs in the background job, with progress
  signals arriving on the UI thread, while the dashboard samples at 10 Hz.
A 5 ms QTimer records, for every tick, how much later than due it fired. Aim: p95 < 16 ms, max < 50 ms.
Also: time to set up the chart on 1M bars, and time from process start to the first window shown.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

TICK_MS = 5


class LatenessProbe:
    """A 5 ms timer that records how late each tick fires (ms)."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.late_ms: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> np.ndarray:
        self.timer.stop()
        return np.asarray(self.late_ms)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000.0 - TICK_MS))
        self._last = now


def _summary(late: np.ndarray) -> dict[str, float]:
    if late.size == 0:
        return {"ticks": 0, "p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    return {"ticks": int(late.size), "p50_ms": float(np.percentile(late, 50)),
            "p95_ms": float(np.percentile(late, 95)), "max_ms": float(late.max())}


def bench_pan(seconds: float) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from app.gui.app import create_app
    from app.gui.views.results_view import ResultsView
    from engine.backtest import run_backtest
    from engine.data.demo import generate_bars

    create_app()
    bars = generate_bars("BTCX", 1_000_000, "1m")
    result = run_backtest(bars, "sma_cross", {"n1": 50, "n2": 200})
    view = ResultsView()
    view.resize(1280, 800)
    view.show()
    t0 = time.perf_counter()
    view.show_result(result)
    QApplication.processEvents()
    setup_s = time.perf_counter() - t0
    chart = view.chart
    width = 20_000  # bars visible while panning (about two weeks of minutes)
    probe = LatenessProbe()
    probe.start()
    x = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        x = (x + 400.0) % (len(bars) - width)
        chart.price_plot.setXRange(x, x + width, padding=0)
        QApplication.processEvents()  # one repaint per step, as a mouse drag produces
    out = _summary(probe.stop())
    out["chart_setup_s"] = setup_s
    view.close()
    return out


def bench_sweep(seconds_cap: float) -> dict[str, float]:
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.gui.app import create_app
    from app.gui.controller import Controller, RunRequest
    from app.gui.main_window import MainWindow
    from engine.config import SimConfig
    from engine.data.demo import generate_bars
    from engine.data.store import Store

    create_app()
    tmp = tempfile.mkdtemp()
    db = os.path.join(tmp, "bars.duckdb")
    with Store(db) as store:
        store.write_bars(generate_bars("SWEEP", 200_000, "1d"))
    controller = Controller(db, None, None, use_cache=False)
    window = MainWindow(controller, QSettings(os.path.join(tmp, "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    window.select_tab("dashboard")
    controller.executor()  # workers up before measuring
    done = []
    controller.sweep_done.connect(lambda payload: done.append(payload))
    grid = {"n1": list(range(5, 101, 5)), "n2": list(range(10, 201, 10))}
    probe = LatenessProbe()
    probe.start()
    t0 = time.perf_counter()
    controller.run_sweep(RunRequest("SWEEP", "1d", "sma_cross", {}, SimConfig()), grid, "n1 < n2")
    while not done and time.perf_counter() - t0 < seconds_cap:
        QApplication.processEvents()
        time.sleep(0.001)
    out = _summary(probe.stop())
    out["sweep_s"] = time.perf_counter() - t0
    out["combos"] = len(done[0][1].rows) if done else 0
    window.close()
    return out


def bench_first_window() -> float:
    """Seconds from process start to the first window shown (a fresh interpreter, warm disk caches)."""
    code = ("import time, os; t=time.perf_counter(); os.environ['QT_QPA_PLATFORM']='offscreen';"
            "import tempfile; from PySide6.QtCore import QSettings;"
            "from app.gui.app import create_app; create_app();"
            "from app.gui.controller import Controller; from app.gui.main_window import MainWindow;"
            "d=tempfile.mkdtemp(); c=Controller(os.path.join(d,'b.duckdb'), None, 1, use_cache=False);"
            "w=MainWindow(c, QSettings(os.path.join(d,'u.ini'), QSettings.Format.IniFormat)); w.show();"
            "from PySide6.QtWidgets import QApplication; QApplication.processEvents();"
            "print(time.perf_counter()-t); c.shutdown()")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return total


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_gui")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the pan scenario")
    args = ap.parse_args(argv)
    results = {"first_window_s": bench_first_window(), "pan": bench_pan(args.seconds),
               "sweep": bench_sweep(120.0)}
    print(f"{'scenario':<10} {'ticks':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   (aim: p95 < 16, max < 50)")
    for name in ("pan", "sweep"):
        r = results[name]
        print(f"{name:<10} {r['ticks']:>6} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['max_ms']:>8.2f}")
    print(f"chart setup on 1M bars: {results['pan']['chart_setup_s']:.3f} s; "
          f"sweep of {results['sweep']['combos']} combos x 200k bars: {results['sweep']['sweep_s']:.2f} s; "
          f"first window (fresh process): {results['first_window_s']:.2f} s (aim < 2 s)")
    return results


if __name__ == "__main__":
    main()
