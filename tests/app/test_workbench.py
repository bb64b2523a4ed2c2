"""The application service under both faces: the CLI and the app build the same things from the same settings."""

import pytest

from app.cli import _apply_settings, build_parser
from app.gui.controller import Controller
from app.settings import load_settings
from app.workbench import Workbench
from engine.errors import ConfigError
from engine.sweep.executors import LocalExecutor, SerialExecutor


def _cli_args(*argv):
    args = build_parser().parse_args(list(argv))
    _apply_settings(args, None)
    return args


def test_cli_and_app_build_the_same_executor_from_the_settings(tmp_path, monkeypatch, qtbot):
    monkeypatch.setenv("BACKBENCH_WORKERS_COUNT", "2")
    monkeypatch.setenv("BACKBENCH_WORKERS_THREADS_PER_WORKER", "3")
    monkeypatch.setenv("BACKBENCH_SWEEP_CHUNK_TIMEOUT_S", "42")
    monkeypatch.setenv("BACKBENCH_SWEEP_MEMO_MB", "7")
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "bars.duckdb"))
    cli = _cli_args("sweep", "--demo").workbench.executor()
    app = Controller(_cli_args("gui").workbench).executor()
    try:
        for ex in (cli, app):
            assert isinstance(ex, LocalExecutor)
            assert (ex.workers, ex.threads_per_worker, ex.chunk_timeout_s, ex.memo_bytes) == (2, 3, 42.0, 7 * 2**20)
        assert app.nice > 0 and cli.nice == 0  # the app's workers yield to its UI thread
    finally:
        cli.close()
        app.close()


def test_the_memo_setting_bounds_the_memo_of_every_sweep_the_executor_runs(tmp_path, monkeypatch):
    """sweep.memo_mb reaches each chunk's memo through the executor, for a sweep, an optimize and a
    walk-forward alike (none of them is given a bound of its own)."""
    from engine.data.demo import generate_bars
    from engine.sweep import run_sweep
    from engine.sweep.optimize import optimize
    from engine.sweep.walkforward import walk_forward

    bench = Workbench.from_values({"store.path": str(tmp_path / "b.duckdb"), "sweep.executor": "serial",
                                   "sweep.memo_mb": 3}, use_cache=False)
    ex = bench.executor()
    bounds = []
    real = SerialExecutor.map_chunks

    def seen(self, tasks, on_done, cancel=None):
        tasks = list(tasks)
        bounds.extend(t.memo_bytes for t in tasks)
        return real(self, tasks, on_done, cancel)

    monkeypatch.setattr(SerialExecutor, "map_chunks", seen)
    bars = generate_bars("MEMO", 600, "1d", seed=2)
    run_sweep(bars, "sma_cross", {"n1": [5, 10], "n2": [30]}, executor=ex)
    walk_forward(bars, "sma_cross", {"n1": [5, 10], "n2": [30]}, train=200, test=100, executor=ex)
    optimize(bars, "sma_cross", {"n1": [5, 10, 15], "n2": [30, 40]}, metric="sharpe_ratio", trials=3, seed=1,
             executor=ex)
    assert len(bounds) >= 3 and set(bounds) == {3 * 2**20}
    assert SerialExecutor().memo_bytes is None  # an executor built without the setting: the engine's default


def test_the_app_honours_the_executor_setting(tmp_path, qtbot):
    bench = Workbench.from_values({"store.path": str(tmp_path / "b.duckdb"), "sweep.executor": "serial"},
                                  use_cache=False)
    assert isinstance(Controller(bench).executor(), SerialExecutor)


def test_one_local_worker_is_a_process_in_the_app_and_in_process_on_the_command_line(tmp_path, qtbot):
    bench = Workbench.from_values({"store.path": str(tmp_path / "b.duckdb"), "workers.count": 1}, use_cache=False)
    assert isinstance(bench.executor(), SerialExecutor)
    ex = Controller(bench).executor()
    try:
        assert isinstance(ex, LocalExecutor) and ex.workers == 1
    finally:
        ex.close()


def test_the_app_starts_a_new_executor_when_the_settings_change(tmp_path, qtbot, monkeypatch):
    cfg = tmp_path / "backbench.toml"
    monkeypatch.setenv("BACKBENCH_CONFIG", str(cfg))
    cfg.write_text('[sweep]\nexecutor = "serial"\n')
    controller = Controller(Workbench(load_settings({"store.path": str(tmp_path / "b.duckdb")}), use_cache=False))
    first = controller.executor()
    assert isinstance(first, SerialExecutor) and controller.executor() is first
    cfg.write_text("[workers]\ncount = 2\n")
    controller.reload_settings()
    second = controller.executor()
    try:
        assert isinstance(second, LocalExecutor) and second.workers == 2
        assert controller.store_path == tmp_path / "b.duckdb"  # the flag the app started with still wins
    finally:
        controller.shutdown()


def test_tls_certificates_come_from_the_settings(tmp_path, monkeypatch):
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "cert.pem").write_text("x")
    monkeypatch.setenv("BACKBENCH_TLS_CA", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("BACKBENCH_TLS_CERT", str(tmp_path / "cert.pem"))
    monkeypatch.setenv("BACKBENCH_TLS_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=f"client key {tmp_path / 'missing.pem'}: no such file"):
        Workbench(load_settings()).executor(spec="tls://127.0.0.1:8786")


def test_import_limits_and_paths_come_from_the_settings(tmp_path):
    bench = Workbench.from_values({"data.max_rows": 7, "data.max_decompressed_mb": 3,
                                   "store.path": str(tmp_path / "s.duckdb"), "strategies.dir": str(tmp_path)})
    limits = bench.import_limits()
    assert (limits.max_rows, limits.max_decompressed_bytes) == (7, 3 << 20)
    assert (bench.store_path, bench.strategies_dir) == (tmp_path / "s.duckdb", tmp_path)


def test_load_bars_fills_an_empty_store_only_when_asked(tmp_path):
    from engine.errors import DataError

    bench = Workbench.from_values({"store.path": str(tmp_path / "s.duckdb")}, use_cache=False)
    with pytest.raises(DataError, match="no bar store at"):
        bench.load_bars("ACME")
    assert bench.ensure_demo() is True and bench.ensure_demo() is False
    bars = bench.load_bars("ACME", start="2010-01-01", end="2010-12-31")
    assert bars.symbol == "ACME" and str(bars.times()[0].astype("datetime64[D]")) == "2010-01-01"
