"""What machine we run on: CPU cores by performance class, BLAS backend, numba threading.

`detect()` returns a frozen `HardwareInfo`. Every OS read (sysctl, files, glob, platform, CPU counts)
goes through one reader object (`OSReader` by default), so tests feed it what a Mac or a hybrid Linux
box would report. Where core counts come from, in order:

- macOS: `sysctlbyname` through ctypes. `hw.nperflevels` levels; level 0 is the fastest and counts as
  performance cores, every other level (there may be more than two) counts as efficiency cores. No
  `hw.nperflevels` (Intel Macs, old macOS): `hw.physicalcpu`/`hw.logicalcpu`, all performance.
- Linux hybrid x86: `/sys/devices/cpu_core/cpus` (P) and `/sys/devices/cpu_atom/cpus` (E), cpulist format.
- Linux with `cpu_capacity` (ARM big.LITTLE): CPUs whose capacity is at least `CAPACITY_PERF_FRACTION`
  of the maximum are performance cores (so a single "prime" core does not make the machine one P-core).
- Otherwise every core is a performance core (psutil cannot tell P from E cores).

Physical counts on Linux come from `topology/thread_siblings_list`; without it, P physical = all physical
cores minus E cores (E cores have no SMT), else logical. `detect(libraries=False)` imports neither numpy
nor numba, so it can run before `engine.runtime.threads.apply_thread_caps` at an entry point.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob as _glob
import os
import platform as _platform
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

SYSFS_CPU = "/sys/devices/system/cpu"
SYSFS_PCORES = "/sys/devices/cpu_core/cpus"
SYSFS_ECORES = "/sys/devices/cpu_atom/cpus"
CAPACITY_PERF_FRACTION = 0.8
# sysctls whose value is a C string; every other one of size 4 or 8 is read as a little-endian int.
_STRING_SYSCTLS = frozenset({"machdep.cpu.brand_string", "hw.model", "kern.osproductversion",
                             "kern.osrelease", "kern.ostype", "kern.version"})


class Reader(Protocol):
    """Everything `detect()` asks the OS. Any method may return None/empty for "not available"."""

    def platform(self) -> str: ...  # platform.system(): "Darwin", "Linux", "Windows"
    def machine(self) -> str: ...  # "arm64", "x86_64", "aarch64"
    def cpu_count(self, logical: bool = True) -> int | None: ...
    def affinity(self) -> frozenset[int] | None: ...  # CPUs this process may run on (Linux)
    def sysctl(self, name: str) -> str | int | None: ...
    def read_file(self, path: str) -> str | None: ...
    def glob(self, pattern: str) -> list[str]: ...


@functools.lru_cache(maxsize=1)
def darwin_libc() -> ctypes.CDLL:
    """libSystem (libc + libpthread) on macOS, loaded once. Raises OSError elsewhere."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "/usr/lib/libSystem.B.dylib", use_errno=True)


def decode_sysctl(name: str, raw: bytes) -> str | int | None:
    """A sysctl value's bytes: known string sysctls and `*.name` as text, 4/8 bytes as int, else text."""
    if not raw:
        return None
    if name not in _STRING_SYSCTLS and not name.endswith(".name") and len(raw) in (4, 8):
        return int.from_bytes(raw, "little", signed=True)  # every Mac (arm64 and x86-64) is little-endian
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def sysctlbyname(name: str, libc: Any = None) -> str | int | None:
    """`sysctlbyname(3)`: ask the size with a NULL buffer, then read. None if the name does not exist."""
    libc = libc if libc is not None else darwin_libc()
    fn = libc.sysctlbyname
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p,
                   ctypes.c_size_t]
    fn.restype = ctypes.c_int
    key = name.encode()
    size = ctypes.c_size_t(0)
    if fn(key, None, ctypes.byref(size), None, 0) != 0 or size.value == 0:
        return None
    buf = ctypes.create_string_buffer(size.value)
    if fn(key, buf, ctypes.byref(size), None, 0) != 0:
        return None
    return decode_sysctl(name, buf.raw[: size.value])


class OSReader:
    """The real reader: ctypes `sysctlbyname` on macOS, files under /proc and /sys on Linux."""

    def platform(self) -> str:
        return _platform.system()

    def machine(self) -> str:
        return _platform.machine()

    def cpu_count(self, logical: bool = True) -> int | None:
        if logical:
            return os.cpu_count()
        try:
            import psutil
            return psutil.cpu_count(logical=False)
        except Exception:  # psutil missing or unable to read the topology
            return None

    def affinity(self) -> frozenset[int] | None:
        getter = getattr(os, "sched_getaffinity", None)
        try:
            return frozenset(getter(0)) if getter else None
        except OSError:
            return None

    def sysctl(self, name: str) -> str | int | None:
        if self.platform() != "Darwin":
            return None
        try:
            return sysctlbyname(name)
        except (OSError, AttributeError):
            return None

    def read_file(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(pattern))


@dataclass(frozen=True)
class PerfLevel:
    """One class of cores: `name` as the OS reports it, core counts (physical) and hardware threads."""

    name: str
    physical: int
    logical: int


@dataclass(frozen=True)
class HardwareInfo:
    """The machine. Core counts are >= 0; `perf_physical` >= 1 whenever any CPU was found.

    `pcore_cpus` is the set of logical CPU ids of performance cores on a Linux machine that has
    efficiency cores too (None elsewhere: nothing to pin to). `blas_threads` is None when
    threadpoolctl cannot see the BLAS (Accelerate) or libraries were not inspected.
    `numba_threading_layer` is the configured one (`numba.config.THREADING_LAYER`, e.g. "default");
    `numba_threading_layer_active` is set only once numba has launched its threads.
    """

    os: str
    machine: str
    cpu_brand: str | None
    logical_cpus: int
    physical_cpus: int
    usable_cpus: int
    perf_physical: int
    perf_logical: int
    eff_physical: int
    eff_logical: int
    perf_levels: tuple[PerfLevel, ...]
    apple_silicon: bool
    translated: bool
    pcore_cpus: frozenset[int] | None
    core_source: str
    blas_backend: str | None = None
    blas_threads: int | None = None
    numba_version: str | None = None
    numba_threading_layer: str | None = None
    numba_threading_layer_active: str | None = None

    @property
    def hybrid(self) -> bool:
        """True when the machine has efficiency cores."""
        return self.eff_logical > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (CPU id sets as sorted lists, perf levels as dicts)."""
        d = asdict(self)
        d["perf_levels"] = [asdict(level) for level in self.perf_levels]
        d["pcore_cpus"] = sorted(self.pcore_cpus) if self.pcore_cpus is not None else None
        d["hybrid"] = self.hybrid
        return d


def parse_cpulist(text: str | None) -> frozenset[int] | None:
    """Kernel cpulist ("0-7,16-23", "3", "") as a set of CPU ids; None if missing or malformed."""
    if text is None:
        return None
    cpus: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part.strip())
        if not m:
            return None
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            return None
        cpus.update(range(lo, hi + 1))
    return frozenset(cpus)


def format_cpulist(cpus: frozenset[int] | set[int]) -> str:
    """Set of CPU ids back to the kernel's compact form: {0, 1, 2, 5} -> "0-2,5"; empty -> ""."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


@dataclass
class _Cores:
    logical: int
    physical: int
    perf: tuple[int, int]  # (physical, logical)
    eff: tuple[int, int]
    levels: tuple[PerfLevel, ...]
    pcores: frozenset[int] | None
    source: str


def _cores_macos(r: Reader) -> _Cores:
    logical = _int(r.sysctl("hw.logicalcpu")) or r.cpu_count() or 1
    physical = _int(r.sysctl("hw.physicalcpu")) or r.cpu_count(logical=False) or logical
    levels = []
    for i in range(_int(r.sysctl("hw.nperflevels")) or 0):
        phys = _int(r.sysctl(f"hw.perflevel{i}.physicalcpu"))
        if not phys:
            continue
        log = _int(r.sysctl(f"hw.perflevel{i}.logicalcpu")) or phys
        levels.append(PerfLevel(str(r.sysctl(f"hw.perflevel{i}.name") or f"level {i}"), phys, log))
    if not levels:  # Intel Mac or macOS without perf levels: all cores equal
        return _Cores(logical, physical, (physical, logical), (0, 0), (), None, "sysctl")
    eff = (sum(lv.physical for lv in levels[1:]), sum(lv.logical for lv in levels[1:]))
    return _Cores(logical, physical, (levels[0].physical, levels[0].logical), eff, tuple(levels), None,
                  "sysctl-perflevels")


def _physical_in(r: Reader, cpus: frozenset[int]) -> int | None:
    """Distinct cores among `cpus` from thread_siblings_list; None if any CPU lacks the file."""
    cores = set()
    for cpu in cpus:
        sib = parse_cpulist(r.read_file(f"{SYSFS_CPU}/cpu{cpu}/topology/thread_siblings_list"))
        if not sib:
            return None
        cores.add(sib)
    return len(cores)


def _split_linux(r: Reader) -> tuple[frozenset[int], frozenset[int], str] | None:
    """(P CPUs, E CPUs, source) for a hybrid Linux machine, None if all cores look equal."""
    pset = parse_cpulist(r.read_file(SYSFS_PCORES))
    if pset:
        return pset, parse_cpulist(r.read_file(SYSFS_ECORES)) or frozenset(), "sysfs-hybrid"
    caps: dict[int, int] = {}
    for path in r.glob(f"{SYSFS_CPU}/cpu[0-9]*/cpu_capacity"):
        m = re.search(r"/cpu(\d+)/cpu_capacity$", path)
        value = _int(r.read_file(path))
        if m and value is not None:
            caps[int(m.group(1))] = value
    if len(set(caps.values())) < 2:
        return None
    cut = CAPACITY_PERF_FRACTION * max(caps.values())
    perf = frozenset(c for c, v in caps.items() if v >= cut)
    return perf, frozenset(caps) - perf, "cpu_capacity"


def _cores_linux(r: Reader) -> _Cores:
    logical = r.cpu_count() or 1
    physical = r.cpu_count(logical=False) or logical
    split = _split_linux(r)
    if split is None:
        return _Cores(logical, physical, (physical, logical), (0, 0), (), None, "uniform")
    pset, eset, source = split
    eff_phys = _physical_in(r, eset) if eset else 0
    eff_phys = len(eset) if eff_phys is None else eff_phys
    perf_phys = _physical_in(r, pset)
    if perf_phys is None:
        guess = physical - eff_phys
        perf_phys = guess if 0 < guess <= len(pset) else len(pset)
    levels = [PerfLevel("Performance", perf_phys, len(pset))]
    if eset:
        levels.append(PerfLevel("Efficiency", eff_phys, len(eset)))
    return _Cores(logical, physical, (perf_phys, len(pset)), (eff_phys, len(eset)), tuple(levels),
                  pset if eset else None, source)


def _brand(r: Reader, system: str) -> str | None:
    if system == "Darwin":
        value = r.sysctl("machdep.cpu.brand_string")
        return str(value) if value else None
    text = r.read_file("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware"):  # x86, then ARM boards
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            return m.group(1).strip()
    return None


def blas_info(config: Mapping[str, Any] | None = None,
              pools: list[dict] | None = None) -> tuple[str | None, int | None]:
    """(BLAS name numpy was built with, its thread count).

    `config` is `numpy.show_config(mode="dicts")` (read when None; this imports numpy), `pools` is
    `threadpoolctl.threadpool_info()`. Threads are None for Accelerate (threadpoolctl cannot see it)
    or when no loaded BLAS matches; numpy's own copy wins over another (e.g. scipy's) OpenBLAS.
    """
    if config is None:
        import numpy
        config = dict(numpy.show_config(mode="dicts") or {})
    name = ((config.get("Build Dependencies") or {}).get("blas") or {}).get("name")
    if not name:
        return None, None
    low = name.lower()
    family = next((f for f in ("openblas", "mkl", "blis", "flexiblas") if f in low), None)
    if family is None:  # accelerate, or something threadpoolctl does not know
        return name, None
    if pools is None:
        try:
            from threadpoolctl import threadpool_info
            pools = threadpool_info()
        except Exception:
            pools = []
    found = [p for p in pools if p.get("user_api") == "blas" and p.get("internal_api") == family]
    found.sort(key=lambda p: "numpy" not in str(p.get("filepath", "")))
    return name, (int(found[0]["num_threads"]) if found else None)


def numba_info() -> tuple[str | None, str | None, str | None]:
    """(numba version, configured threading layer, active layer or None). Never launches numba's threads."""
    try:
        import numba
    except ImportError:
        return None, None, None
    active = None
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and getattr(parallel, "_is_initialized", False):
        try:
            active = numba.threading_layer()
        except ValueError:
            active = None
    return numba.__version__, str(getattr(numba.config, "THREADING_LAYER", "default")), active


def detect(reader: Reader | None = None, *, libraries: bool = True) -> HardwareInfo:
    """Describe this machine (or what `reader` reports).

    libraries=False skips BLAS and numba (those fields are None) and imports neither numpy nor numba:
    use it before thread caps are applied. libraries=True imports numpy and numba (not their threads).
    """
    r = reader if reader is not None else OSReader()
    system = r.platform()
    cores = _cores_macos(r) if system == "Darwin" else _cores_linux(r) if system == "Linux" else None
    if cores is None:  # Windows and the rest: all cores equal
        logical = r.cpu_count() or 1
        physical = r.cpu_count(logical=False) or logical
        cores = _Cores(logical, physical, (physical, logical), (0, 0), (), None, "uniform")
    allowed = r.affinity()
    usable = len(allowed) if allowed else cores.logical
    blas, threads, nb_version, nb_layer, nb_active = None, None, None, None, None
    if libraries:
        blas, threads = blas_info()
        nb_version, nb_layer, nb_active = numba_info()
    return HardwareInfo(
        os=system, machine=r.machine(), cpu_brand=_brand(r, system),
        logical_cpus=cores.logical, physical_cpus=cores.physical, usable_cpus=usable,
        perf_physical=cores.perf[0], perf_logical=cores.perf[1],
        eff_physical=cores.eff[0], eff_logical=cores.eff[1], perf_levels=cores.levels,
        apple_silicon=system == "Darwin" and _int(r.sysctl("hw.optional.arm64")) == 1,
        translated=system == "Darwin" and _int(r.sysctl("sysctl.proc_translated")) == 1,
        pcore_cpus=cores.pcores, core_source=cores.source,
        blas_backend=blas, blas_threads=threads, numba_version=nb_version,
        numba_threading_layer=nb_layer, numba_threading_layer_active=nb_active)


def default_workers(info: HardwareInfo) -> int:
    """Sweep worker processes: one per physical performance core, no more than the usable CPUs, >= 1."""
    return max(1, min(info.perf_physical, info.usable_cpus))


def default_worker_count() -> int:
    """`default_workers` of this machine (what it reports, not the numeric libraries)."""
    return default_workers(detect(libraries=False))
