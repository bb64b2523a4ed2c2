"""L1: byte bound, LRU order, TTL with an injected clock, counters, and eight threads losing nothing."""

import threading

import numpy as np
import pytest

from engine.cache import MISSING, L1Cache
from engine.cache.l1 import sizeof

ARRAY = np.zeros(1000)  # 8000 bytes of data
SIZE = sizeof(ARRAY)


def test_bounded_by_bytes_not_entries():
    c = L1Cache(max_bytes=5 * SIZE)
    for i in range(20):
        c.put(f"k{i}", np.zeros(1000))
        assert c.stats()["bytes"] <= 5 * SIZE
    s = c.stats()
    assert s["entries"] == 5 and s["bytes"] == 5 * SIZE and s["evictions"] == 15
    # many small values fit where few large ones did
    small = L1Cache(max_bytes=5 * SIZE)
    for i in range(100):
        small.put(f"k{i}", 1.5)
    assert small.stats()["entries"] == 100


def test_least_recently_used_is_evicted_first():
    c = L1Cache(max_bytes=3 * SIZE)
    for k in "abc":
        c.put(k, np.zeros(1000))
    assert c.get("a") is not MISSING  # a is now the most recent
    c.put("d", np.zeros(1000))
    assert "b" not in c and "a" in c and "c" in c and "d" in c


def test_value_larger_than_the_bound_is_rejected():
    c = L1Cache(max_bytes=SIZE - 1)
    assert not c.put("big", ARRAY)
    assert c.get("big") is MISSING
    assert c.stats()["rejected"] == 1 and c.stats()["bytes"] == 0


def test_ttl_expires_with_injected_clock():
    now = [100.0]
    c = L1Cache(max_bytes=10 * SIZE, ttl=10.0, clock=lambda: now[0])
    c.put("a", 1)
    now[0] += 9.0
    assert c.get("a") == 1
    c.put("b", 2)
    now[0] += 1.5  # a is 10.5 s old, b 1.5 s
    assert c.get("a") is MISSING
    assert c.get("b") == 2
    s = c.stats()
    assert s["hits"] == 2 and s["misses"] == 1 and s["expirations"] == 1 and s["entries"] == 1
    assert s["bytes"] == sizeof(2)


def test_counts_hits_and_misses():
    c = L1Cache(max_bytes=1 << 20)
    c.put("a", [1, 2])
    assert c.get("a") == [1, 2] and c.get("zz", None) is None
    assert c.get_many(["a", "x", "y"]) == {"a": [1, 2]}
    s = c.stats()
    assert (s["hits"], s["misses"]) == (2, 3)


@pytest.mark.parametrize("max_bytes", [1 << 30, 40 * 200])  # roomy, and under eviction pressure
def test_eight_threads_hammering_lose_nothing(max_bytes):
    c = L1Cache(max_bytes=max_bytes)
    n_threads, n_ops, n_keys = 8, 3000, 64
    wrong: list[str] = []
    gets = [0] * n_threads
    start = threading.Barrier(n_threads)

    def work(t: int) -> None:
        rng = np.random.default_rng(t)
        start.wait()
        for op in range(n_ops):
            k = int(rng.integers(n_keys))
            if op % 3 == 0:
                c.put(f"k{k}", ("v", k, "x" * 100))
            else:
                gets[t] += 1
                v = c.get(f"k{k}")
                if v is not MISSING and v != ("v", k, "x" * 100):
                    wrong.append(f"k{k}: {v!r}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    s = c.stats()
    assert not wrong
    assert s["hits"] + s["misses"] == sum(gets)
    assert s["bytes"] <= max_bytes
    assert s["bytes"] == sum(sizeof(c.get(f"k{k}")) for k in range(n_keys) if f"k{k}" in c)
    if max_bytes < 1 << 30:
        assert s["evictions"] > 0
    else:
        assert s["entries"] == n_keys and s["evictions"] == 0
