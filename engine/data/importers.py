"""Import bar files into the store: CSV (also .csv.gz; ',', ';' or tab; UTF-8 with or without BOM) and
Parquet, read by polars.

Columns are matched case-insensitively, ignoring spaces and punctuation, with the usual aliases (Date,
Datetime, Time, Timestamp, or separate Date and Time columns; Open, High, Low, Close or Adj Close; Volume),
or given explicitly (`columns={"ts": "Trade time", ...}`). Symbol: given, or the file name (upper-cased).
Timeframe: given, or inferred from the median bar spacing. All files of one call are validated first and
then written in one transaction, so a failure leaves the store exactly as it was. Rows are reported as
'line N' for CSV (the header is line 1) and 'row N' for Parquet (the first data row is row 1).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from engine.bars import Bars
from engine.data.timeframes import infer_timeframe, normalize_timeframe
from engine.data.validate import (
    FIELDS,
    PRICES,
    Checker,
    check_values,
    file_error,
    parse_numbers,
    parse_timestamps,
    sort_and_dedupe,
)
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.data.store import Store

ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("timestamp", "datetime", "ts", "opentime", "datetimeutc", "timeutc", "dateutc", "gmttime",
           "localtime", "date", "time"),
    "open": ("open", "o", "openprice", "opening"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "last", "adjclose", "adjustedclose"),
    "volume": ("volume", "vol", "v", "tickvolume"),
}
_FIELD_LABEL = {"ts": "timestamp (Date/Datetime/Time/Timestamp)"}
_SEPARATORS = (",", ";", "\t")
_SNIFF = 1 << 16
_NO_VOLUME = "(no volume column)"
Stage = Callable[[str], None]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class Prepared:
    """A validated file, ready to write."""

    path: Path
    bars: Bars
    rows_read: int
    repairs: dict[str, int]
    seconds: float
    columns: dict[str, str] = field(default_factory=dict)  # field (ts, open, ...) -> the file's column


@dataclass
class ImportReport:
    path: Path
    symbol: str
    timeframe: str
    rows_read: int
    imported: int = 0  # bars added to the store
    skipped: int = 0  # bars whose timestamp was already stored
    conflicts: int = 0  # of the skipped, how many differed from the stored values (stored kept)
    repairs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    checked_only: bool = False

    @property
    def repaired(self) -> int:
        return sum(self.repairs.values())

    @property
    def warnings(self) -> list[str]:
        out = [f"{what}: {n}" for what, n in self.repairs.items()]
        if self.conflicts:
            out.append(f"bars already stored with different values (stored values kept): {self.conflicts}")
        return out

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else float("inf")


def symbol_from_path(path: str | Path) -> str:
    """'spy_daily.csv.gz' -> 'SPY_DAILY'."""
    name = Path(path).name
    for ext in (".gz", ".csv", ".tsv", ".txt", ".parquet", ".pq"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name.strip().upper() or "UNNAMED"


def map_columns(found: Sequence[str], source: str, given: dict[str, str] | None = None) -> dict[str, str]:
    """field -> column name in the file (for the date+time pair: 'date\\ttime'). Raises if any is missing."""
    keys: dict[str, list[str]] = {}
    for name in found:
        keys.setdefault(_key(name), []).append(name)
    out: dict[str, str] = {}
    for fld, name in (given or {}).items():
        if fld not in ALIASES:
            raise DataError(f"unknown field {fld!r} in the column mapping; fields: {', '.join(ALIASES)}")
        match = [f for f in found if f == name] or keys.get(_key(name), [])
        if not match:
            raise file_error(source, f"column {name!r} given for {fld} is not in the file "
                                     f"(columns: {', '.join(found)})")
        out[fld] = match[0]
    for fld, aliases in ALIASES.items():
        if fld in out:
            continue
        if fld == "ts" and "date" in keys and "time" in keys and not any(
                a in keys for a in aliases[: aliases.index("date")]):
            out["ts"] = f"{keys['date'][0]}\t{keys['time'][0]}"
            continue
        for alias in aliases:
            if alias in keys:
                if len(keys[alias]) > 1:
                    raise file_error(source, f"ambiguous columns for {fld}: {', '.join(keys[alias])}")
                out[fld] = keys[alias][0]
                break
    missing = [f for f in ("ts", *PRICES) if f not in out]
    if missing:
        if len(missing) == 5:
            raise file_error(source, f"not a table of bars: no timestamp or price columns in the header "
                                     f"(found: {', '.join(found)[:200]})")
        names = ", ".join(_FIELD_LABEL.get(f, f) for f in missing)
        raise file_error(source, f"missing required column{'s' if len(missing) > 1 else ''} {names} "
                                 f"(columns found: {', '.join(found)})")
    return out


@dataclass(frozen=True)
class ImportLimits:
    """How big an imported file may be (settings `data.max_decompressed_mb`, `data.max_rows`)."""

    max_decompressed_bytes: int = 4096 << 20
    max_rows: int = 200_000_000


def _decompress(path: Path, limits: ImportLimits) -> bytes:
    """The decompressed content of a gzip file, read in pieces so a bomb stops at the cap, not at the
    end of memory."""
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic != b"\x1f\x8b":
        if path.name.lower().endswith(".gz"):
            raise file_error(path.name, "the name ends in .gz but the file is not gzip data")
        return path.read_bytes()
    cap = limits.max_decompressed_bytes
    out = io.BytesIO()
    try:
        with gzip.open(path, "rb") as gz:
            while piece := gz.read(1 << 20):
                out.write(piece)
                if out.tell() > cap:
                    raise file_error(path.name, f"decompresses to more than {cap / (1 << 20):,.0f} MiB (setting "
                                                "data.max_decompressed_mb); decompress it yourself or raise the "
                                                "limit")
    except (OSError, EOFError, zlib.error) as exc:
        raise file_error(path.name, f"corrupt gzip data ({exc})") from None
    return out.getvalue()


def _read_raw(path: Path, columns: dict[str, str] | None, limits: ImportLimits) -> tuple[pl.DataFrame, Checker]:
    """The file as a frame with canonical column names (raw types), and its checker."""
    src = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise file_error(src, "empty file (0 bytes)")
    source: Path | bytes = path
    if head[:2] == b"\x1f\x8b" or path.name.lower().endswith(".gz"):
        source = _decompress(path, limits)
        head = source[:_SNIFF]
    if head[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pl.read_parquet(source if isinstance(source, Path) else io.BytesIO(source))
        except Exception as exc:  # polars raises several kinds for a broken file
            raise file_error(src, f"not a readable Parquet file ({str(exc).splitlines()[0][:200]})") from None
        chk = Checker(src, {}, label="row", base=1)
        if frame.height == 0:
            raise file_error(src, "empty file: no data rows")
        return _select(frame, map_columns(frame.columns, src, columns), chk), chk

    chk = Checker(src, {})
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
        chk.repair("UTF-8 byte order mark removed", 1)
    if b"\x00" in head:
        raise file_error(src, "not a table: binary data (NUL bytes); expected CSV text or Parquet")
    if not head.strip():
        raise file_error(src, "empty file (only blank lines)")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header = first.decode("utf-8")
    except UnicodeDecodeError:
        raise file_error(src, "unreadable encoding: line 1 is not UTF-8 text") from None
    sep = max(_SEPARATORS, key=header.count)
    if header.count(sep) == 0:
        try:  # one known column (a lone Date): name the missing ones rather than "not a table"
            map_columns([header.strip()], src, columns)
        except DataError as exc:
            if "missing required" in str(exc):
                raise
        raise file_error(src, f"not a table: no ',', ';' or tab delimiter in the header line "
                              f"({header[:80]!r})")
    try:
        found = pl.read_csv(io.BytesIO(first + b"\n"), separator=sep, n_rows=0, infer_schema=False).columns
    except pl.exceptions.PolarsError as exc:
        raise file_error(src, f"not a table: unreadable header line ({str(exc).splitlines()[0][:120]})") from None
    names = map_columns(found, src, columns)
    chk.sep = sep
    wanted = [n for n in found if any(n in v.split("\t") for v in names.values())]
    numeric = {v for f, v in names.items() if f != "ts"}
    schema = {n: pl.Float64 if n in numeric else pl.String for n in wanted}
    frame = _read_csv(source, src, sep, len(found), wanted, schema)
    return _select(frame, names, chk), chk


def _read_csv(source: Path | bytes, src: str, sep: str, width: int, cols: list[str],
              schema: dict) -> pl.DataFrame:
    def read(**kw) -> pl.DataFrame:
        data = source if isinstance(source, Path) else io.BytesIO(source)
        return pl.read_csv(data, separator=sep, columns=cols, has_header=True, raise_if_empty=False, **kw)

    try:  # fast path: numbers parsed by the reader
        return read(schema_overrides=schema)
    except pl.exceptions.PolarsError:
        pass
    try:  # all as text, so validation can name each bad cell
        return read(infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        msg = str(exc)
    data = source.read_bytes() if isinstance(source, Path) else source
    if "utf-8" in msg.lower():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise file_error(src, f"unreadable encoding: line {line} is not UTF-8 text") from None
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        for fields in reader:
            if len(fields) > width:
                raise file_error(src, f"line {reader.line_num}: {len(fields)} fields but the header has {width} "
                                      f"(wrong delimiter or stray {sep!r}?)")
    except csv.Error as exc:  # e.g. a field past csv.field_size_limit(): say where, not a traceback
        raise file_error(src, f"line {reader.line_num}: not a readable CSV row ({exc})") from None
    raise file_error(src, f"not a readable CSV table ({msg.splitlines()[0][:200]})")


def _select(frame: pl.DataFrame, names: dict[str, str], chk: Checker) -> pl.DataFrame:
    cols = []
    for fld, name in names.items():
        if "\t" in name:  # separate date and time columns
            d, t = name.split("\t")
            cols.append(pl.concat_str([pl.col(d).cast(pl.String), pl.col(t).cast(pl.String)],
                                      separator=" ").alias(fld))
            names[fld] = f"{d}+{t}"
        else:
            cols.append(pl.col(name).alias(fld))
    if "volume" not in names:
        cols.append(pl.lit(0.0).alias("volume"))
        names["volume"] = _NO_VOLUME
    chk.names = names
    return frame.select(cols)


def load_file(path: str | Path, symbol: str | None = None, timeframe: str | None = None,
              tz: str | None = None, columns: dict[str, str] | None = None,
              limits: ImportLimits | None = None) -> Prepared:
    """Read and validate one file into sorted, de-duplicated `Bars` (nothing is written)."""
    limits = limits or ImportLimits()
    t0 = time.perf_counter()
    path = Path(path)
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError(f"unknown time zone {tz!r} (use an IANA name like America/New_York)") from None
    frame, chk = _read_raw(path, columns, limits)
    if frame.height > limits.max_rows:
        raise file_error(path.name, f"{frame.height:,} data rows, more than the {limits.max_rows:,} allowed "
                                    "(setting data.max_rows)")
    blank_rows = np.ones(frame.height, dtype=bool)
    for col in frame.columns:
        if col != "volume" or chk.names["volume"] != _NO_VOLUME:
            if not frame[col].null_count():  # a column without nulls: no row is blank (the usual case)
                blank_rows[:] = False
                break
            blank_rows &= frame[col].is_null().to_numpy()
    if blank_rows.all():
        raise file_error(path.name, "empty file: header only, no data rows")
    if blank_rows.any():  # blank lines: polars gives all-null rows
        keep = np.flatnonzero(~blank_rows)
        trailing = len(blank_rows) - 1 - int(keep[-1])
        chk.repair("trailing blank lines removed", trailing)
        chk.repair("blank lines dropped", int(blank_rows.sum()) - trailing)
        frame, chk.rows = frame[keep], keep
    if chk.names["volume"] == _NO_VOLUME:
        chk.repair("no volume column: volume set to 0", frame.height)
    ts_us, ts_ok = parse_timestamps(frame["ts"], tz, chk)
    values = parse_numbers(frame, chk)
    check_values(values, chk)
    if not ts_ok.all():
        ts_us = np.where(ts_ok, ts_us, np.iinfo(np.int64).min + np.arange(len(ts_us)))  # bad rows never collide
    order = sort_and_dedupe(ts_us, values, chk)
    chk.raise_if_any()
    # sorted and free of duplicates (then `order` is 0..n-1): the usual case, checked without a 1M arange
    in_order = len(order) == len(ts_us) and (len(ts_us) < 2 or bool(np.all(ts_us[1:] > ts_us[:-1])))
    ts_ns = (ts_us if in_order else ts_us[order]) * 1000
    tf = normalize_timeframe(timeframe) if timeframe else _infer(ts_ns, path.name)
    # a file already sorted and without duplicates (the usual case) keeps its columns: no 40 MB gather
    o, h, lo, c, v = (values[f] if in_order else values[f][order] for f in FIELDS)
    bars = Bars(ts_ns, o, h, lo, c, v, symbol=symbol or symbol_from_path(path),
                timeframe=tf)
    return Prepared(path, bars, frame.height, dict(chk.repairs), time.perf_counter() - t0, dict(chk.names))


def _infer(ts_ns: np.ndarray, src: str) -> str:
    try:
        return infer_timeframe(ts_ns)
    except DataError as exc:
        raise file_error(src, str(exc)) from None


def import_files(store: Store | str | Path | None, paths: Sequence[str | Path], symbol: str | None = None,
                 timeframe: str | None = None, tz: str | None = None,
                 columns: dict[str, str] | None = None, check: bool = False,
                 on_stage: Stage | None = None, limits: ImportLimits | None = None) -> list[ImportReport]:
    """Validate every file, then (unless `check`) write them all in one transaction.

    `store` is an open `Store` or a path: a path is opened only once every file has passed validation,
    so a rejected import never touches the store file.

    `on_stage(name)` is told 'validated', 'begin', 'written:<file>' and 'committed' as the import goes.
    """
    stage = on_stage or (lambda name: None)
    prepared = prepare_files(paths, symbol, timeframe, tz, columns, limits)
    stage("validated")
    if check:
        return reports_of(prepared, checked_only=True)
    return write_prepared(store, prepared, stage)


def prepare_files(paths: Sequence[str | Path], symbol: str | None = None, timeframe: str | None = None,
                  tz: str | None = None, columns: dict[str, str] | None = None,
                  limits: ImportLimits | None = None) -> list[Prepared]:
    """Read and validate every file (no store is touched): the first half of `import_files`."""
    return [load_file(p, symbol, timeframe, tz, columns, limits) for p in paths]


def reports_of(prepared: list[Prepared], checked_only: bool = False) -> list[ImportReport]:
    return [ImportReport(p.path, p.bars.symbol, p.bars.timeframe, p.rows_read, repairs=p.repairs,
                         seconds=p.seconds, checked_only=checked_only) for p in prepared]


def write_prepared(store: Store | str | Path | None, prepared: list[Prepared],
                   on_stage: Stage | None = None) -> list[ImportReport]:
    """Write validated files in one transaction: the second half of `import_files`."""
    stage = on_stage or (lambda name: None)
    reports = reports_of(prepared)
    if store is None:
        raise DataError("no store to import into")
    from engine.data.store import Store  # DuckDB only where something is written: `load_file` never needs it

    if not isinstance(store, Store):
        with Store(store) as opened:
            return _write_all(opened, prepared, reports, stage)
    return _write_all(store, prepared, reports, stage)


def _write_all(store: Store, prepared: list[Prepared], reports: list[ImportReport],
               stage: Stage) -> list[ImportReport]:
    with store.transaction():
        stage("begin")
        for p, rep in zip(prepared, reports, strict=True):
            t0 = time.perf_counter()
            res = store.write_bars(p.bars, source=str(p.path.resolve()))
            rep.imported, rep.skipped, rep.conflicts = res.inserted, res.existing, res.conflicts
            rep.seconds += time.perf_counter() - t0
            stage(f"written:{p.path.name}")
        t0 = time.perf_counter()
    if reports:
        reports[-1].seconds += time.perf_counter() - t0  # the commit
    stage("committed")
    return reports
