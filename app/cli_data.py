"""`backbench import` and `backbench data ...`, plus the store options other commands share.

    backbench import PATH... [--symbol S] [--timeframe TF] [--tz TZ] [--map FIELD=COLUMN] [--check] [--db PATH]
    backbench data list | show SYMBOL [--timeframe TF] | delete SYMBOL [--timeframe TF] | vacuum

`add_store_args(parser)` and `bars_from_args(args)` let any command take --db/--symbol/--timeframe/
--start/--end and get `Bars` out of the store (filled with demo data on first use).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from engine.bars import Bars
from engine.data.store import Store, ensure_demo_data, resolve_db_path
from engine.errors import DataError

DEFAULT_SYMBOL = "ACME"


# -- shared helpers for other commands ---------------------------------------------------------------
def add_store_args(parser: argparse.ArgumentParser) -> None:
    """Add --db, --symbol, --timeframe, --start, --end (as used by `bars_from_args`)."""
    parser.add_argument("--db", metavar="PATH", help="store file (default: setting store.path)")
    parser.add_argument("--symbol", metavar="S", help=f"symbol to load (default: {DEFAULT_SYMBOL})")
    parser.add_argument("--timeframe", metavar="TF",
                        help="bar timeframe, e.g. 1m, 5m, 1h, 1d (default: the symbol's stored one; "
                             "coarser ones are resampled)")
    parser.add_argument("--start", metavar="TIME", help="first bar time, e.g. 2015-01-01 (inclusive)")
    parser.add_argument("--end", metavar="TIME", help="last bar time, e.g. 2019-12-31 (inclusive)")


def bars_from_args(args: argparse.Namespace) -> Bars:
    """The bars asked for by the options of `add_store_args`, read through a read-only connection.

    A missing or empty store is first filled with the demo data (progress on stderr).
    """
    path = resolve_db_path(getattr(args, "db", None))
    ensure_store(path)
    symbol = getattr(args, "symbol", None) or DEFAULT_SYMBOL
    with Store(path, read_only=True) as store:
        bars = store.load(symbol, getattr(args, "timeframe", None), getattr(args, "start", None),
                          getattr(args, "end", None))
    if not len(bars):
        raise DataError(f"{symbol} {bars.timeframe}: no bars between {args.start or 'the start'} "
                        f"and {args.end or 'the end'}")
    return bars


def ensure_store(path: Path) -> None:
    """Create the store and fill it with demo data if it is missing or empty."""
    if path.exists():
        with Store(path, read_only=True) as store:
            if not store.is_empty():
                return
    with Store(path) as store:
        ensure_demo_data(store, progress=ProgressBar("demo data"))


class ProgressBar:
    """A one-line progress bar on stderr: `bar(done, total, label)`."""

    def __init__(self, title: str, width: int = 30) -> None:
        self.title, self.width, self.t0 = title, width, time.perf_counter()

    def __call__(self, done: int, total: int, label: str) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if done >= total else ""
        took = f" in {time.perf_counter() - self.t0:.1f} s" if end else ""
        print(f"\r{self.title} [{bar}] {frac:4.0%} {label:<10}{took}", end=end, file=sys.stderr, flush=True)


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
    p.add_argument("--db", metavar="PATH", help="store file (default: setting store.path)")
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
        sp.add_argument("--db", metavar="PATH", help="store file (default: setting store.path)")


def _parse_map(items: list[str]) -> dict[str, str] | None:
    out = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column:
            raise DataError(f"--map {item!r}: expected FIELD=COLUMN, e.g. ts='Trade time'")
        out[field.strip().lower()] = column
    return out or None


def cmd_import(args: argparse.Namespace) -> int:
    from engine.data.importers import ImportLimits, import_files

    columns = _parse_map(args.map)
    t0 = time.perf_counter()
    store = None if args.check else resolve_db_path(args.db)  # opened only after validation passed
    limits = ImportLimits.from_settings(args.settings)
    reports = import_files(store, args.paths, args.symbol, args.timeframe, args.tz, columns, check=args.check,
                           limits=limits)
    took = time.perf_counter() - t0
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


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


def _open_reader(args: argparse.Namespace) -> Store:
    path = resolve_db_path(args.db)
    ensure_store(path)
    return Store(path, read_only=True)


def cmd_list(args: argparse.Namespace) -> int:
    with _open_reader(args) as store:
        rows = [[d["symbol"], d["timeframe"], f"{d['rows']:,}", _fmt_ts(d["first_ts"]), _fmt_ts(d["last_ts"]),
                 _fmt_ts(d["imported_at"])[:19], d["source"] or ""] for d in store.datasets()]
        print(f"store: {store.path}")
    print(_table(rows, ["SYMBOL", "TF", "ROWS", "FIRST", "LAST", "IMPORTED (UTC)", "SOURCE"]))
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
            print(_table(rows, ["TIME (UTC)", "OPEN", "HIGH", "LOW", "CLOSE", "VOLUME"]))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with Store(resolve_db_path(args.db)) as store:
        n = store.delete(args.symbol, args.timeframe)
    print(f"deleted {args.symbol}{' ' + args.timeframe if args.timeframe else ''}: {n:,} bars")
    return 0


def cmd_vacuum(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise DataError(f"store {path}: no such file")
    with Store(path) as store:
        before, after = store.vacuum()
    print(f"vacuumed {path}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0
