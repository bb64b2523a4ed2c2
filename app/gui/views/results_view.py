"""One backtest's results: the chart on top, stats and trades beneath, export buttons.

Double-clicking a trade zooms the chart to it. The main window embeds this view in its result tab and
calls `present` when a backtest finishes: the result is made ready in a worker thread (result_prep.py: plain
numpy and polars, no Qt object) and swapped into the widgets on the UI thread in one short step; a newer
result, an error or a clear started meanwhile wins over one still being prepared. `show_result` does the
same at once, on the calling (UI) thread.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.gui.views.chart_view import ChartView
from app.gui.views.empty_state import Placeholder, hint_label
from app.gui.views.peer_stats_table import PEER_NAMES, PeerStatsTable
from app.gui.views.result_prep import ResultPrep, default_indicators, prepare_result
from app.gui.views.stats_table import StatsTable
from app.gui.views.trades_table import TradesTable
from app.stat_labels import trade_count_text
from engine.errors import BackbenchError

if TYPE_CHECKING:
    from engine.result import Result

log = logging.getLogger(__name__)


def dark_palette() -> QtGui.QPalette:
    """A palette from the theme colours, for this view's own widgets (nothing global is changed)."""
    pal = QtGui.QPalette()
    role, group = QtGui.QPalette.ColorRole, QtGui.QPalette.ColorGroup
    colors = {
        role.Window: theme.BACKGROUND, role.Base: theme.BACKGROUND, role.AlternateBase: theme.PANEL,
        role.Button: theme.PANEL, role.WindowText: theme.FOREGROUND, role.Text: theme.FOREGROUND,
        role.ButtonText: theme.FOREGROUND, role.Highlight: theme.ACCENT, role.HighlightedText: "#ffffff",
        role.ToolTipBase: theme.PANEL, role.ToolTipText: theme.FOREGROUND, role.PlaceholderText: theme.MUTED,
        role.Mid: theme.PANEL, role.Dark: theme.BACKGROUND, role.Light: theme.MUTED,
    }
    for r, c in colors.items():
        pal.setColor(r, QtGui.QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(group.Disabled, r, QtGui.QColor(theme.MUTED))
    return pal


NO_DATA_HINT = ("No data yet.\n\nImport your bars with Import… (Ctrl+I): CSV or Parquet, one symbol per file; or "
                "press Load demo data on the left\nfor five daily symbols and two minute ones. Then choose a "
                "strategy and press Run (Ctrl+R).")
STATS_HINT = "The stats of a backtest appear here: return, Sharpe ratio, drawdown, win rate… Run one with Ctrl+R."
TRADES_HINT = "The trades of a backtest appear here, one row each; double-click a trade to zoom the chart to it."
NO_TRADES_HINT = ("No trades: the strategy never entered on these bars. Try other parameters, a longer dataset or "
                  "another strategy.")
EMPTY_HINT = ("No backtest yet.\n\nPick a dataset on the left (or import one with Ctrl+I), choose a strategy and its "
              "parameters,\nthen press Run (Ctrl+R): the chart, the equity and drawdown curves, the stats and the "
              "trades appear here.")


__all__ = ["ResultsView", "default_indicators", "dark_palette"]


class _PrepSignals(QtCore.QObject):
    """`present`'s worker reports here (a child of the view, living in the UI thread: queued delivery)."""

    ready = QtCore.Signal(int, object)  # generation, (thread name, ResultPrep)
    failed = QtCore.Signal(int, str)  # generation, message


def _prepare_in_worker(signals: _PrepSignals, generation: int, result: Result,
                       indicators: dict[str, np.ndarray] | None) -> None:
    """`prepare_result` in `present`'s worker thread; the outcome goes back through `signals`. It holds no
    reference to the view: a closure or connection that did kept a closed window and its arrays alive."""
    try:
        prep = prepare_result(result, indicators)
    except BackbenchError as exc:
        outcome: tuple = (signals.failed, generation, str(exc))
    except Exception as exc:  # a bug or a broken user strategy's indicators: say so, keep the app alive
        log.exception("preparing a result failed")
        outcome = (signals.failed, generation, f"showing the result failed: {type(exc).__name__}: {exc}")
    else:
        outcome = (signals.ready, generation, (threading.current_thread().name, prep))
    try:
        outcome[0].emit(*outcome[1:])
    except RuntimeError:  # the view was deleted meanwhile: nobody to show it to
        pass


class ResultsView(QtWidgets.QWidget):
    """Chart (stretches) above a splitter of stats | trades; "Export CSV…" and "Export chart PNG…"."""

    result_shown = QtCore.Signal(object)  # the Result now on screen (after `present` or `show_result`)
    prepare_failed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPalette(dark_palette())
        self.setAutoFillBackground(True)
        self._result: Result | None = None
        # `present`'s worker: one thread (a newer result waits for the older's arrays, then wins)
        self._prep_pool = QtCore.QThreadPool(self)
        self._prep_pool.setMaxThreadCount(1)
        self._prep_signals = _PrepSignals(self)
        self._prep_signals.ready.connect(self._prepared)
        self._prep_signals.failed.connect(self._prep_failed)
        self._in_flight = 0  # preparations started and not yet reported back
        self._generation = 0  # bumped by every present/show/clear/error: only the latest prep is shown
        # the swap's remaining steps, one per turn of the event loop (no closure holds them: a lambda given to
        # QTimer.singleShot kept a whole prepared result, ~160 MB at 1M bars, alive after the window closed).
        # A 1 ms timer, not a zero one: Qt runs zero timers and posted events back to back, before due timers;
        # a real timer queues behind those already due (a repaint, the user's input).
        self._steps: Generator[None, None, None] | None = None
        self._step_timer = QtCore.QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(1)
        self._step_timer.timeout.connect(self._step)
        self.prepared_in: list[str] = []  # thread names of the preparations shown (a test probe)
        self.chart = ChartView()
        self.stats = StatsTable()
        self.peer_stats = PeerStatsTable()  # the peer's own table, under a compat preset
        self.stats_tabs = QtWidgets.QTabWidget()
        self.stats_tabs.setObjectName("statsTabs")
        self.stats_tabs.addTab(self.stats, "Stats")
        # measure the run against another stored symbol (docs/stats.md, "Against a benchmark")
        self.benchmark_combo = QtWidgets.QComboBox()
        self.benchmark_combo.setObjectName("benchmarkCombo")
        self.benchmark_combo.setToolTip("Against a benchmark: alpha, beta, information ratio, tracking error and "
                                        "correlation under the stats, and its curve beside the equity")
        self.benchmark_combo.addItem("No benchmark", "")
        self.benchmark_combo.setMaximumWidth(150)
        self.stats_tabs.setCornerWidget(self.benchmark_combo)
        self._benchmark_rows: list = []
        self.trades = TradesTable()
        self.title = QtWidgets.QLabel("No result yet: run a backtest.")
        self.title.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)  # a long title wraps beside the export buttons: the window stays 1280 px wide
        self.export_csv_button = QtWidgets.QPushButton("Export CSV…")
        self.export_png_button = QtWidgets.QPushButton("Export chart PNG…")
        self.export_report_button = QtWidgets.QPushButton("Export report…")
        self.export_report_button.setToolTip("One HTML page to share: settings, stats, equity and drawdown, monthly "
                                             "returns, Monte Carlo bands and the trades (docs/report.md)")
        for button in (self.export_csv_button, self.export_png_button, self.export_report_button):
            button.setEnabled(False)

        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_png_button)
        bar.addWidget(self.export_report_button)

        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(self.stats_tabs)
        lower.addWidget(self.trades)
        lower.setStretchFactor(0, 0)
        lower.setStretchFactor(1, 1)
        lower.setSizes([330, 950])
        # before the first result the chart's place says what to do, instead of drawing empty axes
        self.empty_hint = QtWidgets.QLabel(EMPTY_HINT)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet(f"color: {theme.MUTED}; font-size: 15px;")
        self.error_page = hint_label("", "runError", error=True)  # a failed run says why, where the chart was
        self.chart_stack = QtWidgets.QStackedWidget()
        self.chart_stack.addWidget(self.empty_hint)
        self.chart_stack.addWidget(self.chart)
        self.chart_stack.addWidget(self.error_page)
        self.stats_hint = Placeholder(self.stats, STATS_HINT, "statsHint")
        self.trades_hint = Placeholder(self.trades, TRADES_HINT, "tradesHint")

        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.splitter.addWidget(self.chart_stack)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([560, 240])
        self.splitter.setChildrenCollapsible(False)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

        self.trades.trade_activated.connect(self.chart.focus_trade)
        self.export_csv_button.clicked.connect(self._ask_export_csv)
        self.export_png_button.clicked.connect(self._ask_export_png)
        self.export_report_button.clicked.connect(self._ask_export_report)

    @property
    def result(self) -> Result | None:
        return self._result

    def set_benchmark_symbols(self, symbols: list[str]) -> None:
        """The stored symbols the benchmark choice offers (the current choice kept when still there)."""
        keep = self.benchmark_combo.currentData()
        self.benchmark_combo.blockSignals(True)
        self.benchmark_combo.clear()
        self.benchmark_combo.addItem("No benchmark", "")
        for sym in symbols:
            self.benchmark_combo.addItem(f"vs {sym}", sym)
        index = self.benchmark_combo.findData(keep)
        self.benchmark_combo.setCurrentIndex(max(index, 0))
        self.benchmark_combo.blockSignals(False)

    def show_benchmark(self, name: str | None, stats: dict | None = None, curve: np.ndarray | None = None) -> None:
        """The run against `name`: its BENCHMARK_KEYS under the stats and `curve` beside the equity (None:
        remove both)."""
        self.chart.set_benchmark(curve, name or "")
        if self._result is None:
            return
        rows = dict(self._result.stats)
        if name and stats:
            rows.update(stats)
        self.stats.set_stats(rows)

    def show_result(self, result: Result, indicators: dict[str, np.ndarray] | None = None) -> None:
        """Show `result` now, prepared on this thread; `indicators` default to the strategy's own lines
        (`Strategy.indicators`). A `present` still preparing is dropped."""
        self._generation += 1
        self._drop_steps()
        self.apply_prepared(prepare_result(result, indicators))

    def present(self, result: Result, indicators: dict[str, np.ndarray] | None = None) -> None:
        """Show `result` once a worker thread has prepared it (`result_shown` is emitted then). The widgets
        keep what they show until the swap; a later present, show_result, show_error or clear wins."""
        self._generation += 1
        self._drop_steps()
        self._in_flight += 1
        signals, generation = self._prep_signals, self._generation
        self._prep_pool.start(lambda: _prepare_in_worker(signals, generation, result, indicators))

    @property
    def preparing(self) -> bool:
        """A result handed to `present` is still being prepared."""
        return self._in_flight > 0

    def wait_prepared(self, timeout_ms: int = 30_000) -> bool:
        """Block until the preparing thread is idle (its results still arrive as queued signals)."""
        return self._prep_pool.waitForDone(timeout_ms)

    def _prepared(self, generation: int, prep: tuple[str, ResultPrep]) -> None:
        self._in_flight -= 1
        if generation != self._generation:
            return  # a newer result, error or clear came meanwhile: it wins
        thread, ready = prep
        self.prepared_in.append(thread)
        self._drop_steps()
        self._steps = self.apply_steps(ready)
        self._step()

    def _prep_failed(self, generation: int, message: str) -> None:
        self._in_flight -= 1
        if generation == self._generation:
            self.show_error(message)
            self.prepare_failed.emit(message)

    def apply_prepared(self, prep: ResultPrep) -> None:
        """Swap a prepared result into the widgets at once (UI thread; arrays only handed over)."""
        for _ in self.apply_steps(prep):
            pass

    def apply_steps(self, prep: ResultPrep) -> Generator[None, None, None]:
        """`apply_prepared` as a generator of short steps (the chart's curves, then stats, trades and title):
        `present` runs one per event-loop turn, so timers, input and paints get in between. `result` and
        `result_shown` change at the last step."""
        result = prep.result
        # the chart keeps its last frame on screen until every pane holds the new result: no half-swapped
        # chart is ever painted, however the steps fall between repaints
        self.chart.graphics.setUpdatesEnabled(False)
        try:
            yield from self.chart.apply_steps(result, prep.chart)
            yield  # the repaint of every pane then runs in a turn of its own, not after the last curve's step
        finally:
            self.chart.graphics.setUpdatesEnabled(True)
        self.chart_stack.setCurrentWidget(self.chart)
        yield
        self.stats.set_stats(result.stats)
        self._show_peer_stats(result)
        self.trades.set_trades(prep.trades)
        self.trades_hint.set_text(NO_TRADES_HINT if prep.trades.frame.height == 0 else TRADES_HINT)
        params = ", ".join(f"{k}={v}" for k, v in result.params.items())
        bars = result.bars
        status = "" if result.status == "ok" else f'  <span style="color:{theme.DOWN}">{result.status}</span>'
        n_open = prep.n_open
        trades = trade_count_text(len(result.trade_records) - n_open, n_open)
        self.title.setText(f"<b>{result.strategy}</b>({params}) on {bars.symbol} {bars.timeframe}, "
                           f"{len(bars):,} bars, {trades}{status}")
        for button in (self.export_csv_button, self.export_png_button, self.export_report_button):
            button.setEnabled(True)
        self._result = result
        self.result_shown.emit(result)

    def _drop_steps(self) -> None:
        """Abandon a swap in progress (its `finally` lets the chart repaint again)."""
        steps, self._steps = self._steps, None
        if steps is not None:
            steps.close()

    def _step(self) -> None:
        steps = self._steps
        if steps is None:
            return  # a newer result, error or clear came meanwhile: it has cleared and redrawn the panes
        try:
            next(steps)
        except StopIteration:
            self._steps = None
            return
        self._step_timer.start()

    def _show_peer_stats(self, result: Result | None) -> None:
        """Under a compat preset, a second tab with the peer's own table (its names, its definitions)."""
        from engine.compat import peer_stats

        table = peer_stats(result) if result is not None and result.config.compat else None
        index = self.stats_tabs.indexOf(self.peer_stats)
        if table is None:
            if index >= 0:
                self.stats_tabs.removeTab(index)
            return
        self.peer_stats.set_peer_stats(table)
        assert result is not None
        label = PEER_NAMES.get(str(result.config.compat), str(result.config.compat))
        if index < 0:
            self.stats_tabs.addTab(self.peer_stats, label)
        else:
            self.stats_tabs.setTabText(index, label)
        self.stats_tabs.setCurrentWidget(self.peer_stats)

    def set_has_data(self, has_data: bool) -> None:
        """Before the first result: how to get data when the store has none, else how to run."""
        self.empty_hint.setText(EMPTY_HINT if has_data else NO_DATA_HINT)

    def show_error(self, message: str) -> None:
        """A failed run: its error where the chart was, and nothing of an older result beside it."""
        self.clear()
        self.error_page.setText(f"The backtest failed.\n\n{message}\n\nFix the strategy, its parameters or the "
                                "dataset, then press Run (Ctrl+R) again.")
        self.chart_stack.setCurrentWidget(self.error_page)
        self.title.setText(f'<span style="color:{theme.DOWN}">Run failed</span>: '
                           f'{html.escape(message.splitlines()[0])}')

    def clear(self) -> None:
        self._generation += 1  # a result still being prepared is not shown after this
        self._drop_steps()
        self._result = None
        self.chart.clear()
        self.chart_stack.setCurrentWidget(self.empty_hint)
        self.stats.set_stats({})
        self._show_peer_stats(None)
        self.trades.set_trades(self.trades.trades.clear())
        self.trades_hint.set_text(TRADES_HINT)
        self.title.setText("No result yet: run a backtest.")
        for button in (self.export_csv_button, self.export_png_button, self.export_report_button):
            button.setEnabled(False)

    # -- export ----------------------------------------------------------------------------------
    def export_trades_csv(self, path: str | Path) -> Path:
        """Write the shown trades as CSV (polars `write_csv`)."""
        return self.trades.export_csv(path)

    def export_chart_png(self, path: str | Path) -> Path:
        """Save the chart as PNG at its current size."""
        return self.chart.export_png(path)

    def export_report(self, path: str | Path, runs: int = 1000) -> Path:
        """Write the shown result as the HTML report (with `runs` Monte Carlo runs of its trades, seed 0)."""
        from app.report.html import run_report
        from engine.analysis.montecarlo import run_montecarlo

        r = self._result
        if r is None:
            raise OSError("no result to export: run a backtest first")
        mc = None
        if runs and (~r.trade_records["is_open"].astype(bool)).any():
            mc = run_montecarlo(r.equity, r.trade_records, r.config.init_cash, runs=runs, seed=0)
        out = Path(path)
        out.write_text(run_report(r, mc), encoding="utf-8")
        return out

    def _ask_export_report(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export report", self._default_name("report.html"),
                                                        "HTML pages (*.html)")
        if path:
            self._report(lambda: self.export_report(path if path.lower().endswith(".html") else path + ".html"))

    def _default_name(self, suffix: str) -> str:
        r = self._result
        return f"{r.bars.symbol or 'bars'}_{r.strategy}_{suffix}" if r is not None else suffix

    def _ask_export_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export trades", self._default_name("trades.csv"),
                                                        "CSV files (*.csv)")
        if path:
            self._report(lambda: self.export_trades_csv(path))

    def _ask_export_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export chart", self._default_name("chart.png"),
                                                        "PNG images (*.png)")
        if path:
            self._report(lambda: self.export_chart_png(path if path.lower().endswith(".png") else path + ".png"))

    def _report(self, export) -> None:
        try:
            export()
        except OSError as exc:
            QtWidgets.QMessageBox.warning(self, "Export failed", str(exc))
