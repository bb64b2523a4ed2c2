"""The memory figures' measuring: a process tree's pages counted once each (alone_pss), whoever else maps them."""

import subprocess
import sys

import psutil
import pytest

from benchmarks.procmem import alone_pss, pss_sum

HOLD = ("import numpy, sys; a = numpy.ones(4_000_000); sys.stdout.write('up\\n'); sys.stdout.flush(); "
        "sys.stdin.read()")  # a quiet process holding a 32 MB array of its own


def _alone_or_skip(pids):
    got = alone_pss(pids)
    if got is None:
        pytest.skip("page frames are unreadable here (needs Linux and CAP_SYS_ADMIN)")
    return got


@pytest.fixture
def holders():
    kids = [subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
    try:
        for k in kids:
            assert k.stdout.readline() == "up\n"
        yield [k.pid for k in kids]
    finally:
        for k in kids:
            k.stdin.close()
            k.wait(timeout=10)


def test_one_process_alone_is_its_resident_set(holders):
    a = holders[0]
    alone = _alone_or_skip([a])
    rss = psutil.Process(a).memory_info().rss
    assert abs(alone - rss) <= 0.02 * rss
    assert _alone_or_skip([a, a]) == alone  # a page is counted once, however often it is listed


def test_pages_two_processes_share_count_once_and_other_mappers_do_not_shrink_them(holders):
    a, b, _ = holders
    one, two = _alone_or_skip([a]), _alone_or_skip([a, b])
    rss_b = psutil.Process(b).memory_info().rss
    # b's 32 MB array is its own; the interpreter's and numpy's library pages it shares with a count once
    assert one + 30 * 2**20 < two < one + rss_b
    # plain PSS gives the third holder its share of the libraries' pages; alone_pss does not
    assert pss_sum([a, b]) < two
