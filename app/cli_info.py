"""`backbench info`: the machine as Backbench sees it (cores, BLAS, numba) and the paths it uses; and
`backbench compile`: the kernels into numba's disk cache (engine/warm.py)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from app.resources import baselines_dir
from app.settings import Settings
from app.tables import format_pairs
from engine.runtime.hardware import HardwareInfo, Reader, default_workers, detect, format_cpulist
from engine.runtime.threads import THREAD_ENV_VARS, gui_thread_count

NUMBA_NEXT_TO_SOURCES = "next to the sources (__pycache__)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show CPU cores, BLAS, numba and the paths Backbench uses",
                       description="Show what Backbench detects about this machine (performance and "
                                   "efficiency cores, BLAS backend, numba) and where it keeps its data.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)
    c = sub.add_parser("compile", help="compile the numba kernels into their disk cache (the install step)",
                       description="Compile every numba kernel that runs, sweeps, the app and its analyses call, "
                                   "into numba's on-disk cache, so that their first use loads them instead "
                                   "of compiling (about a minute on an empty cache; the README's install "
                                   "commands run it).")
    c.set_defaults(func=cmd_compile)


def cmd_compile(args: argparse.Namespace) -> int:
    from engine.warm import compile_kernels

    done = compile_kernels()
    print(f"{done['signatures']} signatures of {done['kernels']} kernels compiled or loaded in "
          f"{done['seconds']:.1f} s; numba cache: {numba_cache_dir()}")
    return 0


def numba_cache_dir() -> str:
    """$NUMBA_CACHE_DIR, else numba writes its cache next to the sources."""
    return os.environ.get("NUMBA_CACHE_DIR") or NUMBA_NEXT_TO_SOURCES


def collect_info(reader: Reader | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Everything `backbench info` shows, as a JSON-ready dict (hardware fields flat, then the rest)."""
    return _collect(reader, settings)[1]


def _collect(reader: Reader | None, settings: Settings | None = None) -> tuple[HardwareInfo, dict[str, Any]]:
    from app.settings import load_settings

    settings = settings if settings is not None else load_settings()
    info = detect(reader)
    out = info.to_dict()
    out["default_workers"] = default_workers(info)
    out["gui_threads"] = gui_thread_count(info)
    out["thread_env"] = {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    out["paths"] = {"data_store": str(settings.store_path()), "cache_dir": str(settings.cache_dir()),
                    "numba_cache_dir": numba_cache_dir(), "benchmark_baselines": str(baselines_dir())}
    out["config_file"] = str(settings.config_file)
    if settings.workers.count:
        out["sweep_workers"] = settings.workers.count
    return info, out


def _text(info: HardwareInfo, d: dict[str, Any]) -> list[tuple[str, str]]:
    chip = f"{info.cpu_brand or 'unknown CPU'} ({info.machine}, {info.os}"
    chip += ", Apple Silicon" + (", Python under Rosetta" if info.translated else "") if info.apple_silicon else ""
    rows = [("CPU", chip + ")"),
            ("CPUs", f"{info.logical_cpus} logical, {info.physical_cpus} physical, {info.usable_cpus} usable"),
            ("Performance cores", f"{info.perf_physical} physical, {info.perf_logical} logical"),
            ("Efficiency cores", f"{info.eff_physical} physical, {info.eff_logical} logical"),
            ("Core source", info.core_source)]
    if info.perf_levels:
        rows.append(("Perf levels", "; ".join(f"{i}: {lv.name} {lv.physical} physical, {lv.logical} logical"
                                              for i, lv in enumerate(info.perf_levels))))
    if info.pcore_cpus is not None:
        rows.append(("P-core CPU ids", format_cpulist(info.pcore_cpus)))
    if info.blas_backend is None:
        blas = "unknown"
    elif info.blas_threads is None:
        blas = f"{info.blas_backend}, threads unknown (threadpoolctl cannot see it)"
    else:
        blas = f"{info.blas_backend}, {info.blas_threads} threads"
    layer = info.numba_threading_layer_active or f"{info.numba_threading_layer} (threads not launched)"
    env = ", ".join(f"{k}={v}" for k, v in d["thread_env"].items() if v is not None) or "none set"
    rows += [("BLAS", blas),
             ("numba", f"{info.numba_version or 'not installed'}, threading layer {layer}"),
             ("Sweep workers", f"{d['sweep_workers']} (setting workers.count)" if "sweep_workers" in d
              else f"{d['default_workers']} (default: one per performance core)"),
             ("GUI threads", str(d["gui_threads"])),
             ("Thread env", env),
             ("Data store", d["paths"]["data_store"]),
             ("Cache dir", d["paths"]["cache_dir"]),
             ("Numba cache", d["paths"]["numba_cache_dir"]),
             ("Bench baselines", d["paths"]["benchmark_baselines"])]
    if "config_file" in d:
        rows.append(("Settings file", d["config_file"]))
    return rows


def cmd_info(args: argparse.Namespace, reader: Reader | None = None) -> int:
    """Print the info as aligned `key  value` lines, or one JSON object with --json. Always exit 0."""
    info, d = _collect(reader, getattr(args, "settings", None))
    if args.json:
        print(json.dumps(d))
        return 0
    print(format_pairs(_text(info, d)))
    return 0
