"""Data-layer benchmarks: import (CSV, Parquet) vs a row-by-row baseline, reads into numpy, demo data.

    python -m benchmarks.bench_data [--rows N] [--repeats R] [--naive-rows M]

Import figures time the whole `import_files` call into a fresh store file (read, validate, insert in one
transaction, catalogue). The naive baseline inserts M rows one by one with `executemany` in the same run;
its rows/s is extrapolated to N rows and the speed-up ratio is the figure to watch (target >= 500x).
The read figure loads one symbol's N bars into `Bars` (target >= 20 M rows/s). Medians of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from engine.data.demo import generate_bars
from engine.data.importers import import_files
from engine.data.store import Store, ensure_demo_data

IMPORT_RATIO_TARGET = 500.0
READ_TARGET_ROWS_PER_S = 20e6


def _median_time(fn: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _write_inputs(d: Path, rows: int) -> tuple[Path, Path]:
    bars = generate_bars("BENCH", rows, "1m", seed=20240611)
    frame = pl.DataFrame({"timestamp": bars.times(), "open": bars.open, "high": bars.high, "low": bars.low,
                          "close": bars.close, "volume": bars.volume})
    csv, parquet = d / "bench.csv", d / "bench.parquet"
    frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S")).write_csv(csv)
    frame.write_parquet(parquet)
    return csv, parquet


def _naive_rows_per_s(d: Path, csv: Path, sample: int) -> float:
    """Row-by-row executemany of `sample` rows (the same bars) into a fresh store's bars table."""
    rows = pl.read_csv(csv, n_rows=sample).rows()
    db = d / "naive.duckdb"
    db.unlink(missing_ok=True)
    Store(db).close()  # same schema
    con = duckdb.connect(str(db))
    try:
        t0 = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        con.executemany("INSERT INTO bars VALUES ('NAIVE', '1m', CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        return sample / (time.perf_counter() - t0)
    finally:
        con.close()


def run(rows: int = 1_000_000, repeats: int = 3, naive_rows: int = 2_000) -> dict:
    results: dict = {"rows": rows, "repeats": repeats, "naive_rows": naive_rows}
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        d = Path(tmp)
        csv, parquet = _write_inputs(d, rows)
        results["csv_mb"] = csv.stat().st_size / 1e6
        db = d / "import.duckdb"

        def fresh() -> None:
            db.unlink(missing_ok=True)
            Path(str(db) + ".wal").unlink(missing_ok=True)

        for kind, path in (("csv", csv), ("parquet", parquet)):
            t = _median_time(lambda path=path: import_files(db, [path], symbol="BENCH"), repeats, fresh)
            results[f"import_{kind}_s"] = t
            results[f"import_{kind}_rows_per_s"] = rows / t
        results["naive_executemany_rows_per_s"] = _naive_rows_per_s(d, csv, naive_rows)
        for kind in ("csv", "parquet"):
            results[f"import_{kind}_vs_naive"] = (results[f"import_{kind}_rows_per_s"]
                                                  / results["naive_executemany_rows_per_s"])

        with Store(db, read_only=True) as st:  # holds the last Parquet import
            st.load("BENCH")  # warm
            t = _median_time(lambda: st.load("BENCH"), max(repeats, 5))
        results["read_s"] = t
        results["read_rows_per_s"] = rows / t
        with Store(db, read_only=True) as st:
            t = _median_time(lambda: st.load("BENCH", "1h"), repeats)
        results["resample_1m_to_1h_s"] = t

        generate_bars("WARM", 10, "1m")  # numba: load from cache / compile outside the timing
        results["demo_generate_1m_minute_bars_s"] = _median_time(
            lambda: generate_bars("BTCX", 1_000_000, "1m"), repeats)
        demo_db = d / "demo.duckdb"

        def fresh_demo() -> None:
            demo_db.unlink(missing_ok=True)

        def fill() -> None:
            with Store(demo_db) as st:
                ensure_demo_data(st)

        results["demo_fill_store_s"] = _median_time(fill, repeats, fresh_demo)
    return results


def print_table(r: dict) -> None:
    n = f"{r['rows']:,}"
    lines = [
        ("import CSV", f"{n} rows ({r['csv_mb']:.0f} MB)", f"{r['import_csv_s']:.3f} s",
         f"{r['import_csv_rows_per_s'] / 1e6:.2f} M rows/s"),
        ("import Parquet", f"{n} rows", f"{r['import_parquet_s']:.3f} s",
         f"{r['import_parquet_rows_per_s'] / 1e6:.2f} M rows/s"),
        ("naive executemany", f"{r['naive_rows']:,} rows (extrapolated)", "",
         f"{r['naive_executemany_rows_per_s']:,.0f} rows/s"),
        ("  CSV vs naive", "", "", f"{r['import_csv_vs_naive']:,.0f}x (target {IMPORT_RATIO_TARGET:.0f}x)"),
        ("  Parquet vs naive", "", "", f"{r['import_parquet_vs_naive']:,.0f}x (target {IMPORT_RATIO_TARGET:.0f}x)"),
        ("read into numpy", f"{n} bars", f"{r['read_s'] * 1e3:.1f} ms",
         f"{r['read_rows_per_s'] / 1e6:.1f} M rows/s (target {READ_TARGET_ROWS_PER_S / 1e6:.0f})"),
        ("resample 1m -> 1h (SQL)", f"{n} bars", f"{r['resample_1m_to_1h_s'] * 1e3:.1f} ms", ""),
        ("demo: generate", "1,000,000 minute bars", f"{r['demo_generate_1m_minute_bars_s'] * 1e3:.0f} ms", ""),
        ("demo: fill empty store", "5x5,040 daily + 2x1M minute", f"{r['demo_fill_store_s']:.2f} s", ""),
    ]
    widths = [max(len(row[i]) for row in lines) for i in range(4)]
    print(f"data benchmarks (median of {r['repeats']} repeats)")
    for row in lines:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_data", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per import / read (default 1,000,000)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per figure; the median is reported")
    ap.add_argument("--naive-rows", type=int, default=2_000, help="rows for the executemany baseline")
    args = ap.parse_args(argv)
    results = run(args.rows, args.repeats, args.naive_rows)
    print_table(results)
    return results


if __name__ == "__main__":
    main()
