"""Result cache: L1 in memory, L2 on disk, keyed by everything a result depends on.

How the key is made: docs/architecture.md, "The cache key".

    from engine.cache import default_cache, backtest_keys
    cache = default_cache()
    keys = backtest_keys(bars, "sma_cross", combos, config, kind="stats")
    found = cache.get_many(keys)                    # {key: stats row} for the hits
    cache.put_many({k: row for k, row in computed}) # store the misses

`run_backtest(..., cache=cache)` caches whole results; `@cached(...)` any other pure function.
The default cache writes to disk on a background thread (`cache.flush()` waits; exit flushes).
"""

from engine.cache.codec import CacheFormatError
from engine.cache.keys import (
    backtest_key,
    backtest_keys,
    canonical,
    dataset_identity,
    make_key,
    sweep_row_key,
)
from engine.cache.l1 import MISSING, L1Cache
from engine.cache.l2 import DiskCache
from engine.cache.result_cache import (
    ResultCache,
    cached,
    configure_default_cache,
    default_cache,
    reset_default_cache,
)
from engine.cache.writer import WriteBehind

__all__ = [
    "MISSING",
    "CacheFormatError",
    "DiskCache",
    "L1Cache",
    "ResultCache",
    "WriteBehind",
    "backtest_key",
    "backtest_keys",
    "cached",
    "canonical",
    "configure_default_cache",
    "dataset_identity",
    "default_cache",
    "make_key",
    "reset_default_cache",
    "sweep_row_key",
]
