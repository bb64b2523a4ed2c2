"""The Dask executor (extra 'cluster') gives the same table as the local pool and a serial run."""

import pytest

pytest.importorskip("distributed")

from engine.dask_executor import DaskExecutor  # noqa: E402
from engine.data.demo import generate_bars  # noqa: E402
from engine.errors import ConfigError  # noqa: E402
from engine.executors import LocalExecutor  # noqa: E402
from engine.sweep import run_sweep  # noqa: E402

GRID = {"n1": [5, 10, 15, 20], "n2": [30, 50, 70]}


def test_dask_local_cluster_equals_local_pool_and_serial():
    a, b = generate_bars("DSK1", 2_000, "1d"), generate_bars("DSK2", 1_500, "1d")
    serial = run_sweep([a, b], "sma_cross", GRID).rows
    with LocalExecutor(2) as pool:
        local = run_sweep([a, b], "sma_cross", GRID, executor=pool, chunk_size=3).rows
    with DaskExecutor(None, workers=2) as dask:
        assert dask.workers == 2
        clustered = run_sweep([a, b], "sma_cross", GRID, executor=dask, chunk_size=3).rows
    assert local.equals(serial)
    assert clustered.equals(serial)


def test_tls_without_certificates_is_a_clear_error(monkeypatch):
    for k in ("BACKBENCH_TLS_CA", "BACKBENCH_TLS_CERT", "BACKBENCH_TLS_KEY"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigError, match="tls:// needs BACKBENCH_TLS_CA"):
        DaskExecutor("tls://127.0.0.1:8786")


def test_tls_with_a_missing_certificate_file_names_it(monkeypatch, tmp_path):
    for k in ("BACKBENCH_TLS_CA", "BACKBENCH_TLS_CERT"):
        (tmp_path / k).write_text("x")
        monkeypatch.setenv(k, str(tmp_path / k))
    monkeypatch.setenv("BACKBENCH_TLS_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=f"BACKBENCH_TLS_KEY={tmp_path / 'missing.pem'}: no such file"):
        DaskExecutor("tls://127.0.0.1:8786")


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:1", timeout_s=2)
