"""Serving the profiling registry at /metrics, and writing it to a file (docs/metrics.md).

    with command_metrics(args): ...        # what app/cli.py wraps sweep, run, import and gui in
    server = MetricsServer(default_registry(), "127.0.0.1", 9464).start(); ...; server.stop()
    write_file(default_registry(), "out.prom")

The HTTP server is prometheus_client's own (a daemon thread); it reads the registry only when scraped, so
a command with the endpoint on does no more work per backtest than one without. It is off unless asked for
and listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import BackbenchError, ConfigError
from engine.runtime.profiling import Registry, default_registry

EXTRA_HINT = "pip install 'backbench[metrics]'"


def require_client(what: str) -> None:
    """A one-line error when prometheus_client (the `metrics` extra) is not installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} needs prometheus_client, the 'metrics' extra: {EXTRA_HINT}") from None


def collector_registry(registry: Registry) -> Any:
    """A prometheus_client CollectorRegistry holding the profiling registry and this process's own figures
    (process_* from /proc: RSS, CPU seconds, open files; Linux only)."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    from app.metrics.families import RegistryCollector

    reg = CollectorRegistry(auto_describe=False)
    reg.register(RegistryCollector(registry))  # type: ignore[arg-type]
    ProcessCollector(registry=reg)
    return reg


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsServer:
    """/metrics over HTTP on (host, port) while started."""

    def __init__(self, registry: Registry, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.registry, self.host, self.port = registry, host, port
        self._httpd: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> MetricsServer:
        require_client("--metrics-port")
        from prometheus_client import start_http_server

        try:
            self._httpd, self._thread = start_http_server(self.port, addr=self.host,
                                                          registry=collector_registry(self.registry))
        except OSError as exc:
            raise ConfigError(f"--metrics-port {self.port} on {self.host}: cannot listen ({exc.strerror or exc})"
                              ) from None
        return self

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def stop(self) -> None:
        """Stop serving and close the socket (nothing listens once this returns)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = self._thread = None


def write_file(registry: Registry, path: str | Path) -> None:
    """The registry's snapshot in the Prometheus text format (what node_exporter's textfile collector
    reads), written to a temporary file and renamed, so a reader never sees half of it."""
    require_client("--metrics-file")
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), collector_registry(registry))


def wants_server(args: argparse.Namespace) -> bool:
    """--metrics-port (or BACKBENCH_METRICS_PORT) given, or the app with its Preferences switch on."""
    settings = args.settings
    source = settings.sources.get("metrics.port", "default")
    return source.startswith(("flag", "env")) or (args.command == "gui" and settings.metrics.app)


def warn_if_exposed(host: str) -> None:
    if not is_loopback(host):
        print(f"backbench: warning: /metrics listens on {host}: other machines can read it (figures of your "
              "runs, worker addresses); keep it on 127.0.0.1 and let Prometheus reach it through a tunnel unless "
              "the network is yours", file=sys.stderr)


@contextmanager
def command_metrics(args: argparse.Namespace) -> Iterator[None]:
    """Around a command that has the metrics options: serve /metrics while it runs (then linger), count a
    failed command, write --metrics-file at the end (also after a failure or an interruption)."""
    if _app["nested"]:  # `backbench gui` without a screen runs `run --demo` inside itself
        yield
        return
    registry = default_registry()
    server = None
    out = getattr(args, "metrics_file", None)
    if out:
        require_client("--metrics-file")
    if wants_server(args):
        warn_if_exposed(args.metrics_host)
        server = start_app_server(args, registry) if args.command == "gui" else MetricsServer(
            registry, args.metrics_host, args.metrics_port).start()
        print(f"backbench: metrics at {server.url}", file=sys.stderr)
    ok = False
    _app["nested"] = True
    try:
        yield
        ok = True
    except BackbenchError:
        registry.counter("errors.command").inc()
        raise
    finally:
        try:
            if out:
                write_file(registry, out)
            if server is not None and ok and args.metrics_linger_s > 0:
                time.sleep(args.metrics_linger_s)  # the scraper's last look at the final figures
        finally:
            _app["nested"] = False
            if server is not None:
                server.stop()
            stop_app_server()


# -- the desktop app's server: its Preferences switch (metrics.app) starts and stops it ---------------------
_app: dict[str, Any] = {"server": None, "forced": False, "nested": False}


def start_app_server(args: argparse.Namespace, registry: Registry) -> MetricsServer:
    server = MetricsServer(registry, args.metrics_host, args.metrics_port).start()
    _app.update(server=server, forced=args.settings.sources.get("metrics.port", "").startswith(("flag", "env")))
    return server


def sync_app_server(settings: Any) -> str | None:
    """After Preferences saved `settings`: start, restart or stop the app's /metrics server to match
    metrics.app, host and port (a server asked for by --metrics-port stays on). Returns its URL or None."""
    server: MetricsServer | None = _app["server"]
    m = settings.metrics
    on = bool(m.app or _app["forced"])
    if server is not None and (not on or (server.host, server.port) != (m.host, m.port)):
        server.stop()
        _app["server"] = server = None
    if on and server is None:
        warn_if_exposed(m.host)
        _app["server"] = server = MetricsServer(default_registry(), m.host, m.port).start()
    return server.url if server is not None else None


def stop_app_server() -> None:
    server = _app["server"]
    if server is not None:
        server.stop()
    _app.update(server=None, forced=False)
