"""Write-behind for the disk cache: files are written on a background thread.

Creating a file costs ~0.1-0.5 ms on ordinary disks, which a sweep storing thousands of stats rows
should not pay on its main thread. Values are encoded by the caller (so a value the cache cannot
store raises there); compression and the file write happen on the writer thread. The queue is
bounded (a caller blocks when it is full); the thread exits when idle and restarts on demand;
pending writes are flushed at interpreter exit. A write lost to a crash is only a later cache miss.
"""

from __future__ import annotations

import atexit
import queue
import threading
import traceback
import weakref

from engine.cache.l2 import DiskCache

_IDLE_EXIT_SECONDS = 2.0
_live: weakref.WeakSet[WriteBehind] = weakref.WeakSet()


class WriteBehind:
    def __init__(self, disk: DiskCache, max_pending: int = 10_000) -> None:
        self.disk = disk
        self.errors = 0
        self._q: queue.Queue[tuple[str, bytes]] = queue.Queue(max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        _live.add(self)

    def submit(self, key: str, raw: bytes) -> None:
        """Queue msgpack bytes `raw` for `key` (blocks while `max_pending` writes are queued)."""
        self._q.put((key, raw))
        with self._lock:  # after the put: a thread deciding to exit sees the item, or we restart it
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="backbench-cache-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        q = self._q
        while True:
            try:
                key, raw = q.get(timeout=_IDLE_EXIT_SECONDS)
            except queue.Empty:
                with self._lock:
                    if q.empty():
                        self._thread = None
                        return
                continue
            try:
                self.disk.put_encoded(key, raw)
            except Exception:  # a bug: report it, keep the thread serving (flush must not hang)
                self.errors += 1
                traceback.print_exc()
            finally:
                q.task_done()

    def pending(self) -> int:
        return self._q.unfinished_tasks

    def flush(self) -> None:
        """Wait until every queued write is on disk."""
        self._q.join()


@atexit.register
def _flush_all() -> None:
    for writer in list(_live):
        writer.flush()
