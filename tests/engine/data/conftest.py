"""Fixtures for the data-layer tests: a small store with known content."""

from __future__ import annotations

import pytest

from engine.data.demo import generate_bars
from engine.data.store import Store


@pytest.fixture
def store_path(tmp_path):
    """A store file holding two small datasets (so 'unchanged' is a real check)."""
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.write_bars(generate_bars("OLD", 300, "1d"), source="fixture")
        store.write_bars(generate_bars("OLDM", 500, "1m"), source="fixture")
    return path
