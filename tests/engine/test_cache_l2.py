"""L2: round trips, and bad files (corrupt, truncated, foreign, old, oversized) counted, deleted, recomputed."""

import os
import struct

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cache import MISSING, DiskCache, ResultCache
from engine.cache import l2 as l2mod
from engine.cache.codec import CacheFormatError
from engine.kernels.simulate_records import TRADE_DTYPE

VALUE = {"equity": np.linspace(1.0, 2.0, 500), "stats": {"sharpe_ratio": 1.25, "n_trades": 7, "start": "x"},
         "nested": [1, None, "s", 2.5, [True]]}


def trades(n: int = 4) -> np.ndarray:
    t = np.zeros(n, dtype=TRADE_DTYPE)
    t["entry_bar"] = np.arange(n)
    t["pnl"] = np.linspace(-1, 1, n)
    t["is_open"][n - 1:] = True
    return t


@pytest.fixture
def disk(tmp_path):
    return DiskCache(tmp_path / "c", max_bytes=1 << 24)


def test_round_trip_arrays_structured_and_plain(disk):
    value = {**VALUE, "trades": trades(), "i32": np.arange(6, dtype=np.int32).reshape(2, 3), "empty": trades(0)}
    assert disk.put("k", value)
    got = disk.get("k")
    assert got["trades"].dtype == TRADE_DTYPE and np.array_equal(got["trades"], value["trades"])
    assert got["i32"].dtype == np.int32 and got["i32"].shape == (2, 3) and np.array_equal(got["i32"], value["i32"])
    assert got["empty"].shape == (0,) and got["empty"].dtype == TRADE_DTYPE
    assert np.array_equal(got["equity"], VALUE["equity"]) and not got["equity"].flags.writeable
    assert got["stats"] == VALUE["stats"] and got["nested"] == VALUE["nested"]
    assert disk.counts["hits"] == 1 and disk.get("other") is MISSING and disk.counts["misses"] == 1


def test_no_pickle_unstorable_values_raise(disk):
    with pytest.raises(TypeError):
        disk.put("k", {"x": object()})
    with pytest.raises(TypeError):
        disk.put("k", np.array([object()], dtype=object))


def _rewrite(path, fn):
    data = path.read_bytes()
    path.write_bytes(fn(data))


def _header(data):
    return struct.unpack_from("<8sHH16sQ", data)


def _with_valid_checksum(data: bytes, payload: bytes, version: int = l2mod.FORMAT_VERSION) -> bytes:
    """Header fields recomputed around a new payload, so only the payload's own content is wrong."""
    import hashlib

    magic, _, key_len, _, _ = _header(data)
    key = data[l2mod._HEAD.size:l2mod._HEAD.size + key_len]
    checksum = hashlib.blake2b(payload, digest_size=16).digest()
    return l2mod._HEAD.pack(magic, version, key_len, checksum, len(payload)) + key + payload


def _frame_declaring(size: int) -> bytes:
    """A zstd frame header declaring `size` content bytes (8-byte FCS, single segment) + one raw block."""
    block = b"abc"
    return (struct.pack("<I", 0xFD2FB528) + bytes([0xE0]) + struct.pack("<Q", size)
            + (1 | (len(block) << 3)).to_bytes(3, "little") + block)


BAD_FILES = {
    "corrupt": ("corrupt", lambda d: d[:-20] + bytes(b ^ 0xFF for b in d[-20:])),
    "truncated": ("corrupt", lambda d: d[: len(d) // 2]),
    "truncated_header": ("corrupt", lambda d: d[:10]),
    "empty": ("corrupt", lambda d: b""),
    "random_bytes": ("foreign", lambda d: np.random.default_rng(0).bytes(len(d))),
    "wrong_magic": ("foreign", lambda d: b"NOTOURS!" + d[8:]),
    "old_version": ("old_version", lambda d: _with_valid_checksum(d, d[l2mod._HEAD.size + _header(d)[2]:],
                                                                 version=l2mod.FORMAT_VERSION - 1)),
    "oversized_frame": ("oversized", lambda d: _with_valid_checksum(d, _frame_declaring(1 << 40))),
    "bad_msgpack": ("corrupt", lambda d: _with_valid_checksum(
        d, zstandard.ZstdCompressor(write_content_size=True).compress(b"\xc1\xc1garbage"))),
    "no_content_size": ("corrupt", lambda d: _with_valid_checksum(
        d, zstandard.ZstdCompressor(write_content_size=False).compress(b"\x01"))),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_counted_deleted_and_recomputed(tmp_path, case):
    reason, damage = BAD_FILES[case]
    cache = ResultCache(tmp_path / "c", l1_bytes=1 << 20)
    cache.put("k", VALUE)
    path = cache.l2.path_for("k")
    _rewrite(path, damage)
    fresh = ResultCache(tmp_path / "c", l1_bytes=1 << 20)  # a new process: L1 empty
    assert fresh.get("k") is None
    assert fresh.l2.counts[reason] == 1 and fresh.l2.counts["misses"] == 1
    assert not path.exists()
    fresh.put("k", VALUE)  # recomputed and stored again: the next process hits
    again = ResultCache(tmp_path / "c", l1_bytes=1 << 20)
    assert again.get("k")["stats"] == VALUE["stats"] and again.l2.counts["hits"] == 1


def test_file_of_another_key_is_foreign(disk):
    disk.put("a", 1)
    disk.put("b", 2)
    os.replace(disk.path_for("a"), disk.path_for("b"))
    assert disk.get("b") is MISSING and disk.counts["foreign"] == 1


def test_oversized_file_is_refused_before_reading(tmp_path):
    small = DiskCache(tmp_path / "c", max_entry_bytes=1000)
    big = DiskCache(tmp_path / "c", max_entry_bytes=10 << 20)
    big.put("k", np.random.default_rng(1).random(10_000))  # 80 kB, incompressible
    assert small.get("k") is MISSING and small.counts["oversized"] == 1
    assert not small.path_for("k").exists()
    assert not small.put("k", np.zeros(1000)) and small.counts["rejected"] == 1


def test_any_decode_failure_deletes_the_entry(disk, monkeypatch):
    """On 48df530 only the foreseen decode errors were caught; any other raised out of `get` and the bad
    entry stayed on disk, failing every later read."""
    disk.put("k", 1)

    def broken(data):
        raise RuntimeError("a decoder failure nobody foresaw")

    monkeypatch.setattr(l2mod, "decode", broken)
    assert disk.get("k") is MISSING
    assert not disk.path_for("k").exists() and disk.counts["corrupt"] == 1


def test_directory_bounded_by_bytes_with_lru_eviction(tmp_path):
    rng = np.random.default_rng(2)
    disk = DiskCache(tmp_path / "c", max_bytes=50_000)
    for i in range(4):  # ~8 kB each, incompressible
        disk.put(f"k{i}", rng.random(1000))
        t = 1_000_000_000 * (1000 + i)
        os.utime(disk.path_for(f"k{i}"), ns=(t, t))
    assert disk.get("k0") is not MISSING  # touched: now the most recently used
    for i in range(4, 7):  # the 7th file takes the directory over 50 kB
        disk.put(f"k{i}", rng.random(1000))
        assert disk.usage()["bytes"] <= 50_000
    assert disk.counts["evictions"] > 0
    assert disk.path_for("k0").exists() and not disk.path_for("k1").exists()
    assert all(disk.path_for(f"k{i}").exists() for i in range(4, 7))
    for i in range(7, 30):
        disk.put(f"k{i}", rng.random(1000))
        assert disk.usage()["bytes"] <= 50_000


def test_orphaned_temp_files_are_removed_at_start(tmp_path):
    DiskCache(tmp_path / "c")
    tmp = tmp_path / "c" / l2mod.TMP_DIR
    dead = tmp / "999999999-abc.tmp"
    mine_new = tmp / f"{os.getpid()}-def.tmp"
    mine_old = tmp / f"{os.getpid()}-old.tmp"
    garbage = tmp / "garbage.tmp"
    for p in (dead, mine_new, mine_old, garbage):
        p.write_bytes(b"partial")
    os.utime(mine_old, (0, 0))
    disk = DiskCache(tmp_path / "c")
    assert disk.counts["orphans_removed"] == 3
    assert mine_new.exists() and not dead.exists() and not mine_old.exists() and not garbage.exists()


def test_clear_and_usage(disk):
    for i in range(5):
        disk.put(f"k{i}", [i] * 10)
    assert disk.usage()["entries"] == 5
    removed = disk.clear()
    assert removed["entries"] == 5 and removed["bytes"] > 0
    assert disk.usage() == {"entries": 0, "bytes": 0}


def test_codec_errors_are_format_errors():
    from engine.cache.codec import decode, encode

    with pytest.raises(CacheFormatError):
        decode(encode([1, 2])[:-1])
    with pytest.raises(CacheFormatError):
        decode(b"\xc7\x03\x05abc")  # unknown ext type


def _values():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    arrays = hnp.arrays(st.sampled_from([np.float64, np.int32, np.bool_, np.uint8, "<M8[ns]", "<c16"]),
                        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
              | st.text(max_size=20) | st.binary(max_size=20) | arrays)
    return st.recursive(leaves, lambda kids: st.lists(kids, max_size=4)
                        | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def test_codec_round_trips_any_supported_value():
    from hypothesis import given, settings

    from engine.cache.codec import decode, encode

    @settings(max_examples=150, deadline=None)
    @given(_values())
    def check(value):
        assert _same(decode(encode(value)), value)

    check()


def _disk_usage_of(root) -> int:
    return sum(os.stat(os.path.join(d, f)).st_blocks * 512 for d, _, files in os.walk(root) for f in files
               if f.endswith(l2mod.SUFFIX))


def test_bound_counts_disk_blocks_not_file_sizes(tmp_path):
    """On 48df530 the bound summed file sizes: 400 ~100-byte sweep rows under a 64 KiB bound took
    ~1.6 MB of disk (one 4 KiB block each), 25x the bound."""
    disk = DiskCache(tmp_path / "c", max_bytes=64 << 10)
    for i in range(400):
        disk.put(f"row{i}", {"sharpe_ratio": float(i), "n_trades": i})
        assert _disk_usage_of(tmp_path / "c") <= 64 << 10
    assert disk.usage()["bytes"] == _disk_usage_of(tmp_path / "c")
    assert disk.counts["evictions"] > 0 and disk.get("row399") == {"sharpe_ratio": 399.0, "n_trades": 399}


def test_directory_where_an_entry_should_be_is_removed_and_recomputed(disk):
    path = disk.path_for("k")
    (path / "inner").mkdir(parents=True)
    assert disk.get("k") is MISSING and not path.exists()
    assert disk.put("k", 5) and disk.get("k") == 5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=400), keep_header=st.booleans(), compress=st.booleans())
def test_garbage_entries_never_raise_and_are_deleted(tmp_path, payload, keep_header, compress):
    disk = DiskCache(tmp_path / "fuzz", max_bytes=1 << 24)
    disk.put("k", VALUE)
    path = disk.path_for("k")
    good = path.read_bytes()
    if compress:  # a well-formed file around any msgpack-ish bytes: exercises the decoder itself
        payload = zstandard.ZstdCompressor(write_content_size=True).compress(payload)
    path.write_bytes(_with_valid_checksum(good, payload) if keep_header else payload)
    value = disk.get("k")
    if value is MISSING:
        assert not path.exists()
    else:  # garbage that happens to be valid msgpack decodes to plain data, never to an object
        assert isinstance(value, (dict, list, str, bytes, int, float, bool, np.ndarray, type(None)))
    path.unlink(missing_ok=True)
