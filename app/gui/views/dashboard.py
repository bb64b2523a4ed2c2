"""The profiling tab: live rolling plots of the engine registry and the process tree, plus hardware facts.

A QTimer (10 Hz by default, running only while the widget is shown) calls `sample_once()`, which reads
`engine.runtime.profiling.default_registry().snapshot()` and psutil, writes one sample into preallocated
rings (rolling_plot.Ring) and points the curves at them with setData. Rates are taken over a ~1 s
window of samples (counters only move when a task or backtest finishes, so per-sample rates spike).
Worker task seconds arrive when a chunk finishes; they are spread back over the samples the chunk
ran during, so busy share reads as a plateau, not spikes.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
import time
from typing import Any

import numpy as np
import psutil
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.gui import theme
from app.gui.views.empty_state import hint_label
from app.gui.views.rolling_plot import Ring, RollingPlot
from engine.runtime.profiling import Registry, default_registry

STAGES = ("load", "signals", "simulate", "stats")
EMPTY_HINT = ("Live now: CPU per core, memory and the result cache. The stage bars fill after a backtest (Ctrl+R); "
              "throughput and the worker plots move during a sweep (Sweep tab).")
STAGE_COLORS = ("#90a4ae", "#ffb74d", theme.ACCENT, "#aed581")
MAX_WORKERS = 32
REDRAW_PARTS = 2  # the timer redraws one of this many groups of plots per tick
_WORKER_TASK = re.compile(r"^worker\.(.+)\.task$")
# Columns of the main ring: raw counters first (rates are derived from them), then the plotted values.
COLS = ("bar_steps", "tasks", "backtests", "l1_hits", "l1_misses", "l2_hits", "l2_misses",
        "bar_steps_rate", "tasks_rate", "backtests_rate", "rss_mb", "l1_hit", "l2_hit", "l1_mb", "l2_mb")
C = {name: i for i, name in enumerate(COLS)}


class Dashboard(QWidget):
    hardware_detected = Signal(object)  # from the detection thread, delivered on the UI thread

    def __init__(self, parent: QWidget | None = None, hz: float = 10.0, history_s: float = 60.0,
                 registry: Registry | None = None, cache_prefix: str = "cache") -> None:
        super().__init__(parent)
        self.registry = registry or default_registry()
        self.cache_prefix = cache_prefix
        self.history_s = history_s
        self.n_cpu = psutil.cpu_count() or os.cpu_count() or 1
        self._size_history(hz)
        self.worker_cols: dict[str, int] = {}  # worker id -> busy column
        self._worker_seen: dict[str, float] = {}  # worker id -> last time its task total grew
        self._task_totals: dict[str, float] = {}
        self._stage_prev: dict[str, tuple[int, float]] = {}
        self.stage_ms = dict.fromkeys(STAGES, 0.0)
        self.stage_note = "no backtest yet"
        self.worker_count: int | None = None
        self.hardware: Any = None
        self._detecting = False
        self.hardware_detected.connect(self._hardware_arrived)
        self._hardware_box: queue.SimpleQueue = queue.SimpleQueue()
        self._hardware_poll = QTimer(self)
        self._hardware_poll.setInterval(50)
        self._hardware_poll.timeout.connect(self._poll_hardware)
        self._proc = psutil.Process()
        self._children: list[psutil.Process] = []
        self._samples = 0
        self.timer = QTimer(self)
        self.timer.setInterval(max(1, int(round(1000 / hz))))
        self.timer.timeout.connect(self._tick)
        psutil.cpu_percent(percpu=True)  # the first call only sets the reference point
        self._build()

    def _size_history(self, hz: float) -> None:
        """Rings that hold `history_s` seconds of samples taken `hz` times a second."""
        self.hz = hz
        cap = max(2, int(round(self.history_s * hz)) + 1)
        self.rate_window = max(1, int(round(hz)))  # samples per rate window (~1 s)
        self.ring = Ring(cap, len(COLS))
        self.cpu = Ring(cap, self.n_cpu)
        self.busy = Ring(cap, MAX_WORKERS)

    def set_rate(self, hz: float) -> None:
        """Sample `hz` times a second from now on (setting ui.refresh_hz); the plotted history starts again."""
        if hz == self.hz:
            return
        self._size_history(hz)
        self.timer.setInterval(max(1, int(round(1000 / hz))))

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("dashboardPlots")
        lay = self.plots.ci
        lay.setSpacing(4)
        h = self.history_s
        self.p_steps = RollingPlot(lay, "throughput · M bar-steps/s", h, row=0, col=0)
        self.p_tasks = RollingPlot(lay, "tasks/s (sweep combos) · backtests/s", h, 2, row=0, col=1)
        self.p_busy = RollingPlot(lay, "worker busy %", h, MAX_WORKERS, row=0, col=2, y_range=(0, 100))
        self.p_cpu = RollingPlot(lay, f"CPU % per core ({self.n_cpu})", h, self.n_cpu, row=1, col=0,
                                 y_range=(0, 100))
        self.p_rss = RollingPlot(lay, "process tree RSS · MB", h, row=1, col=1, colors=("#ba68c8",))
        self.p_hit = RollingPlot(lay, "cache hit % (1 s) · L1 · L2", h, 2, row=1, col=2, y_range=(0, 100),
                                 colors=(theme.UP, "#ffb74d"))
        self.p_bytes = RollingPlot(lay, "cache size MB · L1 · L2", h, 2, row=2, col=0,
                                   colors=(theme.UP, "#ffb74d"))
        self.p_stage = lay.addPlot(row=2, col=1, colspan=2)
        self.p_stage.setMenuEnabled(False)
        self.p_stage.hideButtons()
        self.p_stage.setMouseEnabled(x=False, y=False)
        self.p_stage.showGrid(x=True, alpha=theme.GRID_ALPHA)
        self.p_stage.getAxis("left").setTicks([[(i, s) for i, s in enumerate(STAGES)]])
        self.p_stage.getAxis("left").setWidth(60)
        self.p_stage.getAxis("bottom").setLabel("ms")
        self.p_stage.getAxis("bottom").enableAutoSIPrefix(False)
        self.p_stage.setYRange(-0.6, len(STAGES) - 0.4, padding=0)
        self.p_stage.getViewBox().invertY(True)
        self.stage_bars = pg.BarGraphItem(x0=np.zeros(len(STAGES)), y=np.arange(len(STAGES), dtype=float),
                                          height=0.6, width=np.zeros(len(STAGES)),
                                          brushes=[pg.mkBrush(c) for c in STAGE_COLORS], pen=pg.mkPen(None))
        self.p_stage.addItem(self.stage_bars)
        self.stage_text = [pg.TextItem("", color=theme.FOREGROUND, anchor=(0, 0.5)) for _ in STAGES]
        for i, item in enumerate(self.stage_text):
            item.setPos(0, i)
            self.p_stage.addItem(item)
        self._set_stage_title()

        self.facts = QGroupBox("Hardware")
        self.facts_form = QFormLayout(self.facts)
        self.fact_labels: dict[str, QLabel] = {}
        for key in ("CPU", "Cores", "BLAS", "numba", "Workers", "System"):
            label = QLabel("…", wordWrap=True)
            self.fact_labels[key] = label
            self.facts_form.addRow(key, label)
        self.now_box = QGroupBox("Now")
        self.now_label = QLabel("", wordWrap=True)
        self.now_label.setObjectName("dashboardNow")
        QVBoxLayout(self.now_box).addWidget(self.now_label)
        side = QHBoxLayout()  # under the plots: the plots get the full width of the tab
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.facts, 3)
        side.addWidget(self.now_box, 2)
        side_w = QWidget()
        side_w.setLayout(side)
        side_w.setMaximumHeight(180)
        self.empty_hint = hint_label(EMPTY_HINT, "dashboardHint")  # until the first backtest
        self.empty_hint.setStyleSheet(self.empty_hint.styleSheet().replace("15px", "13px"))
        self.empty_hint.setMargin(4)
        root = QVBoxLayout(self)
        root.addWidget(self.empty_hint)
        root.addWidget(self.plots, 1)
        root.addWidget(side_w)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.hardware is None and not self._detecting:
            self._detecting = True
            # detect() globs sysfs, asks threadpoolctl for the BLAS libraries and numba for its
            # threading layer: tens of ms of Python, off the UI thread; the result comes back queued.
            # The thread never touches this widget (it may be deleted before the thread ends, and a signal
            # emitted on a deleted object from another thread crashes the interpreter): it fills a plain
            # box, which a timer on the UI thread reads.
            box: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_detect_into, args=(box,), name="backbench-hardware", daemon=True).start()
            self._hardware_box = box
            self._hardware_poll.start()
        self.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.stop()
        super().hideEvent(event)

    def _poll_hardware(self) -> None:
        try:
            info = self._hardware_box.get_nowait()
        except queue.Empty:
            return
        self._hardware_poll.stop()
        self.hardware_detected.emit(info)

    def _hardware_arrived(self, info: Any) -> None:
        if self.hardware is None:  # a set_hardware() call that came first wins
            self.set_hardware(info)

    def set_hardware(self, info: Any) -> None:
        """Show `engine.runtime.hardware.detect()`'s HardwareInfo (or its to_dict())."""
        self.hardware = info
        d = info.to_dict() if hasattr(info, "to_dict") else dict(info)
        cores = f"{d.get('perf_physical')} P ({d.get('perf_logical')} threads)"
        if d.get("eff_logical"):
            cores += f" · {d.get('eff_physical')} E ({d.get('eff_logical')} threads)"
        cores += f" · {d.get('usable_cpus')} usable"
        threads = d.get("blas_threads")
        layer = d.get("numba_threading_layer") or "?"
        active = d.get("numba_threading_layer_active")
        texts = {"CPU": d.get("cpu_brand") or d.get("machine") or "?", "Cores": cores,
                 "BLAS": f"{d.get('blas_backend') or '?'} · {threads if threads is not None else '?'} threads",
                 "numba": f"{d.get('numba_version') or '?'} · layer {layer}" + (f" ({active})" if active else ""),
                 "System": f"{d.get('os')} {d.get('machine')}" + (" · Rosetta" if d.get("translated") else "")}
        for key, text in texts.items():
            self.fact_labels[key].setText(str(text))
        self._show_workers()

    def set_worker_count(self, n: int) -> None:
        self.worker_count = n
        self._show_workers()

    def _show_workers(self) -> None:
        seen = len(self.worker_cols)
        text = f"{self.worker_count} configured" if self.worker_count is not None else "not set"
        self.fact_labels["Workers"].setText(text + (f" · {seen} reported" if seen else ""))

    # ------------------------------------------------------------------ sampling
    def _tick(self) -> None:
        # Every tick samples, but redraws only half of the plots (alternating): a full redraw costs
        # ~8 ms on the UI thread (software raster), and on a machine whose cores are all busy with a
        # sweep that was enough to make a 5 ms UI timer fire late 1 tick in 20 (bench_gui). Each plot
        # still moves 5 times a second, a fraction of a pixel of its 60 s window each time.
        self.sample_once(part=self._samples % REDRAW_PARTS)

    def sample_once(self, part: int | None = None) -> None:
        """Read the registry and psutil once, append to the rings and redraw (all plots, or only the
        plots of `part`, 0 or 1: the timer alternates)."""
        now = time.monotonic()
        snap = self.registry.snapshot()
        counters, gauges, timers = snap["counters"], snap["gauges"], snap["timers"]
        p = self.cache_prefix
        raw = (counters.get("bar_steps", 0), counters.get("tasks.done", 0), counters.get("backtest.runs", 0),
               counters.get(f"{p}.l1.hits", 0), counters.get(f"{p}.l1.misses", 0),
               counters.get(f"{p}.l2.hits", 0), counters.get(f"{p}.l2.misses", 0))
        r = self.ring
        back = min(self.rate_window, r.n)  # the sample a rate window reaches back to (after this push)
        dt = now - r.last_time(back - 1) if back else 0.0
        inv = 1.0 / dt if dt > 0 else math.nan  # NaN rates until there are two samples
        d = [_delta(v, r.last(k, back - 1)) if back else math.nan for k, v in enumerate(raw)]
        l1_lookups, l2_lookups = d[3] + d[4], d[5] + d[6]
        r.push(now, (*raw, d[0] * inv / 1e6, d[1] * inv, d[2] * inv, self._tree_rss() / 2**20,
                     100 * d[3] / l1_lookups if l1_lookups else math.nan,
                     100 * d[5] / l2_lookups if l2_lookups else math.nan,
                     gauges.get(f"{p}.l1.bytes", math.nan) / 2**20, gauges.get(f"{p}.l2.bytes", math.nan) / 2**20))
        self.cpu.push(now, psutil.cpu_percent(percpu=True)[: self.n_cpu])
        self._sample_workers(now, timers)
        self._sample_stages(timers)
        self._samples += 1
        self._redraw(now, part)

    def _tree_rss(self) -> float:
        """RSS of this process and its children (the child list is refreshed about once a second)."""
        if self._samples % self.rate_window == 0:
            try:
                self._children = self._proc.children(recursive=True)
            except psutil.Error:
                self._children = []
        total = 0
        for proc in (self._proc, *self._children):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return float(total)

    def _sample_workers(self, now: float, timers: dict[str, Any]) -> None:
        self.busy.push(now, math.nan)  # columns of no worker stay NaN (nothing drawn)
        for col in self.worker_cols.values():
            self.busy.set(col, 0, 0.0)
        for name, summary in timers.items():
            m = _WORKER_TASK.match(name)
            if m is None:
                continue
            wid, total = m.group(1), float(summary["total"])
            grew = total - self._task_totals.get(wid, total if self._samples == 0 else 0.0)
            self._task_totals[wid] = total
            if grew <= 0:
                continue
            col = self._worker_column(wid)
            self._worker_seen[wid] = now
            self.busy.spread(col, now - grew, now, scale=100.0, cap=100.0)

    def _worker_column(self, wid: str) -> int:
        col = self.worker_cols.get(wid)
        if col is None:
            used = set(self.worker_cols.values())
            free = [c for c in range(MAX_WORKERS) if c not in used]
            if not free:  # reuse the column of the worker idle the longest (restarted pools get new pids)
                gone = min(self.worker_cols, key=lambda w: self._worker_seen.get(w, 0.0))
                free = [self.worker_cols.pop(gone)]
            col = self.worker_cols[wid] = free[0]
            self._show_workers()
        return col

    def _sample_stages(self, timers: dict[str, Any]) -> None:
        changed = False
        for stage in STAGES:
            t = timers.get(f"backtest.{stage}")
            if not t or not t["count"]:
                if self._samples == 0:  # later runs of this stage are all new
                    self._stage_prev[stage] = (0, 0.0)
                continue
            count, total = int(t["count"]), float(t["total"])
            prev = self._stage_prev.get(stage)
            if prev is None:  # first look: the mean of the runs so far
                self.stage_ms[stage] = 1e3 * total / count
                self.stage_note = f"mean of {count} backtests"
                changed = True
            elif count > prev[0]:
                self.stage_ms[stage] = 1e3 * (total - prev[1]) / (count - prev[0])
                self.stage_note = "last backtest" if count - prev[0] == 1 else f"mean of last {count - prev[0]}"
                changed = True
            self._stage_prev[stage] = (count, total)
        if changed:
            self._draw_stages()

    def set_stages(self, stage_ms: dict[str, float], note: str = "last backtest") -> None:
        """Show one backtest's own stage breakdown (ms), e.g. from the window when a run finishes."""
        for stage in STAGES:
            self.stage_ms[stage] = float(stage_ms.get(stage, 0.0))
        self.stage_note = note
        self.empty_hint.hide()
        self._draw_stages()

    def _draw_stages(self) -> None:
        ms = np.array([self.stage_ms[s] for s in STAGES])
        self.stage_bars.setOpts(width=ms)
        for item, v in zip(self.stage_text, ms, strict=True):
            item.setText(f" {v:.2f} ms")
            item.setPos(float(v), item.pos().y())
        self.p_stage.setXRange(0, max(float(ms.max()), 1e-3) * 1.25, padding=0)
        self._set_stage_title()

    def _set_stage_title(self) -> None:
        total = sum(self.stage_ms.values())
        self.p_stage.setTitle(f"backtest stages · {self.stage_note} · {total:.2f} ms", size="9pt",
                              color=theme.FOREGROUND)

    def stage_breakdown(self) -> dict[str, float]:
        """{stage: ms} of the last backtest (load, signals, simulate, stats)."""
        return dict(self.stage_ms)

    def _redraw(self, now: float, part: int | None = None) -> None:
        r = self.ring
        if part in (None, 0):
            self.p_steps.update(r, now, (C["bar_steps_rate"],))
            self.p_tasks.update(r, now, (C["tasks_rate"], C["backtests_rate"]))
            self.p_busy.update(self.busy, now, sorted(self.worker_cols.values()))
        if part in (None, 1):
            self.p_rss.update(r, now, (C["rss_mb"],))
            self.p_hit.update(r, now, (C["l1_hit"], C["l2_hit"]))
            self.p_bytes.update(r, now, (C["l1_mb"], C["l2_mb"]))
            self.p_cpu.update(self.cpu, now)
        cpu = sum(self.cpu.last(k) for k in range(self.n_cpu)) / self.n_cpu
        self.now_label.setText(
            f"{_num(r.last(C['bar_steps_rate']), 2)} M bar-steps/s\n"
            f"{_num(r.last(C['tasks_rate']), 1)} tasks/s · {_num(r.last(C['backtests_rate']), 1)} backtests/s\n"
            f"RSS {_num(r.last(C['rss_mb']), 0)} MB · CPU {_num(cpu, 0)} %\n"
            f"cache hits L1 {_num(r.last(C['l1_hit']), 0)} % · L2 {_num(r.last(C['l2_hit']), 0)} %")

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of a ring column by name (see COLS), oldest first."""
        return self.ring.times(), self.ring.column(C[name])


def _num(v: float, digits: int) -> str:
    return "–" if v != v else f"{v:,.{digits}f}"


def _delta(new: float, old: float) -> float:
    """Growth of a counter; one that went down was reset (registry reset, a new cache) and restarted at 0."""
    return new - old if new >= old else new


def _detect_into(box: queue.SimpleQueue) -> None:
    """The hardware facts (engine.runtime.hardware.detect), put into `box` (off the UI thread)."""
    from engine.runtime.hardware import detect

    box.put(detect())
