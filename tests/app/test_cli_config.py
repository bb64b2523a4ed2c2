"""`backbench config` and the settings wired into the commands: file < env < flag, errors exit 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.settings import KEYS, SPECS
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars
from engine.sweep.executors import SerialExecutor


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Path:
    """A private settings file path (not yet written) and no settings variables from the outside."""
    for spec in KEYS:
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.setenv("BACKBENCH_CONFIG", str(tmp_path / "backbench.toml"))
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "backbench.toml"


def show(capsys, *extra: str) -> dict:
    assert main(["config", "show", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["settings"]


def test_path_init_and_show(cfg, capsys):
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(cfg)
    before = show(capsys)
    assert set(before) == set(SPECS) and before.pop("cache.dir")["source"] == "env BACKBENCH_CACHE_DIR"
    assert {v["source"] for v in before.values()} == {"default"}
    assert main(["config", "init"]) == 0 and cfg.exists()
    assert capsys.readouterr().out.strip() == f"wrote {cfg}"
    after = show(capsys)
    del after["cache.dir"]
    assert {k: v["value"] for k, v in after.items()} == {k: v["value"] for k, v in before.items()}
    assert all(v["source"].startswith(f"file {cfg}:") for v in after.values())
    assert main(["config", "init"]) == 2
    assert "already exists; use --force" in capsys.readouterr().err
    assert main(["config", "init", "--force"]) == 0


def test_show_lists_every_key_with_its_source(cfg, capsys, monkeypatch):
    cfg.write_text("[simulation]\ncommission = 0.001\n\n[ui]\nrefresh_hz = 50\n")
    monkeypatch.setenv("BACKBENCH_SWEEP_METRIC", "sqn")
    capsys.readouterr()
    assert main(["config", "show", "--set", "workers.count=3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"settings file: {cfg}"
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == [spec.key for spec in KEYS]
    assert rows["simulation.commission"].endswith(f"file {cfg}:2")
    assert rows["ui.refresh_hz"].endswith(f"file {cfg}:5")
    assert rows["sweep.metric"].split()[1] == "sqn" and rows["sweep.metric"].endswith("env BACKBENCH_SWEEP_METRIC")
    assert rows["workers.count"].split()[1] == "3" and rows["workers.count"].endswith("flag --set workers.count")
    assert rows["simulation.fill"].endswith("default")


def test_store_path_file_env_flag(cfg, capsys, monkeypatch, tmp_path):
    # `data vacuum` names the store it was pointed at (none of them exists)
    def store_used(*argv: str) -> str:
        assert main(["data", "vacuum", *argv]) == 2
        return capsys.readouterr().err.split("store ")[1].split(":")[0]

    cfg.write_text(f'[store]\npath = "{tmp_path / "file.duckdb"}"\n')
    assert store_used() == str(tmp_path / "file.duckdb")
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "env.duckdb"))
    assert store_used() == str(tmp_path / "env.duckdb")
    assert store_used("--db", str(tmp_path / "flag.duckdb")) == str(tmp_path / "flag.duckdb")


def test_commission_file_env_flag(cfg, capsys, monkeypatch):
    def equity(*argv: str) -> float:
        assert main(["run", "--demo", "--json", "--no-cache", *argv]) == 0
        return json.loads(capsys.readouterr().out)["stats"]["equity_final"]

    def expected(commission: float) -> float:
        return run_backtest(demo_bars("ACME"), "sma_cross", {}, SimConfig(commission=commission)).stats["equity_final"]

    cfg.write_text("[simulation]\ncommission = 0.001\n")
    assert equity() == expected(0.001)
    monkeypatch.setenv("BACKBENCH_SIMULATION_COMMISSION", "0.002")
    assert equity() == expected(0.002)
    assert equity("--commission", "0.003") == expected(0.003)


def test_workers_and_metric_file_env_flag(cfg, capsys, monkeypatch):
    used: list[tuple] = []

    def fake_executor(spec, workers=None, threads_per_worker=1, **_options):
        used.append((spec, workers, threads_per_worker))
        return SerialExecutor()

    monkeypatch.setattr("engine.sweep.executors.make_executor", fake_executor)

    def sweep(*argv: str) -> str:
        assert main(["sweep", "--demo", "-g", "n1=5,10", "-g", "n2=40", "--no-cache", *argv]) == 0
        return capsys.readouterr().out.splitlines()[1]  # the table header

    cfg.write_text("[workers]\ncount = 3\nthreads_per_worker = 2\n[sweep]\nmetric = \"sqn\"\n")
    assert "sqn" in sweep() and used[-1] == ("local", 3, 2)
    monkeypatch.setenv("BACKBENCH_WORKERS_COUNT", "2")
    monkeypatch.setenv("BACKBENCH_SWEEP_METRIC", "calmar_ratio")
    assert "calmar_ratio" in sweep() and used[-1] == ("local", 2, 2)
    assert "sortino_ratio" in sweep("--workers", "1", "--metric", "sortino_ratio") and used[-1] == ("local", 1, 2)


def test_strategies_dir_from_settings(cfg, capsys):
    examples = Path(__file__).resolve().parents[2] / "docs" / "examples"
    cfg.write_text(f'[strategies]\ndir = "{examples}"\n')
    assert main(["strategies"]) == 0
    assert "rsi_trend (v1)" in capsys.readouterr().out


def test_compat_ignores_file_rules_but_keeps_cash_and_commission(cfg, capsys):
    cfg.write_text('[simulation]\nfill = "close"\nsizing = "percent"\nsize = 0.5\ncommission = 0.002\n')
    assert main(["run", "--demo", "--json", "--no-cache", "--compat", "backtesting"]) == 0
    got = json.loads(capsys.readouterr().out)["stats"]
    want = run_backtest(demo_bars("ACME"), "sma_cross", {}, SimConfig.preset("backtesting", commission=0.002))
    assert got["equity_final"] == want.stats["equity_final"]


def test_bad_settings_exit_2_naming_file_and_line(cfg, capsys, monkeypatch):
    cfg.write_text("[simulation]\n# fees\ncomission = 0.001\n")
    assert main(["run", "--demo"]) == 2
    err = capsys.readouterr().err
    assert err == (f"backbench: error: {cfg}:3: unknown key 'comission' in [simulation]; did you mean "
                   "'commission'? (keys: init_cash, commission, fixed_fee, slippage, fill, sizing, size, "
                   "sl, tp, trail, direction, on_entry_while_long, accumulate, on_opposite_entry, "
                   "same_bar_conflict, at_end, margin, maintenance, risk_free_rate)\n")
    assert main(["config", "path"]) == 0  # still works: it is how you find the broken file
    assert main(["config", "init", "--force"]) == 0
    assert main(["config", "show"]) == 0
    monkeypatch.setenv("BACKBENCH_UI_REFRESH_HZ", "fast")
    capsys.readouterr()
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == ("backbench: error: env BACKBENCH_UI_REFRESH_HZ: 'fast' is not a whole "
                                       "number (ui.refresh_hz)\n")


def test_entry_point_sets_threads_and_numba_cache_dir_first(cfg, tmp_path):
    """In a fresh process: the file's thread cap and numba cache dir are in the environment before
    numpy/numba load (`info` reports what numba and the thread env saw)."""
    cfg.write_text(f'[workers]\nthreads_main = 1\n[numba]\ncache_dir = "{tmp_path / "numba"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k not in (
        "VECLIB_MAXIMUM_THREADS", "NUMBA_CACHE_DIR")}
    code = "import sys; from app.cli import main; sys.exit(main(['info', '--json']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert set(info["thread_env"].values()) == {"1"}
    assert info["paths"]["numba_cache_dir"] == str(tmp_path / "numba")
    assert info["config_file"] == str(cfg)


_POLARS_FREES = """
import sys
if sys.argv[1] == "cli":
    from app.cli_config import apply_process_settings
    apply_process_settings(None)
import polars as pl, psutil
p = psutil.Process()
before = p.memory_info().rss
s = pl.int_range(0, 8_000_000, eager=True) * 2  # 64 MB, allocated by polars itself
del s
print((p.memory_info().rss - before) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS after free: glibc and Linux's accounting")
def test_the_command_line_makes_polars_hand_freed_frames_back():
    """A sweep's parent reads its file with polars, then allocates nothing in polars: polars' jemalloc kept
    the frame's pages to the process's end unless told before polars loads (engine/runtime/heap.py)."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}

    def held_mb(mode: str) -> float:
        proc = subprocess.run([sys.executable, "-c", _POLARS_FREES, mode], capture_output=True, text=True,
                              env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return float(proc.stdout)

    assert held_mb("plain") > 40
    assert held_mb("cli") < 16


def test_cache_dir_and_limits_from_settings(cfg, capsys, monkeypatch, tmp_path):
    from engine.cache import default_cache, reset_default_cache

    monkeypatch.delenv("BACKBENCH_CACHE_DIR")
    cfg.write_text(f'[cache]\ndir = "{tmp_path / "c2"}"\nl1_mb = 1\nl2_mb = 3\nttl_s = 60\n')
    try:
        assert main(["cache", "stats", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        cache = default_cache()
        assert out["directory"] == str(tmp_path / "c2") and out["max_bytes"] == 3 << 20
        assert cache.l1.max_bytes == 1 << 20 and cache.l1.ttl == 60.0
    finally:
        reset_default_cache()
