"""Child process of the gui suite: `python -m benchmarks.gui_child` (see child.py).

Runs benchmarks/bench_gui.py's scenarios in a process of its own, offscreen, so the runner never
creates a QApplication and the scenario's worker pool and memory stay out of the runner's tree. Each
reply carries the scenario's figures and the peak RSS of this process and its children (sampled every
50 ms: the probe's 5 ms timer shares this process's GIL with the sampler, so it samples sparingly).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from benchmarks import bench_gui  # noqa: E402
from benchmarks.child import serve  # noqa: E402
from benchmarks.procmem import PeakSampler, release_free_memory, self_and_children  # noqa: E402


def _measured(fn, *args: Any) -> dict[str, Any]:
    release_free_memory()
    with PeakSampler(self_and_children, 0.05) as mem:
        out = dict(fn(*args))
    out["peak_rss_mb"] = mem.peak_mb
    return out


def pan(seconds: float, width: int | None = None, hz: float | None = None) -> dict[str, Any]:
    return _measured(bench_gui.bench_pan, seconds, 20_000 if width is None else width, hz)


def sweep(seconds_cap: float) -> dict[str, Any]:
    return _measured(bench_gui.bench_sweep, seconds_cap)


def show(bars: int = 1_000_000) -> dict[str, Any]:
    return _measured(bench_gui.bench_show, bars)


if __name__ == "__main__":
    serve({"pan": pan, "sweep": sweep, "show": show})
