"""The Dask executor (extra 'cluster') gives the same table as the local pool and a serial run."""

import pytest

pytest.importorskip("distributed")

from engine.data.demo import generate_bars  # noqa: E402
from engine.errors import ConfigError  # noqa: E402
from engine.sweep import run_sweep  # noqa: E402
from engine.sweep.dask_executor import DaskExecutor, TlsFiles  # noqa: E402
from engine.sweep.executors import LocalExecutor  # noqa: E402

pytestmark = pytest.mark.slow  # real subprocesses, pools or clusters: seconds each

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


def test_tls_without_certificates_is_a_clear_error():
    with pytest.raises(ConfigError, match="tls:// needs the CA, client certificate and key files; missing: CA, "
                                          "client certificate, client key"):
        DaskExecutor("tls://127.0.0.1:8786")


def test_tls_with_a_missing_certificate_file_names_it(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "cert.pem").write_text("x")
    tls = TlsFiles(str(tmp_path / "ca.pem"), str(tmp_path / "cert.pem"), str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=f"client key {tmp_path / 'missing.pem'}: no such file"):
        DaskExecutor("tls://127.0.0.1:8786", tls=tls)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:1", timeout_s=2)


def _talk(host: str, port: int, tls: bool) -> bytes:
    """Connect like a client that lacks the cluster's certificate, say something, and read the answer."""
    import socket
    import ssl

    raw = socket.create_connection((host, port), timeout=5)
    raw.settimeout(5)
    sock = raw
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # accept its certificate; present none of our own
        sock = ctx.wrap_socket(raw)
    try:
        sock.sendall(b"\x00" * 64)
        return sock.recv(1024)
    finally:
        sock.close()


def test_the_local_cluster_speaks_tls_and_refuses_a_client_without_its_certificate():
    """On 48df530 Backbench's LocalCluster listened on plain tcp:// (pickles from anyone who connects)."""
    import ssl

    with DaskExecutor(None, workers=1) as dask:
        address = dask.client.scheduler.address
        assert address.startswith("tls://")
        host, port = address.removeprefix("tls://").rsplit(":", 1)
        for tls in (False, True):
            try:
                answer = _talk(host, int(port), tls)
            except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
                answer = b""
            assert answer == b""  # dropped: no handshake (plain) or no client certificate (TLS)
        rows = run_sweep(generate_bars("TLS", 500, "1d"), "sma_cross", {"n1": [5], "n2": [30]}, executor=dask).rows
    assert rows.equals(run_sweep(generate_bars("TLS", 500, "1d"), "sma_cross", {"n1": [5], "n2": [30]}).rows)


@pytest.mark.parametrize("address", ["tcp://10.20.30.40:8786", "tcp://192.0.2.7:8786", "ws://198.51.100.2:8786"])
def test_a_plain_scheduler_off_this_machine_is_refused_unless_insecure(address):
    from engine.sweep.dask_executor import check_address

    with pytest.raises(ConfigError, match="refusing a plain .* not on this machine.*--insecure"):
        DaskExecutor(address)  # refused before any connection is tried
    check_address(address, insecure=True)  # allowed when the user says so


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "tcp://[::1]:8786",
                                     "tls://10.20.30.40:8786"])
def test_loopback_and_tls_addresses_are_allowed(address):
    from engine.sweep.dask_executor import check_address

    check_address(address)


def test_the_cli_refuses_a_plain_remote_scheduler_with_exit_code_2(capsys):
    from app.cli import main

    assert main(["sweep", "--demo", "-g", "n1=5", "-g", "n2=30", "--executor", "tcp://10.20.30.40:8786"]) == 2
    err = capsys.readouterr().err
    assert "refusing a plain tcp:// scheduler" in err and "--insecure" in err


def test_bars_sent_to_a_worker_stay_read_only():
    import pickle

    bars = pickle.loads(pickle.dumps(generate_bars("PKL", 100, "1d")))
    assert not bars.close.flags.writeable and not bars.ts.flags.writeable


def test_a_strategy_object_runs_itself_on_dask():
    """On 48df530 the chunk carried only the strategy's name: a subclass named like a builtin ran the builtin."""
    from tests.engine.sweep_helpers import LaggedCross, ShadowSmaCross

    bars = generate_bars("OBJ", 800, "1d")
    grid = {"n1": [5, 10], "n2": [30]}
    with DaskExecutor(None, workers=1) as dask:
        for strategy in (ShadowSmaCross(), LaggedCross(lag=2)):
            assert run_sweep(bars, strategy, grid, executor=dask).rows.equals(run_sweep(bars, strategy, grid).rows)
        assert not run_sweep(bars, ShadowSmaCross(), grid, executor=dask).rows.equals(
            run_sweep(bars, "sma_cross", grid).rows)
