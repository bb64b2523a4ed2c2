"""`backbench portfolio`: one strategy on many symbols sharing one cash balance (docs/portfolio.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli_options import add_setting_flags, add_strategy_args, fill_demo_store, parse_params
from app.cli_report import write_report
from app.stat_labels import format_stat, stat_label
from app.tables import format_pairs, format_table
from engine.errors import ConfigError, DataError

SIZINGS = ("units", "value", "percent", "equal")
# the daily demo symbols (engine/data/demo.py)
DEMO_PORTFOLIO = ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("portfolio", help="run a strategy on many symbols with one cash balance",
                       description="Run a strategy on several symbols that share one cash balance: one equity, "
                                   "one drawdown, ranked entries (docs/portfolio.md).")
    g = p.add_argument_group("data (one of --symbols, --file, --demo)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--symbols", metavar="A,B,...", help="stored symbols")
    src.add_argument("--file", action="append", metavar="PATH",
                     help="a CSV or Parquet file per symbol (repeatable); the symbol is the file name without "
                          "extension")
    src.add_argument("--demo", action="store_true", help=f"the daily demo symbols ({', '.join(DEMO_PORTFOLIO)})")
    g.add_argument("--timeframe", metavar="TF", help="bar timeframe of stored symbols (default: each one's own)")
    g.add_argument("--start", metavar="TIME", help="first bar time (inclusive)")
    g.add_argument("--end", metavar="TIME", help="last bar time (inclusive)")
    add_setting_flags(g, "store.path")
    add_strategy_args(p)
    a = p.add_argument_group("portfolio (docs/portfolio.md)")
    add_setting_flags(a, "simulation.init_cash", "simulation.commission", "simulation.slippage",
                      "simulation.risk_free_rate")
    add_portfolio_options(a)
    a.add_argument("--sizing", choices=SIZINGS, default="equal", help=SIZING_HELP)
    a.add_argument("--size", type=float, default=1.0, metavar="X", help="the size per entry (default 1)")
    a.add_argument("--at-end", choices=("keep_open", "close"), default="keep_open",
                   help="positions open at the last bar stay open (marked) or are closed there")
    a.add_argument("--compat", choices=("vectorbt",),
                   help="reproduce vectorbt's Portfolio.from_signals(cash_sharing=True, group_by=True) "
                        "(docs/compat.md)")
    p.add_argument("--json", action="store_true", help='print {"stats", "per_symbol", "trades", ...} as JSON')
    p.add_argument("--series", action="store_true",
                   help="with --json: add the equity, cash, exposure and traded value of every row")
    p.add_argument("--html", metavar="OUT.html", help="also write the run as a self-contained HTML report, with the "
                                                     "allocation by symbol (docs/report.md)")
    p.add_argument("--trades", type=int, default=10, metavar="N", help="how many last trades to print")
    p.add_argument("--no-cache", action="store_true", help="always compute; neither read nor store the result cache")
    p.set_defaults(func=cmd_portfolio)


SIZING_HELP = ("what --size means per entry: units, value (currency), percent (fraction of equity; of the cash left "
               "under --compat vectorbt), equal (equity / --max-positions)")


def add_portfolio_options(a) -> None:
    """The portfolio's own options, shared by `portfolio` and `sweep --portfolio` (which has --sizing, --size,
    --at-end and --compat already, as simulation options, and gives them the portfolio's meaning)."""
    a.add_argument("--symbol-commission", action="append", default=[], metavar="SYMBOL=FRACTION",
                   help="one symbol's commission, instead of --commission (repeatable)")
    a.add_argument("--symbol-slippage", action="append", default=[], metavar="SYMBOL=FRACTION",
                   help="one symbol's slippage, instead of --slippage (repeatable)")
    a.add_argument("--max-positions", type=int, default=0, metavar="K",
                   help="open positions at most; further entries are skipped, best --score first (default: no "
                        "limit)")
    a.add_argument("--rebalance", metavar="PERIOD",
                   help="resize open positions to their target weight on each period's first bar: 1D, 1W, 1M, 1Q, "
                        "1Y (with --sizing equal or percent)")
    a.add_argument("--score", metavar="NAME:N",
                   help="rank entries by a score, best first, e.g. momentum:63 (N-bar return); default: the "
                        "strategy's own score if it has one, else symbol order")
    a.add_argument("--keep-delisted", action="store_true",
                   help="do not close a position at its symbol's last bar when the data goes on")


def portfolio_config(args: argparse.Namespace, sizing: str, size: float, at_end: str, compat: str | None):
    """The PortfolioConfig of the options: cash, commission, slippage and risk-free rate from the settings
    flags, the rest from `add_portfolio_options` and the arguments."""
    from engine.portfolio import PortfolioConfig

    return PortfolioConfig(init_cash=float(args.simulation_init_cash), commission=float(args.simulation_commission),
                           slippage=float(args.simulation_slippage), sizing=sizing, size=float(size),
                           max_positions=int(args.max_positions), rebalance=args.rebalance, at_end=at_end,
                           delist_close=not args.keep_delisted, risk_free_rate=float(args.simulation_risk_free_rate),
                           compat=compat,
                           commission_by_symbol=per_symbol(args.symbol_commission, "--symbol-commission"),
                           slippage_by_symbol=per_symbol(args.symbol_slippage, "--symbol-slippage"))


def portfolio_datasets(args: argparse.Namespace) -> list:
    """One Bars per symbol, named for its symbol (a file's name without extension)."""
    if args.file:
        from engine.data.importers import load_file

        out = []
        for name in args.file:
            path = Path(name)
            if not path.is_file():
                raise DataError(f"{path}: file not found")
            out.append(load_file(path, symbol=file_symbol(path)).bars)
        return out
    if args.demo:
        from engine.data.demo import demo_bars

        return [demo_bars(s) for s in DEMO_PORTFOLIO]
    symbols = [s.strip() for s in (args.symbols or "").split(",") if s.strip()]
    if not symbols:
        raise DataError("no data given: use --symbols A,B,..., --file PATH (repeatable) or --demo")
    bench = args.workbench
    fill_demo_store(bench)
    return [bench.load_bars(s, args.timeframe, args.start, args.end) for s in symbols]


def per_symbol(pairs: list[str], flag: str) -> dict[str, float]:
    """{symbol: fraction} from SYMBOL=FRACTION pairs."""
    out: dict[str, float] = {}
    for pair in pairs:
        sym, sep, value = pair.partition("=")
        try:
            out[sym.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not sym.strip():
            raise ConfigError(f"{flag} {pair!r}: expected SYMBOL=FRACTION, e.g. {flag} ACME=0.002")
    return out


def file_symbol(path: Path) -> str:
    """The file's name without its extension: data/SPY.csv.gz -> SPY, BRK.B.parquet -> BRK.B."""
    name = path.name
    for ext in (".csv.gz", ".csv", ".parquet", ".pq", ".gz"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def cmd_portfolio(args: argparse.Namespace) -> int:
    from engine.portfolio import parse_score, run_portfolio
    from engine.strategies import resolve_params

    bench = args.workbench
    config = portfolio_config(args, args.sizing, args.size, args.at_end, args.compat)
    strategy = bench.strategy(args.strategy)
    params = resolve_params(strategy, parse_params(args.param))
    score = parse_score(args.score)
    if not args.symbols and (args.start or args.end or args.timeframe):
        raise DataError("--timeframe, --start and --end apply to stored symbols (--symbols)")
    datasets = portfolio_datasets(args)
    result = run_portfolio(datasets, strategy, params, config, score=score, cache=bench.cache(),
                           holdings=bool(args.html))
    if args.html:
        from app.report.pages import portfolio_report

        write_report(args.html, portfolio_report(result))
    if args.json:
        json.dump(result.to_json_dict(series=args.series), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(format_portfolio(result, last_trades=args.trades))
    return 0


def format_portfolio(result, last_trades: int = 10) -> str:
    """The stats with their labels, the per-symbol contribution, then the last trades."""
    n = len(result.ts)
    lines = [f"{result.strategy} {_fmt_params(result.params)} on {len(result.symbols)} symbols ({n:,} rows), "
             "one cash balance", ""]
    lines.append(format_pairs([(stat_label(k), format_stat(k, v)) for k, v in result.stats.items()], indent="  ",
                              value_width=18))
    lines.append(f"\n  turnover: {result.turnover:.2f}x mean equity; entries skipped (no slot or cash): "
                 f"{result.n_skipped_entries}")
    rows = [{"symbol": s, **d} for s, d in result.per_symbol.items()]
    lines += ["", "Per symbol:", format_table(rows, ("symbol", "pnl", "n_trades", "n_open", "win_rate_pct",
                                                     "exposure_pct", "fees"), indent="  ")]
    trades = result.trades_list()
    if trades and last_trades > 0:
        shown = trades[-last_trades:]
        lines += ["", f"Last {len(shown)} of {len(trades)} trades:",
                  format_table(shown, ("symbol", "entry_time", "exit_time", "size", "entry_price", "exit_price",
                                       "pnl", "exit_reason"), indent="  ")]
    return "\n".join(lines)


def _fmt_params(params: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
