"""Starting the desktop app, and the headless driver that runs the demo and saves a screenshot.

    backbench gui [--store PATH] [--strategies-dir DIR] [--workers N]
    backbench gui --screenshot FILE [--tab results|sweep|dashboard|benchmarks]   # offscreen works

The window appears at once; demo data (on an empty store), kernel warm-up and the sweep pool start
in the background.
"""

from __future__ import annotations

import atexit
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.workbench import Workbench

SCREENSHOT_TIMEOUT_MS = 180_000


def create_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    from app.gui.theme import configure_pyqtgraph
    from app.resources import resource

    qapp = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("Backbench")
    qapp.setOrganizationName("Backbench")
    style = resource("style.qss")
    if style.exists():
        qapp.setStyleSheet(style.read_text(encoding="utf-8"))
    configure_pyqtgraph()
    collect_on_the_main_thread(qapp)
    global _teardown_registered
    if not _teardown_registered:  # registered after PySide's own exit hook, so atexit runs it first
        atexit.register(delete_widgets)
        _teardown_registered = True
    return qapp


_teardown_registered = False


def collect_on_the_main_thread(qapp) -> None:
    """Python's garbage collector, run only on the UI thread (pyqtgraph's GarbageCollector: automatic
    collection off, a 1 s timer collects): left automatic, it runs in whatever thread allocates, and a job or
    sweep thread destroying Qt objects deadlocked (a Qt mutex held, the GIL wanted) or crashed the
    interpreter (seen in fresh CI runs). Once per application."""
    if getattr(qapp, "_backbench_gc", None) is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        qapp._backbench_gc = GarbageCollector(interval=1.0)


def delete_widgets() -> None:
    """Delete the app's windows now, while the interpreter is whole (run at exit, and by run_gui).

    Why: at interpreter exit PySide deletes the C++ objects that Python still owns, in no fixed order:
    pyqtgraph's GraphicsLayouts (the scene root of every plot) and the parentless option widgets and
    menus of their PlotItems among them. In some orders a PlotItem is torn down after its helpers or
    calls pyqtgraph's Python overrides (resizeEvent, setGeometry) in a half-finalized interpreter, and the
    process segfaults (measured: 6 of 10 fresh processes that showed the main window and exited).
    Deleting the windows first lets Qt tear every scene down parent-first with Python still working;
    the helpers left over no longer belong to a live item.
    """
    from PySide6.QtCore import QCoreApplication, QEvent, Qt
    from PySide6.QtWidgets import QApplication, QMenu

    if QApplication.instance() is None:
        return
    for widget in QApplication.topLevelWidgets():
        # Windows that were shown. Not pyqtgraph's parentless helpers (a PlotItem's options widget, a
        # ViewBox's menu): its items still point at them, and deleting those first crashes Qt too.
        if widget.testAttribute(Qt.WidgetAttribute.WA_WState_Created) and not isinstance(widget, QMenu):
            widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def run_gui(workbench: Workbench, screenshot: str | None = None, tab: str = "results") -> int:
    """The app on `workbench` (app/workbench.py: the settings with the command's flags on top)."""
    from PySide6.QtCore import QSettings

    from app.gui.controller import Controller
    from app.gui.main_window import MainWindow
    from app.workbench import Workbench

    qapp = create_app()
    settings = None
    if screenshot:  # a scripted run must not read or change the user's window state
        settings = QSettings(str(Path(tempfile.mkdtemp()) / "screenshot.ini"), QSettings.Format.IniFormat)
    # the dashboard screenshot shows the engine computing, not a sweep served from an earlier run's cache
    if screenshot and tab == "dashboard":
        workbench = Workbench(workbench.settings, use_cache=False)
    controller = Controller(workbench)
    window = MainWindow(controller, settings, tour=not screenshot)
    if screenshot:
        window.resize(1280, 800)
    window.show()
    controller.start()
    if not screenshot:
        received = close_on_signals(window)
        code = qapp.exec()
        delete_widgets()
        return 128 + received[0] if received else code
    driver = ScreenshotDriver(window, Path(screenshot), tab)
    driver.start()
    qapp.exec()
    delete_widgets()
    return driver.exit_code


def close_on_signals(window) -> list[int]:
    """SIGINT and SIGTERM close `window` as its close button would (jobs cancelled, sweep workers stopped,
    settings saved), then the app exits with 128 + the signal's number. Python runs a signal handler only
    between bytecodes of the main thread, which sits in Qt's event loop: a 200 ms timer lets it in.
    Returns the list the signals received are appended to."""
    import signal

    from PySide6.QtCore import QTimer

    received: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if not received:
            received.append(signum)
            QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(200)
    return received


class ScreenshotDriver:
    """Runs the demo backtest (and a small sweep for the sweep tab), saves the window, quits."""

    def __init__(self, window, path: Path, tab: str):
        from PySide6.QtCore import QTimer

        self.window = window
        self.path = path
        self.tab = tab
        self.exit_code = 1
        self.started = False
        self.timeout = QTimer()
        self.timeout.setSingleShot(True)
        self.timeout.timeout.connect(lambda: self._finish("timed out waiting for results"))

    def start(self) -> None:
        from PySide6.QtCore import QTimer

        c = self.window.controller
        c.datasets_changed.connect(self._datasets)
        self.window.outcome_shown.connect(self._backtest_done)  # on screen, not only computed
        c.sweep_done.connect(lambda _: QTimer.singleShot(800 if self.tab == "dashboard" else 200, self._shoot))
        c.error.connect(lambda msg: self._finish(msg))
        self.timeout.start(SCREENSHOT_TIMEOUT_MS)

    def _datasets(self, datasets: list) -> None:
        if self.started or not datasets:
            return
        self.started = True
        if not self.window.data_panel.select("ACME", "1d"):
            first = datasets[0]
            self.window.data_panel.select(first["symbol"], first["timeframe"])
        self.window.run_backtest()

    def _backtest_done(self, _outcome) -> None:
        from PySide6.QtCore import QTimer

        if self.tab in ("sweep", "dashboard"):  # the dashboard shows the engine at work during a sweep
            self.window.select_tab(self.tab)
            view = self.window.sweep_view
            self.window.run_sweep(view.grid(), view.where())
        else:
            QTimer.singleShot(300, self._shoot)

    def _shoot(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.window.select_tab(self.tab)
        QApplication.processEvents()
        self.window.screenshot(self.path)
        print(f"screenshot saved: {self.path}")
        self.exit_code = 0
        self._quit()

    def _finish(self, message: str) -> None:
        print(f"backbench: error: {message}", file=sys.stderr)
        self.exit_code = 1
        self._quit()

    def _quit(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.timeout.stop()
        self.window.close()
        app = QApplication.instance()
        if app is not None:
            app.quit()
