"""`backbench import` and `backbench data ...`: filling the bar store and looking after it.

    backbench import PATH... [--symbol S] [--timeframe TF] [--tz TZ] [--map FIELD=COLUMN] [--check] [--store PATH]
    backbench data list | show SYMBOL [--timeframe TF] | delete SYMBOL [--timeframe TF] | vacuum
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from app.cli_options import add_metrics_args, add_setting_flags, fill_demo_store
from app.tables import format_table
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.data.store import Store

# DuckDB, pyarrow, polars (and numba) are imported by the command that uses them, not here: every
# command's parser is built from this module, and `backbench run --file` never opens the store.


# -- commands ----------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("import", help="import CSV / CSV.gz / Parquet bar files into the store",
                              description="Validate bar files, then add them to the store in one transaction.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="CSV (.csv, .csv.gz) or Parquet files")
    p.add_argument("--symbol", help="symbol for the bars (default: the file name, upper-cased)")
    p.add_argument("--timeframe", metavar="TF", help="bar timeframe (default: inferred from the bar spacing)")
    p.add_argument("--tz", metavar="TZ", help="time zone of naive times, e.g. America/New_York (default: UTC)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="use COLUMN for FIELD (ts, open, high, low, close, volume); repeatable")
    p.add_argument("--check", action="store_true", help="validate only; write nothing")
    add_setting_flags(p, "store.path")
    add_metrics_args(p)
    p.set_defaults(func=cmd_import)

    d = subparsers.add_parser("data", help="list, show, delete datasets; vacuum the store")
    d.set_defaults(func=lambda args: (d.print_help(), 0)[1])
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION")
    sp = dsub.add_parser("list", help="table of stored datasets")
    sp.set_defaults(func=cmd_list)
    sp = dsub.add_parser("show", help="one symbol's catalogue entry and first/last bars")
    sp.add_argument("symbol")
    sp.add_argument("--timeframe", metavar="TF")
    sp.set_defaults(func=cmd_show)
    sp = dsub.add_parser("delete", help="delete a symbol's bars (all timeframes unless --timeframe)")
    sp.add_argument("symbol")
    sp.add_argument("--timeframe", metavar="TF")
    sp.set_defaults(func=cmd_delete)
    sp = dsub.add_parser("vacuum", help="rewrite the store compactly, bars clustered by symbol and time")
    sp.set_defaults(func=cmd_vacuum)
    for sp in (*dsub.choices.values(),):
        add_setting_flags(sp, "store.path")


def _parse_map(items: list[str]) -> dict[str, str] | None:
    out = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column:
            raise DataError(f"--map {item!r}: expected FIELD=COLUMN, e.g. ts='Trade time'")
        out[field.strip().lower()] = column
    return out or None


def cmd_import(args: argparse.Namespace) -> int:
    from engine.data.importers import import_files

    columns = _parse_map(args.map)
    t0 = time.perf_counter()
    store = None if args.check else args.store_path  # opened only after validation passed
    limits = args.workbench.import_limits()
    reports = import_files(store, args.paths, args.symbol, args.timeframe, args.tz, columns, check=args.check,
                           limits=limits)
    took = time.perf_counter() - t0
    from engine.runtime.profiling import default_registry

    registry = default_registry()
    registry.counter("import.rows").inc(sum(r.rows_read for r in reports))
    registry.counter("import.files").inc(len(reports))
    for r in reports:
        name = r.path.name
        if r.checked_only:
            print(f"{name}: OK (checked, nothing written): {r.symbol} {r.timeframe}, {r.rows_read:,} rows, "
                  f"{r.repaired:,} repaired")
        else:
            print(f"{name} -> {r.symbol} {r.timeframe}: {r.rows_read:,} rows read, {r.imported:,} imported, "
                  f"{r.repaired:,} repaired, {r.skipped:,} skipped (already stored) "
                  f"in {r.seconds:.2f} s ({r.rows_per_s:,.0f} rows/s)")
        for w in r.warnings:
            print(f"backbench: warning: {name}: {w}", file=sys.stderr)
    rows = sum(r.rows_read for r in reports)
    if len(reports) > 1:
        print(f"total: {len(reports)} files, {rows:,} rows in {took:.2f} s ({rows / max(took, 1e-9):,.0f} rows/s)")
    return 0


def _fmt_ts(value: object) -> str:
    return "" if value is None else str(value).replace(":00.000000", "").removesuffix(" 00:00:00")


def _open_reader(args: argparse.Namespace) -> Store:
    from engine.data.store import Store

    fill_demo_store(args.workbench)
    return Store(args.store_path, read_only=True)


def cmd_list(args: argparse.Namespace) -> int:
    with _open_reader(args) as store:
        rows = [[d["symbol"], d["timeframe"], f"{d['rows']:,}", _fmt_ts(d["first_ts"]), _fmt_ts(d["last_ts"]),
                 _fmt_ts(d["imported_at"])[:19], d["source"] or ""] for d in store.datasets()]
        print(f"store: {store.path}")
    print(format_table(rows, ["SYMBOL", "TF", "ROWS", "FIRST", "LAST", "IMPORTED (UTC)", "SOURCE"], align="left"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _open_reader(args) as store:
        tfs = [args.timeframe] if args.timeframe else store.timeframes(args.symbol)
        if not tfs:
            store.load(args.symbol)  # raises the "not in the store; available: ..." error
        for tf in tfs:
            bars = store.load(args.symbol, tf)
            entry = store.dataset(args.symbol, bars.timeframe)
            print(f"{args.symbol} {bars.timeframe}: {len(bars):,} bars"
                  + (f" (resampled from {store.timeframes(args.symbol)[0]})" if entry is None else ""))
            if entry:
                print(f"  first {_fmt_ts(entry['first_ts'])}, last {_fmt_ts(entry['last_ts'])}")
                print(f"  source {entry['source']}, imported {_fmt_ts(entry['imported_at'])[:19]} UTC")
                print(f"  fingerprint {entry['fingerprint']}")
            idx = list(range(min(5, len(bars)))) + list(range(max(5, len(bars) - 5), len(bars)))
            times = bars.times().astype("datetime64[s]")
            rows = [[str(times[i]).replace("T", " "), *(f"{getattr(bars, c)[i]:.6g}" for c in
                     ("open", "high", "low", "close", "volume"))] for i in idx]
            print(format_table(rows, ["TIME (UTC)", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME"], align="left"))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from engine.data.store import Store

    with Store(args.store_path) as store:
        n = store.delete(args.symbol, args.timeframe)
    print(f"deleted {args.symbol}{' ' + args.timeframe if args.timeframe else ''}: {n:,} bars")
    return 0


def cmd_vacuum(args: argparse.Namespace) -> int:
    path = args.store_path
    if not path.exists():
        raise DataError(f"store {path}: no such file")
    from engine.data.store import Store

    with Store(path) as store:
        before, after = store.vacuum()
    print(f"vacuumed {path}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0
