"""What keeps a sweep's memory flat: the byte-bounded indicator memo, the run order that keeps shared
indicators inside it, and workers letting go of released shared-memory bars. Results never change."""

import numpy as np
import pytest

from engine.data.demo import generate_bars
from engine.kernels.indicators import sma_nb
from engine.strategies import get_strategy
from engine.strategies.memo import IndicatorMemo, indicator_memo, memo
from engine.sweep import expand_grid, parse_values, run_sweep
from engine.sweep.executors import LocalExecutor
from engine.sweep.order import band_width, execution_order
from engine.sweep.shared_bars import attach, attached_names, publish, release

GRID = {"n1": parse_values("2:40:2"), "n2": parse_values("10:120:10")}


@pytest.fixture(scope="module")
def bars():
    return generate_bars("MEMO", 2_000, "1d", seed=11)


def test_memo_stays_within_its_byte_bound_and_returns_what_the_kernel_does(bars):
    one = bars.close.nbytes
    table = IndicatorMemo(max_bytes=3 * one)
    for window in [5, 6, 7, 5, 8, 9, 10, 11, 5, 12]:
        got = table.get(sma_nb, (bars.close, window))
        np.testing.assert_array_equal(got, sma_nb(bars.close, window))
        assert table.nbytes <= 3 * one and len(table) <= 3
    assert table.peak_bytes == 3 * one
    assert table.hits == 1 and table.computed == 9  # 5: a hit while cached, computed again once evicted


def test_memo_makes_room_before_the_kernel_allocates(bars):
    """At its bound, the memo lets go of the least recent entry before computing the next, so the memo and
    the new array are never held at once; what it keeps is what evicting afterwards would keep."""
    one = bars.close.nbytes
    table = IndicatorMemo(max_bytes=3 * one)
    held_during = []

    def sma_seen(x, n):
        held_during.append(table.nbytes)
        return sma_nb(x, n)

    for window in [5, 6, 7, 8, 9, 5]:
        table.get(sma_seen, (bars.close, window))
    assert held_during == [0, one, 2 * one, 2 * one, 2 * one, 2 * one]
    assert len(table) == 3 and table.computed == 6  # 5 was dropped (least recent) and computed again


def test_memo_keeps_the_newest_entry_even_above_its_bound(bars):
    table = IndicatorMemo(max_bytes=10)
    a = table.get(sma_nb, (bars.close, 5))
    assert table.get(sma_nb, (bars.close, 5)) is a and len(table) == 1
    table.get(sma_nb, (bars.close, 6))
    assert len(table) == 1 and table.computed == 2


def test_memo_context_is_bounded_and_emptied_after(bars):
    with indicator_memo(2 * bars.close.nbytes) as table:
        for w in range(3, 12):
            memo(sma_nb, bars.close, w)
        assert len(table) == 2
    assert len(table) == 0 and table.nbytes == 0


def test_execution_order_is_a_permutation_in_bands_of_the_second_parameter():
    combos = expand_grid(get_strategy("sma_cross"), GRID, "n1 < n2")
    order = execution_order(combos, tile=3)
    assert sorted(order) == list(range(len(combos)))
    n2_values = sorted({c["n2"] for c in combos})
    bands = [n2_values.index(combos[i]["n2"]) // 3 for i in order]
    assert bands == sorted(bands)
    runs = []  # (band, n1) groups in run order, each with its n2 values
    for i in order:
        key = (n2_values.index(combos[i]["n2"]) // 3, combos[i]["n1"])
        if not runs or runs[-1][0] != key:
            runs.append((key, []))
        runs[-1][1].append(combos[i]["n2"])
    for k, (_, n2s) in enumerate(runs):  # boustrophedon: every other group runs n2 backwards
        assert n2s == sorted(n2s, reverse=k % 2 == 1)
    assert execution_order(combos, tile=0) == list(range(len(combos)))  # grid order: n1 major
    assert execution_order([], 3) == []
    assert band_width(96 * 2**20, 1_000_000) == 10 and band_width(1, 10) == 1


def test_a_band_computes_each_indicator_once_in_a_memo_that_holds_the_band(bars):
    strategy = get_strategy("sma_cross")
    combos = expand_grid(strategy, GRID, "n1 < n2")
    bound = 5 * bars.close.nbytes
    ordered = [combos[i] for i in execution_order(combos, band_width(bound, len(bars)))]
    with indicator_memo(bound) as table:
        for c in ordered:
            strategy.signals(bars, **c)
    tile = band_width(bound, len(bars))
    n2_values = sorted({c["n2"] for c in combos})
    n1_per_band = {(c["n1"], n2_values.index(c["n2"]) // tile) for c in combos}
    # each n2 window once; each n1 window once per band it appears in (n1 and n2 windows may coincide)
    assert table.computed <= len(n1_per_band) + len(n2_values)
    assert table.computed < len({c["n1"] for c in combos}) + len(combos)  # what grid order would cost
    assert table.peak_bytes <= bound


@pytest.mark.parametrize("memo_mb", [0, 0.05, None])
def test_sweep_table_is_the_same_whatever_the_memo_bound(bars, memo_mb):
    reference = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", memo_bytes=1 << 40).rows
    bound = None if memo_mb is None else int(memo_mb * 2**20)
    for chunk in (3, 64):
        rows = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", memo_bytes=bound, chunk_size=chunk).rows
        assert rows.equals(reference)
    assert rows.select("n1", "n2").rows() == [(c["n1"], c["n2"]) for c in
                                              expand_grid(get_strategy("sma_cross"), GRID, "n1 < n2")]


def test_pool_sweep_with_a_small_memo_equals_serial(bars):
    serial = run_sweep(bars, "sma_cross", GRID, where="n1 < n2").rows
    with LocalExecutor(2) as pool:
        rows = run_sweep(bars, "sma_cross", GRID, where="n1 < n2", executor=pool, chunk_size=7,
                         memo_bytes=4 * bars.close.nbytes).rows
    assert rows.equals(serial)


def test_attach_closes_blocks_the_parent_released(bars):
    shm_a, ref_a = publish(bars)
    shm_b, ref_b = publish(bars)
    try:
        attach(ref_a)
        attach(ref_b)
        assert {ref_a.shm_name, ref_b.shm_name} <= set(attached_names())
        release(shm_a)
        np.testing.assert_array_equal(attach(ref_b).close, bars.close)
        assert ref_a.shm_name not in attached_names() and ref_b.shm_name in attached_names()
    finally:
        release(shm_b)
        attach_c_shm, ref_c = publish(bars)
        attach(ref_c)  # drops b
        assert attached_names() == [ref_c.shm_name]
        from engine.sweep.shared_bars import detach_all

        detach_all()
        release(attach_c_shm)


def test_chunks_taper_so_workers_finish_together():
    from engine.sweep.run import _chunk_lengths

    for n, size, workers in [(300, 19, 2), (1000, 63, 2), (5, 64, 2), (300, 19, 8), (48, 1, 2), (0, 3, 2)]:
        lengths = _chunk_lengths(n, size, workers)
        assert sum(lengths) == n and all(1 <= x <= size for x in lengths)
        assert lengths == sorted(lengths, reverse=True)
        if n >= 4 * size * workers:
            assert lengths[-1] <= max(1, size // 4) + 1  # the last chunk is short
    assert _chunk_lengths(300, 19, 1) == [19] * 15 + [15]


def test_worker_memo_is_kept_across_chunks_and_let_go_when_idle(bars):
    from engine.config import SimConfig
    from engine.sweep.task import ChunkTask, run_chunk
    from engine.sweep.worker_memo import WorkerMemo

    combos = list(enumerate(expand_grid(get_strategy("sma_cross"), GRID, "n1 < n2")))
    cfg = SimConfig().to_dict()
    shm, ref = publish(bars)
    worker = WorkerMemo(idle_s=0.5)
    try:
        halves = [tuple(combos[:40]), tuple(combos[40:])]
        got = [worker.run(ChunkTask(k, ref, "sma_cross", None, cfg, half)) for k, half in enumerate(halves)]
        windows = {c["n1"] for _, c in combos} | {c["n2"] for _, c in combos}
        assert worker.table.computed == len(windows)  # the second chunk recomputed nothing
        for k, half in enumerate(halves):
            assert got[k].rows == run_chunk(ChunkTask(k, bars, "sma_cross", None, cfg, half)).rows
        assert not worker.tidy_if_idle(now=worker.last + 0.1)  # not idle long enough
        release(shm)
        assert worker.tidy_if_idle(now=worker.last + 1.0)
        assert worker.table is None and ref.shm_name not in attached_names()
        assert not worker.tidy_if_idle(now=worker.last + 2.0)  # nothing left to let go
    finally:
        release(shm)


def test_share_moves_the_bars_into_one_block_that_goes_with_them():
    import gc
    import weakref

    from engine.sweep.shared_bars import _exists, share

    b = generate_bars("SHARE", 3_000, "1d", seed=12)
    fields = ("ts", "open", "high", "low", "close", "volume")
    before = {f: np.array(getattr(b, f)) for f in fields}
    private = [weakref.ref(getattr(b, f)) for f in fields]
    fingerprint = b.fingerprint()
    ref = share(b)
    gc.collect()
    assert all(w() is None for w in private)  # the private copy is gone
    for f in fields:
        arr = getattr(b, f)
        np.testing.assert_array_equal(arr, before[f])
        assert not arr.flags.writeable
        np.testing.assert_array_equal(getattr(attach(ref), f), before[f])  # what a worker sees
    assert b.fingerprint() == ref.fingerprint == fingerprint
    assert share(b) is ref  # the next sweep copies nothing
    close = b.close
    name = ref.shm_name
    del b
    gc.collect()
    from engine.sweep.shared_bars import detach_all

    detach_all()
    assert not _exists(name)  # unlinked with its bars...
    np.testing.assert_array_equal(close, before["close"])  # ...while an array that outlived them stays readable


def test_two_pool_sweeps_of_the_same_bars_use_one_block_and_equal_serial():
    import os

    from engine.sweep.shared_bars import share

    b = generate_bars("TWICE", 2_000, "1d", seed=13)
    serial = run_sweep(b, "sma_cross", GRID, where="n1 < n2").rows
    blocks = (lambda: {e for e in os.listdir("/dev/shm") if e.startswith("psm_")}) if os.path.isdir("/dev/shm") \
        else (lambda: set())
    with LocalExecutor(2) as pool:
        first = run_sweep(b, "sma_cross", GRID, where="n1 < n2", executor=pool, chunk_size=9).rows
        after_first = blocks()
        ref = share(b)
        second = run_sweep(b, "sma_cross", GRID, where="n1 < n2", executor=pool, chunk_size=9).rows
        assert share(b) is ref and blocks() == after_first
    assert first.equals(serial) and second.equals(serial)


def test_a_worker_starts_a_new_memo_for_each_sweep(bars):
    from engine.config import SimConfig
    from engine.sweep.task import ChunkTask
    from engine.sweep.worker_memo import WorkerMemo

    combos = tuple(enumerate(expand_grid(get_strategy("sma_cross"), GRID, "n1 < n2")))[:5]
    cfg = SimConfig().to_dict()
    shm, ref = publish(bars)
    worker = WorkerMemo()
    try:
        worker.run(ChunkTask(0, ref, "sma_cross", None, cfg, combos, sweep_id="a"))
        first = worker.table
        worker.run(ChunkTask(1, ref, "sma_cross", None, cfg, combos, sweep_id="a"))
        assert worker.table is first and first.hits > 0
        worker.run(ChunkTask(2, ref, "sma_cross", None, cfg, combos, sweep_id="b"))
        assert worker.table is not first  # a block outlives its sweep; an edited indicator must not
    finally:
        release(shm)


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _free_24_mb() -> tuple[float, float, float]:
    """RSS before a 24 MB array, after it is freed, and after the heap is trimmed (MB)."""
    from engine.runtime.heap import release_free_heap

    before = _rss_mb()
    block = np.ones(3 * 2**20)
    del block
    freed = _rss_mb()
    release_free_heap()
    return before, freed, _rss_mb()


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc's mallopt")
def test_a_pool_worker_holds_freed_blocks_until_it_trims():
    """Workers reuse a combo's freed arrays instead of faulting in fresh pages (engine/runtime/heap.py); a
    fresh process that does not hold hands the same block straight back."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as plain:
        before, freed, trimmed = plain.submit(_free_24_mb).result()
    assert freed - before < 4
    with LocalExecutor(1) as ex:
        before, freed, trimmed = ex.run_in_worker(_free_24_mb)
    assert freed - before > 20  # held for the next allocation
    assert trimmed - before < 4  # and handed back by the trim the janitor does when idle
