"""`backbench cache stats` and `backbench cache clear`: the on-disk result cache."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    cache = sub.add_parser("cache", help="show or clear the result cache",
                           description="The result cache on disk (setting cache.dir: $BACKBENCH_CACHE_DIR or the "
                                       "user cache dir).")
    cache_sub = cache.add_subparsers(dest="cache_command", metavar="ACTION")
    stats = cache_sub.add_parser("stats", help="where the cache is, how many entries and bytes it holds")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=cmd_stats)
    clear = cache_sub.add_parser("clear", help="delete every cached result")
    clear.set_defaults(func=cmd_clear)
    cache.set_defaults(func=lambda args: cache.print_help() or 0)


def cmd_stats(args: argparse.Namespace) -> int:
    cache = args.workbench.cache()
    cache.flush()
    disk = cache.l2
    assert disk is not None
    usage = disk.usage()
    info: dict[str, Any] = {"directory": str(disk.root), "entries": usage["entries"], "bytes": usage["bytes"],
            "max_bytes": disk.max_bytes, "max_entry_bytes": disk.max_entry_bytes,
            "orphans_removed": disk.counts["orphans_removed"]}
    if args.json:
        json.dump(info, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"directory  {info['directory']}")
    print(f"entries    {info['entries']:,}")
    print(f"size       {_mb(info['bytes'])} of {_mb(info['max_bytes'])} "
          f"({100.0 * info['bytes'] / info['max_bytes']:.1f}%)")
    if info["orphans_removed"]:
        print(f"removed {info['orphans_removed']} temp file(s) left by interrupted writes")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    cache = args.workbench.cache()
    removed = cache.clear()
    print(f"removed {removed['entries']:,} entries ({_mb(removed['bytes'])}) from {cache.l2.root}")
    return 0


def profile_report(result: Any) -> str:
    """`run --profile`: this run's stage breakdown, then the process's profiling snapshot."""
    from engine.runtime.profiling import default_registry, format_snapshot

    snap = default_registry().snapshot()
    load = snap["timers"].get("backtest.load", {}).get("total", 0.0)
    stages = {"load": load, **result.timings}
    total = sum(stages.values())
    lines = ["", f"Profile ({'from cache' if result.from_cache else 'computed'}, {total * 1e3:,.2f} ms):"]
    for name, seconds in stages.items():
        share = 100.0 * seconds / total if total else 0.0
        lines.append(f"  {name:<10} {seconds * 1e3:>10.3f} ms  {share:5.1f}%")
    c = snap["counters"]
    if "cache.l1.hits" in c:  # the default cache is in use
        lines.append(f"  levels     L1 {c.get('cache.l1.hits', 0):.0f} hit / {c.get('cache.l1.misses', 0):.0f} miss, "
                     f"L2 {c.get('cache.l2.hits', 0):.0f} hit / {c.get('cache.l2.misses', 0):.0f} miss")
    rest = {**snap, "counters": {k: v for k, v in c.items() if not k.startswith("cache.")},
            "gauges": {k: v for k, v in snap["gauges"].items() if not k.startswith("cache.")}}
    lines += ["", format_snapshot(rest)]
    return "\n".join(lines)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"
