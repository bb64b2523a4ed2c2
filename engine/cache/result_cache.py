"""`ResultCache`: L1 (memory) in front of L2 (disk), the process-wide default, and `@cached`."""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from engine.cache.codec import encode
from engine.cache.keys import make_key
from engine.cache.l1 import MISSING, L1Cache
from engine.cache.l2 import DiskCache
from engine.cache.writer import WriteBehind
from engine.runtime.profiling import Registry, default_registry

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_L1_BYTES = 256 << 20
DEFAULT_L2_BYTES = 2 << 30
DEFAULT_MAX_ENTRY_BYTES = 256 << 20


class ResultCache:
    """Two-level cache of computed values under string keys (see engine.cache.keys).

    Values: what engine.cache.codec can encode (numbers, str, lists, dicts, numpy arrays). A stored
    value is shared, not copied: its arrays are made read-only on `put`, and values read back are
    read-only too, so nobody can change a cached value under another reader.
    With `write_behind`, disk writes happen on a background thread (`flush()` waits for them; they
    are flushed at exit); a put is then visible to this process at once and to others shortly after.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, l1_bytes: int = DEFAULT_L1_BYTES,
                 l2_bytes: int = DEFAULT_L2_BYTES, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
                 disk: bool = True, write_behind: bool = False, registry: Registry | None = None,
                 name: str = "cache") -> None:
        self.l1 = L1Cache(l1_bytes, ttl=ttl, clock=clock)
        self.l2: DiskCache | None = None
        self._writer: WriteBehind | None = None
        if disk:
            if directory is None:
                raise ValueError("ResultCache: a disk level needs a directory (or disk=False)")
            self.l2 = DiskCache(Path(directory), l2_bytes, max_entry_bytes, registry=registry)
            if write_behind:
                self._writer = WriteBehind(self.l2)
        self.name = name
        if registry is not None:
            registry.add_collector(name, _collector(self, name))

    def get(self, key: str, default: Any = None) -> Any:
        """The value under `key` (L1, else L2, promoted to L1), or `default`."""
        value = self.l1.get(key)
        if value is not MISSING:
            return value
        if self.l2 is not None:
            value = self.l2.get(key)
            if value is not MISSING:
                self.l1.put(key, value)
                return value
        return default

    def put(self, key: str, value: Any) -> None:
        """Store `value` in both levels (TypeError if it cannot be stored on disk)."""
        raw = encode(value) if self.l2 is not None else b""
        _freeze(value)
        self.l1.put(key, value)
        if self._writer is not None:
            self._writer.submit(key, raw)
        elif self.l2 is not None:
            self.l2.put_encoded(key, raw)

    def flush(self) -> None:
        """Wait for queued disk writes (write_behind) to finish."""
        if self._writer is not None:
            self._writer.flush()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """{key: value} for every key found (misses are left out)."""
        keys = list(keys)
        found = self.l1.get_many(keys)
        if self.l2 is not None and len(found) < len(keys):
            for key in keys:
                if key not in found:
                    value = self.l2.get(key)
                    if value is not MISSING:
                        self.l1.put(key, value)
                        found[key] = value
        return found

    def put_many(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self.put(key, value)

    def delete(self, key: str) -> None:
        self.flush()
        self.l1.delete(key)
        if self.l2 is not None:
            self.l2.delete(key)

    def clear(self) -> dict[str, int]:
        """Empty both levels; returns what was removed from disk ({"entries", "bytes"})."""
        self.flush()
        self.l1.clear()
        return self.l2.clear() if self.l2 is not None else {"entries": 0, "bytes": 0}

    def stats(self) -> dict[str, Any]:
        """{"l1": {...}, "l2": {...} or None, "lookups", "hits", "hit_rate"} for this process."""
        l1 = self.l1.stats()
        l2 = self.l2.stats() if self.l2 is not None else None
        if l2 is not None:
            l2["pending_writes"] = self._writer.pending() if self._writer is not None else 0
        lookups = l1["hits"] + l1["misses"]
        hits = l1["hits"] + (l2["hits"] if l2 else 0)
        return {"l1": l1, "l2": l2, "lookups": lookups, "hits": hits,
                "hit_rate": hits / lookups if lookups else 0.0}


def _collector(cache: ResultCache, name: str) -> Callable[[], dict[str, dict[str, float]]]:
    ref = weakref.ref(cache)

    def collect() -> dict[str, dict[str, float]]:
        c = ref()
        if c is None:
            return {}
        s = c.stats()
        counters: dict[str, float] = {}
        gauges: dict[str, float] = {f"{name}.hit_rate": s["hit_rate"]}
        for level in ("l1", "l2"):
            for k, v in (s[level] or {}).items():
                if k in ("bytes", "max_bytes", "entries", "pending_writes"):
                    if v is not None:
                        gauges[f"{name}.{level}.{k}"] = v
                elif isinstance(v, int):
                    counters[f"{name}.{level}.{k}"] = v
        return {"counters": counters, "gauges": gauges}

    return collect


def _freeze(value: Any) -> None:
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _freeze(v)


_default: ResultCache | None = None
_default_lock = threading.Lock()
_default_options: dict[str, Any] = {}


def default_cache() -> ResultCache:
    """The process-wide cache, reporting to default_registry(): L1 256 MB in memory, and L2 2 GB on disk
    written behind (flushed at exit) once `configure_default_cache` has named its directory. The engine
    picks no folder itself: until the app configures one, the default cache lives in memory only."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                options = dict(_default_options)
                directory = options.pop("directory", None)
                _default = ResultCache(directory, disk=directory is not None, write_behind=True,
                                       registry=default_registry(), **options)
    return _default


def configure_default_cache(directory: str | os.PathLike[str] | None = None, *, l1_bytes: int = DEFAULT_L1_BYTES,
                            l2_bytes: int = DEFAULT_L2_BYTES, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
                            ttl: float | None = None) -> None:
    """Directory (None: memory only) and limits of the process-wide cache, from the app's settings.

    The next default_cache() uses them; a default cache already built with other options is flushed and
    replaced. Same options again: nothing changes (its memory level stays warm).
    """
    global _default
    options = {"directory": Path(directory) if directory is not None else None, "l1_bytes": int(l1_bytes),
               "l2_bytes": int(l2_bytes), "max_entry_bytes": int(max_entry_bytes), "ttl": ttl}
    with _default_lock:
        if options == _default_options:
            return
        old, _default = _default, None
        _default_options.clear()
        _default_options.update(options)
    if old is not None:
        old.flush()


def reset_default_cache() -> None:
    """Forget the default cache and its configured options (the next default_cache() is memory only)."""
    global _default
    with _default_lock:
        _default = None
        _default_options.clear()


def cached(cache: ResultCache | Callable[[], ResultCache] | None = None,
           key_fn: Callable[..., Any] | None = None, *, namespace: str | None = None) -> Callable[[F], F]:
    """Cache a pure function's results: `@cached(default_cache, key_fn=lambda bars, n: (bars, n))`.

    `cache`: a ResultCache, or a callable returning one when first needed (e.g. `default_cache`);
    None means `default_cache`. `key_fn(*args, **kwargs)` returns what identifies the inputs (any
    value `make_key` accepts: Bars key by their fingerprint, arrays by their content); by default the
    arguments themselves. The key also holds `namespace` (default: the function's module and name)
    and the engine version. Bump a version string in `namespace` when the function's output changes.
    """

    def decorate(fn: F) -> F:
        ns = namespace or f"{fn.__module__}.{fn.__qualname__}"

        def key_of(*args: Any, **kwargs: Any) -> str:
            ident = key_fn(*args, **kwargs) if key_fn is not None else [list(args), kwargs]
            return make_key("fn", ns, ident)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            c = cache if isinstance(cache, ResultCache) else (cache or default_cache)()
            key = key_of(*args, **kwargs)
            value = c.get(key, MISSING)
            if value is MISSING:
                value = fn(*args, **kwargs)
                c.put(key, value)
            return value

        wrapper.cache_key = key_of  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
