"""The bar store: one DuckDB file with a `bars` table and a `datasets` catalogue.

Schema and why:
- `bars(symbol, timeframe, ts TIMESTAMP (UTC, naive), open, high, low, close, volume DOUBLE)` with **no
  primary key**. A PRIMARY KEY made loads ~3.7x slower and the file ~3x bigger here; instead every write
  inserts only the timestamps not already stored (an anti-join against the dataset's existing rows), so
  (symbol, timeframe, ts) stays unique. Rows are inserted ordered by time, so a dataset's rows sit together
  and a read is one clustered scan (zone maps skip the rest).
- `datasets(symbol, timeframe, rows, first_ts, last_ts, source, imported_at, fingerprint)`: one row per
  dataset, rewritten in the same transaction as the bars. `fingerprint` equals `Bars.fingerprint()` of the
  whole stored dataset, so caches can key on it without reading the bars.

Concurrency: one process writes (DuckDB locks the file for a read-write connection, which shuts out every
other process, readers included); readers open read-only when no writer holds it, and workers are handed
arrays instead of opening the store. Every write runs in one transaction: a failure or a kill leaves the
store exactly as it was (DuckDB replays only committed WAL entries).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from engine.bars import Bars
from engine.data.timeframes import normalize_timeframe, split_timeframe, sql_interval, timeframe_ns
from engine.errors import DataError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bars (
    symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL, ts TIMESTAMP NOT NULL,
    open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL, rows BIGINT NOT NULL,
    first_ts TIMESTAMP, last_ts TIMESTAMP, source VARCHAR, imported_at TIMESTAMP,
    fingerprint VARCHAR, PRIMARY KEY (symbol, timeframe));
"""
_COLS = ("open", "high", "low", "close", "volume")
TimeLike = str | int | np.datetime64 | dt.datetime | dt.date | None


def to_ns(value: TimeLike, *, end: bool = False) -> int | None:
    """A time (ISO string, date, datetime, datetime64 or int ns) as int ns UTC.

    With end=True a date-only value means the end of that day (the whole day is included).
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        value = np.datetime64(value, "us")
    elif isinstance(value, dt.date):
        value = str(value)
    try:
        t = np.datetime64(value)
    except ValueError as exc:
        raise DataError(f"time {value!r}: expected an ISO date or datetime like 2020-01-31 09:30") from exc
    ns = int(t.astype("datetime64[ns]").astype(np.int64))
    if end and np.datetime_data(t.dtype)[0] in ("D", "M", "Y"):
        unit = np.datetime_data(t.dtype)[0]
        ns = int((t + np.timedelta64(1, unit)).astype("datetime64[ns]").astype(np.int64)) - 1  # type: ignore[call-overload]  # unit is one of D, M, Y
    return ns


# The store never installs or loads a DuckDB extension behind the user's back (by default a query naming
# one downloads it from the network and runs it).
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _arrow_column(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """A numpy column as an Arrow array over the same memory (no nulls). `pa.array(numpy)` would do the
    same but first imports pandas to ask whether the input is a pandas object (~0.2 s of a fresh
    `backbench import`, which never uses pandas)."""
    values = np.ascontiguousarray(values, dtype=np.int64 if pa.types.is_timestamp(kind) else np.float64)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only, config=dict(_CONFIG))


@dataclass(frozen=True)
class WriteResult:
    symbol: str
    timeframe: str
    inserted: int  # new bars written
    existing: int  # bars whose timestamp was already stored (left as stored)
    conflicts: int  # of those, how many had different values in the incoming data


class Store:
    """A DuckDB bar store. Use as a context manager; `read_only=True` for readers."""

    def __init__(self, path: str | os.PathLike, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise DataError(f"store {self.path}: no such file")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = _connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DataError(f"store {self.path} is in use by another process (one writer at a time)") from exc
            raise DataError(f"store {self.path}: cannot open: {exc}") from exc
        except duckdb.Error as exc:
            raise DataError(f"store {self.path}: not a Backbench store ({exc})") from exc
        if not read_only:
            self.con.execute(_SCHEMA)
        elif not {"bars", "datasets"} <= self._tables():
            self.con.close()
            raise DataError(f"store {self.path}: not a Backbench store (tables bars/datasets missing)")
        self._in_tx = False

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection and drop it (a closed DuckDB connection kept referenced, e.g. by a
        long-lived GUI object, is reported as leaked when the interpreter exits)."""
        if self.con is not None:
            self.con.close()
            self.con = None  # type: ignore[assignment]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tables(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside happen together or not at all (nested use joins the outer one)."""
        if self._in_tx:
            yield self
            return
        self._require_writable()
        self.con.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self._in_tx = False
            self.con.execute("ROLLBACK")
            raise
        self._in_tx = False
        self.con.execute("COMMIT")

    def _require_writable(self) -> None:
        if self.read_only:
            raise DataError(f"store {self.path} is open read-only")

    # -- catalogue ---------------------------------------------------------------------------------
    def datasets(self) -> list[dict]:
        """The catalogue, one dict per dataset, ordered by symbol and timeframe."""
        cur = self.con.execute("SELECT * FROM datasets ORDER BY symbol, timeframe")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def dataset(self, symbol: str, timeframe: str) -> dict | None:
        rows = [d for d in self.datasets() if d["symbol"] == symbol and d["timeframe"] == timeframe]
        return rows[0] if rows else None

    def is_empty(self) -> bool:
        return self.con.execute("SELECT count(*) FROM datasets").fetchall()[0][0] == 0

    def timeframes(self, symbol: str) -> list[str]:
        """Stored timeframes of a symbol, finest first."""
        rows = self.con.execute("SELECT timeframe FROM datasets WHERE symbol = ?", [symbol]).fetchall()
        return sorted((r[0] for r in rows), key=timeframe_ns)

    def _describe_available(self) -> str:
        items = [f"{d['symbol']} {d['timeframe']}" for d in self.datasets()]
        return ", ".join(items) if items else "none (the store is empty)"

    # -- writes ------------------------------------------------------------------------------------
    def write(self, table: pa.Table, symbol: str, timeframe: str, source: str = "",
              fingerprint: str | Callable[[], str] | None = None) -> WriteResult:
        """Add bars not yet stored for (symbol, timeframe); existing timestamps keep their stored values.

        `table` has columns ts (timestamp, UTC, naive), open, high, low, close, volume, already validated,
        sorted by ts and free of duplicate timestamps. `fingerprint` may be passed when the dataset is new and `table`
        is sorted (it is then the stored content); otherwise it is computed from the stored rows.
        """
        timeframe = normalize_timeframe(timeframe)
        with self.transaction():
            exists = self.dataset(symbol, timeframe) is not None
            self.con.register("_incoming", table)
            try:
                existing = conflicts = 0
                select = ("SELECT ?, ?, i.ts, i.open, i.high, i.low, i.close, i.volume FROM _incoming i")
                if exists:
                    stored = "(SELECT * FROM bars WHERE symbol = ? AND timeframe = ?) b"
                    existing, conflicts = self.con.execute(
                        f"SELECT count(*), count(*) FILTER (WHERE (i.open, i.high, i.low, i.close, i.volume)"
                        f" IS DISTINCT FROM (b.open, b.high, b.low, b.close, b.volume))"
                        f" FROM _incoming i JOIN {stored} USING (ts)", [symbol, timeframe]).fetchall()[0]
                    select += " ANTI JOIN (SELECT ts FROM bars WHERE symbol = ? AND timeframe = ?) b USING (ts)"
                    params = [symbol, timeframe, symbol, timeframe]
                else:
                    params = [symbol, timeframe]
                # `table` is sorted by ts and DuckDB keeps insertion order, so no ORDER BY (a sort) is needed.
                inserted = self.con.execute(f"INSERT INTO bars {select}", params).fetchall()[0][0]
            finally:
                self.con.unregister("_incoming")
            if inserted:
                if exists or fingerprint is None:
                    fingerprint = self.load(symbol, timeframe).fingerprint()
                elif callable(fingerprint):
                    fingerprint = fingerprint()
                self._update_catalogue(symbol, timeframe, source, fingerprint)
        return WriteResult(symbol, timeframe, int(inserted), int(existing), int(conflicts))

    def write_bars(self, bars: Bars, source: str = "") -> WriteResult:
        """Write a `Bars` (unique timestamps) under its own symbol and timeframe."""
        if len(bars) > 1 and not bool(np.all(bars.ts[1:] > bars.ts[:-1])):
            order = np.argsort(bars.ts, kind="stable")
            bars = Bars(bars.ts[order], bars.open[order], bars.high[order], bars.low[order], bars.close[order],
                        bars.volume[order], bars.symbol, bars.timeframe)
        columns = [_arrow_column(bars.ts // 1000, pa.timestamp("us"))]
        columns += [_arrow_column(getattr(bars, c), pa.float64()) for c in _COLS]
        table = pa.Table.from_arrays(columns, names=["ts", *_COLS])
        return self.write(table, bars.symbol, bars.timeframe, source, fingerprint=bars.fingerprint)

    def _update_catalogue(self, symbol: str, timeframe: str, source: str, fingerprint: str) -> None:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.con.execute(
            "INSERT OR REPLACE INTO datasets SELECT symbol, timeframe, count(*), min(ts), max(ts), ?, ?, ?"
            " FROM bars WHERE symbol = ? AND timeframe = ? GROUP BY symbol, timeframe",
            [source, now, fingerprint, symbol, timeframe])

    def delete(self, symbol: str, timeframe: str | None = None) -> int:
        """Delete a symbol's bars (one timeframe or all); returns the number of bars deleted."""
        tfs = self.timeframes(symbol) if timeframe is None else [normalize_timeframe(timeframe)]
        if not tfs or self.dataset(symbol, tfs[0]) is None:
            what = symbol if timeframe is None else f"{symbol} {timeframe}"
            raise DataError(f"no dataset {what} in the store; available: {self._describe_available()}")
        deleted = 0
        with self.transaction():
            for tf in tfs:
                deleted += self.con.execute("DELETE FROM bars WHERE symbol = ? AND timeframe = ?",
                                            [symbol, tf]).fetchall()[0][0]
                self.con.execute("DELETE FROM datasets WHERE symbol = ? AND timeframe = ?", [symbol, tf])
        return int(deleted)

    def vacuum(self) -> tuple[int, int]:
        """Rewrite the store into a fresh file, bars clustered by (symbol, timeframe, ts), and swap it in.

        DuckDB reuses but seldom returns the space of deleted rows; a copy is compact. The swap is an
        atomic rename, so a crash leaves either the old file or the new one. Returns sizes before/after.
        """
        self._require_writable()
        self.con.execute("CHECKPOINT")
        before = self.path.stat().st_size
        tmp = self.path.with_name(self.path.name + ".vacuum")
        leftovers = (tmp, tmp.with_name(tmp.name + ".wal"))
        for f in leftovers:
            f.unlink(missing_ok=True)
        try:  # a failure (disk full, file size limit) removes the half-written copy; the store is untouched
            new = _connect(tmp)
            try:
                new.execute(_SCHEMA)
            finally:
                new.close()
            self.con.execute(f"ATTACH '{_sql_str(tmp)}' AS fresh")
            try:
                self.con.execute("INSERT INTO fresh.bars SELECT * FROM bars ORDER BY symbol, timeframe, ts")
                self.con.execute("INSERT INTO fresh.datasets SELECT * FROM datasets")
            finally:
                self.con.execute("DETACH fresh")
            self.con.close()
            try:
                os.replace(tmp, self.path)
            finally:
                self.con = _connect(self.path)
        except BaseException:
            for f in leftovers:
                f.unlink(missing_ok=True)
            raise
        return before, self.path.stat().st_size

    # -- reads -------------------------------------------------------------------------------------
    def load(self, symbol: str, timeframe: str | None = None, start: TimeLike = None,
             end: TimeLike = None) -> Bars:
        """One symbol's bars in [start, end] (both inclusive; a date-only end includes that whole day).

        `timeframe=None` picks the symbol's only stored timeframe. A timeframe that is not stored but is a
        whole multiple of a stored one is resampled from the finest such (see `resample`).
        """
        stored = self.timeframes(symbol)
        if not stored:
            raise DataError(f"symbol {symbol!r} is not in the store; available: {self._describe_available()}")
        if timeframe is None:
            if len(stored) > 1:
                raise DataError(f"{symbol} has several timeframes ({', '.join(stored)}): choose one with --timeframe")
            timeframe = stored[0]
        timeframe = normalize_timeframe(timeframe)
        if timeframe not in stored:
            base = [tf for tf in stored if _divides(tf, timeframe)]
            if not base:
                raise DataError(f"{symbol} has no {timeframe} bars and none finer to resample from "
                                f"(stored: {', '.join(stored)})")
            return self.resample(symbol, base[0], timeframe, start, end)
        where, params = _range_sql(symbol, timeframe, start, end)
        q = f"SELECT epoch_ns(ts) AS ts, open, high, low, close, volume FROM bars WHERE {where}"
        return _to_bars(self.con.sql(q, params=params).fetchnumpy(), symbol, timeframe, sort=True)

    def resample(self, symbol: str, from_tf: str, to_tf: str, start: TimeLike = None,
                 end: TimeLike = None) -> Bars:
        """Aggregate stored `from_tf` bars to the coarser `to_tf` in SQL: first open, max high, min low,
        last close, summed volume; each bar is labelled with its period start (UTC; weeks start Monday)."""
        from_tf, to_tf = normalize_timeframe(from_tf), normalize_timeframe(to_tf)
        if not _divides(from_tf, to_tf):
            raise DataError(f"cannot resample {from_tf} to {to_tf}: the target must be a whole multiple")
        where, params = _range_sql(symbol, from_tf, start, end)
        q = (f"SELECT epoch_ns(time_bucket({sql_interval(to_tf)}, ts)) AS ts, arg_min(open, ts) AS open,"
             f" max(high) AS high, min(low) AS low, arg_max(close, ts) AS close, sum(volume) AS volume"
             f" FROM bars WHERE {where} GROUP BY 1 ORDER BY 1")
        return _to_bars(self.con.sql(q, params=params).fetchnumpy(), symbol, to_tf, sort=False)


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _divides(fine: str, coarse: str) -> bool:
    """True if `coarse` bars are made of whole `fine` bars (months from days or finer)."""
    if fine == coarse:
        return True
    fc, fu = split_timeframe(fine)
    cc, cu = split_timeframe(coarse)
    if cu == "mo":
        return (fu == "mo" and cc % fc == 0) or (fu != "mo" and timeframe_ns("1d") % timeframe_ns(fine) == 0)
    if fu == "mo":
        return False
    return timeframe_ns(coarse) % timeframe_ns(fine) == 0 and timeframe_ns(coarse) > timeframe_ns(fine)


def _range_sql(symbol: str, timeframe: str, start: TimeLike, end: TimeLike) -> tuple[str, list]:
    where = "symbol = ? AND timeframe = ?"
    params: list[str | int] = [symbol, timeframe]
    lo, hi = to_ns(start), to_ns(end, end=True)
    if lo is not None:
        where += " AND ts >= make_timestamp(?)"
        params.append(lo // 1000)
    if hi is not None:
        where += " AND ts <= make_timestamp(?)"
        params.append(hi // 1000)
    return where, params


def _to_bars(cols: dict, symbol: str, timeframe: str, sort: bool) -> Bars:
    ts = np.asarray(cols["ts"], dtype=np.int64)
    arrays = [np.asarray(cols[c], dtype=np.float64) for c in _COLS]
    if sort and len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        order = np.argsort(ts, kind="stable")  # rows of an out-of-order import; rare
        ts, arrays = ts[order], [a[order] for a in arrays]
    o, h, lo, c, v = arrays
    return Bars(ts, o, h, lo, c, v, symbol=symbol, timeframe=timeframe)


def ensure_demo_data(store: Store, progress: Callable[[int, int, str], None] | None = None) -> bool:
    """Fill an empty store with the demo datasets (engine.data.demo.DEMO_SYMBOLS), in one transaction.

    `progress(done, total, label)` is called as bars are generated and written. Returns True if it filled.
    """
    from engine.data.demo import DEMO_SYMBOLS, generate_bars

    if not store.is_empty():
        return False
    total = sum(n for _, n in DEMO_SYMBOLS.values())
    done = 0
    with store.transaction():
        for symbol, (tf, n) in DEMO_SYMBOLS.items():
            if progress:
                progress(done, total, symbol)
            store.write_bars(generate_bars(symbol, n, tf), source=f"demo:{symbol}:{tf}")
            done += n
    if progress:
        progress(done, total, "done")
    return True
