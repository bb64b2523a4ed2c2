"""A sweep of a file read before names its dataset by the file's bytes: when every combo is cached the file is
not parsed, and nothing stale can come of it (engine/cache/file_dataset.py)."""

import polars as pl
import pytest

import engine.data.importers as importers
from engine.cache import ResultCache
from engine.cache.file_dataset import file_dataset
from engine.cache.keys import NamedDataset, dataset_identity
from engine.data.demo import generate_bars
from engine.errors import DataError
from engine.sweep import run_sweep

GRID = {"n1": [5, 10, 15], "n2": [30, 60]}


def _write(path, bars):
    pl.DataFrame({"Date": pl.Series(bars.ts).cast(pl.Datetime("ns")), "Open": bars.open, "High": bars.high,
                  "Low": bars.low, "Close": bars.close, "Volume": bars.volume}).write_parquet(path)
    return path


@pytest.fixture
def reads(monkeypatch):
    """How often a file is parsed: the real `load_file`, counted."""
    calls = []
    real = importers.load_file

    def counted(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(importers, "load_file", counted)
    return calls


def test_a_fully_cached_sweep_of_a_file_read_before_does_not_parse_it(tmp_path, reads):
    path = _write(tmp_path / "ACME.parquet", generate_bars("ACME", 1_500, "1d", seed=3))
    cache = ResultCache(tmp_path / "c")
    first_ds = file_dataset(path, cache)
    first = run_sweep(first_ds, "sma_cross", GRID, cache=cache)
    assert len(reads) == 1 and first.computed == 6
    fresh = ResultCache(tmp_path / "c")  # a new process: disk only
    named = file_dataset(path, fresh)
    assert isinstance(named, NamedDataset) and named.identity == dataset_identity(first_ds)
    again = run_sweep(named, "sma_cross", GRID, cache=fresh)
    assert len(reads) == 1 and again.computed == 0 and again.rows.equals(first.rows)
    # one combo more: the file is read (and checked against its name), the cached rows are served
    more = run_sweep(file_dataset(path, fresh), "sma_cross", {"n1": [5, 10, 15, 20], "n2": [30, 60]}, cache=fresh)
    assert len(reads) == 2 and more.computed == 2
    assert more.rows.filter(more.rows["n1"] < 20).equals(first.rows)
    plain = run_sweep(importers.load_file(path).bars, "sma_cross", {"n1": [20], "n2": [30, 60]})
    assert more.rows.filter(more.rows["n1"] == 20).drop("combo").equals(plain.rows.drop("combo"))


def test_other_bytes_or_another_name_are_read_not_served(tmp_path, reads):
    bars = generate_bars("ACME", 1_500, "1d", seed=3)
    cache = ResultCache(tmp_path / "c")
    path = _write(tmp_path / "ACME.parquet", bars)
    first = run_sweep(file_dataset(path, cache), "sma_cross", GRID, cache=cache)
    other_bars = generate_bars("ACME", 1_500, "1d", seed=4)
    _write(path, other_bars)  # the same name, other prices
    changed = file_dataset(path, cache)
    assert not isinstance(changed, NamedDataset)
    again = run_sweep(changed, "sma_cross", GRID, cache=cache)
    assert again.computed == 6 and not again.rows["equity_final"].equals(first.rows["equity_final"])
    twin = _write(tmp_path / "OTHER.parquet", other_bars)  # the same bytes, another symbol
    other = file_dataset(twin, cache)
    assert not isinstance(other, NamedDataset) and other.symbol == "OTHER"


def test_a_file_changed_after_it_was_named_is_refused(tmp_path):
    bars = generate_bars("ACME", 1_500, "1d", seed=3)
    cache = ResultCache(tmp_path / "c")
    path = _write(tmp_path / "ACME.parquet", bars)
    run_sweep(file_dataset(path, cache), "sma_cross", GRID, cache=cache)
    named = file_dataset(path, cache)
    assert isinstance(named, NamedDataset)
    _write(path, generate_bars("ACME", 1_500, "1d", seed=4))
    with pytest.raises(DataError, match="changed while the sweep read it"):
        run_sweep(named, "sma_cross", {"n1": [7], "n2": [30]}, cache=cache)


def test_a_damaged_identity_is_read_again(tmp_path, reads):
    from engine.cache.file_dataset import _key, file_digest

    path = _write(tmp_path / "ACME.parquet", generate_bars("ACME", 800, "1d", seed=3))
    cache = ResultCache(tmp_path / "c")
    cache.put(_key(path, file_digest(path)), {"symbol": "ACME", "rows": 3})
    got = file_dataset(path, cache)
    assert not isinstance(got, NamedDataset) and len(reads) == 1
    assert isinstance(file_dataset(path, cache), NamedDataset)  # stored whole this time
