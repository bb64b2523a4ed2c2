"""Shared helpers for the data-layer tests: small CSV writers and a full dump of a store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np

from engine.bars import Bars

HEADER = "Date,Open,High,Low,Close,Volume\n"


def csv_text(bars: Bars, header: str = HEADER, sep: str = ",", fmt: str = "%Y-%m-%d") -> str:
    """Bars as CSV text; prices written with repr() so they read back exactly."""
    times = bars.times().astype("datetime64[s]").astype(object)
    lines = [header.replace(",", sep)]
    for i in range(len(bars)):
        vals = [times[i].strftime(fmt), *(repr(float(getattr(bars, f)[i])) for f in
                                           ("open", "high", "low", "close", "volume"))]
        lines.append(sep.join(vals) + "\n")
    return "".join(lines)


def dump(path: Path) -> tuple:
    """Every row of both tables (ordered, as Arrow tables: `==` compares all values) plus the file's hash:
    equal dumps mean an unchanged store."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        bars = con.sql("SELECT * FROM bars ORDER BY symbol, timeframe, ts").to_arrow_table()
        datasets = con.sql("SELECT * FROM datasets ORDER BY symbol, timeframe").to_arrow_table()
    finally:
        con.close()
    wal = Path(str(path) + ".wal")
    files = hashlib.sha256(path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")).hexdigest()
    return bars, datasets, files


def same_bars(a: Bars, b: Bars) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("ts", "open", "high", "low", "close", "volume"))
