"""`backbench gui` where Qt cannot start its platform: one line naming what is missing, exit code 2.

The failures are real: `backbench gui` runs as a subprocess with the xcb platform, and Qt's own start fails
in the probe child, because a library the xcb plugin links is shadowed by an unloadable file
(LD_LIBRARY_PATH), because no X server answers on the display, or because the platform does not exist.
Without the probe each of these aborts the process (SIGABRT) after a page of Qt's plugin diagnostics.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.gui.platform_check import LIBRARY_PACKAGES, explain, needs_probe

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")

ROOT = Path(__file__).resolve().parents[3]
NO_SERVER = ":4242"


def backbench_gui(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=os.environ.get("DISPLAY") or NO_SERVER,
                BACKBENCH_DB=str(tmp_path / "bars.duckdb"), BACKBENCH_CACHE_DIR=str(tmp_path / "cache"))
    full.update(env)
    return subprocess.run([sys.executable, "-m", "app.cli", "gui", "--workers", "1"], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=120)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"exit code {proc.returncode}\n{proc.stderr[-3000:]}"
    assert len(lines) == 1, proc.stderr
    assert "Available platform plugins" not in proc.stderr and not proc.stdout
    return lines[0]


def test_a_library_the_xcb_plugin_cannot_load_is_named_with_its_package(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "libxcb-cursor.so.0").write_bytes(b"")  # found first, and no shared object: the load fails
    line = one_line(backbench_gui(tmp_path, LD_LIBRARY_PATH=str(hidden)))
    assert "cannot load libxcb-cursor.so.0 (file too short)" in line
    assert "sudo apt-get install libxcb-cursor0" in line and "backbench run --demo" in line
    assert not (tmp_path / "bars.duckdb").exists()  # refused before the app touched anything


def test_no_x_server_on_the_display_is_said_in_one_line(tmp_path):
    assert not Path(f"/tmp/.X11-unix/X{NO_SERVER[1:]}").exists()
    line = one_line(backbench_gui(tmp_path, DISPLAY=NO_SERVER))
    assert f"no X server answers on display '{NO_SERVER}'" in line


def test_a_platform_qt_does_not_have_is_said_in_one_line(tmp_path):
    line = one_line(backbench_gui(tmp_path, QT_QPA_PLATFORM="nosuchplatform"))
    assert "Qt has no platform plugin 'nosuchplatform'" in line


# What Qt 6.11 printed on a Debian 12 machine without libxcb-icccm4 (QT_DEBUG_PLUGINS=1, shortened): it blames
# xcb-cursor0, which was installed; the line that names the real culprit is the loader's.
DEBIAN_WITHOUT_ICCCM = """\
qt.core.library: "/v/PySide6/Qt/plugins/platforms/libqxcb.so" cannot load: Cannot load library \
/v/PySide6/Qt/plugins/platforms/libqxcb.so: libxcb-icccm.so.4: cannot open shared object file: No such file or directory
qt.core.plugin.loader: QLibraryPrivate::loadPlugin failed on "/v/PySide6/Qt/plugins/platforms/libqxcb.so" : \
"Cannot load library /v/PySide6/Qt/plugins/platforms/libqxcb.so: libxcb-icccm.so.4: cannot open shared object file: \
No such file or directory"
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
"""


def test_the_missing_library_is_the_loaders_not_the_one_qt_guesses():
    line = explain(DEBIAN_WITHOUT_ICCCM, "xcb")
    assert "cannot load libxcb-icccm.so.4 (cannot open shared object file: No such file or directory)" in line
    assert "apt-get install libxcb-icccm4" in line and "cursor" not in line
    assert LIBRARY_PACKAGES["libxcb-cursor.so.0"] == "libxcb-cursor0"


def test_offscreen_needs_no_probe():
    assert not needs_probe({"QT_QPA_PLATFORM": "offscreen"})
    assert needs_probe({"QT_QPA_PLATFORM": "xcb"}) and needs_probe({})


def test_ci_lists_only_debian_packages_it_knows():
    """`.ci/run` installs what this prints (nothing on a machine that has it all)."""
    proc = subprocess.run([sys.executable, "-m", "app.gui.platform_check", "--apt-packages"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    known = set(LIBRARY_PACKAGES.values()) | {"xvfb", "xauth", "fonts-dejavu-core"}
    assert set(proc.stdout.split()) <= known and proc.stdout.endswith("\n")
