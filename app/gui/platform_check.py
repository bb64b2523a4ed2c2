"""Can Qt open a window here? Asked in a child process before the app creates its QApplication.

Why: when Qt's platform plugin cannot load (on Linux, most often a missing xcb library such as
libxcb-cursor0 or libxcb-icccm4), Qt prints a page of plugin names, blames libxcb-cursor0 whatever is
missing, and aborts the process. The child takes that abort; `backbench gui` then prints one line naming
the library that is missing and the package that provides it, and exits with code 2.

    python -m app.gui.platform_check --apt-packages   # the Debian packages the xcb plugin still needs

No Qt import at module level: this runs before Qt is loaded, and in `.ci/run` before the tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PROBE_ENV = "BACKBENCH_QT_PROBE"  # set in the child: the frozen app's binary runs the probe, not the CLI
PROBE_TIMEOUT_S = 30
# Platforms that need no system library beyond what QtGui itself links: never probed.
SELF_CONTAINED = ("offscreen", "minimal")

# The shared libraries Qt's xcb plugin (and Qt itself) link against -> the Debian/Ubuntu package of each.
LIBRARY_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
HEADLESS = "or run without a window: `backbench run --demo`, `backbench gui --screenshot out.png`"

_CANNOT_LOAD = re.compile(r"Cannot load library \S+?: \(?(\S+?\.so(?:\.\d+)*): ([^)\"\n]+)")
_NO_DISPLAY = re.compile(r"could not connect to display ?(\S*)")
_NOT_FOUND = re.compile(r'Could not find the Qt platform plugin "([^"]+)"')
_PROBE_CODE = ("import sys\nfrom PySide6.QtGui import QGuiApplication\napp = QGuiApplication(sys.argv[:1])\n"
               "print(app.platformName())\n")


def platform_name(env: dict[str, str] | None = None) -> str:
    """The Qt platform the app will ask for ('' = Qt's own default for this OS)."""
    return (env if env is not None else os.environ).get("QT_QPA_PLATFORM", "").split(":")[0].strip()


def needs_probe(env: dict[str, str] | None = None) -> bool:
    """Linux (and the BSDs) only: macOS and Windows ship their platform plugin's libraries with the OS."""
    return sys.platform not in ("darwin", "win32") and platform_name(env) not in SELF_CONTAINED


def probe_command() -> list[str]:
    if getattr(sys, "frozen", False):  # the app's own binary, told by PROBE_ENV to run the probe
        return [sys.executable]
    return [sys.executable, "-c", _PROBE_CODE]


def probe_child() -> int:
    """The child's side in the frozen app (`PROBE_ENV` set): start Qt's platform, report it, exit 0."""
    exec(_PROBE_CODE, {"__name__": "__probe__"})
    return 0


def check(env: dict[str, str] | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when Qt starts its platform here; else the one line that says why not and what to install.

    A probe that does not finish in `timeout_s` counts as a start (a slow machine must not be refused)."""
    child_env = dict(env if env is not None else os.environ)
    child_env.update({"QT_DEBUG_PLUGINS": "1", PROBE_ENV: "1"})
    try:
        proc = subprocess.run(probe_command(), env=child_env, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode == 0:
        return None
    return explain(proc.stderr, platform_name(child_env) or "xcb")


def explain(qt_output: str, platform: str = "xcb") -> str:
    """One line from Qt's failed start (its stderr with QT_DEBUG_PLUGINS=1): what is missing, what provides it."""
    # the platform plugin's own load failure (not, say, an optional theme plugin's)
    load = next((m for m in _CANNOT_LOAD.finditer(qt_output) if f"/libq{platform}." in m.group(0)), None)
    if load is not None:
        library, reason = Path(load.group(1)).name, load.group(2).strip()
        package = LIBRARY_PACKAGES.get(library)
        fix = (f"install the package {package} (Debian/Ubuntu: sudo apt-get install {package})" if package
               else f"install the package that provides {library}")
        return (f"backbench: cannot open a window: Qt's {platform} platform plugin cannot load {library} "
                f"({reason}); {fix}, {HEADLESS}")
    display = _NO_DISPLAY.search(qt_output)
    if display is not None:
        name = display.group(1) or os.environ.get("DISPLAY", "")
        return (f"backbench: cannot open a window: no X server answers on display {name!r} (is DISPLAY right, is "
                f"the X server running?); {HEADLESS}")
    missing = _NOT_FOUND.search(qt_output)
    if missing is not None:
        return (f"backbench: cannot open a window: Qt has no platform plugin {missing.group(1)!r} (check "
                f"QT_QPA_PLATFORM; try xcb or wayland); {HEADLESS}")
    last = next((line.strip() for line in reversed(qt_output.splitlines()) if line.strip()), "no output")
    return f"backbench: cannot open a window: Qt's {platform} platform did not start ({last}); {HEADLESS}"


def missing_libraries(plugin: Path | None = None) -> list[str]:
    """The libraries `ldd` cannot find for Qt's xcb plugin (Linux; [] where there is no ldd)."""
    if plugin is None:
        import PySide6

        plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted({line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line})


def apt_packages() -> list[str]:
    """What the real-window tests need that this machine lacks: Xvfb, the xcb plugin's libraries, a font."""
    import shutil

    need = [package for tool, package in (("Xvfb", "xvfb"), ("xauth", "xauth")) if shutil.which(tool) is None]
    for library in missing_libraries():
        package = LIBRARY_PACKAGES.get(library)
        if package is None:
            print(f"platform_check: no package known for {library}", file=sys.stderr)
        elif package not in need:
            need.append(package)
    if not any(Path(d).is_dir() and any(Path(d).rglob("*.ttf")) for d in ("/usr/share/fonts",)):
        need.append("fonts-dejavu-core")  # without a font every label draws empty
    return need


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--apt-packages"]:
        print(" ".join(apt_packages()))
        return 0
    message = check()
    print(message or f"Qt starts its {platform_name() or 'default'} platform here")
    return 2 if message else 0


if __name__ == "__main__":
    sys.exit(main())
