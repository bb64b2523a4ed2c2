"""`backbench sweep --portfolio`: each combo of the grid is one portfolio run of all the symbols (one cash
balance), one row per combo, ranked by the portfolio's metric (docs/portfolio.md, "Sweeps")."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_portfolio import DEMO_PORTFOLIO, SIZINGS, add_portfolio_options, portfolio_config, portfolio_datasets
from engine.errors import ConfigError

# simulation flags that mean the same in a portfolio; --sizing, --size and --at-end take the portfolio's
# values with --portfolio (read raw, see RawValue); any other simulation flag has no portfolio meaning
_SHARED = ("init_cash", "commission", "slippage", "risk_free_rate", "sizing", "size", "at_end")


class RawValue(argparse._StoreAction):
    """A simulation settings flag whose value is also kept as given in `args.raw_<dest>`; it reaches the
    settings (which check it) only when they accept it, so `--sizing equal` can mean the portfolio's sizing."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        setattr(namespace, "raw_" + self.dest, values)
        if self.dest != "simulation_sizing" or values not in ("units", "equal"):
            setattr(namespace, self.dest, values)


def add_portfolio_args(p: argparse.ArgumentParser) -> None:
    """--portfolio and the portfolio's options; --file becomes repeatable and --sizing / --size / --at-end
    keep what was given for a portfolio's meaning."""
    for action in p._actions:
        if action.dest == "file":
            action.__class__ = argparse._AppendAction
            action.help = f"{action.help} (repeatable with --portfolio: one file per symbol)"
        elif action.dest in ("simulation_sizing", "simulation_size", "simulation_at_end"):
            action.__class__ = RawValue
    a = p.add_argument_group("portfolio (with --portfolio, docs/portfolio.md)")
    a.add_argument("--portfolio", action="store_true",
                   help="run each combo as one portfolio of the symbols (--symbols, --file repeated, or --demo: "
                        f"{', '.join(DEMO_PORTFOLIO)}) with one cash balance; --sizing takes "
                        f"{'|'.join(SIZINGS)} (default equal), --size (default 1) and --at-end apply to it")
    add_portfolio_options(a)


def single_file(args: argparse.Namespace) -> None:
    """Without --portfolio: --file is given once, and the portfolio's options are refused."""
    if args.file and len(args.file) > 1:
        raise ConfigError("--file is given once without --portfolio (the same sweep on several datasets: --symbols)")
    args.file = args.file[0] if args.file else None
    sizing = getattr(args, "raw_simulation_sizing", None)
    if sizing in ("units", "equal"):
        raise ConfigError(f"--sizing {sizing}: a portfolio's sizing; add --portfolio, or use one of: all, "
                          "all_units, fixed, percent, value")
    given = [flag for flag, on in (("--max-positions", args.max_positions), ("--rebalance", args.rebalance),
                                   ("--score", args.score), ("--keep-delisted", args.keep_delisted),
                                   ("--symbol-commission", args.symbol_commission),
                                   ("--symbol-slippage", args.symbol_slippage)) if on]
    if given:
        raise ConfigError(f"{given[0]} applies to a portfolio: add --portfolio")


def portfolio_inputs(args: argparse.Namespace) -> tuple[list, Any]:
    """(the symbols' bars, the PortfolioConfig) of a `sweep --portfolio`."""
    settings = args.settings
    for spec_key, source in settings.sources.items():
        section, _, name = spec_key.partition(".")
        if section == "simulation" and source.startswith("flag") and name not in _SHARED:
            raise ConfigError(f"{source.removeprefix('flag ')} does not apply to --portfolio (docs/portfolio.md)")
    if args.compat == "backtesting":
        raise ConfigError("--compat backtesting does not apply to --portfolio (its --compat is vectorbt)")
    sources = [flag for flag, on in (("--symbols", args.symbols), ("--symbol", args.symbol), ("--file", args.file),
                                     ("--demo", args.demo)) if on]
    if len(sources) > 1:
        raise ConfigError(f"--portfolio takes one of --symbols, --file (repeated) or --demo, not "
                          f"{' and '.join(sources)}")
    if args.symbol:  # one stored symbol: a portfolio of one
        args.symbols = args.symbol
    config = portfolio_config(args, getattr(args, "raw_simulation_sizing", None) or "equal",
                              float(getattr(args, "raw_simulation_size", None) or 1.0),
                              getattr(args, "raw_simulation_at_end", None) or "keep_open", args.compat)
    return portfolio_datasets(args), config


def walk_forward_portfolio(args, datasets, strategy, grid, config, executor, bar, cache) -> int:
    """`sweep --portfolio --walk-forward`: windows over the aligned rows (engine/sweep/portfolio_walkforward.py)."""

    from engine.sweep.portfolio_walkforward import walk_forward_portfolio as run_wf
    from engine.sweep.walkforward import parse_walk_forward

    train, test, step = parse_walk_forward(args.walk_forward)
    wf = run_wf(datasets, strategy, grid, train=train, test=test, step=step, anchored=args.anchored,
                metric=args.sweep_metric, minimize=args.sweep_minimize, where=args.where, config=config,
                score=args.score, executor=executor, strategies_dir=args.workbench.strategies_dir,
                progress=bar.sweep, cache=cache)
    bar.finish()
    from app.wf_output import print_walk_forward

    return print_walk_forward(wf, f"portfolio walk-forward {args.walk_forward} "
                                  f"({'anchored' if args.anchored else 'rolling'}, in rows of the {len(datasets)} "
                                  f"aligned symbols), optimising {args.sweep_metric}: {len(wf.windows)} windows",
                              "stitched out-of-sample portfolio", args.json)
