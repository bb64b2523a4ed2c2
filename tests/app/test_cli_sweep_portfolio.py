"""`backbench sweep --portfolio`: one row per combo equal to `backbench portfolio --json`'s stats, the
portfolio's options shared with `backbench portfolio`, walk-forward, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from tests.engine.portfolio_data import random_universe

BASE = ["sweep", "--portfolio", "--demo", "-g", "n1=10,20", "-g", "n2=50,100", "--workers", "1", "--no-cache"]
OPTIONS = ["--sizing", "equal", "--max-positions", "2", "--score", "momentum:63", "--rebalance", "1M",
           "--commission", "0.001", "--symbol-commission", "ACME=0.002"]


def test_each_row_equals_the_portfolio_command(capsys):
    assert main([*BASE, *OPTIONS, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 4 and {r["symbol"] for r in rows} == {"portfolio"}
    for row in rows:
        assert main(["portfolio", "--demo", "--json", "--no-cache", "-p", f"n1={row['n1']}", "-p",
                     f"n2={row['n2']}", *OPTIONS]) == 0
        stats = json.loads(capsys.readouterr().out)["stats"]
        assert {k: row[k] for k in stats} == stats


def test_percent_sizing_and_the_table(capsys):
    assert main([*BASE, "--sizing", "percent", "--size", "0.25", "--at-end", "close", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("portfolio of 5 symbols (ACME, GLOBEX, INITECH, UMBRELLA, WAYNE)")
    assert len(out.strip().splitlines()) == 5 and out.count("\nportfolio ") == 2


def test_files_are_symbols(capsys, tmp_path):
    args = []
    for bars in random_universe(4, 3, 120):
        path = tmp_path / f"{bars.symbol}.csv"
        dates = np.datetime_as_string(bars.times(), unit="D")
        path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(
            f"{d},{c},{c},{c},{c},0" for d, c in zip(dates, bars.close, strict=True)) + "\n")
        args += ["--file", str(path)]
    assert main(["sweep", "--portfolio", *args, "-g", "n1=3,5", "-g", "n2=10", "--workers", "1", "--no-cache",
                 "--sizing", "value", "--size", "500", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["rows"]) == 2


def test_optimize_picks_trials_among_portfolios(capsys):
    pytest.importorskip("optuna")
    assert main([*BASE, "--max-positions", "2", "--optimize", "tpe", "--trials", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 3 and {r["symbol"] for r in rows} == {"portfolio"}


def test_walk_forward_json(capsys):
    assert main([*BASE, "--max-positions", "2", "--walk-forward", "1500:500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["windows"]) >= 3 and {"stats", "per_symbol", "trades", "efficiency"} <= set(out)
    assert out["portfolio"]["symbols"] == ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE"]
    assert all(t["exit_reason"] != "open" for t in out["trades"])  # closed at each segment's end


@pytest.mark.parametrize("argv, message", [
    ([*BASE, "--fill", "next_open"], "--fill does not apply to --portfolio"),
    ([*BASE, "--compat", "backtesting"], "--compat backtesting does not apply to --portfolio"),
    ([*BASE, "--symbol-commission", "XX=0.1"], "'XX', which is not one of the symbols"),
    ([*BASE, "--sizing", "units", "--rebalance", "1M"], "rebalance needs target weights"),
    ([*BASE, "--optimize", "tpe", "--random", "3"], "--optimize runs on one dataset, without --random"),
    ([*BASE, "--symbols", "ACME"], "not --symbols and --demo"),
    (["sweep", "--demo", "--sizing", "equal"], "--sizing equal: a portfolio's sizing; add --portfolio"),
    (["sweep", "--demo", "--max-positions", "2"], "--max-positions applies to a portfolio: add --portfolio"),
    (["sweep", "--demo", "--file", "a.csv", "--file", "b.csv"], "--file is given once without --portfolio"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
