"""The DuckDB store: writes, idempotence, reads into numpy, resampling, delete, vacuum, demo fill."""

import datetime as dt
from collections import OrderedDict

import numpy as np
import pytest

from engine.bars import Bars
from engine.data.demo import DEMO_SYMBOLS, generate_bars
from engine.data.store import Store, ensure_demo_data
from engine.errors import DataError

from .helpers import dump, same_bars


def test_the_store_opens_the_path_it_is_given_whatever_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "env.duckdb"))  # the app's setting, not the engine's
    with Store(tmp_path / "given.duckdb") as st:
        assert st.path == tmp_path / "given.duckdb"
    assert (tmp_path / "given.duckdb").exists() and not (tmp_path / "env.duckdb").exists()


def test_write_then_load_round_trip_and_catalogue(tmp_path):
    bars = generate_bars("AAA", 2000, "1d")
    with Store(tmp_path / "s.duckdb") as st:
        res = st.write_bars(bars, source="test")
        assert (res.inserted, res.existing, res.conflicts) == (2000, 0, 0)
        back = st.load("AAA")
        assert same_bars(back, bars) and back.symbol == "AAA" and back.timeframe == "1d"
        for name in ("ts", "open", "close"):
            arr = getattr(back, name)
            assert arr.flags.c_contiguous and arr.dtype == (np.int64 if name == "ts" else np.float64)
        (entry,) = st.datasets()
        assert entry["rows"] == 2000 and entry["source"] == "test"
        assert entry["first_ts"] == dt.datetime(2005, 1, 3) and entry["fingerprint"] == bars.fingerprint()


def test_rewrite_is_idempotent_and_overlap_adds_only_new(tmp_path):
    path = tmp_path / "s.duckdb"
    full = generate_bars("AAA", 1000, "1d")
    with Store(path) as st:
        st.write_bars(full.slice(0, 600))
    before = dump(path)
    with Store(path) as st:
        res = st.write_bars(full.slice(0, 600))
        assert (res.inserted, res.existing) == (0, 600)
    assert dump(path)[:2] == before[:2]  # same rows, same catalogue (imported_at untouched)
    with Store(path) as st:
        res = st.write_bars(full.slice(400, 1000))
        assert (res.inserted, res.existing, res.conflicts) == (400, 200, 0)
        assert same_bars(st.load("AAA"), full)
        assert st.dataset("AAA", "1d")["fingerprint"] == full.fingerprint()
        # Older data written after newer still reads back sorted.
        st.write_bars(generate_bars("BBB", 100, "1d").slice(50, 100))
        st.write_bars(generate_bars("BBB", 100, "1d").slice(0, 50))
        assert same_bars(st.load("BBB"), generate_bars("BBB", 100, "1d"))


def test_conflicting_values_keep_stored_and_are_counted(tmp_path):
    a = generate_bars("AAA", 100, "1d")
    b = Bars(a.ts, a.open, a.high * 1.01, a.low, a.close, a.volume, "AAA", "1d")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_bars(a)
        res = st.write_bars(b)
        assert (res.inserted, res.existing, res.conflicts) == (0, 100, 100)
        assert same_bars(st.load("AAA"), a)


def test_failed_transaction_leaves_store_unchanged(store_path):
    before = dump(store_path)
    with Store(store_path) as st, pytest.raises(RuntimeError):
        with st.transaction():
            st.write_bars(generate_bars("NEW", 100))
            raise RuntimeError("boom")
    assert dump(store_path) == before


def test_load_range_and_timeframe_choice(store_path):
    with Store(store_path, read_only=True) as st:
        b = st.load("OLD", start="2005-02-01", end="2005-02-28")
        days = b.times().astype("datetime64[D]")
        assert str(days[0]) == "2005-02-01" and str(days[-1]) == "2005-02-28"
        m = st.load("OLDM", "1m", start="2005-01-03 00:10", end="2005-01-03 00:19")
        assert len(m) == 10
        assert len(st.load("OLD", start="2030-01-01")) == 0
        with pytest.raises(DataError, match="'NOPE' is not in the store; available: OLD 1d, OLDM 1m"):
            st.load("NOPE")
        with pytest.raises(DataError, match="no 1m bars and none finer"):
            st.load("OLD", "1m")
        with pytest.raises(DataError, match="time 'yesterday'"):
            st.load("OLD", start="yesterday")


def test_read_only_store_refuses_writes_and_missing_file(store_path, tmp_path):
    with Store(store_path, read_only=True) as st, pytest.raises(DataError, match="read-only"):
        st.write_bars(generate_bars("X", 10))
    with pytest.raises(DataError, match="no such file"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def _reference_resample(bars: Bars, period_ns: int, origin_ns: int = 0):
    groups: OrderedDict[int, list[int]] = OrderedDict()
    for i, t in enumerate(bars.ts.tolist()):
        groups.setdefault(origin_ns + (t - origin_ns) // period_ns * period_ns, []).append(i)
    rows = []
    for label, idx in groups.items():
        rows.append((label, float(bars.open[idx[0]]), max(float(bars.high[i]) for i in idx),
                     min(float(bars.low[i]) for i in idx), float(bars.close[idx[-1]]),
                     sum(float(bars.volume[i]) for i in idx)))
    return rows


def _rows(b: Bars):
    return list(zip(b.ts.tolist(), b.open.tolist(), b.high.tolist(), b.low.tolist(), b.close.tolist(),
                    b.volume.tolist(), strict=True))


@pytest.mark.parametrize("tf,base,n", [("5m", "1m", 3000), ("1h", "1m", 3000), ("1d", "1m", 5000),
                                       ("1w", "1d", 400)])
def test_resample_equals_plain_python(tmp_path, tf, base, n):
    from engine.data.timeframes import timeframe_ns

    bars = generate_bars("R", n, base, start="2005-01-03 00:07" if base == "1m" else "2005-01-05")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_bars(bars)
        out = st.load("R", tf)
    assert out.timeframe == tf
    origin = int(np.datetime64("2000-01-03", "ns").astype(np.int64))  # a Monday: weeks start Monday
    expected = _reference_resample(bars, timeframe_ns(tf), origin)
    got = _rows(out)
    assert [r[0] for r in got] == [r[0] for r in expected]
    assert np.allclose(np.array(got)[:, 1:], np.array(expected)[:, 1:], rtol=1e-12, atol=0)
    assert [r[1:5] for r in got] == [r[1:5] for r in expected]  # OHLC exact


def test_resample_to_months_and_range(tmp_path):
    bars = generate_bars("R", 300, "1d")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_bars(bars)
        mo = st.load("R", "1mo", start="2005-03-01", end="2005-05-31")
    assert [str(x) for x in mo.times().astype("datetime64[D]")] == ["2005-03-01", "2005-04-01", "2005-05-01"]
    days = bars.times().astype("datetime64[M]")
    sel = days == np.datetime64("2005-04")
    assert mo.open[1] == bars.open[sel][0] and mo.close[1] == bars.close[sel][-1]
    assert mo.high[1] == bars.high[sel].max() and mo.volume[1] == pytest.approx(bars.volume[sel].sum())


def test_delete_and_vacuum(store_path):
    with Store(store_path) as st:
        assert st.delete("OLDM") == 500
        with pytest.raises(DataError, match="no dataset OLDM"):
            st.delete("OLDM")
        before, after = st.vacuum()
        assert after > 0 and [d["symbol"] for d in st.datasets()] == ["OLD"]
        assert len(st.load("OLD")) == 300


def test_million_bar_round_trip(tmp_path):
    # speed of this read is measured in benchmarks/bench_data.py, not asserted here
    bars = generate_bars("BIG", 1_000_000, "1m")
    with Store(tmp_path / "s.duckdb") as st:
        st.write_bars(bars)
    with Store(tmp_path / "s.duckdb", read_only=True) as st:
        back = st.load("BIG")
    assert same_bars(back, bars)
    assert all(getattr(back, f).flags.c_contiguous for f in ("ts", "open", "high", "low", "close", "volume"))


def test_ensure_demo_data_fills_empty_store_once(tmp_path):
    calls = []
    with Store(tmp_path / "s.duckdb") as st:
        assert ensure_demo_data(st, progress=lambda d, t, label: calls.append((d, t, label)))
        assert not ensure_demo_data(st)
        got = {(d["symbol"], d["timeframe"]): d["rows"] for d in st.datasets()}
    assert got == {(s, tf): n for s, (tf, n) in DEMO_SYMBOLS.items()}
    assert sum(tf == "1d" and n >= 5000 for tf, n in DEMO_SYMBOLS.values()) >= 5
    assert sum(tf == "1m" and n >= 1_000_000 for tf, n in DEMO_SYMBOLS.values()) >= 2
    assert calls[-1][0] == calls[-1][1] and len(calls) >= len(DEMO_SYMBOLS)


def test_connections_never_install_or_load_extensions(tmp_path):
    """On 48df530 a query naming a known extension would download and load it."""
    with Store(tmp_path / "s.duckdb") as store:
        got = store.con.execute("SELECT current_setting('autoinstall_known_extensions'), "
                                "current_setting('autoload_known_extensions')").fetchall()
    assert got == [(False, False)]
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT current_setting('autoload_known_extensions')").fetchall() == [(False,)]


VACUUM_UNDER_LIMIT = """
import resource, signal, sys
from engine.data.store import Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
store = Store(sys.argv[1])
try:
    store.vacuum()
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""


def test_a_failed_vacuum_leaves_no_temp_file_and_the_store_as_it_was(tmp_path):
    """A real failure: the copy outgrows the process's file size limit. On 48df530 the half-written
    `.vacuum` copy stayed beside the store."""
    import subprocess
    import sys

    from .helpers import dump

    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.write_bars(generate_bars("BIG", 20_000, "1m"))
    before = dump(path)
    proc = subprocess.run([sys.executable, "-c", VACUUM_UNDER_LIMIT, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.duckdb"]
    assert dump(path) == before
