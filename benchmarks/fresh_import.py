"""Suite "data", whole process (issue 17): `backbench import` of 1M minute bars against DuckDB's own loader.

Four fresh processes, timed from start to exit, each writing into a fresh DuckDB file:

- `backbench import bench.csv --symbol BENCH --store S` (read, validate, one transaction, catalogue);
- `python -c "duckdb.connect(S).execute('CREATE TABLE bars AS SELECT * FROM read_csv(...)')"`: DuckDB's
  loader, no validation, no catalogue: the floor a user could reach by hand;
- the same two for the same bars as Parquet (`read_parquet`).

Before timing, both sides' tables are checked to hold the same bars (row count, and the sums of every
price and volume column to 1e-9 relative). Figures: our time / DuckDB's, target at most 2x.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.fresh_process import backbench_argv, fresh_env, remove_store, run_process
from benchmarks.runner import Context, benchmark, ratio

SUITE = "data"
ROWS = 1_000_000
TARGET_OVER_DUCKDB = 2.0

DUCKDB_LOADER = """\
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute(f"CREATE TABLE bars AS SELECT * FROM {sys.argv[3]}(?)", [sys.argv[1]])
con.close()
"""

_COLS = ("open", "high", "low", "close", "volume")


def _inputs(ctx: Context) -> tuple[Path, Path]:
    """bench.csv and bench.parquet (bench_data's 1M seeded minute bars), written once per run."""
    if "fresh_import_inputs" not in ctx.cache:
        from benchmarks.bench_data import _write_inputs

        folder = ctx.scratch / "fresh-import"
        folder.mkdir(exist_ok=True)
        ctx.cache["fresh_import_inputs"] = _write_inputs(folder, ctx.size(ROWS, 5_000))
    return ctx.cache["fresh_import_inputs"]


def _sums(db: Path, table: str, where: str = "") -> tuple[float, ...]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(con.execute(f"SELECT count(*), {', '.join(f'sum({c})' for c in _COLS)} "
                                 f"FROM {table} {where}").fetchall()[0])
    finally:
        con.close()


def _check_same(ours: tuple[float, ...], theirs: tuple[float, ...], what: str) -> None:
    sums = zip(ours[1:], theirs[1:], strict=True)
    if ours[0] != theirs[0] or any(abs(a - b) > 1e-9 * max(1.0, abs(b)) for a, b in sums):
        raise RuntimeError(f"{what}: backbench stored {ours}, DuckDB's loader {theirs} (rows, column sums)")


def _ours(ctx: Context, kind: str):
    csv, parquet = _inputs(ctx)
    path = csv if kind == "csv" else parquet
    store = ctx.scratch / f"fresh-import-{kind}.duckdb"
    argv = [*backbench_argv(), "import", str(path), "--symbol", "BENCH", "--store", str(store)]
    env = fresh_env(ctx)

    def work() -> int:
        remove_store(store)
        run_process(argv, env)
        return ctx.size(ROWS, 5_000)

    work()
    ours = _sums(store, "bars", "WHERE symbol = 'BENCH'")
    ctx.cache[f"fresh_import_{kind}_sums"] = ours
    return work, {"rows": ours[0], "command": "backbench import " + path.name}


def _duckdb(ctx: Context, kind: str):
    csv, parquet = _inputs(ctx)
    path = csv if kind == "csv" else parquet
    store = ctx.scratch / f"fresh-duckdb-{kind}.duckdb"
    argv = [sys.executable, "-c", DUCKDB_LOADER, str(path), str(store), f"read_{kind}"]
    env = fresh_env(ctx)

    def work() -> int:
        remove_store(store)
        run_process(argv, env)
        return ctx.size(ROWS, 5_000)

    work()
    theirs = _sums(store, "bars")
    if f"fresh_import_{kind}_sums" not in ctx.cache:  # (set up by _ours, registered first)
        _ours(ctx, kind)
    _check_same(ctx.cache[f"fresh_import_{kind}_sums"], theirs, f"{kind} import")
    return work, {"rows": theirs[0], "loader": f"CREATE TABLE AS SELECT * FROM read_{kind}"}


FRESH: dict[str, Any] = dict(unit="rows/s", tracemalloc=False, rss=False, repeats=7, quick_repeats=3,
                             min_time=0.0, warmup=1, quick_warmup=0)


@benchmark(suite=SUITE, name="import_csv_1m_process", **FRESH)
def _ours_csv(ctx: Context):
    """fresh process: backbench import bench.csv (1M rows) into a fresh store, command to exit"""
    return _ours(ctx, "csv")


@benchmark(suite=SUITE, name="duckdb_read_csv_1m_process", gate=False, **FRESH)
def _duckdb_csv(ctx: Context):
    """fresh process: DuckDB's CREATE TABLE AS SELECT * FROM read_csv (no validation), fresh file"""
    return _duckdb(ctx, "csv")


@benchmark(suite=SUITE, name="import_parquet_1m_process", **FRESH)
def _ours_parquet(ctx: Context):
    """fresh process: backbench import bench.parquet (1M rows) into a fresh store, command to exit"""
    return _ours(ctx, "parquet")


@benchmark(suite=SUITE, name="duckdb_read_parquet_1m_process", gate=False, **FRESH)
def _duckdb_parquet(ctx: Context):
    """fresh process: DuckDB's CREATE TABLE AS SELECT * FROM read_parquet (no validation), fresh file"""
    return _duckdb(ctx, "parquet")


@ratio(suite=SUITE, name="import_csv_process_over_duckdb", target=TARGET_OVER_DUCKDB, better="lower")
def _csv_over_duckdb(get) -> float:
    """whole-process CSV import / DuckDB's read_csv loader, 1M rows (medians)"""
    return get("import_csv_1m_process")["median_s"] / get("duckdb_read_csv_1m_process")["median_s"]


@ratio(suite=SUITE, name="import_parquet_process_over_duckdb", target=TARGET_OVER_DUCKDB, better="lower")
def _parquet_over_duckdb(get) -> float:
    """whole-process Parquet import / DuckDB's read_parquet loader, 1M rows (medians)"""
    return get("import_parquet_1m_process")["median_s"] / get("duckdb_read_parquet_1m_process")["median_s"]
