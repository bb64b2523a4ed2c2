"""L2: the on-disk cache. One file per key, msgpack + zstandard, checksummed, bounded by bytes.

File layout (little-endian):
    magic      8 bytes  b"BBCACHE\\0"
    version    u16      FORMAT_VERSION
    key_len    u16
    checksum   16 bytes blake2b-128 of the compressed payload
    payload_len u64
    key        key_len bytes (utf-8): the full key, compared on read
    payload    a zstd frame (with its content size) of the msgpack value (engine.cache.codec)

Files live at <root>/<h[:2]>/<h>.bbc with h = blake2b(key); each is written to <root>/tmp/<pid>-<rand>.tmp
and `os.replace`d into place, so a reader sees a whole file or none. A file that is truncated,
fails its checksum, is foreign (bad magic, other key), of another format version, or declares more
content than `max_entry_bytes` is counted, deleted and reported as a miss, never trusted; a declared
size is checked from the frame header before anything is decompressed.

The directory is bounded by `max_bytes` of disk space: files are counted by the blocks they occupy
(`st_blocks`, so a 300-byte sweep row costs the 4 KiB block it really takes, not 300 bytes). A hit
touches the file's mtime, and when a write takes the total over the bound the least recently used
files are deleted down to 90 %. Each process counts its own writes and rescans the directory after
writing a tenth of the bound, so processes sharing the directory overshoot it by at most that much each.
Any failure to decode an entry (not only the ones foreseen above) deletes it and reads as a miss, and so
does a directory standing where a file should be.
Temp files left by dead processes (or older than an hour) are removed when the cache is opened.
No fsync: a crash may lose recent entries, and a torn file is caught by its checksum.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import struct
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import zstandard

from engine.cache.codec import CacheFormatError, decode, encode
from engine.cache.l1 import MISSING
from engine.runtime.profiling import Registry

MAGIC = b"BBCACHE\x00"
FORMAT_VERSION = 1
SUFFIX = ".bbc"
TMP_DIR = "tmp"
_HEAD = struct.Struct("<8sHH16sQ")
_ORPHAN_AGE = 3600.0
_LOW_WATER = 0.9
_COUNTS = ("hits", "misses", "writes", "evictions", "corrupt", "foreign", "old_version", "oversized",
           "rejected", "write_errors", "orphans_removed")


class DiskCache:
    """A directory of cache files; safe to share between threads and processes."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = 2 << 30,
                 max_entry_bytes: int = 256 << 20, level: int = 1, registry: Registry | None = None) -> None:
        self.root = Path(directory)
        self.max_bytes = int(max_bytes)
        self.max_entry_bytes = int(max_entry_bytes)
        self.level = level
        self.counts = dict.fromkeys(_COUNTS, 0)
        self._bytes: int | None = None  # total file bytes, known after the first scan
        self._since_scan = 0  # bytes this process wrote since (other processes write too)
        self._root_str = str(self.root)
        self._tmp_str = str(self.root / TMP_DIR)
        self._subdirs: set[str] = set()
        self._lock = threading.Lock()
        self._read_timer = registry.timer("cache.l2.read") if registry else None
        self._write_timer = registry.timer("cache.l2.write") if registry else None
        (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)
        self._block_size = _block_size(self.root)
        self.remove_orphans()

    def path_for(self, key: str) -> Path:
        h = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        return self.root / h[:2] / f"{h}{SUFFIX}"

    # Reading
    def get(self, key: str, default: Any = MISSING) -> Any:
        path = self.path_for(key)
        t0 = time.perf_counter()
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                data = f.read() if size <= self._max_file_bytes(key) else None
        except FileNotFoundError:
            self._count("misses")
            return default
        except IsADirectoryError:  # not ours to trust: remove it so the value can be stored again
            self._count("corrupt")
            self._count("misses")
            shutil.rmtree(path, ignore_errors=True)
            return default
        try:
            if data is None:
                raise CacheFormatError(f"{size} byte file is over the entry cap", "oversized")
            value = self._decode(key, data)
        except Exception as exc:  # noqa: BLE001 - any failure to decode an entry means: delete, recompute
            self._count(getattr(exc, "reason", "corrupt"))
            self._count("misses")
            self._unlink(path)
            return default
        try:
            os.utime(path)  # mark as recently used for LRU eviction
        except FileNotFoundError:
            pass
        self._count("hits")
        if self._read_timer is not None:
            self._read_timer.record(time.perf_counter() - t0)
        return value

    def _max_file_bytes(self, key: str) -> int:
        return _HEAD.size + len(key.encode()) + self.max_entry_bytes + (self.max_entry_bytes >> 7) + 4096

    def _decode(self, key: str, data: bytes) -> Any:
        if len(data) < _HEAD.size:
            raise CacheFormatError(f"truncated header ({len(data)} bytes)")
        magic, version, key_len, checksum, payload_len = _HEAD.unpack_from(data)
        if magic != MAGIC:
            raise CacheFormatError("not a Backbench cache file", "foreign")
        if version != FORMAT_VERSION:
            raise CacheFormatError(f"format version {version}, this is {FORMAT_VERSION}", "old_version")
        start = _HEAD.size + key_len
        if len(data) != start + payload_len:
            raise CacheFormatError(f"{len(data)} bytes, header says {start + payload_len}")
        if data[_HEAD.size:start] != key.encode():
            raise CacheFormatError("file holds another key", "foreign")
        payload = data[start:]
        if hashlib.blake2b(payload, digest_size=16).digest() != checksum:
            raise CacheFormatError("checksum mismatch")
        declared = zstandard.frame_content_size(payload)
        if declared < 0:
            raise CacheFormatError("zstd frame without a content size")
        if declared > self.max_entry_bytes:
            raise CacheFormatError(f"frame declares {declared} bytes (cap {self.max_entry_bytes})", "oversized")
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=self.max_entry_bytes)
        return decode(raw)

    # Writing
    def put(self, key: str, value: Any) -> bool:
        """Store `value` (TypeError if it cannot be encoded); False if too large or the write failed."""
        return self.put_encoded(key, encode(value))

    def put_encoded(self, key: str, raw: bytes) -> bool:
        """Store the msgpack bytes `raw` (from engine.cache.codec.encode) under `key`."""
        t0 = time.perf_counter()
        if len(raw) > self.max_entry_bytes:
            self._count("rejected")
            return False
        payload = zstandard.ZstdCompressor(level=self.level, write_content_size=True).compress(raw)
        key_bytes = key.encode()
        checksum = hashlib.blake2b(payload, digest_size=16).digest()
        header = _HEAD.pack(MAGIC, FORMAT_VERSION, len(key_bytes), checksum, len(payload)) + key_bytes
        h = hashlib.blake2b(key_bytes, digest_size=16).hexdigest()
        subdir = os.path.join(self._root_str, h[:2])
        path = os.path.join(subdir, h + SUFFIX)
        tmp = os.path.join(self._tmp_str, f"{os.getpid()}-{secrets.token_hex(8)}.tmp")
        for attempt in (1, 2):
            try:
                with open(tmp, "wb") as f:
                    f.write(header)
                    f.write(payload)
                if subdir not in self._subdirs:
                    os.makedirs(subdir, exist_ok=True)
                    self._subdirs.add(subdir)
                os.replace(tmp, path)  # an overwritten file's bytes stay counted until the next scan
                break
            except FileNotFoundError:  # the directory was deleted under us: recreate it once
                self._subdirs.clear()
                os.makedirs(self._tmp_str, exist_ok=True)
                if attempt == 2:
                    self._count("write_errors")
                    self._unlink(Path(tmp))
                    return False
            except OSError:  # disk full, permissions: the cache is best-effort, the value was computed
                self._count("write_errors")
                self._unlink(Path(tmp))
                return False
        self._count("writes")
        self._added(self._disk_bytes(len(header) + len(payload)))
        if self._write_timer is not None:
            self._write_timer.record(time.perf_counter() - t0)
        return True

    def _disk_bytes(self, size: int) -> int:
        """Disk space a new file of `size` bytes takes: whole blocks of the cache's file system."""
        block = self._block_size
        return -(-size // block) * block if size else 0

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        try:
            size = _disk_usage(path.stat())
        except FileNotFoundError:
            return
        if self._unlink(path):
            self._added(-size)

    # Size bound
    def _added(self, delta: int) -> None:
        with self._lock:
            self._since_scan += max(delta, 0)
            if self._bytes is None or self._since_scan > self.max_bytes // 10:
                self._bytes = sum(size for _, size, _ in self._scan())  # see other processes' writes
                self._since_scan = 0
            else:
                self._bytes += delta
            if self._bytes > self.max_bytes:
                self._evict()

    def _evict(self) -> None:
        """Delete the least recently used files until the directory is under 90 % of its bound."""
        entries = sorted(self._scan())
        total = sum(size for _, size, _ in entries)
        target = int(self.max_bytes * _LOW_WATER) if total > self.max_bytes else total
        for _, size, path in entries:
            if total <= target:
                break
            if self._unlink(path):
                self.counts["evictions"] += 1
            total -= size
        self._bytes = total
        self._since_scan = 0

    def _scan(self) -> list[tuple[int, int, Path]]:
        """(mtime_ns, size, path) of every cache file (other processes may add or delete meanwhile)."""
        found: list[tuple[int, int, Path]] = []
        try:
            subdirs = [e for e in os.scandir(self.root) if len(e.name) == 2 and e.is_dir()]
        except FileNotFoundError:
            return found
        for sub in subdirs:
            try:
                for e in os.scandir(sub.path):
                    if e.name.endswith(SUFFIX):
                        try:
                            st = e.stat()
                        except FileNotFoundError:
                            continue
                        found.append((st.st_mtime_ns, _disk_usage(st), Path(e.path)))
            except FileNotFoundError:
                continue
        return found

    def usage(self) -> dict[str, int]:
        """{"entries", "bytes"} from a scan of the directory (exact disk usage, costs a stat per file)."""
        entries = self._scan()
        total = sum(size for _, size, _ in entries)
        with self._lock:
            self._bytes = total
        return {"entries": len(entries), "bytes": total}

    def clear(self) -> dict[str, int]:
        """Delete every entry; returns {"entries", "bytes"} removed."""
        with self._lock:
            removed = n = 0
            for _, size, path in self._scan():
                if self._unlink(path):
                    n += 1
                    removed += size
            self._bytes = 0
        self.remove_orphans()
        return {"entries": n, "bytes": removed}

    def remove_orphans(self) -> int:
        """Delete temp files of dead processes, and any older than an hour."""
        removed = 0
        now = time.time()
        try:
            entries = list(os.scandir(self.root / TMP_DIR))
        except FileNotFoundError:
            return 0
        for e in entries:
            pid_text = e.name.partition("-")[0]
            pid = int(pid_text) if pid_text.isdigit() else -1
            try:
                age = now - e.stat().st_mtime
            except FileNotFoundError:
                continue
            alive = pid == os.getpid() or (pid > 0 and psutil.pid_exists(pid))
            if (not alive or age > _ORPHAN_AGE) and self._unlink(Path(e.path)):
                removed += 1
        self._count("orphans_removed", removed)
        return removed

    def stats(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(self.counts)
            out.update(bytes=self._bytes, max_bytes=self.max_bytes, directory=str(self.root))
        return out

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    @staticmethod
    def _unlink(path: Path) -> bool:
        try:
            os.unlink(path)
            return True
        except FileNotFoundError:
            return False


def _disk_usage(st: os.stat_result) -> int:
    """Bytes of disk a file occupies: its allocated blocks where the OS reports them (POSIX), else its
    size rounded up to 4 KiB."""
    blocks = getattr(st, "st_blocks", None)
    if blocks is not None:
        return int(blocks) * 512
    return -(-st.st_size // 4096) * 4096


def _block_size(directory: Path) -> int:
    """The allocation unit of the file system holding `directory` (4 KiB where it cannot be read)."""
    try:
        return max(512, int(os.statvfs(directory).f_frsize))
    except (AttributeError, OSError):
        return 4096
