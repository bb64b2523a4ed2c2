"""The app's behaviour, apart from its layout: store, bars, backtests, sweeps, imports, as Qt signals.

Everything slow runs as a `Job`; the store is touched from one thread at a time (a lock), bars of
recently used datasets are kept in memory, and the sweep process pool is started (and its workers
warmed) in the background at launch so the first sweep does not wait for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.gui.jobs import Job, JobRunner
from app.workbench import Workbench
from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import DataError
from engine.runtime import profiling


@dataclass(frozen=True)
class RunRequest:
    symbol: str
    timeframe: str
    strategy: str
    params: dict[str, Any]
    config: SimConfig
    start: str | None = None
    end: str | None = None


@dataclass
class BacktestOutcome:
    request: RunRequest
    result: Any  # engine.result.Result
    indicators: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds: load, signals, simulate, stats


# Sweep workers run this much nicer than the app (Linux; macOS uses QoS classes, see engine/runtime/threads.py):
# on a machine with as many workers as cores, the UI thread then gets a core when it wakes, and a 5 ms
# timer fires on time during a full-core sweep (benchmarks/bench_gui.py). An idle UI costs the sweep
# nothing: nice only orders who runs first when both want the CPU.
WORKER_NICE = 10


class Controller(QObject):
    datasets_changed = Signal(list)
    status = Signal(str)
    error = Signal(str)
    backtest_failed = Signal(str)  # also sent as `error`: the results area shows it
    sweep_failed = Signal(str)  # also sent as `error`: the sweep tab shows it
    demo_progress = Signal(int, int)
    backtest_done = Signal(object)  # BacktestOutcome
    sweep_progress = Signal(object)  # engine.sweep.Progress
    sweep_done = Signal(object)  # (RunRequest template, SweepResult)
    import_done = Signal(list)  # ImportReport list
    executor_ready = Signal(int)  # worker count
    montecarlo_done = Signal(object)  # engine.analysis.montecarlo.MonteCarlo
    montecarlo_failed = Signal(str)
    walk_forward_done = Signal(object)  # (WalkForwardResult, Bars)
    walk_forward_failed = Signal(str)
    portfolio_done = Signal(object)  # engine.portfolio.PortfolioResult
    portfolio_failed = Signal(str)

    def __init__(self, workbench: Workbench, parent: QObject | None = None, worker_nice: int = WORKER_NICE):
        super().__init__(parent)
        self.bench = workbench
        self.jobs = JobRunner(self)
        # No connection is held while the app is idle: DuckDB lets one process hold a file read-write, and
        # that shuts every other process out, readers included (the CLI, a second app). Each operation
        # opens the store for itself under `_store_lock` (read-only to read; read-write only to write, and
        # briefly), and closes it again; see `store()`.
        self.store_path = workbench.store_path
        self.strategies_dir = workbench.strategies_dir
        self._store_lock = threading.Lock()
        self._bars: OrderedDict[tuple, Bars] = OrderedDict()
        self.worker_nice = worker_nice
        self._executor: Any = None
        self._executor_settings: dict[str, Any] = {}
        self._executor_lock = threading.Lock()
        self.cache = workbench.cache()
        self.sweep_job: Job | None = None
        self._closed = False

    # ---------------------------------------------------------------- startup
    def start(self, warm_pool: bool = True) -> None:
        """Fill an empty store with demo data, warm the kernels, start the sweep pool (all background)."""
        self.load_demo()
        self.jobs.start(Job("warm kernels", _warm_kernels))
        if warm_pool:
            pool_job = Job("start workers", self._started_executor)
            pool_job.signals.finished.connect(lambda ex: self.executor_ready.emit(ex.workers))
            pool_job.signals.failed.connect(self.error.emit)
            self.jobs.start(pool_job, "sweeps")

    def load_demo(self) -> Job:
        """Fill the store with the demo data if it has no bars (in the background); the list refreshes after."""
        job = Job("demo data", self._ensure_demo)
        job.signals.progress.connect(lambda p: self.demo_progress.emit(*p))
        job.signals.finished.connect(lambda _: self.refresh_datasets())
        job.signals.failed.connect(self.error.emit)
        return self.jobs.start(job)

    @contextmanager
    def store(self, write: bool = False) -> Iterator[Any]:
        """The store, open for this block only (read-only unless `write`); None when reading a store file
        that does not exist yet."""
        with self._store_lock, self.bench.store(write) as store:
            yield store

    def _ensure_demo(self, progress) -> bool:
        with self._store_lock:
            return self.bench.ensure_demo(lambda done, total, _name: progress((done, total)))

    def executor(self):
        """The sweep executor of the settings (sweep.executor, workers.*, sweep.chunk_timeout_s), started
        once (again after the settings changed); local workers run `worker_nice` nicer than the app."""
        with self._executor_lock:
            if self._executor is not None and self._executor_settings != self.bench.executor_options():
                old, self._executor = self._executor, None
                old.close()  # called from a sweep job: no sweep is using it any more
            if self._executor is None:
                self._executor = self.bench.executor(nice=self.worker_nice, in_app=True)
                self._executor_settings = self.bench.executor_options()
            return self._executor

    def _started_executor(self):
        """The executor with its workers up: a local pool starts at its first chunk unless asked (a
        fully cached sweep needs none), and the app warms it at startup so the first sweep does not wait."""
        executor = self.executor()
        start = getattr(executor, "start", None)
        if callable(start):
            start()
        return executor

    def reload_settings(self) -> None:
        """Read the settings again (the file and environment; flags the app was started with still win) and
        use them from the next operation on: store, strategies folder, result cache, sweep executor."""
        self.bench = self.bench.reloaded()
        self.store_path = self.bench.store_path
        self.strategies_dir = self.bench.strategies_dir
        self.cache = self.bench.cache()
        self._bars.clear()
        self.refresh_datasets()

    def shutdown(self) -> None:
        """Stop every job and the sweep pool. Bounded: a sweep stops within the executor's grace, and a job
        still validating an import after the wait checks `cancel` before it writes, so no store is written
        (or left open) after this returns."""
        self.jobs.cancel_all()
        self.jobs.wait(10_000)
        if self._executor is not None:
            self._executor.close()
        with self._store_lock:  # a write that is under way finishes (or rolls back) first
            self._closed = True

    # ---------------------------------------------------------------- data
    def datasets(self) -> list[dict]:
        with self.store() as store:
            return store.datasets() if store is not None else []

    def refresh_datasets(self) -> None:
        self.datasets_changed.emit(self.datasets())

    def bars(self, symbol: str, timeframe: str, start: str | None = None, end: str | None = None) -> Bars:
        key = (symbol, timeframe, start, end)
        hit = self._bars.get(key)
        if hit is not None:
            self._bars.move_to_end(key)
            return hit
        with self._store_lock:
            bars = self.bench.load_bars(symbol, timeframe, start, end)
        self._bars[key] = bars
        while len(self._bars) > 6:
            self._bars.popitem(last=False)
        return bars

    def import_files(self, paths: list[str], symbol: str | None = None, timeframe: str | None = None,
                     tz: str | None = None) -> Job:
        from engine.data.importers import prepare_files, write_prepared

        def work(cancel) -> list:
            limits = self.bench.import_limits()  # data.* caps, as `backbench import` uses
            prepared = prepare_files(paths, symbol or None, timeframe or None, tz or None,
                                     limits=limits)  # no store open
            if cancel.is_set() or self._closed:
                raise DataError("import cancelled: the app is closing; nothing was written")
            with self.store(write=True) as store:
                if self._closed:
                    raise DataError("import cancelled: the app is closing; nothing was written")
                return write_prepared(store, prepared)

        job = Job("import", work)
        job.signals.finished.connect(self._imported)
        job.signals.failed.connect(self.error.emit)
        return self.jobs.start(job)

    def _imported(self, reports: list) -> None:
        self._bars.clear()
        self.refresh_datasets()  # first, so the new datasets are listed when import_done selects one
        self.import_done.emit(reports)

    def delete_dataset(self, symbol: str, timeframe: str) -> Job:
        """Delete a dataset in the background (a large one takes a while); the list refreshes after."""
        def work() -> int:
            with self.store(write=True) as store:
                return store.delete(symbol, timeframe)

        job = Job("delete", work)
        job.signals.finished.connect(self._deleted)
        job.signals.failed.connect(self.error.emit)
        return self.jobs.start(job)

    def _deleted(self, _rows: int) -> None:
        self._bars.clear()
        self.refresh_datasets()

    # ---------------------------------------------------------------- backtests and sweeps
    def run_backtest(self, request: RunRequest) -> Job:
        job = Job("backtest", self._backtest, request)
        job.signals.finished.connect(self.backtest_done.emit)
        job.signals.failed.connect(self.backtest_failed.emit)
        job.signals.failed.connect(self.error.emit)
        return self.jobs.start(job)

    def _backtest(self, request: RunRequest) -> BacktestOutcome:
        import time

        from engine.backtest import run_backtest

        t0 = time.perf_counter()
        with profiling.timer("backtest.load"):
            bars = self.bars(request.symbol, request.timeframe, request.start, request.end)
        t_load = time.perf_counter() - t0
        strategy = self.bench.strategy(request.strategy)
        result = run_backtest(bars, strategy, request.params, request.config, cache=self.cache)
        indicators = strategy.indicators(bars, **result.params)
        stages = {"load": t_load, **result.timings}
        return BacktestOutcome(request, result, indicators, time.perf_counter() - t0, stages)

    def run_montecarlo(self, result: Any, options: dict[str, Any]) -> Job:
        """Resample a finished backtest (docs/montecarlo.md) with `options` (method, runs, seed, ruin, block)."""
        from engine.analysis.montecarlo import run_montecarlo

        job = Job("monte carlo", run_montecarlo, result.equity, result.trade_records, result.config.init_cash,
                  **options)
        job.signals.finished.connect(self.montecarlo_done.emit)
        job.signals.failed.connect(self.montecarlo_failed.emit)
        return self.jobs.start(job)

    def run_portfolio(self, template: RunRequest, options: dict[str, Any]) -> Job:
        """The template's strategy, params and cash/costs on several stored symbols with one cash balance
        (docs/portfolio.md); `options`: symbols, timeframe, sizing, size, max_positions, rebalance, score."""
        job = Job("portfolio", self._portfolio, template, options)
        job.signals.finished.connect(self.portfolio_done.emit)
        job.signals.failed.connect(self.portfolio_failed.emit)
        return self.jobs.start(job)

    def _portfolio(self, template: RunRequest, options: dict[str, Any]):
        from engine.errors import ConfigError
        from engine.portfolio import PortfolioConfig, parse_score, run_portfolio

        symbols = options["symbols"]
        if len(symbols) < 2:
            raise ConfigError("a portfolio needs two symbols or more: tick them in the list")
        datasets = [self.bars(s, options["timeframe"], template.start, template.end) for s in symbols]
        sim = template.config
        config = PortfolioConfig(init_cash=sim.init_cash, commission=sim.commission, slippage=sim.slippage,
                                 sizing=options["sizing"], size=options["size"],
                                 max_positions=options["max_positions"], rebalance=options.get("rebalance"),
                                 risk_free_rate=sim.risk_free_rate)
        return run_portfolio(datasets, template.strategy, template.params, config,
                             score=parse_score(options.get("score")), strategies_dir=str(self.strategies_dir),
                             holdings=True)

    def run_walk_forward(self, template: RunRequest, grid: dict[str, Any], where: str,
                         options: dict[str, Any]) -> Job:
        """Walk `grid` forward over the template's dataset (docs/guide.md), with the hindsight curve."""
        job = Job("walk-forward", self._walk_forward, template, grid, where, options)
        job.signals.finished.connect(self.walk_forward_done.emit)
        job.signals.failed.connect(self.walk_forward_failed.emit)
        return self.jobs.start(job, "sweeps")

    def _walk_forward(self, template: RunRequest, grid: dict, where: str, options: dict, progress):
        from engine.sweep.walkforward import walk_forward

        bars = self.bars(template.symbol, template.timeframe, template.start, template.end)
        settings = self.bench.settings.sweep
        wf = walk_forward(bars, template.strategy, grid, train=options["train"], test=options["test"],
                          step=options.get("step"), anchored=options.get("anchored", False), metric=settings.metric,
                          minimize=settings.minimize, where=where or None, config=template.config,
                          executor=self.executor(), strategies_dir=self.strategies_dir, progress=progress,
                          cache=self.cache, hindsight=True)
        return wf, bars

    def run_sweep(self, template: RunRequest, grid: dict[str, list], where: str = "",
                  search: dict[str, Any] | None = None) -> Job:
        """Every combo of `grid`, or with search {"optimize": "tpe"|"cmaes", "trials", "metric"} a sampler's
        choice of them (docs/optimize.md)."""
        job = Job("sweep", self._sweep, template, grid, where, search or {})
        job.signals.progress.connect(self.sweep_progress.emit)
        job.signals.finished.connect(lambda res: self.sweep_done.emit((template, res)))
        job.signals.failed.connect(self.sweep_failed.emit)
        job.signals.failed.connect(self.error.emit)
        self.sweep_job = job
        return self.jobs.start(job, "sweeps")

    def _sweep(self, template: RunRequest, grid: dict, where: str, search: dict, progress, cancel):
        from app.gui.views.heatmap import lower_is_better
        from app.macos_activity import sweep_activity
        from engine.sweep import run_sweep

        bars = self.bars(template.symbol, template.timeframe, template.start, template.end)
        with sweep_activity():  # macOS: no App Nap while the workers run (a no-op elsewhere)
            if search.get("optimize"):
                from engine.sweep.optimize import optimize

                metric = search.get("metric") or self.bench.settings.sweep.metric
                return optimize(bars, template.strategy, grid, metric=metric, minimize=lower_is_better(metric),
                                sampler=search["optimize"], trials=search.get("trials", 50), where=where or None,
                                config=template.config, executor=self.executor(), cache=self.cache,
                                progress=progress, cancel=cancel, strategies_dir=self.strategies_dir)
            return run_sweep(bars, template.strategy, grid, where=where or None, config=template.config,
                             executor=self.executor(), progress=progress, cancel=cancel,
                             strategies_dir=self.strategies_dir, cache=self.cache)

    def cancel_sweep(self) -> None:
        if self.sweep_job is not None:
            self.sweep_job.cancel.set()


def _warm_kernels() -> None:
    from engine.sweep.executors import warm_kernels

    warm_kernels()
