"""A pool worker's indicator memo, kept from chunk to chunk of one dataset, and let go when idle.

Chunks are small (progress, cancel, load balance), and a memo per chunk recomputes the indicators the
chunk before it had (measured: the 300-combo grid on 100,000 bars in 16 chunks computes 276 SMAs
instead of the grid's 30, a sixth of the sweep's time). So a pool worker keeps one memo, bounded by
bytes (engine/strategies/memo.py), for the dataset and sweep it is working on; a chunk of another
dataset or sweep (or with another bound) starts a new one. Between sweeps the worker would go on
holding up to that bound, plus its mapping of bars the parent has released, so a janitor thread lets
both go and hands the freed heap back to the OS once the worker has been idle for `IDLE_S` seconds.
"""

from __future__ import annotations

import threading
import time

from engine.runtime.heap import release_free_heap
from engine.strategies.memo import IndicatorMemo
from engine.sweep.portfolio_task import forget as forget_portfolio
from engine.sweep.shared_bars import SharedBarsRef, drop_released
from engine.sweep.task import ChunkResult, ChunkTask, run_chunk

IDLE_S = 1.0


class WorkerMemo:
    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self.lock = threading.Lock()
        self.key: tuple | None = None
        self.table: IndicatorMemo | None = None
        self.last = time.monotonic()
        self.tidy = True  # nothing held since the last tidy-up

    def run(self, task: ChunkTask) -> ChunkResult:
        if not isinstance(task.dataset, SharedBarsRef):  # bars carried inline: nothing stable to key on
            return run_chunk(task)
        with self.lock:
            # Per sweep, not only per block: a block now outlives its sweep (shared_bars.share), and a user's
            # indicator edited between two sweeps keeps its name, which the memo keys on.
            key = (task.dataset.shm_name, task.memo_bytes, task.sweep_id)
            if self.table is None or key != self.key:
                self._drop()  # before attaching: the old memo holds views of the old block
                self.table = IndicatorMemo(task.memo_bytes)
                self.key = key
            try:
                return run_chunk(task, memo=self.table)
            finally:
                self.last = time.monotonic()
                self.tidy = False

    def _drop(self) -> None:
        if self.table is not None:
            self.table.clear()
        self.table = None
        self.key = None
        forget_portfolio()  # its symbols' views of the old block

    def tidy_if_idle(self, now: float | None = None) -> bool:
        """Empty the memo, unmap released bars and trim the heap if idle long enough; True if done."""
        if not self.lock.acquire(blocking=False):
            return False
        try:
            now = time.monotonic() if now is None else now
            if self.tidy or now - self.last < self.idle_s:
                return False
            self._drop()
            drop_released()
            release_free_heap()
            self.tidy = True
            return True
        finally:
            self.lock.release()

    def start_janitor(self) -> None:
        threading.Thread(target=self._janitor, name="backbench-memo-janitor", daemon=True).start()

    def _janitor(self) -> None:
        while True:
            time.sleep(self.idle_s / 2)
            self.tidy_if_idle()


WORKER = WorkerMemo()


def run_pool_chunk(task: ChunkTask) -> ChunkResult:
    """What the local pool submits: `run_chunk` with this worker's memo."""
    return WORKER.run(task)
