"""The real-window tier: tests/app/gui/xcb_scenarios.py in a child pytest on Qt's xcb platform under Xvfb.

One process can have one Qt platform and this suite's is offscreen, so the scenarios (launch, run, sweep and a
heatmap click, the import dialog, close and restore, the empty states, the tour) run in one child pytest with
QT_QPA_PLATFORM=xcb, where pytest-xvfb starts Xvfb; each scenario's outcome is reported here by name from the
child's JUnit XML. `.ci/run` installs Xvfb and the xcb plugin's libraries where they are missing.
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.gui.platform_check import check

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 is Linux's")]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SCENARIOS = HERE / "xcb_scenarios.py"
NAMES = sorted(line.split("(")[0][4:] for line in SCENARIOS.read_text().splitlines() if line.startswith("def test_"))


@pytest.fixture(scope="module")
def child_run(tmp_path_factory):
    """Runs every scenario once, in one child; {name: (outcome, message)}."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: apt-get install xvfb (.ci/run installs it and the xcb libraries)")
    tmp = tmp_path_factory.mktemp("xcb")
    junit = tmp / "junit.xml"
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYQTGRAPH_QT_LIB="PySide6")
    env.pop("DISPLAY", None)  # pytest-xvfb gives the child its own X server
    problem = _xcb_problem(env)
    if problem:
        pytest.fail(problem)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SCENARIOS),
                           f"--junitxml={junit}", "--basetemp", str(tmp / "base")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if not junit.exists():
        pytest.fail(f"the xcb child run ended with code {proc.returncode} and no report:\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-4000:]}")
    results: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = str(case.get("name")).split("[")[0]  # a parametrized scenario passes when every case does
        bad = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        if bad is not None:
            results[name] = (bad.tag, f"{case.get('name')}: {bad.get('message', '')}\n{bad.text or ''}")
        else:
            results.setdefault(name, ("passed", ""))
    return results


def _xcb_problem(env: dict[str, str]) -> str | None:
    """The app's own platform check, on a throwaway Xvfb (xvfb-run): a missing library is named at once."""
    if shutil.which("xvfb-run") is None:
        return None
    probe = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "app.gui.platform_check"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    return None if probe.returncode == 0 else probe.stdout + probe.stderr


def test_the_scenarios_are_found():
    assert len(NAMES) >= 8 and "test_run_by_clicking_the_toolbar_button" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_in_a_real_x11_window(child_run, name):
    outcome, message = child_run.get(name, ("not run", ""))
    assert outcome == "passed", f"{name}: {outcome}\n{message}"


def test_the_platform_check_passes_where_the_scenarios_run():
    """The other side of tests/app/gui/test_platform_check.py: where xcb works, the probe lets the app start."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("no xvfb-run")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    assert _xcb_problem(env) is None
    assert check(dict(env, DISPLAY=":4242")) is not None  # and the same probe refuses a display with no server


def test_backbench_gui_makes_the_docs_screenshot_in_a_real_window(tmp_path):
    """How docs/images/results.png is made (README): the app itself, platform check included, on Xvfb with xcb."""
    if shutil.which("xvfb-run") is None:
        pytest.fail("xvfb-run is not installed: apt-get install xvfb xauth (.ci/run installs them)")
    shot = tmp_path / "results.png"
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", BACKBENCH_DB=str(tmp_path / "bars.duckdb"),
               BACKBENCH_CACHE_DIR=str(tmp_path / "cache"), BACKBENCH_CONFIG=str(tmp_path / "backbench.toml"))
    proc = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", sys.executable, "-m", "app.cli", "gui",
                           "--screenshot", str(shot), "--tab", "results", "--workers", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
