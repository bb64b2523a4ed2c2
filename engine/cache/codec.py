"""Values <-> bytes for the disk cache: msgpack, with numpy arrays as typed buffers. Never pickle.

Supported values: None, bool, int, float, str, bytes, lists/tuples (read back as lists), dicts with
str keys, numpy scalars (read back as Python numbers) and numpy arrays of any non-object dtype,
structured ones included (e.g. trade records with TRADE_DTYPE, padding and alignment preserved).
An array travels as msgpack ext type 1: [dtype description, shape, raw bytes]; decoded arrays are
read-only views of the decoded buffer.
"""

from __future__ import annotations

import math
from typing import Any

import msgpack
import numpy as np

EXT_NDARRAY = 1
MAX_DIMS = 32


class CacheFormatError(ValueError):
    """Bytes that are not a valid cache value; `reason`: corrupt, foreign, old_version or oversized."""

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


def encode(value: Any) -> bytes:
    """msgpack bytes of `value`; TypeError for a value the cache cannot store."""
    return msgpack.packb(value, default=_default, use_bin_type=True, strict_types=False)


def decode(data: bytes) -> Any:
    """The value `encode` gave `data`; CacheFormatError (a ValueError) if `data` is not one."""
    try:
        return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=True, use_list=True)
    except CacheFormatError:
        raise
    except (ValueError, msgpack.UnpackException) as exc:  # msgpack's decode errors
        raise CacheFormatError(f"msgpack: {exc}") from None


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return msgpack.ExtType(EXT_NDARRAY, _pack_array(obj))
    if isinstance(obj, np.generic):
        if isinstance(obj, np.void):
            raise TypeError("cache: numpy void scalars (one structured record) are not supported; store an array")
        return obj.item()
    raise TypeError(f"cache: cannot store a {type(obj).__name__} (no pickle; use numbers, str, lists, dicts, arrays)")


def _pack_array(a: np.ndarray) -> bytes:
    if a.dtype.hasobject:
        raise TypeError("cache: object arrays cannot be stored")
    if a.ndim > MAX_DIMS:
        raise TypeError(f"cache: arrays of more than {MAX_DIMS} dimensions cannot be stored")
    data = np.ascontiguousarray(a).tobytes()
    return msgpack.packb([dtype_to_obj(a.dtype), list(a.shape), data], use_bin_type=True)


def dtype_to_obj(dt: np.dtype) -> Any:
    """A msgpack-able description of `dt`: its str for plain dtypes, a record for structured ones."""
    if dt.fields is not None:
        names = list(dt.names or ())
        return {"names": names,
                "formats": [dtype_to_obj(dt.fields[n][0]) for n in names],
                "offsets": [int(dt.fields[n][1]) for n in names],
                "itemsize": int(dt.itemsize),
                "aligned": bool(dt.isalignedstruct)}
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return {"base": dtype_to_obj(base), "shape": list(shape)}
    return dt.str


def obj_to_dtype(obj: Any, depth: int = 0) -> np.dtype:
    """Inverse of `dtype_to_obj`; CacheFormatError for anything else (or an object dtype)."""
    if depth > 8:
        raise CacheFormatError("dtype nested too deeply")
    try:
        if isinstance(obj, str):
            dt = np.dtype(obj)
        elif isinstance(obj, dict) and "names" in obj:
            formats = [obj_to_dtype(f, depth + 1) for f in obj["formats"]]
            dt = np.dtype({"names": obj["names"], "formats": formats, "offsets": obj["offsets"],
                           "itemsize": obj["itemsize"]}, align=bool(obj.get("aligned", False)))
        elif isinstance(obj, dict) and "base" in obj:
            dt = np.dtype((obj_to_dtype(obj["base"], depth + 1), tuple(obj["shape"])))
        else:
            raise CacheFormatError(f"bad dtype description {obj!r:.80}")
    except (TypeError, ValueError, KeyError) as exc:  # numpy's errors for a description it rejects
        if isinstance(exc, CacheFormatError):
            raise
        raise CacheFormatError(f"bad dtype description {obj!r:.80}: {exc}") from None
    if dt.hasobject:
        raise CacheFormatError("object dtype in cache data")
    return dt


def _ext_hook(code: int, data: bytes) -> Any:
    if code != EXT_NDARRAY:
        raise CacheFormatError(f"unknown msgpack ext type {code}")
    try:
        desc, shape, buf = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    except (ValueError, TypeError, msgpack.UnpackException) as exc:  # TypeError: not 3 items
        raise CacheFormatError(f"bad array header: {exc}") from None
    dt = obj_to_dtype(desc)
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)):
        raise CacheFormatError(f"bad array shape {shape!r:.80}")
    if not isinstance(buf, bytes) or len(buf) != math.prod(shape) * dt.itemsize:
        raise CacheFormatError("array buffer size does not match its dtype and shape")
    return np.frombuffer(buf, dtype=dt).reshape(shape)
