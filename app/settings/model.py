"""Settings: every tunable of the app in one frozen, typed object, with where each value came from.

    settings = load_settings()                       # defaults < file < BACKBENCH_* env
    settings = load_settings({"simulation.commission": "0.001"})   # ... < command-line flags
    settings.simulation.commission, settings.sources["simulation.commission"]   # 0.001, "flag --commission"
    settings.store_path(), settings.worker_count(), settings.sim_config()

The file is TOML (`config_path()`: $BACKBENCH_CONFIG, else backbench.toml in the platform's user config
dir) with one [section] per group below; every key is optional. Each key has one environment variable,
`BACKBENCH_<SECTION>_<KEY>` unless it has an older, established name (BACKBENCH_DB, NUMBA_CACHE_DIR).
Unknown sections/keys and bad values raise `ConfigError` naming the key, the file and the line.
Empty path values and a worker/thread count of 0 mean "the platform default" (resolved by the methods
of `Settings`), so a settings file moves between machines unchanged.

This module imports neither numpy nor numba: the entry point loads settings before they are imported
(thread caps and NUMBA_CACHE_DIR must be in the environment first).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import AT_END, DIRECTIONS, FILLS, SIZINGS, SimConfig
from engine.errors import ConfigError

APP_NAME = "Backbench"
CONFIG_ENV = "BACKBENCH_CONFIG"
CONFIG_FILE_NAME = "backbench.toml"
ENV_PREFIX = "BACKBENCH_"

# The stats a sweep can rank by: engine.kernels.stats.STAT_KEYS (a test keeps the two equal; importing
# the kernel here would load numba before NUMBA_CACHE_DIR is set).
SWEEP_METRICS = (
    "duration", "exposure_time_pct", "equity_final", "equity_peak", "return_pct", "buy_hold_return_pct",
    "return_ann_pct", "volatility_ann_pct", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
    "max_drawdown_pct", "avg_drawdown_pct", "max_drawdown_duration", "n_trades", "win_rate_pct",
    "best_trade_pct", "worst_trade_pct", "avg_trade_pct", "max_trade_duration", "avg_trade_duration",
    "profit_factor", "expectancy_pct", "sqn",
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

    path: str = _key("", "Bar store file (DuckDB).", env="BACKBENCH_DB", flag="--db", kind="path",
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
    size: float = _key(1.0, "Units with sizing = \"fixed\"; fraction of equity, in (0, 1], with sizing = \"percent\".",
                       flag="--size", min=1e-9, max=1e12)
    direction: str = _key("long", "Trade long, short or both.", flag="--direction", choices=DIRECTIONS)
    at_end: str = _key("keep_open", "A trade open at the last bar stays open or is closed.", flag="--at-end",
                       choices=AT_END)


@dataclass(frozen=True)
class SweepSettings:
    """Parameter sweeps."""

    metric: str = _key("sharpe_ratio", "Stat that ranks sweep rows and picks walk-forward parameters.",
                       flag="--metric", choices=SWEEP_METRICS)
    minimize: bool = _key(False, "Lower metric is better.", flag="--minimize")
    executor: str = _key("local", "local (process pool), serial, dask (a local Dask cluster) or a Dask "
                                  "scheduler address such as tcp://host:8786.", flag="--executor")
    chunk_timeout_s: float = _key(600.0, "Longest one chunk of a sweep may run in a local worker, seconds; past it "
                                         "the worker is stopped and the chunk's combos are reported as errors. "
                                         "0 = no limit.", min=0.0, max=1e7)


@dataclass(frozen=True)
class StrategySettings:
    """User strategies."""

    dir: str = _key("", "Folder of user strategy files (*.py).", flag="--strategies-dir", kind="path",
                    default_doc="<user data dir>/strategies")


@dataclass(frozen=True)
class UISettings:
    """The desktop app."""

    refresh_hz: int = _key(30, "How often the app redraws live charts and progress, per second.", min=1, max=240)


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
        return Path(self.store.path).expanduser() if self.store.path else user_dir("data") / "backbench.duckdb"

    def cache_dir(self) -> Path:
        return Path(self.cache.dir).expanduser() if self.cache.dir else user_dir("cache") / "results"

    def strategies_dir(self) -> Path:
        return Path(self.strategies.dir).expanduser() if self.strategies.dir else user_dir("data") / "strategies"

    def numba_cache_dir(self) -> Path | None:
        """None: numba's own default (next to the sources); the packaged app keeps kernels in the user cache."""
        if self.numba.cache_dir:
            return Path(self.numba.cache_dir).expanduser()
        if getattr(sys, "frozen", False):
            return user_dir("cache") / "numba"
        return None

    def worker_count(self) -> int:
        if self.workers.count:
            return self.workers.count
        from engine.runtime.hardware import default_workers, detect

        return max(1, default_workers(detect(libraries=False)))

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

        With a `compat` preset only init_cash and commission are taken from the settings (the preset
        fixes the rest, and any other flag is an error, as in `SimConfig.preset`).
        """
        defaults = dataclasses.asdict(self.simulation)
        if compat is not None:
            defaults = {k: defaults[k] for k in ("init_cash", "commission")}
            return SimConfig.preset(compat, **{**defaults, **flags})
        return SimConfig(**{**defaults, **flags})


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


def user_dir(kind: str) -> Path:
    """The platform's per-user "config", "data" or "cache" directory for Backbench."""
    import platformdirs

    fn = {"config": platformdirs.user_config_dir, "data": platformdirs.user_data_dir,
          "cache": platformdirs.user_cache_dir}[kind]
    return Path(fn(APP_NAME, appauthor=False))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """$BACKBENCH_CONFIG, else backbench.toml in the platform's user config dir."""
    env = os.environ if env is None else env
    given = env.get(CONFIG_ENV)
    return Path(given).expanduser() if given else user_dir("config") / CONFIG_FILE_NAME


def load_settings(cli_overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] = os.environ,
                  path: str | os.PathLike[str] | None = None, *, flag_names: Mapping[str, str] | None = None,
                  ) -> Settings:
    """Defaults, then the file (`path`, else `config_path(env)`; missing = defaults), then the environment,
    then `cli_overrides` ({dotted key: value}; strings are parsed like environment values).
    `flag_names` ({key: "--flag"}) names the flag that set a key when it is not the key's own flag.

    Raises ConfigError (one line naming the key and where it was set) for unknown keys or bad values.
    """
    from engine.settings_file import check_value, parse_text, read_settings_file

    file = Path(path).expanduser() if path is not None else config_path(env)
    values: dict[str, Any] = {spec.key: spec.default for spec in KEYS}
    sources = dict.fromkeys(values, "default")
    for key, (value, line) in read_settings_file(file).items():
        values[key] = value
        sources[key] = f"file {file}:{line}" if line else f"file {file}"
    _check_env_names(env)
    for spec in KEYS:
        raw = env.get(spec.env)
        if raw:  # an empty variable counts as unset (as BACKBENCH_DB always has)
            values[spec.key] = parse_text(spec, raw, f"env {spec.env}")
            sources[spec.key] = f"env {spec.env}"
    for key, value in (cli_overrides or {}).items():
        given = SPECS.get(key)
        if given is None:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(SPECS)})")
        where = (flag_names or {}).get(key) or given.flag or f"--set {key}"
        values[key] = parse_text(given, value, where) if isinstance(value, str) else check_value(given, value, where)
        sources[key] = f"flag {where}"
    return _build(values, sources, file)


def _check_env_names(env: Mapping[str, str]) -> None:
    """A BACKBENCH_<SECTION>_* variable that is no key is a typo: say so rather than ignore it."""
    known = {spec.env for spec in KEYS}
    for name in env:
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        section = next((s for s in SECTIONS if name.startswith(f"{ENV_PREFIX}{s.upper()}_")), None)
        if section is not None:
            names = ", ".join(s.env for s in KEYS if s.section == section)
            raise ConfigError(f"env {name}: no such setting in [{section}] (its variables: {names})")


def _build(values: dict[str, Any], sources: dict[str, str], file: Path | None) -> Settings:
    sections = {name: cls(**{k.name: values[k.key] for k in KEYS if k.section == name})
                for name, cls in SECTIONS.items()}
    settings = Settings(**sections, sources=dict(sources), config_file=file)
    try:  # rules between keys (sizing = "percent" needs size <= 1)
        settings.sim_config()
    except ConfigError as exc:
        where = sources["simulation.size"]
        raise ConfigError(f"{_location(where)}: simulation.{str(exc).removeprefix('config: ')}") from None
    return settings


def settings_from_values(values: Mapping[str, Any]) -> Settings:
    """Settings from {dotted key: value} (the Preferences form); unlisted keys take their defaults.

    Values are checked as if they were in a file; errors name the key.
    """
    from engine.settings_file import check_value

    merged: dict[str, Any] = {spec.key: spec.default for spec in KEYS}
    sources = dict.fromkeys(merged, "default")
    for key, value in values.items():
        spec = SPECS.get(key)
        if spec is None:
            raise ConfigError(f"unknown setting {key!r}")
        merged[key] = check_value(spec, value, key)
        sources[key] = "form"
    return _build(merged, sources, None)


def _location(source: str) -> str:
    """A source as an error prefix: "file /x.toml:3" -> "/x.toml:3", "flag --size" -> "--size"."""
    return source.removeprefix("file ").removeprefix("flag ")
