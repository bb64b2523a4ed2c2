"""`backbench portfolio`: JSON shape, equality with the API, files named for their symbols, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from engine.data.demo import demo_bars
from engine.portfolio import PortfolioConfig, momentum, run_portfolio
from tests.engine.portfolio_data import random_universe

TRADE_KEYS = {"symbol", "entry_time", "exit_time", "size", "entry_price", "exit_price", "pnl", "is_open"}
DEMO = ["ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE"]


def run_json(capsys, *argv):
    assert main(["portfolio", "--json", "--no-cache", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_stats_per_symbol_and_trades_and_equals_the_api(capsys):
    out = run_json(capsys, "--demo", "--strategy", "sma_cross", "-p", "n1=10", "-p", "n2=30", "--commission", "0.001",
                   "--max-positions", "2", "--score", "momentum:63", "--rebalance", "1M")
    assert {"stats", "per_symbol", "trades"} <= set(out)
    assert list(out["per_symbol"]) == DEMO
    assert out["trades"] and all(TRADE_KEYS <= set(t) for t in out["trades"])
    api = run_portfolio([demo_bars(s) for s in DEMO], "sma_cross", {"n1": 10, "n2": 30},
                        PortfolioConfig(commission=0.001, max_positions=2, rebalance="1M"), score=momentum(63))
    assert out == json.loads(json.dumps(api.to_json_dict(), allow_nan=False))


def test_compat_vectorbt_adds_peer_stats(capsys):
    out = run_json(capsys, "--demo", "--compat", "vectorbt", "--sizing", "percent", "--size", "0.3")
    assert out["peer_stats"]["End Value"] == pytest.approx(out["stats"]["equity_final"], rel=1e-12)


def test_each_file_is_a_symbol_named_for_the_file(capsys, tmp_path):
    paths = []
    for bars in random_universe(2, 3, 80):
        path = tmp_path / f"{bars.symbol.lower()}x.csv"
        dates = np.datetime_as_string(bars.times(), unit="D")
        rows = "\n".join(f"{d},{c},{c},{c},{c},0" for d, c in zip(dates, bars.close, strict=True))
        path.write_text("Date,Open,High,Low,Close,Volume\n" + rows + "\n")
        paths += ["--file", str(path)]
    out = run_json(capsys, *paths, "-p", "n1=3", "-p", "n2=8", "--sizing", "value", "--size", "1000")
    assert list(out["per_symbol"]) == ["s0x", "s1x", "s2x"]
    assert {t["symbol"] for t in out["trades"]} <= {"s0x", "s1x", "s2x"}


def test_per_symbol_costs(capsys):
    out = run_json(capsys, "--demo", "--sizing", "value", "--size", "1000", "--commission", "0.001",
                   "--symbol-commission", "ACME=0.01", "--symbol-slippage", "WAYNE=0.002")
    api = run_portfolio([demo_bars(s) for s in DEMO], "sma_cross", {}, PortfolioConfig(
        sizing="value", size=1000.0, commission=0.001, commission_by_symbol={"ACME": 0.01},
        slippage_by_symbol={"WAYNE": 0.002}))
    assert out["stats"] == json.loads(json.dumps(api.to_json_dict(), allow_nan=False))["stats"]
    acme = [t for t in out["trades"] if t["symbol"] == "ACME" and not t["is_open"]][0]
    assert acme["fees"] == pytest.approx(0.01 * acme["size"] * (acme["entry_price"] + acme["exit_price"]))


def test_text_output_shows_stats_per_symbol_and_trades(capsys):
    assert main(["portfolio", "--demo", "--no-cache", "--max-positions", "3"]) == 0
    text = capsys.readouterr().out
    assert "one cash balance" in text and "Per symbol:" in text and "trades:" in text


def test_a_files_symbol_is_its_name_without_the_extension():
    from pathlib import Path

    from app.cli_portfolio import file_symbol

    assert [file_symbol(Path(p)) for p in ("data/SPY.csv", "x/QQQ.csv.gz", "BRK.B.parquet", "a/b/IWM")] == [
        "SPY", "QQQ", "BRK.B", "IWM"]


@pytest.mark.parametrize("argv,message", [
    (["--demo", "--compat", "vectorbt", "--sizing", "equal"], "cannot be combined with compat='vectorbt'"),
    (["--demo", "--rebalance", "1M", "--sizing", "units"], "rebalance needs target weights"),
    (["--demo", "--rebalance", "monthly"], "is not a period"),
    (["--demo", "--score", "volume:3"], "is not one of"),
    ([], "no data given"),
    (["--demo", "--start", "2010-01-01"], "apply to stored symbols"),
    (["--demo", "--symbol-commission", "NOPE=0.01"], "not one of the symbols"),
    (["--demo", "--symbol-slippage", "ACME"], "expected SYMBOL=FRACTION"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert main(["portfolio", "--no-cache", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
