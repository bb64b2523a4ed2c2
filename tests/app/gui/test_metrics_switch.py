"""Preferences > metrics > app starts and stops the app's /metrics server (docs/metrics.md), through the real dialog."""

import socket
import urllib.request

import pytest

pytest.importorskip("prometheus_client")

from app.gui.app import create_app  # noqa: E402
from app.gui.controller import Controller  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.metrics.exporter import stop_app_server  # noqa: E402
from app.workbench import Workbench  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            return b"process_" in resp.read() or resp.status == 200
    except OSError:
        return False


def save_preferences(qtbot, win, app: bool, port: int) -> None:
    dialog = win.open_preferences()
    dialog.editors["metrics.app"].setChecked(app)
    dialog.editors["metrics.port"].setValue(port)
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.save()


def test_the_preferences_switch_serves_metrics(qtbot, tmp_path, store_path, monkeypatch):
    monkeypatch.setenv("BACKBENCH_CONFIG", str(tmp_path / "config" / "backbench.toml"))
    create_app()
    win = MainWindow(Controller(Workbench.from_values({"store.path": str(store_path)}, use_cache=False)))
    qtbot.addWidget(win)
    port = free_port()
    try:
        assert not answers(port)
        save_preferences(qtbot, win, True, port)
        assert answers(port)
        assert f"metrics at http://127.0.0.1:{port}/metrics" in win.status_label.text()
        save_preferences(qtbot, win, False, port)
        assert not answers(port)
    finally:
        stop_app_server()
        win.close()
