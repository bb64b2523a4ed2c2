"""Thread caps, worker setup (macOS QoS and Linux P-core pinning via fakes) and real spawn workers."""

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import numpy  # noqa: F401  (loaded, as in any test run: caps in this process are "too late")
import pytest

from engine.errors import ConfigError
from engine.runtime.hardware import detect
from engine.runtime.threads import (
    QOS_CLASS_USER_INITIATED,
    THREAD_ENV_VARS,
    apply_thread_caps,
    cap_main_process,
    gui_thread_count,
    last_worker_setup,
    worker_init,
)
from tests.engine import fixtures_hardware as fx


def test_caps_write_every_variable():
    env = {"UNRELATED": "x"}
    res = apply_thread_caps(3, env)
    assert {k: env[k] for k in THREAD_ENV_VARS} == dict.fromkeys(THREAD_ENV_VARS, "3")
    assert res.env_set == dict.fromkeys(THREAD_ENV_VARS, "3") and env["UNRELATED"] == "x"
    assert res.too_late and "numpy" in res.late_modules
    assert not res.blas_limited and res.numba_threads is None  # a plain dict: runtime caps off


def test_caps_override_false_keeps_user_values():
    env = {"OMP_NUM_THREADS": "7"}
    res = apply_thread_caps(2, env, override=False)
    assert env["OMP_NUM_THREADS"] == "7" and env["OPENBLAS_NUM_THREADS"] == "2"
    assert "OMP_NUM_THREADS" not in res.env_set


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_caps_reject_bad_counts(bad):
    with pytest.raises(ConfigError):
        apply_thread_caps(bad, {})


def test_mac_worker_sets_qos_user_initiated():
    calls, env = fx.FakeCalls("Darwin"), {}
    setup = worker_init(calls=calls, env=env, reader=fx.m4_max())
    assert calls.qos_calls == [(0x19, 0)] and QOS_CLASS_USER_INITIATED == 0x19
    assert setup.qos_class == 0x19 and setup.qos_error is None
    assert calls.affinity_calls == [] and setup.pinned_cpus is None
    assert env["VECLIB_MAXIMUM_THREADS"] == "1" and env["NUMBA_NUM_THREADS"] == "1"
    assert last_worker_setup() is setup
    assert "qos=0x19" in setup.describe()


def test_mac_qos_failure_is_reported_not_raised():
    setup = worker_init(calls=fx.FakeCalls("Darwin", qos_rc=22), env={})
    assert setup.qos_class is None and "22" in setup.qos_error
    assert "qos failed" in setup.describe()


def test_linux_hybrid_worker_pins_to_pcores():
    calls = fx.FakeCalls("Linux", allowed=frozenset(range(24)))
    setup = worker_init(calls=calls, env={}, reader=fx.i9_12900k())
    assert calls.affinity_calls == [frozenset(range(16))]
    assert setup.pinned_cpus == frozenset(range(16)) and calls.qos_calls == []
    assert "pinned to CPUs 0-15" in setup.describe()


def test_linux_pinning_stays_inside_allowed_cpus():
    calls = fx.FakeCalls("Linux", allowed=frozenset({2, 3, 16, 17}))
    setup = worker_init(calls=calls, env={}, reader=fx.i9_12900k())
    assert setup.pinned_cpus == frozenset({2, 3})
    only_e = fx.FakeCalls("Linux", allowed=frozenset({16, 17}))  # no P-core allowed: leave as is
    assert worker_init(calls=only_e, env={}, reader=fx.i9_12900k()).pinned_cpus is None
    assert only_e.affinity_calls == []


def test_linux_big_little_pins_from_capacity_and_uniform_does_not_pin():
    calls = fx.FakeCalls("Linux", allowed=frozenset(range(8)))
    assert worker_init(calls=calls, env={}, reader=fx.rk3588()).pinned_cpus == frozenset(range(4, 8))
    plain = fx.FakeCalls("Linux", allowed=frozenset(range(16)))
    assert worker_init(calls=plain, env={}, reader=fx.plain_linux()).pinned_cpus is None
    assert plain.affinity_calls == []


def test_linux_pin_error_is_reported():
    class Failing(fx.FakeCalls):
        def set_affinity(self, cpus):
            raise PermissionError(1, "Operation not permitted")

    setup = worker_init(calls=Failing("Linux", allowed=frozenset(range(24))), env={}, reader=fx.i9_12900k())
    assert setup.pinned_cpus is None and "not permitted" in setup.pin_error


def test_worker_uses_given_info_without_detecting():
    info = detect(fx.rk3588(), libraries=False)
    calls = fx.FakeCalls("Linux", allowed=frozenset(range(8)))
    assert worker_init(1, info, calls=calls, env={}).pinned_cpus == frozenset(range(4, 8))


def test_gui_threads_and_main_process_caps():
    assert gui_thread_count(detect(fx.m1(), libraries=False)) == 4
    assert gui_thread_count(detect(fx.m2_pro(6), libraries=False)) == 4
    one = fx.plain_linux()
    one.logical = one.physical = 1
    assert gui_thread_count(detect(one, libraries=False)) == 1
    env = {"MKL_NUM_THREADS": "2"}
    res = cap_main_process(fx.m4_max(), env)
    assert res.threads == 4 and env["OMP_NUM_THREADS"] == "4" and env["MKL_NUM_THREADS"] == "2"


# --- real spawn workers ------------------------------------------------------------------------

def _run_in_spawn_worker(initializer, initargs=()):
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=initializer,
                             initargs=initargs) as pool:
        return pool.submit(fx.probe).result(timeout=120)


def _assert_capped(seen):
    assert seen["env"] == dict.fromkeys(THREAD_ENV_VARS, "1")
    assert seen["blas_threads"] and all(n <= 1 for n in seen["blas_threads"])
    assert seen["compiles"]


@pytest.fixture
def parent_threads_2(monkeypatch):
    """Parent env asks for 2 threads, so a worker that did not cap would inherit 2."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")


def test_spawn_worker_caps_before_numpy(parent_threads_2):
    seen = _run_in_spawn_worker(worker_init, (1,))
    _assert_capped(seen)
    assert seen["numba_config_threads"] == 1
    assert seen["too_late"] is False  # engine.runtime.threads itself imports neither numpy nor numba


def test_spawn_worker_caps_after_numpy_at_runtime(parent_threads_2):
    seen = _run_in_spawn_worker(fx.init_after_numpy)
    _assert_capped(seen)
    assert seen["too_late"] is True and seen["numba_config_threads"] == 1


def test_spawn_worker_caps_after_numba_launched_its_threads(parent_threads_2):
    seen = _run_in_spawn_worker(fx.init_after_numpy, (True,))
    _assert_capped_except_numba_env(seen)
    assert seen["numba_threads"] == 1  # thread mask; the pool size cannot change once launched


def _assert_capped_except_numba_env(seen):
    env = dict(seen["env"])
    assert int(env.pop("NUMBA_NUM_THREADS")) == seen["numba_config_threads"]
    assert env == dict.fromkeys(set(THREAD_ENV_VARS) - {"NUMBA_NUM_THREADS"}, "1")
    assert seen["blas_threads"] and all(n <= 1 for n in seen["blas_threads"])
    assert seen["compiles"]  # the next compile did not raise "Cannot set NUMBA_NUM_THREADS"
