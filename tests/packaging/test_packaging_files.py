"""The packaging files without building anything: the build scripts refuse clearly where they cannot work,
the entry point and the spec hold the decisions packaging/README.md describes, the entitlements and the
icons are well formed. (The frozen build itself: test_frozen.py.)"""

from __future__ import annotations

import ast
import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
MACOS = PACKAGING / "build_macos.sh"
LINUX = PACKAGING / "build_linux.sh"
CREDENTIAL_VARS = ("BACKBENCH_SIGN_IDENTITY", "BACKBENCH_NOTARY_PROFILE", "BACKBENCH_NOTARY_KEY",
                   "BACKBENCH_NOTARY_KEY_ID", "BACKBENCH_NOTARY_ISSUER", "BACKBENCH_NOTARY_APPLE_ID",
                   "BACKBENCH_NOTARY_TEAM_ID", "BACKBENCH_NOTARY_PASSWORD")


def _script(path: Path, *args: str, env_extra: dict[str, str] | None = None,
            fake_uname: tuple[str, str] | None = None, tmp_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env.update(env_extra or {})
    if fake_uname:  # pretend to be another OS: a `uname` earlier on PATH (no hook in the scripts themselves)
        assert tmp_path is not None
        shim = tmp_path / "bin"
        shim.mkdir(exist_ok=True)
        system, machine = fake_uname
        (shim / "uname").write_text(f'#!/bin/sh\ncase "$1" in -m) echo {machine};; *) echo {system};; esac\n')
        (shim / "uname").chmod(0o755)
        env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", str(path), *args], env=env, capture_output=True, text=True, timeout=60)


def _refusal(proc: subprocess.CompletedProcess) -> str:
    """The script exited non-zero with exactly one line on stderr and nothing on stdout; that line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the refusal off macOS")
@pytest.mark.parametrize("args", [(), ("--unsigned",)])
def test_macos_build_refuses_off_macos(args):
    line = _refusal(_script(MACOS, *args))
    assert line.startswith("build_macos.sh: refusing to run on ")
    assert "macOS" in line and "build_linux.sh" in line


def test_macos_build_refuses_intel_macs(tmp_path):
    line = _refusal(_script(MACOS, "--unsigned", fake_uname=("Darwin", "x86_64"), tmp_path=tmp_path))
    assert "refusing to run on x86_64" in line and "arm64" in line


def test_macos_build_refuses_without_credentials(tmp_path):
    line = _refusal(_script(MACOS, fake_uname=("Darwin", "arm64"), tmp_path=tmp_path))
    assert line.startswith("build_macos.sh: refusing to sign: credentials not set: BACKBENCH_SIGN_IDENTITY, ")
    assert "BACKBENCH_NOTARY_PROFILE" in line and "--unsigned" in line


def test_macos_build_names_the_missing_half_of_a_credential_set(tmp_path):
    proc = _script(MACOS, fake_uname=("Darwin", "arm64"), tmp_path=tmp_path,
                   env_extra={"BACKBENCH_SIGN_IDENTITY": "Developer ID Application: X (TEAM123456)",
                              "BACKBENCH_NOTARY_APPLE_ID": "dev@example.com"})
    line = _refusal(proc)
    assert "credentials not set: BACKBENCH_NOTARY_TEAM_ID, BACKBENCH_NOTARY_PASSWORD;" in line
    assert "dev@example.com" not in line and "TEAM123456" not in line  # never echoes what was given


@pytest.mark.skipif(sys.platform == "darwin", reason="a real Mac has the tools")
def test_macos_build_past_the_checks_needs_the_xcode_tools(tmp_path):
    """With credentials and a (pretend) Mac, the script still stops before building anything here."""
    proc = _script(MACOS, fake_uname=("Darwin", "arm64"), tmp_path=tmp_path,
                   env_extra={"BACKBENCH_SIGN_IDENTITY": "-", "BACKBENCH_NOTARY_PROFILE": "ci"})
    assert "refusing to run: xcrun not found" in _refusal(proc)


def test_scripts_reject_unknown_options_and_have_help():
    assert "unknown option --nope" in _refusal(_script(MACOS, "--nope"))
    assert "unknown option --nope" in _refusal(_script(LINUX, "--nope"))
    for script in (MACOS, LINUX):
        proc = _script(script, "--help")
        assert proc.returncode == 0 and "packaging/README.md" in proc.stdout


def test_linux_build_refuses_off_linux(tmp_path):
    line = _refusal(_script(LINUX, fake_uname=("Darwin", "arm64"), tmp_path=tmp_path))
    assert line.startswith("build_linux.sh: refusing to run on Darwin") and "build_macos.sh" in line


def test_scripts_are_valid_bash_and_executable():
    for script in (MACOS, LINUX):
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_entry_point_calls_freeze_support_first():
    tree = ast.parse((PACKAGING / "entry.py").read_text(encoding="utf-8"))
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert isinstance(body[0], ast.Import) and body[0].names[0].name == "multiprocessing"
    call = body[1]
    assert isinstance(call, ast.Expr) and ast.unparse(call) == "multiprocessing.freeze_support()"


def test_spec_holds_the_packaging_decisions():
    spec = (PACKAGING / "backbench.spec").read_text(encoding="utf-8")
    for needle in ('module_collection_mode={"engine": "py"}', 'target_arch="arm64" if sys.platform == "darwin"',
                   'MACOS_MIN = "14.0"', '"LSMinimumSystemVersion": MACOS_MIN', '"NSHighResolutionCapable": True',
                   'bundle_identifier=BUNDLE_ID', 'name="Backbench.app"',
                   '"pyproject.toml"', "Backbench.icns", "exclude_binaries=True", "codesign_identity=SIGN_IDENTITY",
                   'os.environ.get("BACKBENCH_SIGN_IDENTITY")', '"entitlements.plist"'):
        assert needle in spec, needle
    assert "NSAppSleepDisabled" not in spec  # App Nap is held off per sweep (app/macos_activity.py), not app-wide
    excludes = ast.literal_eval(spec.split("EXCLUDES = ", 1)[1].split("\n]\n", 1)[0] + "\n]")
    for name in ("vectorbt", "backtesting", "pandas", "pytest", "hypothesis", "dask", "distributed"):
        assert name in excludes, name
    for needed in ("PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets", "numba", "llvmlite", "polars", "duckdb",
                   "pyarrow", "engine", "app"):  # pyqtgraph imports the two Qt modules unconditionally
        assert needed not in excludes, needed


def test_entitlements_are_the_jit_ones_only():
    with open(PACKAGING / "entitlements.plist", "rb") as fh:
        granted = plistlib.load(fh)
    assert granted == {"com.apple.security.cs.allow-unsigned-executable-memory": True,
                       "com.apple.security.cs.allow-jit": True}
    readme = (PACKAGING / "README.md").read_text(encoding="utf-8")
    for key in (*granted, "com.apple.security.cs.disable-library-validation"):
        assert key in readme, f"packaging/README.md does not explain {key}"


def test_icons_come_from_one_drawing():
    sys.path.insert(0, str(PACKAGING))
    try:
        import make_icons
    finally:
        sys.path.remove(str(PACKAGING))
    assert make_icons.check() == []  # the committed files: complete, and icns ic10 == icon.png


def test_make_icons_renders_every_size(tmp_path):
    proc = subprocess.run([sys.executable, str(PACKAGING / "make_icons.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "icon.png").stat().st_size > 10_000
    assert (tmp_path / "Backbench.icns").read_bytes()[:4] == b"icns"
