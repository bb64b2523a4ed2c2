"""Timeframe strings: parsing, canonical spelling, inference from bar spacing."""

import numpy as np
import pytest

from engine.data.demo import generate_bars
from engine.data.timeframes import infer_timeframe, normalize_timeframe, sql_interval, timeframe_ns
from engine.errors import DataError


def test_parse_and_normalise():
    assert timeframe_ns("1m") == 60_000_000_000
    assert timeframe_ns("1d") == 86_400_000_000_000
    assert normalize_timeframe("60m") == "1h"
    assert normalize_timeframe("24h") == "1d"
    assert normalize_timeframe("7d") == "1w"
    assert normalize_timeframe("1mo") == "1mo"
    assert sql_interval("15m") == "INTERVAL '15 minute'"
    assert sql_interval("1w") == "INTERVAL '7 day'"
    for bad in ("", "1", "m", "0m", "1y", "1 minutes", "-1d"):
        with pytest.raises(DataError, match="timeframe"):
            timeframe_ns(bad)


@pytest.mark.parametrize("tf", ["1m", "5m", "1h", "1d"])
def test_infer_from_generated_bars(tf):
    assert infer_timeframe(generate_bars("X", 500, tf).ts) == tf


def test_infer_short_daily_with_weekend_and_monthly():
    days = np.array(["2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[ns]").astype(np.int64)
    assert infer_timeframe(days) == "1d"  # gaps 1d and 3d: the most common (smallest) wins
    months = np.arange("2020-01", "2021-01", dtype="datetime64[M]").astype("datetime64[ns]").astype(np.int64)
    assert infer_timeframe(months) == "1mo"
    with pytest.raises(DataError, match="fewer than 2 bars"):
        infer_timeframe(days[:1])


@pytest.mark.parametrize(("step", "name"), [(60, "1m"), (300, "5m"), (3_600, "1h"), (86_400, "1d")])
def test_evenly_spaced_bars_take_the_fast_path_to_the_same_answer(step, name):
    ts = np.arange(1_000, dtype=np.int64) * step * 1_000_000_000
    assert infer_timeframe(ts) == name
    uneven = np.delete(ts, [5, 6, 7])  # one gap of 4 steps: the most common gap still wins
    assert infer_timeframe(uneven) == name
