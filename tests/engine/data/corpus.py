"""A corpus of broken bar files, each with the message fragments its rejection must contain.

Each case: file name, content (bytes), extra CLI args, and the fragments (file, row, column, rule).
`write_corpus(dir)` writes them all and returns [(case, path)].
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

H = "Date,Open,High,Low,Close,Volume\n"
R1 = "2020-01-02,10,11,9,10.5,100\n"
R2 = "2020-01-03,10.5,11,10,10.8,200\n"
R3 = "2020-01-06,10.8,12,10.5,11.5,300\n"


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    expect: tuple[str, ...]  # fragments of the one-line message, after the file name
    args: tuple[str, ...] = field(default=())


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def _many_errors() -> bytes:
    rows = [R1] + [f"2020-02-{d:02d},10,9,11,10,1\n" for d in range(1, 26)]  # 25 rows with high < low
    return (H + "".join(rows)).encode()


CASES: list[Case] = [
    Case("missing_close.csv", b"Date,Open,High,Low,Volume\n2020-01-02,10,11,9,100\n",
         ("missing required column close", "columns found: Date, Open, High, Low, Volume")),
    Case("missing_ts.csv", b"Open,High,Low,Close\n10,11,9,10.5\n",
         ("missing required column timestamp (Date/Datetime/Time/Timestamp)",)),
    Case("bad_number.csv", (H + R1 + "2020-01-03,abc,11,10,10.8,200\n").encode(),
         ("line 3, column 'Open': unparseable number 'abc'",)),
    Case("bad_timestamp.csv", (H + "2020-13-45,10,11,9,10.5,100\n" + R2).encode(),
         ("line 2, column 'Date': unparseable timestamp '2020-13-45'",)),
    Case("missing_value.csv", (H + R1 + "2020-01-03,10.5,11,10,,200\n").encode(),
         ("line 3, column 'Close': missing value",)),
    Case("nan_price.csv", (H + R1 + R2 + "2020-01-06,10.8,12,10.5,NaN,300\n").encode(),
         ("line 4, column 'Close': price is not a finite number (NaN)",)),
    Case("inf_price.csv", (H + "2020-01-02,10,inf,9,10.5,100\n").encode(),
         ("line 2, column 'High': price is not a finite number (inf)",)),
    Case("zero_price.csv", (H + R1 + "2020-01-03,10.5,11,0,10.8,200\n").encode(),
         ("line 3, column 'Low': low must be > 0 (got 0.0)",)),
    Case("negative_price.csv", (H + "2020-01-02,-10,11,9,10.5,100\n").encode(),
         ("line 2, column 'Open': open must be > 0 (got -10.0)",)),
    Case("high_below_low.csv", (H + R1 + R2 + "2020-01-06,10.8,9,10.5,10,300\n").encode(),
         ("line 4, column 'High': high < low (high=9.0, low=10.5)",)),
    Case("open_outside.csv", (H + "2020-01-02,12,11,9,10.5,100\n").encode(),
         ("line 2, column 'Open': open outside [low, high] (open=12.0, low=9.0, high=11.0)",)),
    Case("close_outside.csv", (H + R1 + "2020-01-03,10.5,11,10,9.5,200\n").encode(),
         ("line 3, column 'Close': close outside [low, high] (close=9.5, low=10.0, high=11.0)",)),
    Case("negative_volume.csv", (H + "2020-01-02,10,11,9,10.5,-5\n").encode(),
         ("line 2, column 'Volume': volume must be a finite number >= 0 (got -5.0)",)),
    Case("duplicate_ts.csv", (H + R1 + R2 + "2020-01-03,10.5,11,10,10.9,200\n").encode(),
         ("line 4, column 'Date': duplicate timestamp with different values (also at line 3)",)),
    Case("header_only.csv", H.encode(), ("empty file: header only, no data rows",)),
    Case("zero_bytes.csv", b"", ("empty file (0 bytes)",)),
    Case("blank_lines_only.csv", b"\n\n  \n", ("empty file (only blank lines)",)),
    Case("prose.csv", b"Dear diary\nToday the market went up.\n", ("not a table: no ',', ';' or tab delimiter",)),
    Case("json.csv", b'{"prices": [1, 2, 3], "ok": true}\n', ("not a table of bars: no timestamp or price columns",)),
    Case("binary.csv", bytes(range(256)) * 8, ("not a table: binary data (NUL bytes)",)),
    Case("not_gzip.csv.gz", (H + R1).encode(), ("the name ends in .gz but the file is not gzip data",)),
    Case("truncated.csv.gz", gzip.compress((H + R1 + R2 + R3).encode())[:30], ("corrupt gzip data",)),
    Case("pipe_delimited.csv", (H.replace(",", "|") + R1.replace(",", "|")).encode(),
         ("not a table: no ',', ';' or tab delimiter in the header line ('Date|Open",)),
    Case("wrong_delimiter.csv", (H.replace(",", ";") + R1).encode(),
         ("line 2, column 'Date': unparseable timestamp '2020-01-02,10,11,9,10.5,100'", "line 2, column 'Open': "
          "missing value")),
    Case("extra_field.csv", (H + R1 + "2020-01-03,10.5,11,10,10.8,200,7\n").encode(),
         ("line 3: 7 fields but the header has 6",)),
    Case("mixed_timezones.csv", (H + "2020-01-02 10:00:00,10,11,9,10.5,100\n"
                                 "2020-01-02 11:00:00+02:00,10,11,9,10.5,100\n").encode(),
         ("line 3, column 'Date': mixed time zones: this timestamp has a UTC offset, line 2 has none",)),
    Case("footer_junk.csv", (H + R1 + R2 + "Total: 2 rows\n").encode(),
         ("line 4, column 'Date': unparseable timestamp 'Total: 2 rows'",)),
    Case("latin1.csv", (H + R1).encode() + "2020-01-03,10.5,11,10,10.8,200 \xe9\n".encode("latin-1"),
         ("unreadable encoding: line 3 is not UTF-8 text",)),
    Case("many_errors.csv", _many_errors(),
         ("25 problems (first 10 shown): line 3, column 'High': high < low", "line 12, column 'High'")),
    Case("dst_gap.csv", (H + "2021-03-14 01:30,10,11,9,10.5,1\n2021-03-14 02:30,10,11,9,10.5,1\n").encode(),
         ("line 3, column 'Date': local time does not exist or is ambiguous in time zone America/New_York",),
         ("--tz", "America/New_York")),
    # Found by issue 13: these were stored silently on 48df530 (9999-12-31 wrapped round to 1816, nan to 1970).
    Case("far_future.csv", (H + R1 + "9999-12-31,10,11,9,10.5,100\n").encode(),
         ("line 3, column 'Date': timestamp '9999-12-31' is out of range",)),
    # Only far-future dates: both wrap round to 1816 in order, so 48df530 stored the file without a word.
    Case("far_future_only.csv", (H + "9999-12-30,10,11,9,10.5,100\n9999-12-31,10,11,9,10.5,100\n").encode(),
         ("line 2, column 'Date': timestamp '9999-12-30' is out of range",)),
    Case("far_future.parquet", _parquet(pl.DataFrame({
        "date": pl.Series(["2020-01-02", "9999-12-31"]).str.to_datetime("%Y-%m-%d"),
        "open": [10.0, 10.0], "high": [11.0, 11.0], "low": [9.0, 9.0], "close": [10.0, 10.0]})),
         ("row 2, column 'date'", "is out of range")),
    Case("nan_epoch.csv", b"ts,open,high,low,close\n1577923200,10,11,9,10.5\nnan,10,11,9,10.5\n",
         ("line 3, column 'ts': timestamp 'nan' is not a finite epoch number",)),
    Case("huge_epoch.csv", b"ts,open,high,low,close\n1577923200.5,10,11,9,10.5\n1e300,10,11,9,10.5\n",
         ("line 3, column 'ts': timestamp '1e300' is out of range",)),
    Case("only_date.csv", b"Date\n2020-01-02\n2020-01-03\n",
         ("missing required columns open, high, low, close (columns found: Date)",)),
    Case("field_past_csv_limit.csv", (H + R1 + "2020-01-03,10,11,9,10.5,\"" + "x" * 200_000 + "\",7\n").encode(),
         ("line 3: not a readable CSV row (field larger than field limit",)),
    Case("broken.parquet", b"PAR1" + b"\x00junk" * 50, ("not a readable Parquet file",)),
    Case("bad_values.parquet", _parquet(pl.DataFrame({
        "timestamp": ["2020-01-02", "2020-01-03"], "open": [10.0, 10.0], "high": [11.0, 9.0],
        "low": [9.0, 10.0], "close": [10.0, 10.0]})), ("row 2, column 'high': high < low",)),
]


def write_corpus(directory: Path) -> list[tuple[Case, Path]]:
    out = []
    for case in CASES:
        path = directory / case.name
        path.write_bytes(case.content)
        out.append((case, path))
    return out
