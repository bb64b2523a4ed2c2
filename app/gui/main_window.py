"""The main window: data and strategy panels on the left, result tabs in the centre.

Layout only plus the wiring between panels, views and the Controller; behaviour lives in the
controller and in each panel/view's own file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.gui.controller import BacktestOutcome, Controller, RunRequest
from app.gui.panels.data_panel import DataPanel
from app.gui.panels.help_menu import build_help_menu
from app.gui.panels.import_dialog import ImportDialog
from app.gui.panels.strategy_panel import StrategyPanel
from app.gui.tour import SEEN_KEY, Step, Tour
from app.gui.views.dashboard import Dashboard
from app.gui.views.lazy_tab import LazyTab
from app.gui.views.montecarlo_view import MonteCarloView
from app.gui.views.portfolio_view import PortfolioView
from app.gui.views.results_view import ResultsView
from app.gui.views.sweep_view import SweepView
from app.gui.views.walkforward_view import WalkForwardView
from app.stat_labels import trade_count_text
from engine.errors import BackbenchError

TABS = ("results", "sweep", "portfolio", "walkforward", "montecarlo", "dashboard", "benchmarks")


class MainWindow(QMainWindow):
    """`tour`: show the first-run tour if these settings have not seen it (the app does; tests and scripted
    screenshots do not, unless they test it)."""

    # a finished backtest (BacktestOutcome) is on screen: Results, Monte Carlo, dashboard and status bar
    outcome_shown = Signal(object)

    def __init__(self, controller: Controller, settings: QSettings | None = None, tour: bool = False):
        super().__init__()
        self.setWindowTitle("Backbench")
        self.controller = controller
        self.settings = settings or QSettings("Backbench", "Backbench")
        self.last_outcome: BacktestOutcome | None = None
        self.last_sweep = None

        self.data_panel = DataPanel()
        self.strategy_panel = StrategyPanel(controller.strategies_dir)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(_title("Data"))
        left_layout.addWidget(self.data_panel, 2)
        left_layout.addWidget(_title("Strategy"))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.strategy_panel)
        self.strategy_scroll = scroll
        left_layout.addWidget(scroll, 5)
        left.setMinimumWidth(372)  # the dataset table's five columns, with dates, fit without scrolling

        self.results_view = ResultsView()
        self.sweep_view = SweepView()
        self.montecarlo_view = MonteCarloView()
        self.walkforward_view = WalkForwardView()
        self.portfolio_view = PortfolioView()
        self.dashboard = Dashboard(hz=controller.bench.settings.ui.refresh_hz)
        self.bench_tab = LazyTab(self._bench_view)  # built, and its files read, when first shown
        self.tabs = QTabWidget()
        self.tabs.addTab(self.results_view, "Results")
        self.tabs.addTab(self.sweep_view, "Sweep")
        self.tabs.addTab(self.portfolio_view, "Portfolio")
        self.tabs.addTab(self.walkforward_view, "Walk-forward")
        self.tabs.addTab(self.montecarlo_view, "Monte Carlo")
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.bench_tab, "Benchmarks")
        self.left_panel = left
        # the Benchmarks tab uses neither data nor strategy: it gets the window's width (its tables fit at 1280 px)
        self.tabs.currentChanged.connect(lambda i: left.setVisible(self.tabs.widget(i) is not self.bench_tab))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([392, 888])
        self.setCentralWidget(splitter)

        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("statusLabel")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self._build_actions()
        self.help_actions = build_help_menu(self, self.show_tour)
        self.tour: Tour | None = None
        self._focus_after_run: tuple[str, int, int] | None = None  # a portfolio trade to zoom to (its symbol's run)
        self._wire()
        self._restore()
        if tour and not self.settings.value(SEEN_KEY, False, type=bool):
            QTimer.singleShot(0, self.show_tour)

    # ------------------------------------------------------------------ construction
    def _build_actions(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.toolbar = bar
        self.run_action = QAction("Run", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.setToolTip("Run the backtest (Ctrl+R)")
        self.cancel_action = QAction("Cancel", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setToolTip("Cancel the running sweep (Esc)")
        self.cancel_action.setEnabled(False)
        self.import_action = QAction("Import…", self)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.reload_action = QAction("Reload strategies", self)
        self.preferences_action = QAction("Preferences…", self)
        self.preferences_action.setShortcut(QKeySequence.StandardKey.Preferences)
        for action in (self.run_action, self.cancel_action, self.import_action, self.reload_action,
                       self.preferences_action):
            bar.addAction(action)
            self.addAction(action)  # shortcuts work whatever has focus

    def _wire(self) -> None:
        c = self.controller
        self.run_action.triggered.connect(self.run_backtest)
        self.cancel_action.triggered.connect(self.cancel)
        self.import_action.triggered.connect(self.open_import_dialog)
        self.reload_action.triggered.connect(self.strategy_panel.reload)
        self.preferences_action.triggered.connect(self.open_preferences)
        self.data_panel.import_requested.connect(self.open_import_dialog)
        self.data_panel.demo_requested.connect(c.load_demo)
        self.data_panel.delete_requested.connect(self._confirm_delete)
        self.strategy_panel.strategy_changed.connect(self.sweep_view.set_strategy)
        self.sweep_view.set_strategy(self.strategy_panel.strategy())
        self.sweep_view.sweep_requested.connect(self.run_sweep)
        self.sweep_view.cancel_requested.connect(self.cancel)
        self.sweep_view.cell_clicked.connect(self.open_sweep_cell)
        c.datasets_changed.connect(self._datasets)
        c.backtest_done.connect(self.show_outcome)
        self.results_view.result_shown.connect(self._outcome_shown)
        c.sweep_progress.connect(self._sweep_progress)
        c.sweep_done.connect(self._sweep_done)
        c.error.connect(self.show_error)
        c.backtest_failed.connect(self.results_view.show_error)
        c.sweep_failed.connect(self.sweep_view.show_error)
        c.demo_progress.connect(self._demo_progress)
        c.executor_ready.connect(self.dashboard.set_worker_count)
        c.import_done.connect(self._imported)
        self.montecarlo_view.resample_requested.connect(self.resample)
        c.montecarlo_done.connect(self.montecarlo_view.show_montecarlo)
        c.montecarlo_failed.connect(self.montecarlo_view.show_error)
        self.walkforward_view.walk_forward_requested.connect(self.walk_forward)
        c.walk_forward_done.connect(self._walk_forward_done)
        c.walk_forward_failed.connect(self.walkforward_view.show_error)
        self.results_view.benchmark_combo.currentIndexChanged.connect(lambda _: self.apply_benchmark())
        self.portfolio_view.portfolio_requested.connect(self.run_portfolio)
        self.portfolio_view.trade_activated.connect(self.open_portfolio_trade)
        c.portfolio_done.connect(self._portfolio_done)
        c.portfolio_failed.connect(self.portfolio_view.show_error)

    # ------------------------------------------------------------------ actions
    def apply_benchmark(self) -> None:
        """The Results tab's benchmark choice: the shown run against that stored symbol (same timeframe), its
        close as of each bar rebased to the initial cash beside the equity (engine/analysis/benchmark.py)."""
        from engine.analysis.benchmark import aligned_close, relative_stats

        view = self.results_view
        result, symbol = view.result, view.benchmark_combo.currentData()
        if result is None or not symbol:
            view.show_benchmark(None)
            return
        try:
            bench = self.controller.bars(symbol, result.bars.timeframe)
            stats = relative_stats(result.bars.ts, result.equity, bench.ts, bench.close)
        except BackbenchError as exc:
            view.show_benchmark(None)
            self.show_error(f"benchmark {symbol}: {exc}")
            return
        close = aligned_close(result.bars.ts, bench.ts, bench.close)
        first = close[np.isfinite(close)][0]
        view.show_benchmark(symbol, stats, close / first * result.config.init_cash)

    def run_portfolio(self, options: dict) -> None:
        """The Portfolio tab's button: the left panel's strategy, params, cash and costs on the ticked symbols."""
        req = self.request(self.portfolio_view.show_error)
        if req is None:
            return
        self.status_label.setText(f"Running {req.strategy} on {len(options['symbols'])} symbols…")
        self.controller.run_portfolio(req, options)

    def _portfolio_done(self, result) -> None:
        self.portfolio_view.show_portfolio(result)
        self.status_label.setText(f"Portfolio of {len(result.symbols)} symbols: return "
                                  f"{result.stats['return_pct']:.2f} %, {result.stats['n_trades']} closed trades")

    def open_portfolio_trade(self, symbol: str, entry_ns: int, exit_ns: int) -> None:
        """A portfolio trade's double-click: that symbol's chart (its own backtest with the same strategy), zoomed
        to the trade's bars."""
        timeframe = self.portfolio_view.options()["timeframe"]
        if not self.data_panel.select(symbol, timeframe):
            return
        self._focus_after_run = (symbol, entry_ns, exit_ns)
        self.select_tab("results")
        self.run_backtest()

    def _walk_forward_done(self, done: tuple) -> None:
        wf, bars = done
        self.walkforward_view.show_walk_forward(wf, bars)
        self.status_label.setText(f"Walk-forward on {bars.symbol} {bars.timeframe}: {len(wf.spans)} windows, "
                                  f"out-of-sample return {wf.result.stats['return_pct']:.2f} %")

    def walk_forward(self, options: dict) -> None:
        """The Walk-forward tab's button: the Sweep tab's grid and condition, walked forward in the background."""
        req = self.request(self.walkforward_view.show_error)
        if req is None:
            return
        self.status_label.setText(f"Walking {req.strategy} forward on {req.symbol} {req.timeframe}…")
        self.controller.run_walk_forward(req, self.sweep_view.grid(), self.sweep_view.where(), options)

    def resample(self, options: dict) -> None:
        """The Monte Carlo tab's Resample: the last backtest, resampled in the background."""
        result = self.montecarlo_view.result
        if result is not None:
            self.controller.run_montecarlo(result, options)

    def request(self, show_error: Callable[[str], None] | None = None) -> RunRequest | None:
        """The run the panels describe; None (and the reason shown, also by `show_error`) if there is none."""
        current = self.data_panel.current()
        problem = None
        if current is None:
            problem = "No dataset selected: import one (Ctrl+I) or load the demo data."
        else:
            try:
                config = self.strategy_panel.config()
            except BackbenchError as exc:
                problem = str(exc)
        if problem is not None or current is None:
            problem = problem or "No dataset selected."
            self.show_error(problem)
            if show_error is not None:
                show_error(problem)
            return None
        return RunRequest(current[0], current[1], self.strategy_panel.strategy().name,
                          self.strategy_panel.params(), config)

    def run_backtest(self) -> None:
        req = self.request(self.results_view.show_error)
        if req is None:
            return
        self.status_label.setText(f"Running {req.strategy} on {req.symbol} {req.timeframe}…")
        self.controller.run_backtest(req)

    def run_sweep(self, grid: dict, where: str) -> None:
        req = self.request(self.sweep_view.show_error)
        if req is None:
            return
        self.sweep_view.set_running(True)
        self.cancel_action.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status_label.setText(f"Sweeping {req.strategy} on {req.symbol} {req.timeframe}…")
        self.controller.run_sweep(req, grid, where, self.sweep_view.search())

    def cancel(self) -> None:
        self.controller.cancel_sweep()
        self.status_label.setText("Cancelling…")

    def open_sweep_cell(self, params: dict) -> None:
        """A heatmap cell or top-table row: run that parameter set and show it in Results."""
        if self.last_sweep is None:
            return
        template, _ = self.last_sweep
        self.strategy_panel.set_params(params)
        self.tabs.setCurrentWidget(self.results_view)
        self.controller.run_backtest(RunRequest(template.symbol, template.timeframe, template.strategy,
                                                dict(params), template.config, template.start, template.end))

    def _bench_view(self) -> QWidget:
        from app.gui.views.bench_view import BenchView

        return BenchView(self.settings)

    def open_import_dialog(self) -> ImportDialog:
        dialog = ImportDialog(self.controller.jobs, self)
        dialog.accepted.connect(lambda: self.controller.import_files(dialog.paths(), **dialog.options()))
        dialog.open()
        self.import_dialog = dialog
        return dialog

    def open_preferences(self):
        from app.gui.panels.preferences_dialog import PreferencesDialog

        dialog = PreferencesDialog(self)
        dialog.saved.connect(lambda _settings: self.apply_settings())
        dialog.open()
        self.preferences_dialog = dialog
        return dialog

    def apply_settings(self) -> None:
        """The settings file changed (Preferences): use it from now on. The store, strategies folder, cache
        and sweep workers follow at the next operation; the simulation defaults fill the form; the
        dashboard samples at the new rate."""
        try:
            self.controller.reload_settings()
        except BackbenchError as exc:
            self.show_error(f"settings: {exc}")
            return
        bench = self.controller.bench
        self.strategy_panel.apply_defaults(bench.sim_config())
        if str(self.strategy_panel.strategies_dir) != str(bench.strategies_dir):
            self.strategy_panel.strategies_dir = bench.strategies_dir
            self.strategy_panel.reload()
        self.dashboard.set_rate(bench.settings.ui.refresh_hz)
        self._sync_metrics(bench.settings)

    def _sync_metrics(self, settings) -> None:
        """The Preferences switch metrics.app starts or stops the app's /metrics server (docs/metrics.md)."""
        from app.metrics.exporter import require_client, sync_app_server

        try:
            if settings.metrics.app:
                require_client("metrics.app")
            url = sync_app_server(settings)
        except BackbenchError as exc:
            self.show_error(f"metrics: {exc}")
            return
        if url:
            self.status_label.setText(f"metrics at {url}")

    def _confirm_delete(self, symbol: str, timeframe: str) -> None:
        answer = QMessageBox.question(self, "Delete dataset", f"Delete {symbol} {timeframe} from the store?")
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.delete_dataset(symbol, timeframe)

    # ------------------------------------------------------------------ results
    def show_outcome(self, outcome: BacktestOutcome) -> None:
        """A finished backtest: the Results view prepares it off the UI thread, then `_outcome_shown` runs."""
        self.last_outcome = outcome
        self.results_view.present(outcome.result, outcome.indicators)

    def _outcome_shown(self, result) -> None:
        outcome = self.last_outcome
        if outcome is None or outcome.result is not result:
            return  # shown by someone else (a test, the view's own show_result)
        self.montecarlo_view.set_result(outcome.result)
        self.apply_benchmark()
        focus = self._focus_after_run
        if focus is not None and focus[0] == outcome.request.symbol:
            self._focus_after_run = None
            ts = outcome.result.bars.ts
            first, last = (int(np.searchsorted(ts, t)) for t in focus[1:])
            self.results_view.chart.focus_trade(min(first, len(ts) - 1), min(last, len(ts) - 1))
        r = outcome.result
        note = "last backtest (from cache)" if r.from_cache else "last backtest"
        self.dashboard.set_stages({k: v * 1000.0 for k, v in outcome.stages.items()}, note)
        source = "from cache" if r.from_cache else "computed"
        n_open = int(r.trade_records["is_open"].sum())
        self.status_label.setText(
            f"{r.strategy} on {outcome.request.symbol} {outcome.request.timeframe}: {len(r.bars):,} bars, "
            f"{trade_count_text(len(r.trade_records) - n_open, n_open)}, "
            f"return {r.stats['return_pct']:.2f} % — "
            f"{outcome.seconds * 1000:.0f} ms ({source})")
        self.outcome_shown.emit(outcome)

    def _sweep_progress(self, p) -> None:
        self.sweep_view.set_progress(p)
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)

    def _sweep_done(self, payload) -> None:
        template, result = payload
        self.last_sweep = payload
        self.sweep_view.set_running(False)
        self.sweep_view.set_result(result)
        self.cancel_action.setEnabled(False)
        self.progress.hide()
        state = "cancelled" if result.cancelled else "done"
        self.status_label.setText(f"Sweep {state}: {len(result.rows)} of {result.total} combos in "
                                  f"{result.elapsed_s:.2f} s ({result.total - result.computed} from cache)")

    def _datasets(self, datasets: list) -> None:
        keep = self.data_panel.current()
        if keep is None:  # first listing: the dataset used last time
            last = self.settings.value("dataset")
            keep = tuple(json.loads(last)) if last else None
        self.data_panel.set_datasets(datasets, keep)  # type: ignore[arg-type]
        current = self.data_panel.current()
        self.portfolio_view.set_datasets(datasets, current[1] if current else None)
        self.results_view.set_benchmark_symbols(sorted({d["symbol"] for d in datasets}))
        self.results_view.set_has_data(bool(datasets))

    def _imported(self, reports: list) -> None:
        n = sum(r.imported for r in reports)
        self.status_label.setText(f"Imported {n:,} bars from {len(reports)} file(s)")
        if reports:
            self.data_panel.select(reports[-1].symbol, reports[-1].timeframe)

    def _demo_progress(self, done: int, total: int) -> None:
        self.progress.show()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.status_label.setText("Creating demo data…" if done < total else "Demo data ready")
        self.data_panel.set_busy(f"Creating the demo data… {100 * done // max(1, total)} %")
        if done >= total:
            self.progress.hide()

    def show_error(self, message: str) -> None:
        self.status_label.setText(f"⚠ {message.splitlines()[0]}")
        self.status_label.setToolTip(message)
        self.sweep_view.set_running(False)
        self.cancel_action.setEnabled(False)
        self.progress.hide()

    # ------------------------------------------------------------------ persistence
    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        # the settings' simulation defaults; the saved window state below wins
        self.strategy_panel.apply_defaults(self.controller.bench.sim_config())
        tab = self.settings.value("tab")
        if tab in TABS:
            self.select_tab(str(tab))
        state = self.settings.value("strategy_state")
        if state:
            try:
                self.strategy_panel.restore(json.loads(state))
            except (ValueError, TypeError, KeyError):
                pass  # an old or hand-edited value: keep the defaults

    def save_state(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("strategy_state", json.dumps(self.strategy_panel.state()))
        self.settings.setValue("tab", TABS[self.tabs.currentIndex()])
        current = self.data_panel.current()
        if current:
            self.settings.setValue("dataset", json.dumps(list(current)))
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_state()
        self.dashboard.stop()
        self.controller.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------ first run
    def tour_steps(self) -> list[Step]:
        def rect_of(widget: QWidget) -> QRect:
            return QRect(widget.mapTo(self, widget.rect().topLeft()), widget.size())

        def tab_rect(name: str) -> QRect:
            bar = self.tabs.tabBar()
            r = bar.tabRect(TABS.index(name))
            return QRect(bar.mapTo(self, r.topLeft()), r.size())

        run_button = self.toolbar.widgetForAction(self.run_action)
        return [
            Step("Data", "Your datasets: one row per symbol and timeframe. Import… (Ctrl+I) adds CSV or Parquet "
                 "bars; the demo data is there to try things.", lambda: rect_of(self.data_panel)),
            Step("Strategy", "Pick a strategy, set its parameters and the costs (commission, slippage, stops).",
                 lambda: rect_of(self.strategy_scroll)),
            Step("Run", "Run the backtest (Ctrl+R): chart with trades, equity, drawdown, stats and the trade list "
                 "appear under Results.", lambda: rect_of(run_button) if run_button else rect_of(self.toolbar)),
            Step("Sweep", "Try a grid of parameters on every core; the heatmap's cells open their run.",
                 lambda: tab_rect("sweep")),
            Step("Dashboard", "What the engine is doing, live: throughput, workers, memory, cache. Help > Keyboard "
                 "shortcuts (F1) lists the keys; Help > Show the tour brings this back.",
                 lambda: tab_rect("dashboard")),
        ]

    def show_tour(self) -> Tour:
        if self.tour is None:
            self.tour = Tour(self, self.tour_steps())
            self.tour.finished.connect(self._tour_seen)
        self.tour.start()
        return self.tour

    def _tour_seen(self) -> None:
        self.settings.setValue(SEEN_KEY, True)
        self.settings.sync()

    def select_tab(self, name: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(name))

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path)):
            raise OSError(f"could not write screenshot {path}")
        return path


def _title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    return label
