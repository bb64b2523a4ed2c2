"""The one progress bar of the command line: a line on stderr, redrawn in place.

    bar = ProgressBar("demo data");  bar(done, total, "GLOBEX")   # any count
    bar = ProgressBar("sweep", unit="combos");  run_sweep(..., progress=bar.sweep)
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO


class ProgressBar:
    """`title [#####-----]  done/total unit  detail`, ending with the time taken when done == total."""

    def __init__(self, title: str, unit: str = "", stream: TextIO | None = None, width: int = 28) -> None:
        self.title, self.unit, self.width = title, unit, width
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.enabled = True
        self._drawn = False

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        count = f"{done}/{total}{' ' + self.unit if self.unit else ''}"
        took = f" in {time.perf_counter() - self.t0:.1f} s" if done >= total else ""
        self.stream.write(f"\r{self.title} [{'#' * filled}{'-' * (self.width - filled)}] {frac:4.0%} {count} "
                          f"{detail}{took} ")
        self.stream.flush()
        self._drawn = True

    def sweep(self, p: Any) -> None:
        """A sweep's progress report (engine.sweep.Progress): with combos/s and the time left."""
        eta = "--" if math.isinf(p.eta_s) else f"{p.eta_s:5.1f}s"
        self(p.done, p.total, f"{p.combos_per_s:8.1f}/s  ETA {eta}")

    def finish(self) -> None:
        """End the line (once); later reports are not drawn."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False
