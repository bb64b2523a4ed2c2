"""Importing good files: formats, aliases, time formats, repairs, round trip, idempotence."""

import gzip

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bars import Bars
from engine.data.demo import generate_bars
from engine.data.importers import import_files, load_file, map_columns, symbol_from_path
from engine.data.store import Store
from engine.errors import DataError

from .helpers import HEADER, csv_text, dump, same_bars

st_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROWS = "2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,11,10,10.8,200\n2020-01-06,10.8,12,10.5,11.5,300\n"


def _ts(*days):
    return np.array(days, dtype="datetime64[ns]").astype(np.int64)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_round_trip_exact_with_any_delimiter(tmp_path, sep):
    bars = generate_bars("RT", 700, "1d")
    path = tmp_path / "rt.csv"
    path.write_text(csv_text(bars, sep=sep))
    [rep] = import_files(tmp_path / "s.duckdb", [path])
    assert (rep.symbol, rep.timeframe, rep.rows_read, rep.imported, rep.repaired) == ("RT", "1d", 700, 700, 0)
    with Store(tmp_path / "s.duckdb", read_only=True) as st:
        back = st.load("RT")
    assert same_bars(back, bars)  # every price bit-for-bit as in the file


def test_gzip_bom_parquet_and_minute_round_trip(tmp_path):
    bars = generate_bars("MIN", 3000, "1m")
    text = csv_text(bars, fmt="%Y-%m-%d %H:%M:%S")
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    p = load_file(tmp_path / "a.csv.gz")
    assert p.bars.symbol == "A" and p.bars.timeframe == "1m" and same_bars_values(p.bars, bars)
    assert p.repairs == {"UTF-8 byte order mark removed": 1}
    pl.DataFrame({"timestamp": bars.times(), "open": bars.open, "high": bars.high, "low": bars.low,
                  "close": bars.close, "volume": bars.volume}).write_parquet(tmp_path / "b.parquet")
    q = load_file(tmp_path / "b.parquet", symbol="MIN")
    assert same_bars(q.bars, bars)


def same_bars_values(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("ts", "open", "high", "low", "close", "volume"))


@pytest.mark.parametrize("header", [
    "date,open,high,low,close,volume", "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME", "Datetime,O,H,L,C,Vol",
    "Timestamp, Open , High , Low , Close , Volume", "Time,Open,High,Low,Close,Volume",
    "Date,Open,High,Low,Adj Close,Volume",
])
def test_column_aliases(tmp_path, header):
    (tmp_path / "x.csv").write_text(header + "\n" + ROWS)
    b = load_file(tmp_path / "x.csv").bars
    assert list(b.close) == [10.5, 10.8, 11.5] and list(b.volume) == [100, 200, 300]


def test_close_preferred_over_adj_close_and_explicit_mapping(tmp_path):
    (tmp_path / "x.csv").write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,5.2,1\n"
                                    "2020-01-03,10,11,9,10.6,5.3,1\n")
    assert list(load_file(tmp_path / "x.csv").bars.close) == [10.5, 10.6]
    (tmp_path / "y.csv").write_text("when,a,b,c,d\n2020-01-02,10,11,9,10.5\n2020-01-03,10,11,9,10.6\n")
    cols = {"ts": "when", "open": "a", "high": "B", "low": "c", "close": "d"}
    b = load_file(tmp_path / "y.csv", columns=cols).bars
    assert list(b.close) == [10.5, 10.6] and list(b.volume) == [0, 0]
    with pytest.raises(DataError, match="column 'zz' given for close is not in the file"):
        load_file(tmp_path / "y.csv", columns={**cols, "close": "zz"})


def test_separate_date_and_time_columns(tmp_path):
    (tmp_path / "x.csv").write_text("Date,Time,Open,High,Low,Close\n2020-01-02,09:30,1,2,0.5,1.5\n"
                                    "2020-01-02,09:31,1,2,0.5,1.5\n")
    b = load_file(tmp_path / "x.csv").bars
    assert b.timeframe == "1m" and str(b.times()[0]) == "2020-01-02T09:30:00.000000000"


@pytest.mark.parametrize("cells,expected", [
    (["2020-01-02", "2020-01-03"], ["2020-01-02T00:00", "2020-01-03T00:00"]),
    (["2020-01-02 09:30", "2020-01-02 09:31"], ["2020-01-02T09:30", "2020-01-02T09:31"]),
    (["2020-01-02 09:30:00", "2020-01-02 09:31:00"], ["2020-01-02T09:30", "2020-01-02T09:31"]),
    (["2020-01-02T09:30:00.500", "2020-01-02T09:31:00.500"], ["2020-01-02T09:30:00.5", "2020-01-02T09:31:00.5"]),
    (["2020-01-02T09:30:00Z", "2020-01-02T09:31:00Z"], ["2020-01-02T09:30", "2020-01-02T09:31"]),
    (["2020-01-02 11:30:00+02:00", "2020-01-02 11:31:00+02:00"], ["2020-01-02T09:30", "2020-01-02T09:31"]),
    (["1577957400", "1577957460"], ["2020-01-02T09:30", "2020-01-02T09:31"]),  # epoch seconds
    (["1577957400000", "1577957460000"], ["2020-01-02T09:30", "2020-01-02T09:31"]),  # epoch ms
    (["20200102", "20200103"], ["2020-01-02T00:00", "2020-01-03T00:00"]),
    (["2020/01/02", "2020/01/03"], ["2020-01-02T00:00", "2020-01-03T00:00"]),
    (["2020-01-02 09:30:00", "2020-01-02 09:31:00.25"], ["2020-01-02T09:30", "2020-01-02T09:31:00.25"]),
])
def test_timestamp_formats(tmp_path, cells, expected):
    rows = "".join(f"{c},1,2,0.5,1.5,7\n" for c in cells)
    (tmp_path / "x.csv").write_text(HEADER + rows)
    b = load_file(tmp_path / "x.csv", timeframe="1m").bars
    assert b.ts.tolist() == _ts(*expected).tolist()


def test_naive_times_with_tz_and_dates_stay_dates(tmp_path):
    (tmp_path / "x.csv").write_text(HEADER + "2020-07-01 09:30,1,2,0.5,1.5,7\n2020-12-01 09:30,1,2,0.5,1.5,7\n")
    b = load_file(tmp_path / "x.csv", tz="America/New_York").bars
    assert b.ts.tolist() == _ts("2020-07-01T13:30", "2020-12-01T14:30").tolist()  # EDT, then EST
    (tmp_path / "d.csv").write_text(HEADER + ROWS)
    assert load_file(tmp_path / "d.csv", tz="America/New_York").bars.ts[0] == _ts("2020-01-02")[0]
    with pytest.raises(DataError, match="unknown time zone 'Mars/Olympus'"):
        load_file(tmp_path / "d.csv", tz="Mars/Olympus")


def test_repairs_are_counted(tmp_path):
    text = ("Date,Open,High,Low,Close\n2020-01-06,10.8,12,10.5,11.5\n2020-01-02,10,11,9,10.5\n"
            "2020-01-03,10.5,11,10,10.8\n2020-01-03,10.5,11,10,10.8\n\n2020-01-07,10.8,12,10.5,11.5\n\n\n")
    (tmp_path / "r.csv").write_text(text)
    p = load_file(tmp_path / "r.csv")
    assert p.bars.ts.tolist() == _ts("2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07").tolist()
    assert p.repairs == {"no volume column: volume set to 0": 5, "trailing blank lines removed": 2,
                         "blank lines dropped": 1, "rows out of time order (sorted)": 1,
                         "exact duplicate rows dropped": 1}
    assert list(p.bars.volume) == [0, 0, 0, 0]


def test_reimport_changes_nothing_and_overlap_adds_only_new(tmp_path):
    db = tmp_path / "s.duckdb"
    bars = generate_bars("OV", 400, "1d")
    (tmp_path / "ov.csv").write_text(csv_text(bars.slice(0, 300)))
    (tmp_path / "ov2.csv").write_text(csv_text(bars.slice(200, 400)))
    import_files(db, [tmp_path / "ov.csv"])
    before = dump(db)
    [rep] = import_files(db, [tmp_path / "ov.csv"])
    assert (rep.imported, rep.skipped) == (0, 300)
    assert dump(db)[:2] == before[:2]
    [rep] = import_files(db, [tmp_path / "ov2.csv"], symbol="OV")
    assert (rep.imported, rep.skipped, rep.conflicts) == (100, 100, 0)
    with Store(db, read_only=True) as st:
        assert same_bars(st.load("OV"), bars)
        assert st.dataset("OV", "1d")["fingerprint"] == st.load("OV").fingerprint()


def test_check_writes_nothing_and_symbol_from_file_name(tmp_path, store_path):
    (tmp_path / "spy_daily.csv.gz").write_bytes(gzip.compress((HEADER + ROWS).encode()))
    assert symbol_from_path(tmp_path / "spy_daily.csv.gz") == "SPY_DAILY"
    before = dump(store_path)
    [rep] = import_files(None, [tmp_path / "spy_daily.csv.gz"], check=True)
    assert rep.checked_only and rep.rows_read == 3 and rep.imported == 0
    assert dump(store_path) == before


def test_map_columns_reports_missing_and_ambiguous():
    assert map_columns(["Date", "Open", "High", "Low", "Close"], "f.csv")["ts"] == "Date"
    with pytest.raises(DataError, match=r"f.csv: missing required column close \(columns found"):
        map_columns(["Date", "Open", "High", "Low"], "f.csv")
    with pytest.raises(DataError, match="ambiguous columns for open: open, OPEN"):
        map_columns(["Date", "open", "OPEN", "High", "Low", "Close"], "f.csv")


@st_settings
@given(data=st.data())
def test_property_any_valid_bars_round_trip_exactly(tmp_path_factory, data):
    n = data.draw(st.integers(1, 40))
    pos = st.floats(1e-6, 1e9, allow_nan=False, allow_infinity=False)
    rows = []
    for _ in range(n):
        a, b, c, d = sorted(data.draw(st.lists(pos, min_size=4, max_size=4)))
        o, cl = data.draw(st.permutations([b, c]))
        rows.append((o, d, a, cl, data.draw(st.floats(0, 1e12))))
    arr = np.array(rows)
    bars = Bars(_ts("2020-01-01")[0] + np.arange(n) * 86_400_000_000_000, *arr.T, "P", "1d")
    path = tmp_path_factory.mktemp("prop") / "p.csv"
    path.write_text(csv_text(bars))
    assert same_bars(load_file(path, timeframe="1d").bars, bars)
