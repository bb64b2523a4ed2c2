"""The settings model: every tunable of the app in one frozen, typed object, with where each value came from.

    settings.simulation.commission, settings.sources["simulation.commission"]   # 0.001, "flag --commission"
    settings.store_path(), settings.worker_count(), settings.sim_config()

`KEYS` is the one table of options: each key's type, default, help, environment variable and command-line
flag. The settings file, `config show`, the docs, the Preferences form and the CLI's flags
(app/cli_options.py) are all built from it. Each key has one environment variable,
`BACKBENCH_<SECTION>_<KEY>` unless it has an older, established name (BACKBENCH_DB, NUMBA_CACHE_DIR).
Empty path values and a worker/thread count of 0 mean "the platform default" (resolved by the methods
of `Settings`), so a settings file moves between machines unchanged.

The package imports neither numpy nor numba: the entry point loads settings before they are imported
(thread caps and NUMBA_CACHE_DIR must be in the environment first).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.settings.paths import default_path
from engine.config import (
    AT_END,
    CONFLICTS,
    DIRECTIONS,
    ENTRY_WHILE_LONG,
    FILLS,
    OPPOSITE_ENTRY,
    PRESET_OPEN,
    SIZINGS,
    SimConfig,
)

ENV_PREFIX = "BACKBENCH_"
# Simulation keys whose 0 means "off" (SimConfig's None): a settings file has no null.
OFF_WHEN_ZERO = ("sl", "tp", "trail")


def sim_value(name: str, value: Any) -> Any:
    """A simulation setting as SimConfig takes it (0 -> None for the keys that can be off)."""
    return None if name in OFF_WHEN_ZERO and not value else value


# The stats a sweep can rank by: engine.kernels.stats.STAT_KEYS (a test keeps the two equal; importing
# the kernel here would load numba before NUMBA_CACHE_DIR is set).
SWEEP_METRICS = (
    "duration", "exposure_time_pct", "equity_final", "equity_peak", "commissions", "return_pct",
    "buy_hold_return_pct", "return_ann_pct", "volatility_ann_pct", "cagr_pct", "sharpe_ratio", "sortino_ratio",
    "calmar_ratio", "alpha_pct", "beta", "max_drawdown_pct", "avg_drawdown_pct", "max_drawdown_duration",
    "n_trades", "win_rate_pct", "best_trade_pct", "worst_trade_pct", "avg_trade_pct", "max_trade_duration",
    "avg_trade_duration", "profit_factor", "expectancy_pct", "sqn", "kelly",
)
EXECUTORS = ("local", "serial", "dask")


def _key(default: Any, help: str, *, env: str | None = None, flag: str | None = None, min: float | None = None,
         max: float | None = None, choices: tuple[str, ...] | None = None, kind: str = "",
         default_doc: str | None = None) -> Any:
    """A settings key: its default and what the docs, the CLI and the Preferences form need to know."""
    return field(default=default, metadata=dict(help=help, env=env, flag=flag, min=min, max=max, choices=choices,
                                                 kind=kind, default_doc=default_doc))


@dataclass(frozen=True)
class StoreSettings:
    """The bar store."""

    path: str = _key("", "Bar store file (DuckDB).", env="BACKBENCH_DB", flag="--store", kind="path",
                     default_doc="<user data dir>/backbench.duckdb")


@dataclass(frozen=True)
class CacheSettings:
    """The result cache: L1 in memory, L2 on disk."""

    dir: str = _key("", "Result cache directory (L2, on disk).", env="BACKBENCH_CACHE_DIR", kind="path",
                    default_doc="<user cache dir>/results")
    l1_mb: int = _key(256, "In-memory (L1) cache limit, MiB; 0 turns L1 off.", min=0, max=1 << 20)
    l2_mb: int = _key(2048, "On-disk (L2) cache limit, MiB; the least recently used results are deleted "
                            "beyond it.", min=1, max=1 << 30)
    max_entry_mb: int = _key(256, "Largest single result the disk cache keeps, MiB.", min=1, max=1 << 20)
    ttl_s: float = _key(0.0, "Seconds an in-memory (L1) entry stays valid; 0 = until evicted.", min=0.0)


@dataclass(frozen=True)
class DataSettings:
    """Importing bar files."""

    max_decompressed_mb: int = _key(4096, "Largest a compressed (.gz) file may grow to when decompressed, MiB; a "
                                          "larger one is refused before it fills memory.", min=1, max=1 << 30)
    max_rows: int = _key(200_000_000, "Most data rows one imported file may have.", min=1, max=2_000_000_000)


@dataclass(frozen=True)
class WorkerSettings:
    """Processes and threads."""

    count: int = _key(0, "Sweep worker processes; 0 = one per performance core.", flag="--workers", min=0,
                      max=1024)
    threads_per_worker: int = _key(1, "BLAS/OpenMP/numba threads in each sweep worker.", min=1, max=256)
    threads_main: int = _key(0, "BLAS/OpenMP/numba threads in the app's own process; 0 = min(4, performance "
                                "cores). A thread variable already in the environment (OMP_NUM_THREADS, ...) "
                                "wins.", min=0, max=256)


@dataclass(frozen=True)
class NumbaSettings:
    """The numba JIT."""

    cache_dir: str = _key("", "Where numba keeps compiled kernels.", env="NUMBA_CACHE_DIR", kind="path",
                          default_doc="next to the sources (__pycache__); <user cache dir>/numba in the "
                                      "packaged app")


@dataclass(frozen=True)
class SimulationSettings:
    """Defaults of `backbench run` / `sweep` and the GUI (docs/simulation.md has the rules)."""

    init_cash: float = _key(10_000.0, "Starting cash, currency units (> 0).", flag="--cash", min=0.01, max=1e15)
    commission: float = _key(0.0, "Commission per side, fraction of traded value (0.001 = 0.1 %), in [0, 1).",
                             flag="--commission", min=0.0, max=0.999999)
    fixed_fee: float = _key(0.0, "Fixed fee per order, currency units (>= 0).", flag="--fixed-fee", min=0.0, max=1e12)
    slippage: float = _key(0.0, "Fill prices move against the trader by this fraction, in [0, 1).", flag="--slippage",
                           min=0.0, max=0.999999)
    fill: str = _key("next_open", "When a signal at a bar's close fills.", flag="--fill", choices=FILLS)
    sizing: str = _key("all", "How big an entry is.", flag="--sizing", choices=SIZINGS)
    size: float = _key(1.0, "Units with sizing = \"fixed\"; fraction of equity, in (0, 1], with sizing = \"percent\"; "
                            "currency with sizing = \"value\".",
                       flag="--size", min=1e-9, max=1e12)
    sl: float = _key(0.0, "Stop-loss, fraction below the entry price (0.05 = 5 %); 0 = off.", flag="--sl", min=0.0,
                     max=0.999999)
    tp: float = _key(0.0, "Take-profit, fraction above the entry price; 0 = off.", flag="--tp", min=0.0, max=1e6)
    trail: float = _key(0.0, "Trailing stop, fraction below the best price since entry; 0 = off.", flag="--trail",
                        min=0.0, max=0.999999)
    direction: str = _key("long", "Trade long, short or both.", flag="--direction", choices=DIRECTIONS)
    on_entry_while_long: str = _key("ignore", "An entry signal while a trade is open: ignore it, or close and "
                                              "re-open.", flag="--on-entry-while-long", choices=ENTRY_WHILE_LONG)
    accumulate: bool = _key(False, "An entry signal on the open position's side adds to it (pyramiding), each "
                                   "addition its own trade with its own stops; off: the signal is ignored.",
                            flag="--accumulate")
    on_opposite_entry: str = _key("reverse", "An entry signal against the open position: reverse it, only close "
                                             "it, or ignore the signal.", flag="--on-opposite-entry",
                                  choices=OPPOSITE_ENTRY)
    same_bar_conflict: str = _key("ignore", "An entry and an exit signal on one bar: ignore both, or the entry "
                                            "wins.", flag="--same-bar-conflict", choices=CONFLICTS)
    at_end: str = _key("keep_open", "A trade open at the last bar stays open or is closed.", flag="--at-end",
                       choices=AT_END)
    margin: float = _key(1.0, "Margin, the fraction of a position's value the cash must cover: leverage is 1 / margin "
                              "(0.5 = 2x), in (0, 1].", flag="--margin", min=1e-6, max=1.0)
    maintenance: float = _key(0.0, "Maintenance margin: a position whose equity falls below this fraction of its "
                                   "value is liquidated at the close; 0 = off; below the margin.",
                              flag="--maintenance", min=0.0, max=0.999999)
    risk_free_rate: float = _key(0.0, "Annual risk-free rate, a fraction (0.03 = 3 %), in (-1, 1), for the Sharpe "
                                      "and Sortino ratios and alpha (docs/stats.md); trades do not depend on it, "
                                      "and a --compat preset takes it too.", flag="--risk-free-rate",
                                 min=-0.999999, max=0.999999)


@dataclass(frozen=True)
class SweepSettings:
    """Parameter sweeps."""

    metric: str = _key("sharpe_ratio", "Stat that ranks sweep rows and picks walk-forward parameters.",
                       flag="--metric", choices=SWEEP_METRICS)
    minimize: bool = _key(False, "Lower metric is better.", flag="--minimize")
    executor: str = _key("local", "local (process pool), serial, dask (a local Dask cluster) or a Dask "
                                  "scheduler address such as tcp://host:8786.", flag="--executor")
    memo_mb: int = _key(32, "Each sweep worker's indicator memo (indicators kept for the next combos), MB. More "
                            "is faster on sparse grids of long series, for this much more memory per worker "
                            "(docs/performance.md, \"Peak memory\").", min=1, max=1_000_000)
    chunk_timeout_s: float = _key(600.0, "Longest one chunk of a sweep may run in a local worker, seconds; past it "
                                         "the worker is stopped and the chunk's combos are reported as errors. "
                                         "0 = no limit.", min=0.0, max=1e7)
    tls_ca: str = _key("", "CA certificate of a tls:// Dask scheduler (PEM file).", env="BACKBENCH_TLS_CA", kind="path",
                       default_doc="none")
    tls_cert: str = _key("", "This client's certificate for a tls:// Dask scheduler (PEM file).",
                         env="BACKBENCH_TLS_CERT", kind="path", default_doc="none")
    tls_key: str = _key("", "This client's private key for a tls:// Dask scheduler (PEM file).",
                        env="BACKBENCH_TLS_KEY", kind="path", default_doc="none")


@dataclass(frozen=True)
class StrategySettings:
    """User strategies."""

    dir: str = _key("", "Folder of user strategy files (*.py).", flag="--strategies-dir", kind="path",
                    default_doc="<user data dir>/strategies")


@dataclass(frozen=True)
class UISettings:
    """The desktop app."""

    refresh_hz: int = _key(10, "How often the profiling dashboard samples the engine and redraws, per second.",
                           min=1, max=60)


@dataclass(frozen=True)
class MetricsSettings:
    """The /metrics endpoint for Prometheus (docs/metrics.md)."""

    port: int = _key(9464, "Port of the /metrics endpoint. Giving --metrics-port turns it on for sweep, run, import "
                           "or gui; the app also serves it when metrics.app is on.", flag="--metrics-port", min=1,
                     max=65535)
    host: str = _key("127.0.0.1", "Address the /metrics endpoint listens on. Anything but loopback lets other "
                                  "machines read it, and the command warns.", flag="--metrics-host")
    linger_s: float = _key(0.0, "Seconds /metrics stays up after the command's work ends, so a scraper's last "
                                "scrape sees the final figures.", flag="--metrics-linger", min=0.0, max=86400.0)
    app: bool = _key(False, "The desktop app serves /metrics while it runs (on metrics.host and metrics.port).")


@dataclass(frozen=True)
class KeySpec:
    """One settings key, as the loader, the docs and the Preferences form see it."""

    section: str
    name: str
    type: type
    default: Any
    help: str
    env: str
    flag: str | None
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None
    kind: str
    default_doc: str | None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def dest(self) -> str:
        """The attribute its flag sets on parsed arguments (and the name a Python caller uses for it)."""
        return f"{self.section}_{self.name}"

    def describe_default(self) -> str:
        """The default as the docs show it (portable: no machine-specific paths)."""
        if self.default_doc is not None:
            return self.default_doc
        if self.type is bool:
            return "true" if self.default else "false"
        if self.type is str:
            return f'"{self.default}"'
        return f"{self.default:g}" if self.type is float else str(self.default)


@dataclass(frozen=True)
class Settings:
    """Every tunable, by section. `sources[key]` says where each value came from:
    "default", "file PATH:LINE", "env VAR" or "flag --FLAG"; `config_file` is the file that was read."""

    store: StoreSettings = field(default_factory=StoreSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    data: DataSettings = field(default_factory=DataSettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    numba: NumbaSettings = field(default_factory=NumbaSettings)
    simulation: SimulationSettings = field(default_factory=SimulationSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)
    strategies: StrategySettings = field(default_factory=StrategySettings)
    ui: UISettings = field(default_factory=UISettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    config_file: Path | None = field(default=None, compare=False)

    def get(self, key: str) -> Any:
        """The value of a dotted key, e.g. "simulation.commission"."""
        section, _, name = key.partition(".")
        return getattr(getattr(self, section), name)

    def values(self) -> dict[str, Any]:
        """{dotted key: value} for every key, in model order."""
        return {spec.key: self.get(spec.key) for spec in KEYS}

    # -- resolved values ------------------------------------------------------------------------------
    def store_path(self) -> Path:
        return Path(self.store.path).expanduser() if self.store.path else default_path("store")

    def cache_dir(self) -> Path:
        return Path(self.cache.dir).expanduser() if self.cache.dir else default_path("cache")

    def strategies_dir(self) -> Path:
        return Path(self.strategies.dir).expanduser() if self.strategies.dir else default_path("strategies")

    def resolved(self, key: str) -> Any:
        """A key's value with an empty path resolved to its default location (what a command uses)."""
        paths = {"store.path": self.store_path, "cache.dir": self.cache_dir, "strategies.dir": self.strategies_dir,
                 "numba.cache_dir": self.numba_cache_dir}
        return paths[key]() if key in paths else self.get(key)

    def numba_cache_dir(self) -> Path | None:
        """None: numba's own default (next to the sources); the packaged app keeps kernels in the user cache."""
        if self.numba.cache_dir:
            return Path(self.numba.cache_dir).expanduser()
        if getattr(sys, "frozen", False):
            return default_path("numba")
        return None

    def worker_count(self) -> int:
        if self.workers.count:
            return self.workers.count
        from engine.runtime.hardware import default_worker_count

        return default_worker_count()

    def main_threads(self) -> int:
        if self.workers.threads_main:
            return self.workers.threads_main
        from engine.runtime.hardware import detect
        from engine.runtime.threads import gui_thread_count

        return gui_thread_count(detect(libraries=False))

    def cache_options(self) -> dict[str, Any]:
        """Keyword arguments for `engine.cache.ResultCache`."""
        c = self.cache
        return {"directory": self.cache_dir(), "l1_bytes": c.l1_mb << 20, "l2_bytes": c.l2_mb << 20,
                "max_entry_bytes": c.max_entry_mb << 20, "ttl": c.ttl_s or None}

    def sim_config(self, compat: str | None = None, **flags: Any) -> SimConfig:
        """The simulation config: these defaults, then `flags` (SimConfig field names) on top.

        With a `compat` preset only init_cash, commission and risk_free_rate are taken from the settings
        (the preset fixes the rest, and any other flag is an error, as in `SimConfig.preset`).
        """
        defaults = {k: sim_value(k, v) for k, v in dataclasses.asdict(self.simulation).items()}
        if compat is not None:
            defaults = {k: defaults[k] for k in PRESET_OPEN}
            return SimConfig.preset(compat, **{**defaults, **flags})
        return SimConfig(**{**defaults, **{k: sim_value(k, v) for k, v in flags.items()}})


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Settings)  # type: ignore[misc]
                             if f.name not in ("sources", "config_file")}
_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def _specs() -> tuple[KeySpec, ...]:
    out = []
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            m = f.metadata
            env = m["env"] or f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            out.append(KeySpec(section, f.name, _TYPES[str(f.type)], f.default, m["help"], env, m["flag"],
                               m["min"], m["max"], m["choices"], m["kind"], m["default_doc"]))
    return tuple(out)


KEYS: tuple[KeySpec, ...] = _specs()
SPECS: dict[str, KeySpec] = {spec.key: spec for spec in KEYS}


