"""The application service under both faces: settings in; the store, cache, executor, strategies and bars out.

    bench = Workbench(load_settings())
    bars = bench.load_bars("ACME")                       # from the store (the demo fills an empty one)
    strategy = bench.strategy("sma_cross")               # builtins, then the strategies folder
    result = run_backtest(bars, strategy, {}, bench.sim_config(), cache=bench.cache())
    with bench.executor() as ex: run_sweep(bars, strategy, grid, executor=ex, ...)

The CLI's commands (app/cli_*.py) and the desktop app's controller (app/gui/controller.py) both go
through a `Workbench`, so every setting (sweep.executor, workers.threads_per_worker, the data caps, ...)
means the same in both. The engine itself takes explicit paths and values and reads no settings
(docs/architecture.md, "Layers").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.settings import Settings, settings_from_values
from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import ConfigError, DataError

DEFAULT_SYMBOL = "ACME"


class Workbench:
    """What a command or the app needs, built from one `Settings`.

    use_cache=False: no result cache (every result is computed; nothing is stored).
    """

    def __init__(self, settings: Settings, *, use_cache: bool = True) -> None:
        self.settings = settings
        self.store_path: Path = settings.store_path()
        self.strategies_dir: Path = settings.strategies_dir()
        self.use_cache = use_cache

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None, *, use_cache: bool = True) -> Workbench:
        """A workbench from {dotted key: value} alone (defaults for the rest; no file, no environment)."""
        return cls(settings_from_values(values or {}), use_cache=use_cache)

    def reloaded(self) -> Workbench:
        """A workbench from the settings file and environment as they are now; keys this one was given as
        flags (or values) keep their values."""
        from app.settings import load_settings

        given = {k: self.settings.get(k) for k, src in self.settings.sources.items()
                 if src.startswith(("flag", "form"))}
        return Workbench(load_settings(given), use_cache=self.use_cache)

    # -- simulation and strategies -------------------------------------------------------------------
    def sim_config(self, compat: str | None = None, **flags: Any) -> SimConfig:
        return self.settings.sim_config(compat, **flags)

    def strategy(self, name: str):
        from engine.strategies import get_strategy

        return get_strategy(name, strategies_dir=self.strategies_dir)

    def strategies(self) -> tuple[list, list[str]]:
        """Every strategy (builtins first, then the folder's by name) and the folder's load errors, from one
        reading of the folder."""
        from engine.strategies import BUILTINS, load_user_strategies

        user, errors = load_user_strategies(self.strategies_dir)
        return [*BUILTINS.values(), *(user[name] for name in sorted(user))], [str(e) for e in errors]

    # -- cache and executor --------------------------------------------------------------------------
    def cache(self):
        """The process-wide result cache in the settings' directory and limits, or None without a cache."""
        if not self.use_cache:
            return None
        from engine.cache import configure_default_cache, default_cache

        configure_default_cache(**self.settings.cache_options())
        return default_cache()

    def executor_options(self) -> dict[str, Any]:
        """What the settings give `make_executor` (sweep.executor, workers.*, sweep.chunk_timeout_s,
        sweep.memo_mb, sweep.tls_*): an executor built from other options is stale once they change."""
        from engine.sweep.dask_executor import TlsFiles

        s = self.settings
        return {"spec": s.sweep.executor, "workers": s.workers.count or None,
                "threads_per_worker": s.workers.threads_per_worker, "chunk_timeout_s": s.sweep.chunk_timeout_s,
                "memo_bytes": s.sweep.memo_mb * 2**20,
                "tls": TlsFiles(s.sweep.tls_ca, s.sweep.tls_cert, s.sweep.tls_key)}

    def executor(self, *, spec: str | None = None, nice: int = 0, insecure: bool = False, in_app: bool = False):
        """The sweep executor of `executor_options`; `spec` overrides the setting's. In the app (`in_app`) one
        local worker is still a process, so a sweep never runs on the app's own threads."""
        from engine.sweep.executors import make_executor

        options = self.executor_options()
        if spec:
            options["spec"] = spec
        try:
            return make_executor(**options, insecure=insecure, nice=nice, single_in_process=not in_app)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    # -- the store -----------------------------------------------------------------------------------
    @contextmanager
    def store(self, write: bool = False) -> Iterator[Any]:
        """The store, open for this block only (read-only unless `write`); None when reading a store file
        that does not exist yet."""
        from engine.data.store import Store

        if not write and not self.store_path.exists():
            yield None
            return
        with Store(self.store_path, read_only=not write) as store:
            yield store

    def ensure_demo(self, progress: Callable[[int, int, str], None] | None = None) -> bool:
        """Fill a missing or empty store with the demo data; True if it was filled."""
        from engine.data.store import ensure_demo_data

        with self.store() as existing:
            if existing is not None and not existing.is_empty():
                return False
        with self.store(write=True) as store:
            return ensure_demo_data(store, progress=progress)

    def load_bars(self, symbol: str | None = None, timeframe: str | None = None, start: Any = None,
                  end: Any = None) -> Bars:
        """Bars of a stored symbol (default ACME), resampled to `timeframe`, between `start` and `end`."""
        symbol = symbol or DEFAULT_SYMBOL
        with self.store() as store:
            if store is None:
                raise DataError(f"no bar store at {self.store_path} yet: import a file or fill the demo data")
            bars = store.load(symbol, timeframe, start, end)
        if not len(bars):
            raise DataError(f"{symbol} {bars.timeframe}: no bars between {start or 'the start'} "
                            f"and {end or 'the end'}")
        return bars

    def import_limits(self):
        """The caps on one imported file (data.max_decompressed_mb, data.max_rows)."""
        from engine.data.importers import ImportLimits

        return ImportLimits(self.settings.data.max_decompressed_mb << 20, self.settings.data.max_rows)
