"""The installed package (a wheel, not a checkout) finds what the app looks up next to its sources."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    source = out / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "_artifacts",
                                                                  "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                   check=True, timeout=300, capture_output=True)
    wheel = next(out.glob("backbench-*.whl"))
    target = out / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, timeout=300, capture_output=True)
    return wheel, target


def test_the_wheel_carries_the_benchmark_baselines(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    committed = sorted(p.name for p in (ROOT / "benchmarks" / "baselines").glob("*.json"))
    assert committed and sorted(Path(n).name for n in names if n.startswith("benchmarks/baselines/")) == committed


def test_the_installed_app_finds_the_baselines_outside_a_checkout(installed, tmp_path):
    _, target = installed
    code = ("import json; from app.resources import baselines_dir; d = baselines_dir(); "
            "print(json.dumps([str(d), sorted(p.name for p in d.glob('*.json'))]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                          capture_output=True, text=True, timeout=60, check=True)
    where, files = json.loads(proc.stdout)
    assert Path(where).is_relative_to(target) and files
