"""The profiling registry's snapshot as Prometheus/OpenMetrics metric families (docs/metrics.md lists them).

    RegistryCollector(default_registry())   # a prometheus_client collector: read at every scrape, never before

Registry names (engine/runtime/profiling.py) become `backbench_*` names with units and labels by the
OpenMetrics conventions: counters end in `_total`, durations are summaries in seconds (count, sum and the
timer's p50/p95/p99 over its window), a worker or a cache level is a label. A registry name this table does
not know is still exported, under a name made from it, so nothing the engine records is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.samples import Sample

from engine.runtime.profiling import Registry

PREFIX = "backbench"
QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))

# registry counter -> (family, help, labels)
COUNTERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "backtest.runs": ("backtests", "Backtests run in this process (computed, not served from the cache).",
                      {"source": "computed"}),
    "backtest.cached": ("backtests", "Backtests run in this process (computed, not served from the cache).",
                        {"source": "cache"}),
    "sweep.combos.computed": ("sweep_combos", "Sweep combos finished, by how: computed by a worker, served from "
                              "the result cache, or failed (the strategy raised).", {"result": "computed"}),
    "sweep.combos.cached": ("sweep_combos", "", {"result": "cached"}),
    "sweep.combos.failed": ("sweep_combos", "", {"result": "failed"}),
    "sweep.chunks": ("sweep_chunks", "Sweep chunks (tasks of several combos) finished by the workers.", {}),
    "bar_steps": ("bar_steps", "Bars simulated, summed over every computed backtest and combo.", {}),
    "import.rows": ("import_rows", "Data rows read from imported bar files.", {}),
    "import.files": ("import_files", "Bar files imported (or checked).", {}),
    "errors.command": ("errors", "Errors: a command that failed, or a sweep combo whose strategy raised.",
                       {"kind": "command"}),
    "sweep.errors": ("errors", "", {"kind": "combo"}),
}
GAUGES: dict[str, tuple[str, str, dict[str, str]]] = {
    "sweep.workers": ("workers", "Worker processes of the running sweep's executor.", {}),
    "sweep.workers_busy": ("workers_busy", "Workers with a chunk to run: min(workers, chunks not finished).", {}),
    "backtest.first_run_seconds": ("first_backtest_seconds", "The first backtest's time (JIT compile or "
                                   "cache load included).", {}),
    "cache.hit_rate": ("cache_hit_ratio", "Result cache hits per lookup, this process.", {}),
}
TIMERS: dict[str, tuple[str, str, dict[str, str]]] = {
    **{f"backtest.{s}": ("stage_seconds", "Time per backtest stage (load, signals, simulate, stats; cache: the "
                         "lookup), of backtests in this process (kind=backtest) or of sweep combos (kind=sweep).",
                         {"stage": s, "kind": "backtest"}) for s in ("load", "signals", "simulate", "stats", "cache")},
    **{f"sweep.{s}": ("stage_seconds", "", {"stage": s, "kind": "sweep"})
       for s in ("load", "signals", "simulate", "stats")},
    "backtest.total": ("backtest_seconds", "Time per computed backtest, all stages.", {}),
    "worker.task": ("chunk_seconds", "Time per sweep chunk in a worker, all workers.", {}),
    "worker.compile": ("worker_compile_seconds", "Numba compile time reported by workers.", {}),
    "numba.compile": ("numba_compile_seconds", "Top-level numba compilations in this process.", {}),
    "store.read": ("store_seconds", "Bar store reads and writes.", {"op": "read"}),
    "store.write": ("store_seconds", "", {"op": "write"}),
    "cache.l2.read": ("cache_io_seconds", "Disk cache (L2) reads and writes.", {"level": "l2", "op": "read"}),
    "cache.l2.write": ("cache_io_seconds", "", {"level": "l2", "op": "write"}),
}
# Per worker: worker.<id>.<what> (the id may hold dots: a Dask worker's address).
WORKER_COUNTERS = {"tasks": ("worker_combos", "Combos finished per worker.")}
WORKER_GAUGES = {"rss_bytes": ("worker_rss_bytes", "Resident memory of each worker at its last chunk.")}
WORKER_TIMERS = {"task": ("worker_chunk_seconds", "Time per sweep chunk, per worker.")}
# Result cache, collected per level: cache.<level>.<what>.
CACHE_GAUGES = {"bytes": ("cache_size_bytes", "Bytes held by each cache level."),
                "max_bytes": ("cache_limit_bytes", "Byte limit of each cache level."),
                "entries": ("cache_entries", "Entries held by each cache level."),
                "pending_writes": ("cache_pending_writes", "Disk writes queued behind (write-behind).")}
CACHE_COUNTERS = {"hits": ("cache_hits", "Result cache hits by level."),
                  "misses": ("cache_misses", "Result cache misses by level."),
                  "evictions": ("cache_evictions", "Entries evicted by level (size bound).")}
SKIP = {"tasks.done"}  # the same figure as sweep_combos (computed + failed), kept for the dashboard

_WORKER = re.compile(r"^worker\.(.+)\.([a-z_]+)$")
_CACHE = re.compile(r"^cache\.(l1|l2)\.([a-z_]+)$")
_BAD = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    return _BAD.sub("_", name).strip("_")


class _Families:
    """Families by name, created on first use with the first help text given."""

    def __init__(self) -> None:
        self.by_name: dict[str, Any] = {}

    def add(self, kind: str, name: str, help: str, labels: Mapping[str, str], value: Any) -> None:
        full = f"{PREFIX}_{name}"
        fam = self.by_name.get(full)
        if fam is None:
            cls = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily, "summary": SummaryMetricFamily}[kind]
            unit = "seconds" if name.endswith("_seconds") else "bytes" if name.endswith("_bytes") else ""
            fam = cls(full, help or name.replace("_", " "), labels=list(labels), unit=unit)
            self.by_name[full] = fam
        if kind == "summary":
            fam.add_metric(list(labels.values()), value["count"], value["total"])
            for q, key in QUANTILES:  # the timer's rolling-window percentiles (profiling.Timer)
                if value["count"]:
                    fam.samples.append(Sample(fam.name, {**labels, "quantile": q}, value[key]))
        else:
            fam.add_metric(list(labels.values()), value)


def families(snapshot: Mapping[str, Any]) -> list[Metric]:
    """The metric families of one registry snapshot (`Registry.snapshot()`)."""
    out = _Families()
    for name, value in sorted(snapshot["counters"].items()):
        if name in SKIP:
            continue
        if name in COUNTERS:
            fam, help, labels = COUNTERS[name]
            out.add("counter", fam, help, labels, value)
        elif (m := _WORKER.match(name)) and m[2] in WORKER_COUNTERS:
            out.add("counter", *WORKER_COUNTERS[m[2]], {"worker": m[1]}, value)
        elif (m := _CACHE.match(name)) and m[2] in CACHE_COUNTERS:
            out.add("counter", *CACHE_COUNTERS[m[2]], {"level": m[1]}, value)
        elif m:
            out.add("counter", f"cache_{m[2]}", "", {"level": m[1]}, value)
        else:
            out.add("counter", sanitize(name), "", {}, value)
    for name, value in sorted(snapshot["gauges"].items()):
        if name in GAUGES:
            fam, help, labels = GAUGES[name]
            out.add("gauge", fam, help, labels, value)
        elif (m := _WORKER.match(name)) and m[2] in WORKER_GAUGES:
            out.add("gauge", *WORKER_GAUGES[m[2]], {"worker": m[1]}, value)
        elif (m := _CACHE.match(name)) and m[2] in CACHE_GAUGES:
            out.add("gauge", *CACHE_GAUGES[m[2]], {"level": m[1]}, value)
        else:
            out.add("gauge", sanitize(name), "", {}, value)
    for name, summary in sorted(snapshot["timers"].items()):
        if name in TIMERS:
            fam, help, labels = TIMERS[name]
            out.add("summary", fam, help, labels, summary)
        elif (m := _WORKER.match(name)) and m[2] in WORKER_TIMERS:
            out.add("summary", *WORKER_TIMERS[m[2]], {"worker": m[1]}, summary)
        else:
            out.add("summary", f"{sanitize(name)}_seconds", "", {}, summary)
    return list(out.by_name.values())


class RegistryCollector:
    """A prometheus_client collector over a profiling registry: one snapshot per scrape."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from families(self.registry.snapshot())

    def describe(self) -> list[Metric]:
        return []  # no names up front: the registry grows as the engine records (checked at collect time)
