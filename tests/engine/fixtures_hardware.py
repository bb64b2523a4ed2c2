"""Fake machines for hardware/thread tests: what each OS would report, fed through a fake reader.

Values follow what the real machines report (`sysctl hw` on Macs, sysfs on Linux). Also the functions a
real `spawn` worker runs in test_threads.py (they must not import numpy at module level: the point is
to check what happens when a worker caps threads before numpy is loaded).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from engine.runtime import threads


@dataclass
class FakeReader:
    """`engine.runtime.hardware.Reader` answering from dicts; `files` also backs `glob`."""

    system: str
    arch: str
    logical: int | None
    physical: int | None
    sysctls: dict[str, str | int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    allowed: frozenset[int] | None = None

    def platform(self) -> str:
        return self.system

    def machine(self) -> str:
        return self.arch

    def cpu_count(self, logical: bool = True) -> int | None:
        return self.logical if logical else self.physical

    def affinity(self) -> frozenset[int] | None:
        return self.allowed

    def sysctl(self, name: str) -> str | int | None:
        return self.sysctls.get(name) if self.system == "Darwin" else None

    def read_file(self, path: str) -> str | None:
        return self.files.get(path)

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in self.files if fnmatch.fnmatchcase(p, pattern))


def mac(brand: str, levels: list[tuple[str, int, int]], *, arm64: bool = True, arch: str = "arm64",
        translated: bool = False) -> FakeReader:
    """An Apple Silicon Mac with perf levels [(name, physical, logical)], level 0 the fastest."""
    phys, logical = sum(lv[1] for lv in levels), sum(lv[2] for lv in levels)
    s: dict[str, str | int] = {"machdep.cpu.brand_string": brand, "hw.nperflevels": len(levels),
                               "hw.physicalcpu": phys, "hw.logicalcpu": logical, "hw.ncpu": logical}
    for i, (name, p, lg) in enumerate(levels):
        s.update({f"hw.perflevel{i}.name": name, f"hw.perflevel{i}.physicalcpu": p,
                  f"hw.perflevel{i}.logicalcpu": lg})
    if arm64:
        s["hw.optional.arm64"] = 1
    if translated:
        s["sysctl.proc_translated"] = 1
    return FakeReader("Darwin", arch, logical, phys, s)


def m1() -> FakeReader:
    return mac("Apple M1", [("Performance", 4, 4), ("Efficiency", 4, 4)])


def m2_pro(p_cores: int = 8) -> FakeReader:
    """12-core (8P+4E) or 10-core (6P+4E) M2 Pro."""
    return mac("Apple M2 Pro", [("Performance", p_cores, p_cores), ("Efficiency", 4, 4)])


def m4_max() -> FakeReader:
    return mac("Apple M4 Max", [("Performance", 12, 12), ("Efficiency", 4, 4)])


def three_levels() -> FakeReader:
    """Hypothetical chip with a middle class of cores: everything below level 0 counts as efficiency."""
    return mac("Apple M99", [("Performance", 6, 6), ("Balanced", 4, 4), ("Efficiency", 2, 2)])


def rosetta_m1() -> FakeReader:
    """x86-64 Python under Rosetta on an M1: machine says x86_64, the chip is still Apple Silicon."""
    return mac("Apple M1", [("Performance", 4, 4), ("Efficiency", 4, 4)], arch="x86_64", translated=True)


def intel_mac() -> FakeReader:
    """2019 MacBook Pro: no perf levels, no hw.optional.arm64, 8 cores with Hyper-Threading."""
    return FakeReader("Darwin", "x86_64", 16, 8, {
        "machdep.cpu.brand_string": "Intel(R) Core(TM) i9-9980HK CPU @ 2.40GHz",
        "hw.physicalcpu": 8, "hw.logicalcpu": 16})


def _siblings(groups: list[list[int]]) -> dict[str, str]:
    out = {}
    for group in groups:
        text = ",".join(map(str, group)) + "\n"
        for cpu in group:
            out[f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"] = text
    return out


def i9_12900k(*, topology: bool = True) -> FakeReader:
    """8 P-cores with HT (CPUs 0-15, siblings 0,1 / 2,3 ...) + 8 E-cores (CPUs 16-23), 24 threads."""
    files = {"/proc/cpuinfo": "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                              "model name\t: 12th Gen Intel(R) Core(TM) i9-12900K\n",
             "/sys/devices/cpu_core/cpus": "0-15\n", "/sys/devices/cpu_atom/cpus": "16-23\n"}
    if topology:
        files |= _siblings([[2 * i, 2 * i + 1] for i in range(8)] + [[c] for c in range(16, 24)])
    return FakeReader("Linux", "x86_64", 24, 16, files=files, allowed=frozenset(range(24)))


def rk3588() -> FakeReader:
    """ARM big.LITTLE board: 4x Cortex-A55 (cpu0-3, capacity 414) + 4x Cortex-A76 (cpu4-7, 1024)."""
    files = {"/proc/cpuinfo": "processor\t: 0\nBogoMIPS\t: 48.00\nCPU part\t: 0xd05\n\n"
                              "Model\t: Radxa ROCK 5B\n"}
    for cpu in range(8):
        files[f"/sys/devices/system/cpu/cpu{cpu}/cpu_capacity"] = "414\n" if cpu < 4 else "1024\n"
    files |= _siblings([[c] for c in range(8)])
    return FakeReader("Linux", "aarch64", 8, 8, files=files, allowed=frozenset(range(8)))


def three_cluster_arm() -> FakeReader:
    """Phone-style SoC: 3 little (325), 4 mid (870), 1 prime (1024); no topology files."""
    caps = [325] * 3 + [870] * 4 + [1024]
    files = {f"/sys/devices/system/cpu/cpu{c}/cpu_capacity": f"{v}\n" for c, v in enumerate(caps)}
    return FakeReader("Linux", "aarch64", 8, 8, files=files)


def plain_linux(*, capacity: bool = False) -> FakeReader:
    """Ryzen 7 5800X: 8 equal cores, 16 threads; with capacity=True every CPU reports 1024 (as VMs do)."""
    files = {"/proc/cpuinfo": "model name\t: AMD Ryzen 7 5800X 8-Core Processor\n"}
    if capacity:
        files |= {f"/sys/devices/system/cpu/cpu{c}/cpu_capacity": "1024\n" for c in range(16)}
    return FakeReader("Linux", "x86_64", 16, 8, files=files, allowed=frozenset(range(16)))


@dataclass
class FakeCalls:
    """`engine.runtime.threads.OSCalls` that records what a worker asked the OS to do."""

    system: str
    qos_rc: int = 0
    allowed: frozenset[int] | None = None
    qos_calls: list[tuple[int, int]] = field(default_factory=list)
    affinity_calls: list[frozenset[int]] = field(default_factory=list)

    def platform(self) -> str:
        return self.system

    def set_qos_class_self(self, qos_class: int, relative_priority: int) -> int:
        self.qos_calls.append((qos_class, relative_priority))
        return self.qos_rc

    def get_affinity(self) -> frozenset[int] | None:
        return self.allowed

    def set_affinity(self, cpus: frozenset[int]) -> None:
        self.affinity_calls.append(cpus)


# --- run inside real spawn workers -------------------------------------------------------------

def init_after_numpy(launch_numba_threads: bool = False) -> None:
    """Initializer for a worker whose numpy/numba were loaded before the caps (the "too late" path)."""
    import numba  # noqa: F401
    import numpy  # noqa: F401
    if launch_numba_threads:
        from numba.np.ufunc import parallel
        parallel._launch_threads()
    threads.worker_init(1)


def probe() -> dict:
    """What a worker sees after its initializer: env, numba threads, BLAS threads, and that numba compiles."""
    import numba
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    @numba.njit(cache=False)
    def add(a, b):
        return a + b

    setup = threads.last_worker_setup()
    return {
        "env": {var: os.environ.get(var) for var in threads.THREAD_ENV_VARS},
        "numba_config_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_threads": numba.get_num_threads() if _numba_launched() else None,
        "blas_threads": [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"],
        "too_late": setup.caps.too_late if setup else None,
        "compiles": add(1, 2) == 3,
    }


def _numba_launched() -> bool:
    from numba.np.ufunc import parallel
    return bool(parallel._is_initialized)
