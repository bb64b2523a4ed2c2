"""Hardware detection on fake Macs and Linux boxes (fed through a fake reader), and on this machine."""

import ctypes
import dataclasses
import json
import subprocess
import sys

import numba
import numpy
import pytest

from engine.runtime.hardware import (
    HardwareInfo,
    OSReader,
    PerfLevel,
    blas_info,
    decode_sysctl,
    default_workers,
    detect,
    format_cpulist,
    parse_cpulist,
    sysctlbyname,
)
from tests.engine import fixtures_hardware as fx

# factory, perf (phys, log), eff (phys, log), default workers, apple silicon, source, P-core ids
MACHINES = {
    "m1": (fx.m1, (4, 4), (4, 4), 4, True, "sysctl-perflevels", None),
    "m2_pro_12": (fx.m2_pro, (8, 8), (4, 4), 8, True, "sysctl-perflevels", None),
    "m2_pro_10": (lambda: fx.m2_pro(6), (6, 6), (4, 4), 6, True, "sysctl-perflevels", None),
    "m4_max": (fx.m4_max, (12, 12), (4, 4), 12, True, "sysctl-perflevels", None),
    "three_levels": (fx.three_levels, (6, 6), (6, 6), 6, True, "sysctl-perflevels", None),
    "intel_mac": (fx.intel_mac, (8, 16), (0, 0), 8, False, "sysctl", None),
    "i9_12900k": (fx.i9_12900k, (8, 16), (8, 8), 8, False, "sysfs-hybrid", frozenset(range(16))),
    "i9_no_topology": (lambda: fx.i9_12900k(topology=False), (8, 16), (8, 8), 8, False, "sysfs-hybrid",
                       frozenset(range(16))),
    "rk3588": (fx.rk3588, (4, 4), (4, 4), 4, False, "cpu_capacity", frozenset(range(4, 8))),
    "three_cluster_arm": (fx.three_cluster_arm, (5, 5), (3, 3), 5, False, "cpu_capacity", frozenset(range(3, 8))),
    "plain_linux": (fx.plain_linux, (8, 16), (0, 0), 8, False, "uniform", None),
    "equal_capacity": (lambda: fx.plain_linux(capacity=True), (8, 16), (0, 0), 8, False, "uniform", None),
}


@pytest.mark.parametrize("name", MACHINES)
def test_fake_machines(name):
    factory, perf, eff, workers, apple, source, pcores = MACHINES[name]
    info = detect(factory(), libraries=False)
    assert (info.perf_physical, info.perf_logical) == perf
    assert (info.eff_physical, info.eff_logical) == eff
    assert info.hybrid == (eff != (0, 0))
    assert default_workers(info) == workers
    assert info.apple_silicon is apple
    assert info.core_source == source
    assert info.pcore_cpus == pcores
    assert info.logical_cpus == perf[1] + eff[1]
    assert info.blas_backend is None and info.numba_version is None  # libraries=False
    assert info.cpu_brand or name == "three_cluster_arm"  # its cpuinfo names no model


def test_mac_perf_levels_and_brand():
    info = detect(fx.m2_pro(), libraries=False)
    assert info.os == "Darwin" and info.machine == "arm64" and info.cpu_brand == "Apple M2 Pro"
    assert info.perf_levels == (PerfLevel("Performance", 8, 8), PerfLevel("Efficiency", 4, 4))
    assert info.usable_cpus == 12  # no affinity on macOS: all logical CPUs
    three = detect(fx.three_levels(), libraries=False)
    assert [lv.name for lv in three.perf_levels] == ["Performance", "Balanced", "Efficiency"]


def test_intel_mac_and_rosetta():
    intel = detect(fx.intel_mac(), libraries=False)
    assert intel.perf_levels == () and not intel.apple_silicon and not intel.translated
    assert intel.physical_cpus == 8 and intel.logical_cpus == 16
    rosetta = detect(fx.rosetta_m1(), libraries=False)
    assert rosetta.machine == "x86_64" and rosetta.apple_silicon and rosetta.translated
    assert default_workers(rosetta) == 4


def test_linux_brand_and_levels():
    assert detect(fx.i9_12900k(), libraries=False).cpu_brand == "12th Gen Intel(R) Core(TM) i9-12900K"
    assert detect(fx.rk3588(), libraries=False).cpu_brand == "Radxa ROCK 5B"  # ARM: no "model name"
    assert detect(fx.three_cluster_arm(), libraries=False).cpu_brand is None
    i9 = detect(fx.i9_12900k(), libraries=False)
    assert i9.perf_levels == (PerfLevel("Performance", 8, 16), PerfLevel("Efficiency", 8, 8))
    assert detect(fx.plain_linux(), libraries=False).perf_levels == ()


def test_hybrid_without_atom_cores_is_not_hybrid():
    r = fx.i9_12900k()
    del r.files["/sys/devices/cpu_atom/cpus"]
    r.logical = 16
    info = detect(r, libraries=False)
    assert info.perf_logical == 16 and info.eff_logical == 0 and info.pcore_cpus is None


def test_default_workers_respects_affinity_and_floor():
    info = detect(fx.i9_12900k(), libraries=False)
    assert default_workers(dataclasses.replace(info, usable_cpus=3)) == 3
    assert default_workers(dataclasses.replace(info, perf_physical=0)) == 1
    r = fx.plain_linux()
    r.logical = r.physical = None  # os.cpu_count() may return None
    assert detect(r, libraries=False).perf_physical == 1


@pytest.mark.parametrize("text, cpus", [
    ("0-15\n", set(range(16))), ("0-7,16-23", set(range(8)) | set(range(16, 24))), ("3", {3}),
    ("", set()), ("0,2,4-5", {0, 2, 4, 5})])
def test_parse_cpulist(text, cpus):
    assert parse_cpulist(text) == frozenset(cpus)
    assert parse_cpulist(format_cpulist(frozenset(cpus))) == frozenset(cpus)


@pytest.mark.parametrize("text", [None, "0-x", "7-3", "a"])
def test_parse_cpulist_rejects(text):
    assert parse_cpulist(text) is None


def test_format_cpulist():
    assert format_cpulist({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert format_cpulist(set()) == ""


def test_decode_sysctl():
    assert decode_sysctl("hw.nperflevels", (2).to_bytes(4, "little")) == 2
    assert decode_sysctl("hw.memsize", (64 << 30).to_bytes(8, "little")) == 64 << 30
    assert decode_sysctl("machdep.cpu.brand_string", b"Apple M1\0") == "Apple M1"
    assert decode_sysctl("hw.perflevel0.name", b"Eff\0") == "Eff"  # 4 bytes, still a string
    assert decode_sysctl("hw.nperflevels", b"") is None


class FakeLibc:
    """A libc whose sysctlbyname follows the real calling convention (size query with a NULL buffer)."""

    def __init__(self, table):
        self.table, self.calls = table, []

        def sysctlbyname(key, buf, sizep, newp, newlen):
            self.calls.append((key, buf is None))
            value = self.table.get(key.decode())
            if value is None:
                return -1
            size = sizep._obj
            if buf is not None:
                assert size.value >= len(value)
                ctypes.memmove(buf, value, len(value))
            size.value = len(value)
            return 0

        self.sysctlbyname = sysctlbyname


def test_sysctlbyname_asks_size_then_reads():
    libc = FakeLibc({"hw.perflevel0.physicalcpu": (12).to_bytes(4, "little"),
                     "machdep.cpu.brand_string": b"Apple M4 Max\0"})
    assert sysctlbyname("hw.perflevel0.physicalcpu", libc) == 12
    assert sysctlbyname("machdep.cpu.brand_string", libc) == "Apple M4 Max"
    assert sysctlbyname("hw.nperflevels", libc) is None
    assert libc.calls[:2] == [(b"hw.perflevel0.physicalcpu", True), (b"hw.perflevel0.physicalcpu", False)]


def test_real_reader_on_this_machine():
    r = OSReader()
    if r.platform() != "Darwin":
        assert r.sysctl("hw.nperflevels") is None
    assert r.read_file("/nonexistent/backbench") is None
    assert r.cpu_count() >= 1
    info = detect()
    assert info.logical_cpus >= info.perf_logical >= info.perf_physical >= 1
    assert default_workers(info) >= 1
    json.dumps(info.to_dict())


def test_blas_info_from_config():
    numpy_blas = {"user_api": "blas", "internal_api": "openblas", "num_threads": 3,
                  "filepath": "/x/numpy/.dylibs/libscipy_openblas64_.dylib"}
    scipy_blas = {"user_api": "blas", "internal_api": "openblas", "num_threads": 8,
                  "filepath": "/x/scipy/.dylibs/libscipy_openblas.dylib"}
    cfg = lambda name: {"Build Dependencies": {"blas": {"name": name}}}  # noqa: E731
    assert blas_info(cfg("accelerate"), [scipy_blas]) == ("accelerate", None)
    assert blas_info(cfg("scipy-openblas"), [scipy_blas, numpy_blas]) == ("scipy-openblas", 3)
    mkl = {"user_api": "blas", "internal_api": "mkl", "num_threads": 6, "filepath": "/x/libmkl_rt.so"}
    assert blas_info(cfg("mkl-sdl"), [numpy_blas, mkl]) == ("mkl-sdl", 6)
    assert blas_info(cfg("openblas"), []) == ("openblas", None)
    assert blas_info({}, []) == (None, None)


def test_blas_and_numba_on_this_machine():
    name = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    info = detect()
    assert info.blas_backend == name
    if "accelerate" not in name:
        assert info.blas_threads is not None and info.blas_threads >= 1
    assert info.numba_version == numba.__version__
    assert info.numba_threading_layer == numba.config.THREADING_LAYER
    from numba.np.ufunc import parallel
    assert (info.numba_threading_layer_active is not None) == parallel._is_initialized


def test_detect_without_libraries_imports_neither_numpy_nor_numba():
    code = ("import sys; from engine.runtime.hardware import detect; detect(libraries=False); "
            "print(sorted(m for m in ('numpy', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_hardware_info_is_frozen_and_json_ready():
    info = detect(fx.i9_12900k(), libraries=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.perf_physical = 1  # type: ignore[misc]
    d = json.loads(json.dumps(info.to_dict()))
    assert d["pcore_cpus"] == list(range(16)) and d["hybrid"] is True
    assert d["perf_levels"][0] == {"name": "Performance", "physical": 8, "logical": 16}
    assert set(d) >= {f.name for f in dataclasses.fields(HardwareInfo)}
