"""Facts about the machine and the software a benchmark run measured (stored in the results JSON)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent

# Distributions whose versions move the figures (missing ones are reported as None).
_PACKAGES = ("numpy", "numba", "llvmlite", "polars", "pandas", "duckdb", "psutil", "backtesting", "vectorbt",
             "vectorbt-rust")


def machine_info() -> dict[str, Any]:
    """Platform, CPUs, memory and load when the run started."""
    freq = None
    try:
        f = psutil.cpu_freq()
        freq = round(f.max or f.current, 1) if f else None
    except (OSError, NotImplementedError, AttributeError):  # pragma: no cover - platform dependent
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):  # pragma: no cover - Windows
        load = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        usable = psutil.cpu_count(logical=True)
    return {
        "platform": platform.platform(),
        "system": platform.system(),
        "arch": platform.machine(),
        "processor": _cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "cpu_count_usable": usable,
        "cpu_freq_mhz": freq,
        "memory_total_gb": round(psutil.virtual_memory().total / 2**30, 2),
        "load_avg_1_5_15": load,
    }


def versions() -> dict[str, str | None]:
    """Python and the packages in _PACKAGES (None when not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version(),
                                  "python_implementation": platform.python_implementation()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """HEAD of the repository, with "-dirty" when tracked files differ from it; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def machine_tag() -> str:
    """Short name for a baseline file, e.g. "linux-x86_64-2core"."""
    return f"{platform.system().lower()}-{platform.machine().lower()}-{psutil.cpu_count(logical=True)}core"


def _cpu_model() -> str:
    if sys.platform.startswith("linux"):
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:  # pragma: no cover
            pass
    return platform.processor() or platform.machine()
