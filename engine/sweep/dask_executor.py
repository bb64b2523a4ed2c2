"""Scale-out: the sweep executor interface on a Dask `distributed` cluster (extra `cluster`).

    DaskExecutor("tcp://scheduler:8786")     # an existing cluster
    DaskExecutor("tls://scheduler:8786", tls=TlsFiles(ca, cert, key))   # TLS with certificates
    DaskExecutor(None, workers=4)            # a LocalCluster on this machine, TLS with a temporary certificate

Each dataset is scattered to every worker once (`publish`), then tasks only carry the small chunk
description and a reference to it. Workers must have the same `backbench` version installed (the
engine's code is imported there, not shipped per task); a dead worker's tasks are rescheduled by
Dask itself. A plain tcp:// address off this machine is refused unless `insecure=True`: Dask's
messages are pickles, so a scheduler port open to others is a remote code execution hole.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.bars import Bars
from engine.errors import ConfigError
from engine.sweep.task import ChunkResult, ChunkTask, run_chunk


def _run_on_worker(task: ChunkTask, bars: Bars) -> ChunkResult:
    res = run_chunk(task, bars)
    try:
        from distributed import get_worker

        res.worker = str(get_worker().address)  # pids repeat across machines; the address names the worker
    except (ImportError, ValueError):  # not on a Dask worker (called directly)
        pass
    return res


@dataclass(frozen=True)
class TlsFiles:
    """The files a tls:// scheduler needs: the CA, this client's certificate and its key (paths)."""

    ca: str = ""
    cert: str = ""
    key: str = ""


def _security(address: str, tls: TlsFiles | None):
    if not address.startswith("tls://"):
        return None
    from distributed.security import Security

    files = tls or TlsFiles()
    named = {"CA": files.ca, "client certificate": files.cert, "client key": files.key}
    missing = [what for what, path in named.items() if not path]
    if missing:
        raise ConfigError(f"executor {address}: tls:// needs the CA, client certificate and key files; missing: "
                          f"{', '.join(missing)} (settings sweep.tls_ca, sweep.tls_cert, sweep.tls_key)")
    for what, path in named.items():
        if not os.path.isfile(path):  # else distributed reports a bare "No such file" as unreachable
            raise ConfigError(f"executor {address}: {what} {path}: no such file")
    return Security(tls_ca_file=files.ca, tls_client_cert=files.cert, tls_client_key=files.key,
                    require_encryption=True)


_PLAIN_SCHEMES = ("tcp", "ws")  # unauthenticated and unencrypted


def check_address(address: str, insecure: bool = False) -> None:
    """Refuse a plain (tcp://, ws://) scheduler address that is not on this machine, unless `insecure`.

    Dask's messages are pickles: whoever can reach a plain scheduler can run code on it and on every
    client, and everything travels in the clear. Loopback is allowed (a tunnel ends there); a host name
    counts as loopback only if every address it resolves to is."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in _PLAIN_SCHEMES or insecure:
        return
    host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 or rest.startswith("[") else rest
    host = host.strip("[]")
    if _is_loopback(host):
        return
    raise ConfigError(f"executor {address}: refusing a plain {scheme}:// scheduler that is not on this machine: "
                      "Dask sends pickled code unauthenticated and unencrypted, so anyone who can reach it can run "
                      "code here. Use tls:// with certificates, or an SSH tunnel to a 127.0.0.1 port; pass "
                      "--insecure (insecure=True) only on a network you trust")


def _is_loopback(host: str) -> bool:
    import ipaddress
    import socket

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: not known to be local
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


class DaskExecutor:
    def __init__(self, address: str | None = None, workers: int | None = None, timeout_s: float = 30.0,
                 insecure: bool = False, tls: TlsFiles | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("the Dask executor needs the 'cluster' extra: pip install 'backbench[cluster]'"
                              ) from None
        self.cluster = None
        self.memo_bytes: int | None = None  # the indicator memo bound of the sweeps it runs (run_sweep's default)
        if address:
            check_address(address, insecure)
            try:
                self.client = Client(address, security=_security(address, tls), timeout=timeout_s)
            except OSError as exc:
                raise ConfigError(f"executor {address}: cannot reach the Dask scheduler ({exc})") from None
        else:
            from engine.runtime.hardware import default_worker_count
            from engine.runtime.threads import THREAD_ENV_VARS

            n = workers or default_worker_count()
            # security=True: TLS with a temporary self-signed certificate, so the cluster's ports (which
            # listen on this machine) accept only clients holding it, i.e. this process.
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, security=True,
                                        dashboard_address=None, env={k: "1" for k in THREAD_ENV_VARS})
            self.client = Client(self.cluster, security=self.cluster.security)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def publish(self, bars: Bars):
        return self.client.scatter(bars, broadcast=True, hash=False)

    def release(self, ref: Any) -> None:
        self.client.cancel([ref])

    def map_chunks(self, tasks: Iterable[ChunkTask], on_done: Callable[[ChunkResult], None],
                   cancel: threading.Event | None = None) -> None:
        from distributed import as_completed

        futures = []
        for task in tasks:
            bars_ref = task.dataset
            light = dataclasses.replace(task, dataset=None)  # type: ignore[arg-type]  # the bars travel as the scattered future
            futures.append(self.client.submit(_run_on_worker, light, bars_ref, pure=False))
        remaining = set(futures)
        for fut in as_completed(futures):
            remaining.discard(fut)
            if cancel is not None and cancel.is_set():
                self.client.cancel(list(remaining))
                if fut.status == "finished":
                    on_done(fut.result())
                for other in list(remaining):
                    if other.status == "finished":
                        on_done(other.result())
                return
            on_done(fut.result())

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
