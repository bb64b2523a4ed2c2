"""Validation of imported bars: parse cells, check the rules, repair what is safe to repair.

Rejected (the whole file, nothing written), each problem naming file, row, column and rule:
missing value, unparseable number, unparseable timestamp, mixed time zones (some timestamps carry a UTC
offset, others not), local time that does not exist or is ambiguous in --tz, NaN/inf price, price <= 0,
high < low, open or close outside [low, high], negative or non-finite volume, duplicate timestamp with
different values. The first ten problems are listed with the total count.

Repaired with a warning (counted in the import summary): unsorted rows (sorted), exact duplicate rows
(later copies dropped), blank volume cells (0). Blank lines, a BOM and a missing volume column are handled
by the importer.

Timestamps: ISO dates and datetimes ('T' or space, optional fraction, optional offset or Z, also with / or .
between date parts, and YYYYMMDD), epoch seconds / ms / us / ns told apart by magnitude. Naive times are
UTC unless a time zone is given; date-only values are calendar dates, stored as 00:00 UTC whatever the zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from engine.errors import DataError

PRICES = ("open", "high", "low", "close")
FIELDS = (*PRICES, "volume")
MAX_SHOWN = 10

_DATES = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_TIMES = ("%H:%M:%S", "%H:%M:%S%.f", "%H:%M")  # exact formats first: polars parses them much faster
NAIVE_FORMATS = [f"{d}{sep}{t}" for d in _DATES for sep in (" ", "T") for t in _TIMES] + list(_DATES)
AWARE_FORMATS = [f"{d}{sep}{t}%#z" for d in _DATES for sep in (" ", "T") for t in _TIMES]
_NUMERIC = re.compile(r"^[+-]?\d+(\.\d*)?$")
_US = pl.Datetime("us")
_US_UTC = pl.Datetime("us", "UTC")


class ValidationError(DataError):
    """A file broke the rules; `problems` holds the first few, `total` how many there were."""

    def __init__(self, message: str, problems: list[Problem] | None = None, total: int = 0) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.total = total


@dataclass(frozen=True, order=True)
class Problem:
    row: int  # 0-based index of the data row in the file
    order: int  # position of the field (ts, open, high, low, close, volume), for a stable listing
    column: str  # the column's name as written in the file
    rule: str


_ORDER = {f: i for i, f in enumerate(("ts", *FIELDS))}


def _num(x: Any) -> str:
    return repr(float(x))


@dataclass
class Checker:
    """Collects problems for one file; rows are shown as '<label> <index + base>' (CSV: 'line', 2)."""

    source: str
    names: dict[str, str]  # field -> column name in the file
    label: str = "line"
    base: int = 2
    shown: list[Problem] = field(default_factory=list)
    total: int = 0
    repairs: dict[str, int] = field(default_factory=dict)
    rows: np.ndarray | None = None  # frame row -> row in the file, when blank lines were dropped
    sep: str = ""  # the CSV delimiter, for a hint when a row uses another one

    def _file_row(self, i: int) -> int:
        return int(self.rows[i]) if self.rows is not None else i

    def add(self, mask: np.ndarray, fld: str, rule) -> None:
        """Record a problem for each True in `mask`; `rule(i)` describes row i (called for the first few)."""
        idx = np.flatnonzero(mask)
        if len(idx):
            self.total += len(idx)
            name = self.names.get(fld, fld)
            order = _ORDER.get(fld, 9)
            self.shown.extend(Problem(self._file_row(int(i)), order, name, rule(int(i))) for i in idx[:MAX_SHOWN])

    def repair(self, what: str, count: int) -> None:
        if count:
            self.repairs[what] = self.repairs.get(what, 0) + int(count)

    def raise_if_any(self) -> None:
        if not self.total:
            return
        shown = sorted(self.shown)[:MAX_SHOWN]
        parts = [f"{self.label} {p.row + self.base}, column {p.column!r}: {_clip(p.rule)}" for p in shown]
        if self.total == 1:
            msg = f"{self.source}: {parts[0]}"
        else:
            msg = f"{self.source}: {self.total} problems (first {len(parts)} shown): " + "; ".join(parts)
        raise ValidationError(msg, shown, self.total)

    def line_of(self, row: int) -> str:
        return f"{self.label} {self._file_row(row) + self.base}"


def _clip(text: str, limit: int = 200) -> str:
    """A rule quoting a cell stays one readable line, however long the cell (a 200 kB field)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def file_error(source: str, rule: str) -> ValidationError:
    """A problem with the file as a whole (not a table, empty, missing column...)."""
    return ValidationError(f"{source}: {rule}")


def _text(col: pl.Series) -> pl.Series:
    return col.cast(pl.String).str.strip_chars()


def _blank(col: pl.Series) -> np.ndarray:
    if col.dtype == pl.String:
        return (col.is_null() | (col.str.strip_chars().str.len_bytes() == 0)).to_numpy()
    return col.is_null().to_numpy()


def parse_numbers(frame: pl.DataFrame, chk: Checker) -> dict[str, np.ndarray]:
    """OHLCV columns of `frame` as float64 arrays (NaN where a cell is bad); blank volume repaired to 0."""
    out: dict[str, np.ndarray] = {}
    for fld in FIELDS:
        col = frame[fld]
        if col.dtype == pl.String:
            values = col.cast(pl.Float64, strict=False)
            retry = values.is_null() & col.is_not_null()
            if retry.any():  # e.g. padded with spaces the reader kept
                values = values.zip_with(~retry, _text(col).cast(pl.Float64, strict=False))
        else:
            try:
                values = col.cast(pl.Float64)
            except pl.exceptions.PolarsError:
                raise file_error(chk.source, f"column {chk.names[fld]!r}: values of type {col.dtype} "
                                             "are not numbers") from None
        isnull = values.is_null().to_numpy()
        arr = values.to_numpy().astype(np.float64, copy=False)
        blank = _blank(col)
        if fld == "volume":
            chk.repair("blank volume cells set to 0", int(blank.sum()))
            arr = np.where(blank, 0.0, arr)
        else:
            chk.add(blank, fld, lambda i: "missing value")
        chk.add(isnull & ~blank, fld, lambda i, col=col: f"unparseable number {str(col[i])!r}")
        what = "volume must be a finite number" if fld == "volume" else "price is not a finite number"
        chk.add(np.isnan(arr) & ~isnull, fld, lambda i, what=what: f"{what} (NaN)")
        out[fld] = np.ascontiguousarray(arr)
    return out


def check_values(v: dict[str, np.ndarray], chk: Checker) -> None:
    """Price and volume rules, on cells that parsed (NaN compares false and is skipped)."""
    o, h, lo, c, vol = (v[f] for f in FIELDS)
    with np.errstate(invalid="ignore"):
        for f in PRICES:
            a = v[f]
            chk.add(np.isinf(a), f, lambda i, a=a: f"price is not a finite number ({_num(a[i])})")
            chk.add(np.isfinite(a) & (a <= 0), f, lambda i, a=a, f=f: f"{f} must be > 0 (got {_num(a[i])})")
        chk.add(np.isinf(vol) | (vol < 0), "volume",
                lambda i: f"volume must be a finite number >= 0 (got {_num(vol[i])})")
        chk.add(h < lo, "high", lambda i: f"high < low (high={_num(h[i])}, low={_num(lo[i])})")
        ok = h >= lo
        chk.add(ok & ((o < lo) | (o > h)), "open",
                lambda i: f"open outside [low, high] (open={_num(o[i])}, low={_num(lo[i])}, high={_num(h[i])})")
        chk.add(ok & ((c < lo) | (c > h)), "close",
                lambda i: f"close outside [low, high] (close={_num(c[i])}, low={_num(lo[i])}, high={_num(h[i])})")


def sort_and_dedupe(ts: np.ndarray, v: dict[str, np.ndarray], chk: Checker) -> np.ndarray:
    """Row order that sorts by time and drops exact duplicates; different values at one time are errors.

    Returns indices into the file's rows (stable: the first of equal rows is kept).
    """
    n = len(ts)
    if n > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        chk.repair("rows out of time order (sorted)", int(np.count_nonzero(ts[1:] < ts[:-1])))
        order = np.argsort(ts, kind="stable")
    else:
        order = np.arange(n)
    if n < 2:
        return order
    st = ts[order]
    same_ts = np.flatnonzero(st[1:] == st[:-1]) + 1  # positions (in sorted order) equal to the previous
    if not len(same_ts):
        return order
    cur, prev = order[same_ts], order[same_ts - 1]
    same_vals = np.ones(len(same_ts), dtype=bool)
    for f in FIELDS:
        same_vals &= v[f][cur] == v[f][prev]
    chk.repair("exact duplicate rows dropped", int(same_vals.sum()))
    conflict = np.zeros(n, dtype=bool)
    conflict[cur[~same_vals]] = True
    first = dict(zip(cur[~same_vals][: 4 * MAX_SHOWN].tolist(), prev[~same_vals][: 4 * MAX_SHOWN].tolist(),
                     strict=True))
    chk.add(conflict, "ts", lambda i: "duplicate timestamp with different values"
                                      + (f" (also at {chk.line_of(first[i])})" if i in first else ""))
    keep = np.ones(len(order), dtype=bool)
    keep[same_ts[same_vals]] = False
    return order[keep]


# -- timestamps ------------------------------------------------------------------------------------
def _guess(value: str, formats: list[str], dtype: Any) -> str | None:
    one = pl.Series([value])
    for fmt in formats:
        if one.str.strptime(dtype, fmt, strict=False)[0] is not None:
            return fmt
    return None


def _epoch_us(values: np.ndarray) -> np.ndarray:
    """Epoch numbers to microseconds; the unit (s, ms, us, ns) comes from the largest magnitude."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    top = float(np.max(np.abs(finite))) if len(finite) else 0.0
    if top < 1e11:
        scale = 1_000_000
    elif top < 1e14:
        scale = 1_000
    elif top < 1e17:
        scale = 1
    else:
        return (values // 1000).astype(np.int64) if values.dtype.kind == "i" else _to_int64(values / 1000)
    if values.dtype.kind == "i":
        return values.astype(np.int64) * scale
    return _to_int64(np.round(values * scale))


def _to_int64(values: np.ndarray) -> np.ndarray:
    """Float microseconds to int64, clipped (not wrapped) so a huge epoch stays out of range and is rejected."""
    return np.clip(values, -9.2e18, 9.2e18).astype(np.int64)


def _localise(us: np.ndarray, ok: np.ndarray, tz: str, chk: Checker) -> np.ndarray:
    local = pl.Series(us).cast(_US).dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
    out = local.dt.epoch("us").to_numpy()
    bad = ok & local.is_null().to_numpy()
    chk.add(bad, "ts", lambda i: f"local time does not exist or is ambiguous in time zone {tz} "
                                 "(daylight-saving change)")
    return np.where(bad, 0, out).astype(np.int64)


# Bars hold int64 nanoseconds, which reach from 1677-09-21 to 2262-04-11: a parsed time outside that would
# wrap around on the way to nanoseconds (9999-12-31 became a date in 1816), so it is rejected instead.
_NS_MIN_US = -(2**63) // 1000 + 1
_NS_MAX_US = (2**63 - 1) // 1000


def parse_timestamps(col: pl.Series, tz: str | None, chk: Checker) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps as int64 microseconds UTC, plus a mask of rows that parsed and fit in nanoseconds."""
    us, ok = _parse_timestamps(col, tz, chk)
    out_of_range = ok & ((us < _NS_MIN_US) | (us > _NS_MAX_US))
    chk.add(out_of_range, "ts", lambda i: f"timestamp {str(col[i]).strip()!r} is out of range (bars can hold "
                                          "times from 1677-09-22 to 2262-04-11)")
    return us, ok & ~out_of_range


def _parse_timestamps(col: pl.Series, tz: str | None, chk: Checker) -> tuple[np.ndarray, np.ndarray]:
    blank = _blank(col)
    chk.add(blank, "ts", lambda i: "missing value")
    dtype = col.dtype
    if isinstance(dtype, pl.Datetime):
        s = col.dt.cast_time_unit("us")
        if dtype.time_zone:
            return s.dt.convert_time_zone("UTC").dt.epoch("us").fill_null(0).to_numpy(), ~blank
        us = s.dt.epoch("us").fill_null(0).to_numpy()
        return (_localise(us, ~blank, tz, chk) if tz else us), ~blank
    if dtype == pl.Date:
        return col.cast(_US).dt.epoch("us").fill_null(0).to_numpy(), ~blank
    if dtype.is_numeric():
        return _numeric_strings(col.cast(pl.String), blank, chk)
    if dtype != pl.String:
        raise file_error(chk.source, f"column {chk.names['ts']!r}: values of type {dtype} are not timestamps")

    first_i = int(np.argmin(blank)) if not blank.all() else -1
    if first_i < 0:
        return np.zeros(len(col), np.int64), ~blank
    first = col[first_i].strip()
    if _NUMERIC.match(first):
        return _numeric_strings(col, blank, chk)
    aware = _guess(first, AWARE_FORMATS, _US_UTC)
    fmt = aware or _guess(first, NAIVE_FORMATS, _US)
    if fmt is None:
        hint = _sep_hint(first, chk.sep)
        chk.add(np.arange(len(col)) == first_i, "ts", lambda i: f"unparseable timestamp {first!r}{hint}")
        return np.zeros(len(col), np.int64), np.zeros(len(col), bool)
    dtype_ = _US_UTC if aware else _US
    parsed = col.str.strptime(dtype_, fmt, strict=False, cache=False)
    us = np.array(parsed.dt.epoch("us").fill_null(0).to_numpy(), dtype=np.int64)
    bad = parsed.is_null().to_numpy() & ~blank
    if bad.any():  # other formats, spaces around values, or rows of the other kind (mixed zones)
        idx = np.flatnonzero(bad)
        sub = _text(col.gather(idx))
        done = np.zeros(len(idx), dtype=bool)
        for fmt2 in [fmt, *(AWARE_FORMATS if aware else NAIVE_FORMATS)]:
            p = sub.str.strptime(dtype_, fmt2, strict=False)
            hit = p.is_not_null().to_numpy() & ~done
            us[idx[hit]] = p.dt.epoch("us").to_numpy()[hit]
            done |= hit
        other = np.zeros(len(col), dtype=bool)
        for fmt2 in (NAIVE_FORMATS if aware else AWARE_FORMATS):
            hit = sub.str.strptime(_US if aware else _US_UTC, fmt2, strict=False).is_not_null().to_numpy()
            other[idx[hit & ~done]] = True
            done |= hit
        has, lacks = ("has no", "has") if aware else ("has a", "has none")
        chk.add(other, "ts", lambda i: f"mixed time zones: this timestamp {has} UTC offset, "
                                       f"{chk.line_of(first_i)} {lacks}")
        unparsed = np.zeros(len(col), dtype=bool)
        unparsed[idx[~done]] = True
        chk.add(unparsed, "ts", lambda i: f"unparseable timestamp {col[i]!r}" + _sep_hint(col[i], chk.sep))
        bad = unparsed | other
    ok = ~blank & ~bad
    if tz and not aware and "%H" in fmt:
        us = _localise(us, ok, tz, chk)
    return us, ok


def _sep_hint(value: str, sep: str) -> str:
    other = [s for s in (",", ";", "\t") if s != sep and s in str(value)]
    return f" (wrong delimiter? the header uses {sep!r}, this line {other[0]!r})" if sep and other else ""


def _numeric_strings(col: pl.Series, blank: np.ndarray, chk: Checker) -> tuple[np.ndarray, np.ndarray]:
    text = _text(col)
    ints = text.cast(pl.Int64, strict=False)
    if ints.null_count() == int(blank.sum()):
        vals = ints.fill_null(0).to_numpy()
        nz = vals[~blank]
        if len(nz) and bool(np.all((nz >= 19000101) & (nz <= 21001231))):  # YYYYMMDD, not 1970 epochs
            p = text.str.strptime(_US, "%Y%m%d", strict=False)
            bad = p.is_null().to_numpy() & ~blank
            chk.add(bad, "ts", lambda i: f"unparseable timestamp {col[i]!r} (read as YYYYMMDD)")
            return p.dt.epoch("us").fill_null(0).to_numpy(), ~blank & ~bad
        return _epoch_us(vals), ~blank
    floats = text.cast(pl.Float64, strict=False)
    bad = floats.is_null().to_numpy() & ~blank
    chk.add(bad, "ts", lambda i: f"unparseable timestamp {col[i]!r} (expected an epoch number like the "
                                 "first row's)")
    nonfinite = ~bad & ~blank & ~np.isfinite(floats.fill_null(0).to_numpy())  # 'nan' and 'inf' parse as floats
    chk.add(nonfinite, "ts", lambda i: f"timestamp {str(col[i]).strip()!r} is not a finite epoch number")
    bad |= nonfinite
    vals = np.where(bad, 0.0, floats.fill_null(0).to_numpy())
    return _epoch_us(vals), ~blank & ~bad
