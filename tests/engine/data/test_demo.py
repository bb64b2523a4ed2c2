"""The synthetic demo data: deterministic, consistent OHLC, weekday daily bars, fast."""


import numpy as np
import pytest

from engine.data.demo import DEMO_SYMBOLS, demo_bars, generate_bars, symbol_seed

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _same(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in FIELDS)


def test_deterministic_across_calls_and_seed_is_stable():
    assert _same(generate_bars("ACME", 500), generate_bars("ACME", 500))
    assert not np.array_equal(generate_bars("ACME", 500).close, generate_bars("GLOBEX", 500).close)
    assert _same(generate_bars("X", 300, seed=7), generate_bars("Y", 300, seed=7))
    # A blake2b-derived seed: the same in every process and on every machine.
    assert symbol_seed("ACME") == symbol_seed("ACME") and 0 <= symbol_seed("ACME") < 2**63
    assert generate_bars("ACME", 5).fingerprint() == generate_bars("ACME", 5).fingerprint()


@pytest.mark.parametrize("timeframe,n", [("1d", 5040), ("1m", 20_000), ("1h", 3000)])
def test_ohlc_consistency_and_positivity(timeframe, n):
    b = generate_bars("ACME", n, timeframe)
    assert len(b) == n and b.symbol == "ACME" and b.timeframe == timeframe
    for name in ("open", "high", "low", "close", "volume"):
        arr = getattr(b, name)
        assert arr.dtype == np.float64 and arr.flags.c_contiguous and np.isfinite(arr).all()
        assert (arr > 0).all(), name
    assert (b.high >= np.maximum(b.open, b.close)).all()
    assert (b.low <= np.minimum(b.open, b.close)).all()
    assert (np.diff(b.ts) > 0).all()
    # Opens sit near the previous close (small gaps).
    gaps = np.abs(np.log(b.open[1:] / b.close[:-1]))
    moves = np.abs(np.diff(np.log(b.close)))
    assert np.median(gaps) < 0.5 * np.median(moves)


def test_daily_bars_are_weekdays_only():
    b = generate_bars("ACME", 5040, start="2005-01-01")  # a Saturday: rolls to Monday
    days = b.times().astype("datetime64[D]")
    assert str(days[0]) == "2005-01-03"
    assert np.is_busday(days).all()
    assert (b.ts % 86_400_000_000_000 == 0).all()  # midnight UTC
    assert 19 < (days[-1] - days[0]).astype(int) / 365.25 < 20.5  # ~20 years


def test_minute_bars_are_consecutive_minutes():
    b = generate_bars("BTCX", 5000, "1m")
    assert (np.diff(b.ts) == 60_000_000_000).all()


def test_stylised_facts_volume_and_vol_clustering():
    b = generate_bars("ACME", 5040)
    r = np.diff(np.log(b.close))
    assert 0.05 < r.std() * np.sqrt(252) < 0.6
    assert np.corrcoef(np.abs(r), b.volume[1:])[0, 1] > 0.2  # volume rises with |return|
    a = np.abs(r)
    assert np.corrcoef(a[1:], a[:-1])[0, 1] > 0.05  # volatility clusters


def test_demo_symbols_and_default_dataset():
    daily = [s for s, (tf, _) in DEMO_SYMBOLS.items() if tf == "1d"]
    minute = [s for s, (tf, _) in DEMO_SYMBOLS.items() if tf == "1m"]
    assert len(daily) >= 5 and len(minute) >= 2
    b = demo_bars()
    assert b.symbol == "ACME" and b.timeframe == "1d" and len(b) == 5040
