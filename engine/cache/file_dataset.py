"""A file's dataset, named before it is read: a sweep whose every combo is cached need not parse its file.

A sweep's cache keys name its dataset by `dataset_identity` (symbol, timeframe, rows, first and last bar and
a fingerprint of every value), which takes the validated bars. Reading and validating a 1M-row file costs
a fully cached `backbench sweep` about a fifth of its time (docs/performance.md, "A fully cached sweep
starts no worker"). So the first read of a file stores its identity in the result cache under the file's
content digest and name (the symbol comes from the name) and a digest of the importer's sources
(`modules_digest` from engine.data.importers; the engine's version covers the path from bars to stats, not
the importer): the same bytes through the same code give the same bars. A later sweep of the same bytes
gets a `NamedDataset` (engine/cache/keys.py) holding that identity; `run_sweep` keys its combos with it and
reads the file only if one of them is missing.

Nothing stale can come of it: the digest is of the whole file, the identity is stored only when the file
was the same before and after it was read, and a `NamedDataset` whose file no longer gives the identity it
was named by refuses to load (the rows it would compute would be keyed by other data).
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

from engine.bars import Bars
from engine.cache.keys import NamedDataset, dataset_identity, make_key, modules_digest

_FIELDS = ("symbol", "timeframe", "rows", "first_ts", "last_ts", "content")


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


IMPORTER_ROOTS = ("engine.data.importers",)


def _key(path: Path, digest: str) -> str:
    return make_key("file-dataset", path.name, digest, modules_digest(IMPORTER_ROOTS))


def file_dataset(path: Path, cache: Any) -> Bars | NamedDataset:
    """The file's dataset by the identity `cache` holds for its bytes, else its bars, read (and their identity
    stored for next time). `cache` None: read."""
    path = Path(path)
    if cache is None:
        return _read(path)
    digest = file_digest(path)
    key = _key(path, digest)
    known = cache.get(key)
    if isinstance(known, dict) and set(known) == set(_FIELDS):  # anything else (damaged) is read again
        return NamedDataset(path.name, dict(known), partial(_read, path))
    bars = _read(path)
    if file_digest(path) == digest:  # unchanged while it was read: these bars are those bytes'
        cache.put(key, dataset_identity(bars))
    return bars


def _read(path: Path) -> Bars:
    from engine.data.importers import load_file

    return load_file(path).bars
