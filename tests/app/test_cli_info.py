"""`backbench info`: text and JSON output, paths honouring their environment variables, fake Macs."""

import json
import subprocess
import sys
from pathlib import Path

import numba

from app.cli import main
from app.cli_info import NUMBA_NEXT_TO_SOURCES, collect_info
from engine.runtime.hardware import default_workers, detect
from engine.runtime.threads import THREAD_ENV_VARS
from tests.engine import fixtures_hardware as fx


def info_json(capsys):
    assert main(["info", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_hardware_workers_and_paths(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "bars.duckdb"))
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    d = info_json(capsys)
    info = detect()
    assert d["default_workers"] == default_workers(info) >= 1
    assert d["perf_physical"] == info.perf_physical and d["logical_cpus"] == info.logical_cpus
    assert d["blas_backend"] == info.blas_backend and d["numba_version"] == numba.__version__
    assert set(d["thread_env"]) == set(THREAD_ENV_VARS) and d["thread_env"]["OMP_NUM_THREADS"] == "3"
    assert d["paths"] == {"data_store": str(tmp_path / "bars.duckdb"), "cache_dir": str(tmp_path / "cache"),
                          "numba_cache_dir": str(tmp_path / "numba"),
                          "benchmark_baselines": str(Path(__file__).resolve().parents[2] / "benchmarks" / "baselines")}


def test_default_paths_without_env(capsys, monkeypatch):
    for var in ("BACKBENCH_DB", "BACKBENCH_CACHE_DIR", "NUMBA_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    paths = info_json(capsys)["paths"]
    assert Path(paths["data_store"]).name == "backbench.duckdb" and "Backbench" in paths["data_store"]
    assert "Backbench" in paths["cache_dir"]
    assert paths["numba_cache_dir"] == NUMBA_NEXT_TO_SOURCES


def test_text_output(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "x.duckdb"))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for label in ("CPU", "Performance cores", "Efficiency cores", "BLAS", "numba", "Sweep workers",
                  "Data store", "Cache dir", "Numba cache"):
        assert any(line.startswith(label + " ") for line in out.splitlines()), label
    assert str(tmp_path / "x.duckdb") in out


def test_fake_mac_reported(capsys):
    from argparse import Namespace

    from app.cli_info import cmd_info
    d = collect_info(fx.m2_pro())
    assert d["apple_silicon"] and d["cpu_brand"] == "Apple M2 Pro" and d["default_workers"] == 8
    assert d["perf_levels"] == [{"name": "Performance", "physical": 8, "logical": 8},
                                {"name": "Efficiency", "physical": 4, "logical": 4}]
    assert d["gui_threads"] == 4
    assert cmd_info(Namespace(json=False), fx.m2_pro()) == 0
    out = capsys.readouterr().out
    assert "Apple M2 Pro (arm64, Darwin, Apple Silicon)" in out
    assert "0: Performance 8 physical, 8 logical; 1: Efficiency 4 physical, 4 logical" in out


def test_fake_linux_hybrid_text(capsys):
    from argparse import Namespace

    from app.cli_info import cmd_info
    assert cmd_info(Namespace(json=False), fx.i9_12900k()) == 0
    out = capsys.readouterr().out
    assert "P-core CPU ids" in out and "0-15" in out
    assert "Performance cores  8 physical, 16 logical" in out


def test_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "app.cli", "info", "--json"], capture_output=True, text=True,
                         check=True, timeout=60)
    assert json.loads(out.stdout)["default_workers"] >= 1


def test_info_shows_the_paths_the_commands_use(monkeypatch, tmp_path, capsys):
    from app.settings import default_path

    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "a.duckdb"))
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "c"))
    assert main(["info", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)["paths"]
    assert (paths["data_store"], paths["cache_dir"]) == (str(tmp_path / "a.duckdb"), str(tmp_path / "c"))
    for var in ("BACKBENCH_DB", "BACKBENCH_CACHE_DIR"):
        monkeypatch.delenv(var)
    assert main(["info", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)["paths"]
    assert (paths["data_store"], paths["cache_dir"]) == (str(default_path("store")), str(default_path("cache")))
    assert default_path("store").name == "backbench.duckdb" and "ackbench" in str(default_path("store").parent)


def test_bench_command_runs_the_runner_as_a_program_with_the_same_arguments():
    """`backbench bench` no longer imports the benchmarks package (app -> benchmarks was a circle): it starts
    `python -m benchmarks` with an equivalent command line."""
    import argparse
    import subprocess
    import sys

    from app.cli_bench import add_bench_arguments, bench_argv

    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    for argv in (["run", "--suite", "cache", "gui", "--filter", "l1*", "--quick", "--out", "x.json",
                  "--threshold", "5%", "--compare", "b.json"], ["report", "r.json", "--html", "o.html"], []):
        args = parser.parse_args(argv)
        assert vars(parser.parse_args(bench_argv(args))) == vars(args)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "bench", "list"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "backtest" in proc.stdout and "cache" in proc.stdout
    imports = subprocess.run([sys.executable, "-c", "import sys, app.cli, app.cli_bench; "
                              "print(any(m.startswith('benchmarks') for m in sys.modules))"],
                             capture_output=True, text=True, timeout=60)
    assert imports.stdout.strip() == "False"


USES = """
import json
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.kernels.jit import _KERNELS, use_numba
from engine.strategies import list_strategies
from engine.sweep import run_sweep
from engine.sweep.executors import LocalExecutor

use_numba()
bars = generate_bars("USE", 6_000, "1h", seed=4)  # past the Python kernels' size: numba, as a real run
for s in list_strategies():
    run_backtest(bars, s.name, {}, SimConfig(commission=0.001)).drawdown_pct
run_backtest(bars, "sma_cross", {}, SimConfig.preset("vectorbt")).to_json_dict()
with LocalExecutor(1) as pool:  # a worker: bars from shared memory, read-only
    run_sweep(bars, "sma_cross", {"n1": [5, 10], "n2": [20, 30]}, executor=pool)
used = [k.dispatcher for k in _KERNELS if k.dispatcher is not None and k.dispatcher.signatures]
print(json.dumps({"used": len(used), "compiled": {k.py_func.__qualname__: sum(k.dispatcher.stats.cache_misses.values())
                  for k in _KERNELS if k.dispatcher is not None and k.dispatcher.signatures}}))
"""


def test_after_compile_a_fresh_process_runs_sweeps_and_every_builtin_without_compiling():
    """`backbench compile` (the README's install step) leaves numba's disk cache holding every signature a
    run of each builtin, a preset's peer stats and a pool sweep call: a new process compiles nothing."""
    done = subprocess.run([sys.executable, "-m", "app.cli", "compile"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert " kernels compiled or loaded in " in done.stdout
    run = subprocess.run([sys.executable, "-c", USES], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["used"] >= 10
    assert {name: n for name, n in out["compiled"].items() if n} == {}
