"""The packaged app, frozen by PyInstaller from packaging/backbench.spec, behaves like the unfrozen `backbench`.

Built ONCE per module (packaging/build_linux.sh into a temp dir, timed), then run headless against throwaway
HOME/XDG/BACKBENCH_* dirs:
- `info` reports the numba cache in the user cache dir (NUMBA_CACHE_DIR left unset: the frozen default);
- `run --demo --json` equals the unfrozen output; the second run compiles nothing (numba's index files are
  written by the first run and untouched by the second, which is also much faster);
- a 2-worker sweep: its workers are the frozen binary itself (spawn + freeze_support), rows equal unfrozen;
- `gui --screenshot` offscreen writes a 1280x800 PNG;
- nothing was written inside the bundle.

On macOS CI the workflow builds the signed app first and points BACKBENCH_FROZEN_BINARY at
Backbench.app/Contents/MacOS/Backbench, so the same checks run on the real product.
Timings and the bundle size go to tests/_artifacts/packaging/frozen.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BUILD_LINUX = ROOT / "packaging" / "build_linux.sh"
ARTIFACTS = ROOT / "tests" / "_artifacts" / "packaging"
SWEEP = ["sweep", "--demo", "--workers", "2", "--no-cache", "-g", "n1=5:30:5", "-g", "n2=40:100:20", "--json"]
BUILD_BUDGET_S = 300  # CI: 2 cores, the whole suite in 10 minutes
RUN_TIMEOUT_S = 240


@dataclass
class Frozen:
    binary: Path
    bundle: Path  # dist/backbench, or Backbench.app
    home: Path  # throwaway user dirs of every frozen run
    build_s: float | None
    tree_after_build: dict[str, tuple[int, int]]
    timings: dict[str, float] = field(default_factory=dict)


def _tree(bundle: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file and symlink in the bundle."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(bundle):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), bundle)] = (st.st_size, st.st_mtime_ns)
    return out


def _du(path: Path) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(path) for f in fs)


def _user_env(root: Path) -> dict[str, str]:
    """This environment minus every setting that could leak in, plus throwaway user dirs under `root`.
    NUMBA_CACHE_DIR stays unset: the frozen app must choose the user cache dir by itself."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BACKBENCH_", "NUMBA_", "XDG_", "PYTHON")) and k != "HOME"}
    dirs = {"HOME": "home", "XDG_CONFIG_HOME": "config", "XDG_DATA_HOME": "data", "XDG_CACHE_HOME": "cache",
            "BACKBENCH_DB": "store/bars.duckdb", "BACKBENCH_CACHE_DIR": "results",
            "BACKBENCH_CONFIG": "config/backbench.toml"}
    for var, sub in dirs.items():
        env[var] = str(root / sub)
    (root / "home").mkdir(parents=True, exist_ok=True)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYQTGRAPH_QT_LIB"] = "PySide6"
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, f"{cmd[1:]} exited {proc.returncode}\n{proc.stderr[-4000:]}"
    return proc, elapsed


def _unfrozen(args: list[str], root: Path) -> subprocess.CompletedProcess:
    code = "import sys; from app.cli import main; sys.exit(main())"
    return _run([sys.executable, "-c", code, *args], _user_env(root), ROOT)[0]


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Iterator[Frozen]:
    work = tmp_path_factory.mktemp("frozen")
    given = os.environ.get("BACKBENCH_FROZEN_BINARY")
    if given:  # macOS CI: the app build_macos.sh built (and signed)
        binary = Path(given).resolve()
        assert binary.is_file(), f"BACKBENCH_FROZEN_BINARY={given}: no such file"
        build_s = None
    else:
        if not sys.platform.startswith("linux"):
            pytest.skip("the smoke build is the Linux one-folder build; on macOS set BACKBENCH_FROZEN_BINARY "
                        "to Backbench.app/Contents/MacOS/Backbench (built by packaging/build_macos.sh)")
        pytest.importorskip("PyInstaller", reason="needs the 'package' extra: pip install -e '.[package]'")
        t0 = time.perf_counter()
        proc = subprocess.run(["bash", str(BUILD_LINUX), "--dist", str(work / "dist"), "--work", str(work / "build")],
                              env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True,
                              timeout=2 * BUILD_BUDGET_S)
        build_s = time.perf_counter() - t0
        assert proc.returncode == 0, f"build_linux.sh failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        binary = work / "dist" / "backbench" / "backbench"
        shutil.rmtree(work / "build", ignore_errors=True)
    bundle = binary.parents[2] if binary.parent.name == "MacOS" else binary.parent
    result = Frozen(binary, bundle, work / "user", build_s, _tree(bundle))
    yield result
    _report(result)
    if not given:
        shutil.rmtree(work / "dist", ignore_errors=True)  # ~750 MB


def _report(f: Frozen) -> None:
    info = {"binary": str(f.binary), "build_s": None if f.build_s is None else round(f.build_s, 1),
            "bundle_mb": round(_du(f.bundle) / 2**20), **{k: round(v, 2) for k, v in f.timings.items()}}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "frozen.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"\nfrozen app: {json.dumps(info)}")


def _frozen_run(f: Frozen, args: list[str], label: str) -> subprocess.CompletedProcess:
    proc, elapsed = _run([str(f.binary), *args], _user_env(f.home), f.home)
    f.timings[label] = elapsed
    return proc


def test_build_fits_the_ci_budget(frozen):
    assert frozen.binary.is_file() and os.access(frozen.binary, os.X_OK)
    assert (frozen.bundle / ("Contents/Resources" if frozen.bundle.suffix == ".app" else "_internal")).is_dir()
    if frozen.build_s is not None:
        assert frozen.build_s < BUILD_BUDGET_S, f"build took {frozen.build_s:.0f} s: trim the collected modules"


def test_info_puts_the_numba_cache_in_the_user_cache_dir(frozen):
    info = json.loads(_frozen_run(frozen, ["info", "--json"], "info_s").stdout)
    numba_dir = Path(info["paths"]["numba_cache_dir"])
    assert numba_dir.name == "numba" and numba_dir.is_relative_to(frozen.home), numba_dir
    assert not numba_dir.is_relative_to(frozen.bundle)
    assert Path(info["paths"]["data_store"]).is_relative_to(frozen.home)


def test_the_frozen_app_finds_the_benchmark_baselines(frozen):
    """The Benchmarks tab lists benchmarks/baselines/*.json; the bundle must carry them (they used to be
    found only next to a source checkout)."""
    info = json.loads(_frozen_run(frozen, ["info", "--json"], "info_s").stdout)
    found = Path(info["paths"]["benchmark_baselines"])
    assert found.is_relative_to(frozen.bundle), found
    shipped = sorted(p.name for p in found.glob("*.json"))
    assert shipped and shipped == sorted(p.name for p in (ROOT / "benchmarks" / "baselines").glob("*.json"))


@pytest.fixture(scope="module")
def demo_runs(frozen):
    """Two frozen `run --demo --json` on a fresh user cache, and numba's cache files after each."""
    info = json.loads(_frozen_run(frozen, ["info", "--json"], "info_s").stdout)
    numba_dir = Path(info["paths"]["numba_cache_dir"])
    assert not _cache_files(numba_dir), "numba's cache must start empty"  # (`info` may create the folders)
    first = _frozen_run(frozen, ["run", "--demo", "--json"], "run1_s")
    after_first = _cache_files(numba_dir)
    second = _frozen_run(frozen, ["run", "--demo", "--json"], "run2_s")
    return first, second, after_first, _cache_files(numba_dir)


def _cache_files(directory: Path) -> dict[str, tuple[int, int, str]]:
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns,
                                            hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_run_demo_equals_unfrozen(frozen, demo_runs, tmp_path):
    first, second, _, _ = demo_runs
    unfrozen = json.loads(_unfrozen(["run", "--demo", "--json"], tmp_path).stdout)
    assert json.loads(first.stdout) == unfrozen
    assert json.loads(second.stdout) == unfrozen


def test_second_run_compiles_nothing(frozen, demo_runs):
    _, _, after_first, after_second = demo_runs
    index = [name for name in after_first if name.endswith(".nbi")]
    assert index, f"no numba index files in the user cache after the first run: {sorted(after_first)}"
    assert any(name.endswith(".nbc") for name in after_first)
    assert after_second == after_first, "the second run wrote to numba's cache: it compiled something"
    first_s, second_s = frozen.timings["run1_s"], frozen.timings["run2_s"]
    assert second_s < 0.5 * first_s, f"second run {second_s:.1f} s vs first {first_s:.1f} s: no cache hit?"


def test_sweep_workers_are_the_frozen_binary(frozen, demo_runs, tmp_path):
    import psutil

    seen: dict[int, tuple[list[str], str]] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(frozen.binary), *SWEEP], env=_user_env(frozen.home), cwd=frozen.home,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None and time.perf_counter() - t0 < RUN_TIMEOUT_S:
            try:
                children = parent.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for child in children:
                # read again on every poll: a child caught between fork and exec still shows its parent's
                # command line (seen under load: a worker then looked like a copy of the sweep command)
                try:
                    seen[child.pid] = (child.cmdline(), child.exe())
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    pass
            time.sleep(0.02)
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    frozen.timings["sweep_s"] = time.perf_counter() - t0
    assert proc.returncode == 0, err[-4000:]

    workers = {pid: exe for pid, (cmd, exe) in seen.items() if "--multiprocessing-fork" in cmd}
    assert len(workers) >= 2, f"expected 2 spawned workers, saw children {seen}"
    assert {Path(exe).resolve() for exe in workers.values()} == {frozen.binary.resolve()}
    assert all(Path(exe).resolve() != Path(sys.executable).resolve() for _, exe in seen.values())

    rows = json.loads(out)["rows"]
    assert len(rows) == 24
    assert rows == json.loads(_unfrozen(SWEEP, tmp_path).stdout)["rows"]


def test_gui_screenshot_offscreen(frozen, demo_runs):
    shot = frozen.home / "screens" / "frozen-gui.png"
    _frozen_run(frozen, ["gui", "--screenshot", str(shot)], "gui_s")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1280, 800)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "frozen-gui.png")


def test_nothing_was_written_inside_the_bundle(frozen):
    """Last: every run above (kernels compiled, store created, results cached) left the bundle as built."""
    assert _tree(frozen.bundle) == frozen.tree_after_build
    if sys.platform == "darwin":  # and the signature still holds
        subprocess.run(["codesign", "--verify", "--deep", "--strict", str(frozen.bundle)], check=True)
