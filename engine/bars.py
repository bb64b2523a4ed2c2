"""`Bars`: one symbol's OHLCV series as contiguous numpy arrays.

Timestamps are int64 nanoseconds since the Unix epoch, UTC. Prices and volume are float64.
Everything the engine computes takes `Bars` (or its plain arrays) as input.

Every array a `Bars` holds is a read-only view: one dataset is shared by every combo of a sweep, every
worker (shared memory), the GUI's bars cache and the result cache's key, so a strategy that wrote into
`bars.close` would change what all of them see. A write raises numpy's "read-only" ValueError, which
the engine reports as `BarsWriteError` (copy first: `np.array(bars.close)`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.errors import DataError

_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class Bars:
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    symbol: str = ""
    timeframe: str = ""
    _fingerprint: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.close)
        ts = read_only(np.ascontiguousarray(self.ts, dtype=np.int64))
        object.__setattr__(self, "ts", ts)
        for name in _FIELDS:
            arr = read_only(np.ascontiguousarray(getattr(self, name), dtype=np.float64))
            object.__setattr__(self, name, arr)
            if arr.ndim != 1 or len(arr) != n:
                raise DataError(f"bars: column {name!r} has {len(arr)} values, expected {n}")
        if len(ts) != n:
            raise DataError(f"bars: ts has {len(ts)} values, expected {n}")

    def __len__(self) -> int:
        return len(self.close)

    def __reduce__(self) -> tuple:
        """Pickled (to a Dask worker) and rebuilt through the constructor, so the copy is read-only too."""
        return (Bars, (self.ts, self.open, self.high, self.low, self.close, self.volume, self.symbol,
                       self.timeframe))

    @classmethod
    def from_arrays(
        cls,
        open,
        high,
        low,
        close,
        volume=None,
        ts=None,
        symbol: str = "",
        timeframe: str = "",
    ) -> Bars:
        """Build bars from array-likes; `ts` defaults to daily bars from 2000-01-03, volume to 0."""
        n = len(close)
        if volume is None:
            volume = np.zeros(n)
        if ts is None:
            start = np.datetime64("2000-01-03", "ns").astype(np.int64)
            ts = start + np.arange(n, dtype=np.int64) * 86_400_000_000_000
        return cls(np.asarray(ts), np.asarray(open), np.asarray(high), np.asarray(low),
                   np.asarray(close), np.asarray(volume), symbol, timeframe)

    def slice(self, start: int | None = None, stop: int | None = None) -> Bars:
        """Bars[start:stop] (views, no copy)."""
        s = slice(start, stop)
        return Bars(self.ts[s], self.open[s], self.high[s], self.low[s], self.close[s],
                    self.volume[s], self.symbol, self.timeframe)

    def _move_to(self, ts: np.ndarray, columns: Sequence[np.ndarray]) -> None:
        """Make this object's arrays `ts` and `columns` (open, high, low, close, volume): the same values held
        elsewhere (a shared-memory block: engine/sweep/shared_bars.py `share`), so the private copy can be freed."""
        if ts.dtype != np.int64 or ts.shape != self.ts.shape:
            raise DataError("bars: moved timestamps do not match")
        for name, arr in zip(_FIELDS, columns, strict=True):
            if arr.dtype != np.float64 or arr.shape != self.close.shape:
                raise DataError(f"bars: moved column {name!r} does not match")
        object.__setattr__(self, "ts", read_only(ts))
        for name, arr in zip(_FIELDS, columns, strict=True):
            object.__setattr__(self, name, read_only(arr))

    def fingerprint(self) -> str:
        """Content hash (blake2b, hex) of timestamps and OHLCV; stable across processes."""
        if not self._fingerprint:
            h = hashlib.blake2b(digest_size=16)
            h.update(f"{self.symbol}|{self.timeframe}|{len(self)}".encode())
            # The arrays' own memory (contiguous, see __post_init__), not tobytes() copies: same bytes, and
            # 48 MB of copying less for a million bars
            h.update(self.ts.data.cast("B"))
            for name in _FIELDS:
                h.update(getattr(self, name).data.cast("B"))
            self._fingerprint.append(h.hexdigest())
        return self._fingerprint[0]

    def times(self) -> np.ndarray:
        """Timestamps as numpy datetime64[ns] (read-only, like every array of `Bars`)."""
        return self.ts.view("datetime64[ns]")


def read_only(arr: np.ndarray) -> np.ndarray:
    """`arr` if it is read-only, else a read-only view of it: the caller's own array stays writable, and
    nothing is copied."""
    if not arr.flags.writeable:
        return arr
    view = arr.view()
    view.flags.writeable = False
    return view


def is_read_only_error(exc: BaseException) -> bool:
    """True for numpy's error on a write into a read-only array (numba raises the same message)."""
    return isinstance(exc, (ValueError, TypeError)) and "read-only" in str(exc)
