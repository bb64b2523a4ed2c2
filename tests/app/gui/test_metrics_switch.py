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


def test_backbench_gui_takes_metrics_port(tmp_path):
    """The app run as a command (its headless screenshot run) serves /metrics, lingers, then closes it."""
    import os
    import subprocess
    import sys
    import time

    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    env = {**os.environ, "BACKBENCH_CACHE_DIR": str(tmp_path / "cache"), "BACKBENCH_DB": str(tmp_path / "s.duckdb"),
           "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "gui", "--screenshot", str(tmp_path / "shot.png"),
                             "--metrics-port", str(port), "--metrics-linger", "5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    computed = 0.0
    try:
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline and not computed:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                text = ""
            for fam in text_string_to_metric_families(text):
                computed += sum(s.value for s in fam.samples
                                if s.name == "backbench_backtests_total" and s.labels.get("source") == "computed")
            time.sleep(0.1)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert computed >= 1 and f"metrics at http://127.0.0.1:{port}/metrics" in err
    assert not answers(port)
