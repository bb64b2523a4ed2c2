"""Dashboard with real widgets and the real engine: backtests and a sweep on a 2-worker LocalExecutor feed
the default profiling registry while the dashboard's own timer samples it; the ring buffer underneath."""

from __future__ import annotations

import threading
import time

import numpy as np
import psutil
import pytest

from app.gui.views.dashboard import STAGES, Dashboard  # noqa: E402
from app.gui.views.rolling_plot import Ring  # noqa: E402
from engine.backtest import run_backtest  # noqa: E402
from engine.cache import ResultCache  # noqa: E402
from engine.data.demo import demo_bars  # noqa: E402
from engine.runtime.hardware import detect  # noqa: E402
from engine.runtime.profiling import default_registry, timer  # noqa: E402
from engine.sweep import run_sweep  # noqa: E402
from engine.sweep.executors import LocalExecutor  # noqa: E402
from tests.app.gui.test_sweep_view import apply_dark_palette  # noqa: E402


@pytest.fixture
def dark(qapp):
    style, palette = qapp.style().name(), qapp.palette()
    apply_dark_palette(qapp)
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def test_ring_keeps_the_last_samples_in_order() -> None:
    ring = Ring(4, 2)
    assert len(ring.times()) == 0
    for i in range(6):
        ring.push(float(i), (i, 10 * i))
    assert ring.times().tolist() == [2.0, 3.0, 4.0, 5.0]
    assert ring.column(1).tolist() == [20, 30, 40, 50]
    assert ring.times().base is not None  # a view into the ring, not a copy
    assert ring.last(0) == 5 and ring.last(0, back=3) == 2 and np.isnan(ring.last(0, back=4))
    # 1.5 s of work that ended at t=5 covers all of the sample at 5, (4, 5], and half of the one at 4
    ring.spread(0, 3.5, 5.0, scale=100.0, cap=100.0)
    assert ring.column(0).tolist() == [2, 3, 4 + 50, 100]  # capped at 100


@pytest.mark.slow
def test_dashboard_samples_engine_work(qtbot, dark, tmp_path, screenshot_dir) -> None:
    reg = default_registry()
    dash = Dashboard(hz=20)
    qtbot.addWidget(dash)
    dash.resize(1280, 800)
    dash.set_hardware(detect())
    dash.set_worker_count(2)
    assert not dash.timer.isActive()  # samples only while shown
    dash.sample_once()

    with timer("backtest.load"):  # what the app records around loading the bars
        bars = demo_bars()
    for n1, n2 in ((5, 20), (10, 40), (20, 60)):
        run_backtest(bars, "sma_cross", {"n1": n1, "n2": n2})
    time.sleep(0.05)
    dash.sample_once()
    stages = dash.stage_breakdown()
    assert set(stages) == set(STAGES) and all(v > 0 for v in stages.values())
    assert all(item.toPlainText().strip().endswith("ms") for item in dash.stage_text)

    dash.show()
    qtbot.waitExposed(dash)
    assert dash.timer.isActive()
    grid = {"n1": list(range(5, 51)), "n2": list(range(20, 201, 5))}
    with LocalExecutor(2) as ex:
        # the sweep runs off the UI thread while the dashboard's timer keeps sampling
        out: dict[str, object] = {}
        cache = ResultCache(tmp_path, registry=reg)
        th = threading.Thread(target=lambda: out.update(r=run_sweep(bars, "sma_cross", grid, executor=ex,
                                                                    cache=cache)))
        th.start()
        qtbot.waitUntil(lambda: not th.is_alive(), timeout=180_000)
        assert len(out["r"].rows) > 1000
        qtbot.wait(1100)  # the child process list is refreshed about once a second
        own_mb = psutil.Process().memory_info().rss / 2**20
        assert dash.series("rss_mb")[1][-1] > own_mb + 20  # the two live workers count too
        # the same grid again: every row from the cache (L1), then from disk through a fresh cache (L2)
        run_sweep(bars, "sma_cross", grid, executor=ex, cache=cache)
        qtbot.wait(150)
        fresh = ResultCache(tmp_path, registry=reg)  # held: its collector reports only while it lives
        run_sweep(bars, "sma_cross", grid, executor=ex, cache=fresh)
        qtbot.wait(300)
    for _ in range(3):
        time.sleep(0.05)
        dash.sample_once()

    steps = dash.series("bar_steps_rate")[1]
    assert np.nanmax(steps) > 0
    assert np.nanmax(dash.series("tasks_rate")[1]) > 0
    assert np.nanmax(dash.series("l1_hit")[1]) == pytest.approx(100)
    assert np.nanmax(dash.series("l2_hit")[1]) == pytest.approx(100)
    assert np.nanmax(dash.series("l2_mb")[1]) > 0
    assert dash.series("rss_mb")[1][-1] > 0
    assert len(dash.p_cpu.curves) == psutil.cpu_count()
    for curve in dash.p_cpu.curves:
        x, y = curve.getData()
        assert len(x) == len(dash.cpu.times()) > 10 and np.all((y >= 0) & (y <= 100))
    assert 1 <= len(dash.worker_cols) <= 2
    busy = [dash.busy.column(c) for c in dash.worker_cols.values()]
    assert max(np.nanmax(b) for b in busy) > 20 and all(np.nanmax(b) <= 100 for b in busy)
    assert dash.p_steps.curves[0].getData()[0][-1] <= 0  # x is seconds before now
    assert "2 configured" in dash.fact_labels["Workers"].text()
    assert dash.fact_labels["BLAS"].text() != "…"

    path = screenshot_dir / "dashboard.png"
    assert dash.grab().save(str(path))
    dash.hide()
    assert not dash.timer.isActive()


def test_timer_ticks_sample_every_time_and_redraw_each_plot_every_other_tick(qtbot) -> None:
    dash = Dashboard()
    qtbot.addWidget(dash)
    plots = {"steps": dash.p_steps, "cpu": dash.p_cpu}

    def drawn(plot) -> int:  # samples the plot's first curve shows (None before its first redraw)
        x = plot.curves[0].getData()[0]
        return 0 if x is None else len(x)

    for tick in range(1, 5):
        dash._tick()
        lengths = {name: drawn(p) for name, p in plots.items()}
        assert dash.ring.n == tick  # every tick samples
        # each half of the plots is redrawn on alternate ticks, so a curve is at most one sample behind
        assert all(tick - 1 <= n <= tick for n in lengths.values()) and max(lengths.values()) == tick
    dash.sample_once()  # a direct call redraws everything
    assert {drawn(p) for p in plots.values()} == {5}


def test_hardware_facts_are_detected_off_the_ui_thread(qtbot) -> None:
    seen: list[str] = []
    dash = Dashboard(hz=5)
    qtbot.addWidget(dash)
    dash.hardware_detected.connect(lambda _: seen.append(threading.current_thread().name))
    dash.show()  # starts detection in a background thread; the facts arrive queued on the UI thread
    qtbot.waitUntil(lambda: dash.hardware is not None, timeout=20_000)
    assert seen == [threading.main_thread().name]
    expected = detect().to_dict()
    assert str(expected["blas_backend"]) in dash.fact_labels["BLAS"].text()
    assert str(expected["numba_version"]) in dash.fact_labels["numba"].text()
    dash.hide()
