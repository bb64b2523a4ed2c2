"""Command-line options shared by the commands, declared once.

Every option that is also a setting (simulation, sweep ranking and executor, workers, the store, the
strategies folder) is made from that setting's entry in the one table of keys (`app.settings.KEYS`):
its flag, type, help and default come from there, and its parsed value lands on `args.<section>_<name>`
(e.g. `args.simulation_commission`, `args.store_path`), the name the settings key has. The entry point
(app/cli.py) loads the settings with the given flags on top and fills every such attribute with the
effective value, so a command reads `args.store_path` and never looks at defaults itself.

`add_data_args` is the one data-source group (--file / --demo / --symbol or --symbols, the store, the
time range) and `datasets_from_args` reads what it asks for through the command's `Workbench`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.settings import KEYS, KeySpec, Settings
from engine.errors import DataError, StrategyError

# Older spellings a flag still answers to.
FLAG_ALIASES: dict[str, tuple[str, ...]] = {"store.path": ("--db",)}


def setting_specs(*keys_or_sections: str) -> list[KeySpec]:
    """The flagged keys of these sections ("simulation") or keys ("store.path"), in table order."""
    wanted = set(keys_or_sections)
    return [s for s in KEYS if s.flag and (s.section in wanted or s.key in wanted)]


def add_setting_flags(parser: argparse.ArgumentParser | Any, *keys_or_sections: str) -> None:
    """One flag per settings key: its value is parsed and checked by the settings loader, which names the
    flag in any error; unset flags stay None until the entry point fills them from the settings."""
    for spec in setting_specs(*keys_or_sections):
        flags = (str(spec.flag), *FLAG_ALIASES.get(spec.key, ()))
        default = spec.describe_default()
        text = f"{spec.help} Default: {default} (setting {spec.key})."
        if spec.choices is not None and spec.key != "sweep.metric":
            text = f"{spec.help} One of: {', '.join(spec.choices)}. Default: {default} (setting {spec.key})."
        text = text.replace("%", "%%")
        if spec.type is bool:
            parser.add_argument(*flags, dest=spec.dest, action="store_true", default=None, help=text)
        else:
            parser.add_argument(*flags, dest=spec.dest, metavar=spec.name.upper(), help=text)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """{settings key: raw value} of every settings flag given on the command line."""
    return {spec.key: getattr(args, spec.dest) for spec in KEYS
            if spec.flag and getattr(args, spec.dest, None) is not None}


def fill_from_settings(args: argparse.Namespace, settings: Settings) -> None:
    """Every settings flag this command has gets its effective (parsed, checked) value."""
    for spec in KEYS:
        if spec.flag and hasattr(args, spec.dest):
            setattr(args, spec.dest, settings.resolved(spec.key))


# -- simulation ----------------------------------------------------------------------------------------------
def add_sim_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("simulation (docs/simulation.md)")
    add_setting_flags(g, "simulation")
    g.add_argument("--compat", choices=("backtesting", "vectorbt"),
                   help="reproduce backtesting.py or vectorbt exactly (with --cash, --commission and the options "
                        "the peer has: docs/compat.md)")


def sim_config_from_args(args: argparse.Namespace):
    """The SimConfig: settings' simulation defaults, the flags given on top, or a --compat preset (which
    takes only cash and commission from the settings; another simulation flag with it is an error)."""
    settings: Settings = args.settings
    given = {spec.name: settings.get(spec.key) for spec in setting_specs("simulation")
             if settings.sources[spec.key].startswith("flag")}
    return settings.sim_config(getattr(args, "compat", None), **given)


# -- metrics -------------------------------------------------------------------------------------------------
def add_metrics_args(parser: argparse.ArgumentParser) -> None:
    """--metrics-port/--metrics-host/--metrics-linger (settings metrics.*) and --metrics-file (docs/metrics.md)."""
    g = parser.add_argument_group("metrics (docs/metrics.md; needs the 'metrics' extra)")
    add_setting_flags(g, "metrics")
    g.add_argument("--metrics-file", metavar="OUT.prom",
                   help="at exit, write the final figures here in the Prometheus text format")


# -- strategies ----------------------------------------------------------------------------------------------
def add_strategy_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strategy", "-s", default="sma_cross", help="strategy name (see `backbench strategies`)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="strategy parameter (repeatable)")
    add_setting_flags(parser, "strategies.dir")


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise StrategyError(f"-p {pair!r}: expected NAME=VALUE, e.g. -p n1=10")
        params[name.strip()] = value.strip()
    return params


# -- data ----------------------------------------------------------------------------------------------------
def add_data_args(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """--file / --demo / --symbol (--symbols with `several`), the store and the time range."""
    g = parser.add_argument_group("data (one of --file, --demo, --symbol" + (", --symbols)" if several else ")"))
    g.add_argument("--file", metavar="PATH", help="CSV or Parquet with Date/Open/High/Low/Close[/Volume]")
    g.add_argument("--demo", action="store_true", help="the bundled demo data (symbol ACME, daily)")
    g.add_argument("--symbol", metavar="S", help="a stored symbol")
    if several:
        g.add_argument("--symbols", metavar="A,B,...", help="several stored symbols: the same sweep on each")
    g.add_argument("--timeframe", metavar="TF",
                   help="bar timeframe, e.g. 1m, 5m, 1h, 1d (default: the symbol's stored one; coarser ones are "
                        "resampled)")
    g.add_argument("--start", metavar="TIME", help="first bar time, e.g. 2015-01-01 (inclusive)")
    g.add_argument("--end", metavar="TIME", help="last bar time, e.g. 2019-12-31 (inclusive)")
    add_setting_flags(g, "store.path")


def datasets_from_args(args: argparse.Namespace) -> list:
    """The bars the data options ask for: one dataset, or one per --symbols entry. Stored symbols are read
    through a read-only connection; a missing or empty store is first filled with the demo data."""
    if getattr(args, "file", None):
        return [bars_from_file(Path(args.file))]
    symbols = [s.strip() for s in (getattr(args, "symbols", None) or "").split(",") if s.strip()]
    symbols = symbols or ([args.symbol] if getattr(args, "symbol", None) else [])
    if symbols:
        bench = args.workbench
        fill_demo_store(bench)
        return [bench.load_bars(sym, args.timeframe, args.start, args.end) for sym in symbols]
    if getattr(args, "demo", False):
        from engine.data.demo import demo_bars

        return [demo_bars("ACME")]
    raise DataError("no data given: use --demo, --file PATH or --symbol SYMBOL")


def fill_demo_store(bench) -> None:
    """Fill a missing or empty store with the demo data, with a progress bar on stderr."""
    from app.progress import ProgressBar

    bar = ProgressBar("demo data")
    try:
        bench.ensure_demo(progress=bar)
    finally:
        bar.finish()


def existing_file(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    return path


def bars_from_file(path: Path):
    from engine.data.importers import load_file

    return load_file(existing_file(path)).bars


def backtest_from_args(args: argparse.Namespace):
    """The one backtest `run`, `montecarlo` and `report` make of their options: (bars, result). Bad params
    fail before any data is read; the result cache serves a run made before."""
    from engine.backtest import run_backtest
    from engine.runtime.profiling import timer
    from engine.strategies import resolve_params

    bench = args.workbench
    config = sim_config_from_args(args)
    strategy = bench.strategy(args.strategy)
    params = parse_params(args.param)
    resolve_params(strategy, params)
    with timer("backtest.load"):
        bars = datasets_from_args(args)[0]
    return bars, run_backtest(bars, strategy, params, config, cache=bench.cache())
