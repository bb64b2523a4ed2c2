"""Suite "data": benchmarks/bench_data.py's figures, run by this runner.

Each repeat is one `bench_data.run(rows, repeats=1, naive_rows)`: import 1,000,000 minute bars from CSV
and from Parquet into a fresh store (`import_files`: read, validate, one transaction, catalogue), a
row-by-row `executemany` baseline on 2,000 rows, loading the bars back into numpy, resampling 1m -> 1h
in SQL, generating 1M demo bars, filling an empty store with the demo data. The runner takes the
median, min, max and p95 of each figure over the repeats; the process tree's RSS is sampled through
the repeats. Targets are bench_data's own: import >= 500x the executemany baseline, read >= 20 M rows/s.
"""

from __future__ import annotations

from benchmarks import bench_data
from benchmarks.runner import Context, FigureRow, Sample, benchmark, ratio

SUITE = "data"
ROWS = 1_000_000
NAIVE_ROWS = 2_000


# The whole call is not a figure (gate=False); its rows are (the baseline's row is not ours: not gated).
ROWS_FROM_RUN = (
    FigureRow("import_csv_s", "import_csv_1m", unit="rows/s", work="rows",
              gate=True, description="import_files: CSV -> validate -> store, fresh file"),
    FigureRow("import_parquet_s", "import_parquet_1m", unit="rows/s", work="rows",
              gate=True, description="import_files: Parquet -> validate -> store, fresh file"),
    FigureRow("naive_executemany_rows_per_s", "naive_executemany", unit="rows/s", work="naive_rows", inverse=True,
              gate=False, description="baseline: row-by-row executemany into the bars table, one transaction"),
    FigureRow("read_s", "read_1m", unit="rows/s", work="rows", gate=True, description="Store.load -> Bars (numpy)"),
    FigureRow("resample_1m_to_1h_s", "resample_1m_to_1h", unit="rows/s", work="rows",
              gate=True, description="Store.load(symbol, '1h') from minute bars, in SQL"),
    FigureRow("demo_generate_1m_minute_bars_s", "demo_generate_1m", unit="bars/s", work=1e6,
              gate=True, description="generate_bars: 1M seeded minute bars"),
    FigureRow("demo_fill_store_s", "demo_fill_store", gate=True, description="ensure_demo_data into an empty store"),
)


@benchmark(suite=SUITE, name="bench_data_run", unit="s", gate=False, tracemalloc=False, memory="during",
           min_time=0.0, warmup=1, quick_warmup=0, repeats=5, quick_repeats=2, rows=ROWS_FROM_RUN)
def _data(ctx: Context):
    """one bench_data.run(rows, repeats=1): every data figure once (its rows follow)"""
    rows, naive = ctx.size(ROWS, 20_000), ctx.size(NAIVE_ROWS, 200)

    def work() -> Sample:
        return Sample(None, None, bench_data.run(rows, 1, naive))
    return work, {"rows": rows, "naive_rows": naive}


def _rate(get, name: str) -> float:
    return get(name)["rate"]


@ratio(suite=SUITE, name="import_csv_vs_executemany", target=bench_data.IMPORT_RATIO_TARGET)
def _csv_vs_naive(get) -> float:
    """CSV import rows/s / row-by-row executemany rows/s (medians)"""
    return _rate(get, "import_csv_1m") / _rate(get, "naive_executemany")


@ratio(suite=SUITE, name="import_parquet_vs_executemany", target=bench_data.IMPORT_RATIO_TARGET)
def _pq_vs_naive(get) -> float:
    """Parquet import rows/s / row-by-row executemany rows/s (medians)"""
    return _rate(get, "import_parquet_1m") / _rate(get, "naive_executemany")


@ratio(suite=SUITE, name="read_rows_per_s", target=bench_data.READ_TARGET_ROWS_PER_S, unit="rows/s")
def _read(get) -> float:
    """Store.load of 1M bars into numpy"""
    return _rate(get, "read_1m")


# Whole-process figures (issue 17): `backbench import` against DuckDB's own loader, command to exit.
from benchmarks import fresh_import  # noqa: E402, F401  (registers its benchmarks in this suite)
