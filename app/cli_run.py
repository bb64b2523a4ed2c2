"""`backbench run` (one backtest) and `backbench strategies` (what can be run)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.tables import cell, format_table
from engine.errors import ConfigError, DataError, StrategyError

# Simulation flags shared by `run` and `sweep`: (flag, SimConfig field, type, help)
SIM_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--cash", "init_cash", float, "initial cash (default 10000)"),
    ("--commission", "commission", float, "commission per side, fraction of traded value (0.001 = 0.1%%)"),
    ("--fixed-fee", "fixed_fee", float, "fixed fee per order, in currency"),
    ("--slippage", "slippage", float, "fill price moved against the trader by this fraction"),
    ("--fill", "fill", str, "next_open (default) or close"),
    ("--sizing", "sizing", str, "all (default), all_units, fixed or percent"),
    ("--size", "size", float, "units for --sizing fixed; fraction of equity for --sizing percent"),
    ("--sl", "sl", float, "stop-loss, fraction below the entry price (0.05 = 5%%)"),
    ("--tp", "tp", float, "take-profit, fraction above the entry price"),
    ("--trail", "trail", float, "trailing stop, fraction below the best price since entry"),
    ("--direction", "direction", str, "long (default), short or both"),
    ("--on-entry-while-long", "on_entry_while_long", str, "ignore (default) or reenter"),
    ("--same-bar-conflict", "same_bar_conflict", str, "ignore (default) or entry_wins"),
    ("--at-end", "at_end", str, "keep_open (default) or close"),
)


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one backtest and print its stats and trades",
                         description="Run one backtest on a file, the demo data or a stored symbol.")
    src = run.add_argument_group("data (one of)")
    src.add_argument("--file", metavar="PATH", help="CSV or Parquet with Date/Open/High/Low/Close[/Volume]")
    src.add_argument("--demo", action="store_true", help="the bundled demo data (symbol ACME, daily)")
    _add_store_args(run)
    add_strategy_args(run)
    add_sim_args(run)
    run.add_argument("--json", action="store_true", help="print one JSON object {stats, trades}")
    run.add_argument("--trades", type=int, default=10, metavar="N", help="how many last trades to print")
    run.add_argument("--no-cache", action="store_true", help="always compute; neither read nor store the result cache")
    run.add_argument("--profile", action="store_true",
                     help="print the stage timings (load, signals, simulate, stats) after the result")
    run.set_defaults(func=cmd_run)

    strategies = sub.add_parser("strategies", help="list strategies and their parameters")
    strategies.add_argument("--strategies-dir", metavar="DIR",
                            help="folder of user strategy files (default: setting strategies.dir)")
    strategies.set_defaults(func=cmd_strategies)


def add_strategy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", "-s", default="sma_cross", help="strategy name (see `backbench strategies`)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="strategy parameter (repeatable)")
    p.add_argument("--strategies-dir", metavar="DIR",
                   help="folder of user strategy files (default: setting strategies.dir)")


def add_sim_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("simulation")
    for flag, field, _typ, help_ in SIM_FLAGS:
        g.add_argument(flag, dest=f"sim_{field}", metavar=field.upper(), help=help_)
    g.add_argument("--compat", choices=("backtesting", "vectorbt"),
                   help="reproduce backtesting.py or vectorbt exactly (only --cash/--commission may be combined)")


def _add_store_args(p: argparse.ArgumentParser) -> None:
    from app.cli_data import add_store_args

    add_store_args(p)


def sim_config_from_args(args: argparse.Namespace):
    from engine.config import SimConfig

    values: dict[str, Any] = {}
    for flag, field, typ, _help in SIM_FLAGS:
        raw = getattr(args, f"sim_{field}", None)
        if raw is None:
            continue
        try:
            values[field] = typ(raw)
        except ValueError:
            raise ConfigError(f"{flag}: {raw!r} is not a {typ.__name__}") from None
    if getattr(args, "compat", None):
        values["compat"] = args.compat
    return SimConfig.from_dict(values)


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise StrategyError(f"-p {pair!r}: expected NAME=VALUE, e.g. -p n1=10")
        params[name.strip()] = value.strip()
    return params


def bars_from_args(args: argparse.Namespace):
    """Bars from --file, --demo or the store (--symbol)."""
    if getattr(args, "file", None):
        return _bars_from_file(Path(args.file))
    if getattr(args, "symbol", None):
        from app.cli_data import bars_from_args as store_bars

        return store_bars(args)
    if getattr(args, "demo", False):
        from engine.data.demo import demo_bars

        return demo_bars("ACME")
    raise DataError("no data given: use --demo, --file PATH or --symbol SYMBOL")


def _bars_from_file(path: Path):
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    from engine.data.importers import load_file

    return load_file(path).bars


def cmd_run(args: argparse.Namespace) -> int:
    from engine.backtest import run_backtest
    from engine.strategies import get_strategy

    config = sim_config_from_args(args)
    strategy = get_strategy(args.strategy, user_dir=args.strategies_dir)
    params = parse_params(args.param)
    from engine.strategies import resolve_params

    resolve_params(strategy, params)  # bad params fail before any data is read
    from app.cli_cache import profile_report, run_cache
    from engine.runtime.profiling import timer

    with timer("backtest.load"):
        bars = bars_from_args(args)
    result = run_backtest(bars, strategy, params, config, cache=run_cache(args))
    if args.json:
        json.dump(result.to_json_dict(), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_run(result, last_trades=args.trades))
    if args.profile:
        print(profile_report(result), file=sys.stderr if args.json else sys.stdout)
    return 0


def format_run(result, last_trades: int = 10) -> str:
    bars = result.bars
    head = (f"{result.strategy} {_fmt_params(result.params)} on {bars.symbol or 'bars'} {bars.timeframe} "
            f"({len(bars):,} bars)")
    lines = [head, ""]
    width = max(len(k) for k in result.stats)
    for key, value in result.stats.items():
        lines.append(f"  {key:<{width}}  {_fmt_value(value):>18}")
    if result.status != "ok":
        lines.append(f"\n  status: {result.status} (equity reached zero; the run stopped early)")
    if result.n_cancelled_orders:
        lines.append(f"  orders cancelled (not enough cash): {result.n_cancelled_orders}")
    trades = result.trades
    if len(trades) and last_trades > 0:
        shown = trades.tail(last_trades)
        lines += ["", f"Last {len(shown)} of {len(trades)} trades:"]
        cols = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "pnl", "return_pct",
                "exit_reason")
        rows = [{**r, "exit_reason": "open" if r["is_open"] else r["exit_reason"]}
                for r in shown.iter_rows(named=True)]
        lines.append(format_table(rows, cols, indent="  "))
    return "\n".join(lines)


def _fmt_params(params: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"


def _fmt_value(v: Any) -> str:
    return cell(v)


def cmd_strategies(args: argparse.Namespace) -> int:
    from engine.strategies import list_strategies, load_user_strategies

    for strat in list_strategies(args.strategies_dir):
        print(f"{strat.name} (v{strat.version}): {strat.description}")
        for p in strat.params:
            print(f"    {p.name:<10} {p.type.__name__:<5} default {p.default!s:<6} range [{p.min}, {p.max}] "
                  f"step {p.step}")
    if args.strategies_dir:
        _, errors = load_user_strategies(args.strategies_dir)
        for err in errors:
            print(f"load error: {err}", file=sys.stderr)
    return 0
