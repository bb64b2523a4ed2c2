"""`backbench run --compat ... --json` carries "peer_stats", the peer's own table (docs/compat.md#the-peers-stats):
the peer's keys in its order, times as ISO 8601, durations in days, undefined figures as null, equal to the API's."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.backtest import run_backtest
from engine.compat import peer_stats
from engine.config import SimConfig
from engine.data.demo import demo_bars
from engine.data.importers import load_file
from engine.strategies import get_strategy

# backtesting/_stats.py (0.6.6) compute_stats, in its order, without the private _strategy, _equity_curve, _trades
BACKTESTING_KEYS = [
    "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]", "Commissions [$]",
    "Return [%]", "Buy & Hold Return [%]", "Return (Ann.) [%]", "Volatility (Ann.) [%]", "CAGR [%]", "Sharpe Ratio",
    "Sortino Ratio", "Calmar Ratio", "Alpha [%]", "Beta", "Max. Drawdown [%]", "Avg. Drawdown [%]",
    "Max. Drawdown Duration", "Avg. Drawdown Duration", "# Trades", "Win Rate [%]", "Best Trade [%]",
    "Worst Trade [%]", "Avg. Trade [%]", "Max. Trade Duration", "Avg. Trade Duration", "Profit Factor",
    "Expectancy [%]", "SQN", "Kelly Criterion",
]
# vectorbt/portfolio/base.py (1.2.0) Portfolio.metrics, the titles pf.stats() prints
VECTORBT_KEYS = [
    "Start", "End", "Period", "Start Value", "End Value", "Total Return [%]", "Benchmark Return [%]",
    "Max Gross Exposure [%]", "Total Fees Paid", "Max Drawdown [%]", "Max Drawdown Duration", "Total Trades",
    "Total Closed Trades", "Total Open Trades", "Open Trade PnL", "Win Rate [%]", "Best Trade [%]",
    "Worst Trade [%]", "Avg Winning Trade [%]", "Avg Losing Trade [%]", "Avg Winning Trade Duration",
    "Avg Losing Trade Duration", "Profit Factor", "Expectancy", "Sharpe Ratio", "Calmar Ratio", "Omega Ratio",
    "Sortino Ratio",
]


def rising_csv(path: Path, n: int = 60) -> Path:
    """Weekday bars falling, then rising every day: sma_cross buys once and never sells, so no trade closes."""
    days = np.busday_offset("2024-01-02", np.arange(n))
    close = np.r_[np.linspace(120.0, 100.0, 15), np.linspace(101.0, 150.0, n - 15)]
    rows = ["Date,Open,High,Low,Close,Volume"] + [
        f"{d},{c - 0.5},{c + 1},{c - 1},{c},1000" for d, c in zip(days.astype(str), close, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_backtesting_peer_stats_from_the_real_command(tmp_path):
    csv = rising_csv(tmp_path / "rise.csv")
    exe = Path(sys.executable).with_name("backbench")
    argv = ["run", "--file", str(csv), "-s", "sma_cross", "-p", "n1=2", "-p", "n2=5", "--compat", "backtesting",
            "--commission", "0.002", "--json", "--no-cache"]
    proc = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    ps = out["peer_stats"]
    # no closed trade: no commissions line (backtesting.py leaves it out at zero), undefined trade figures
    assert list(ps) == [k for k in BACKTESTING_KEYS if k != "Commissions [$]"]
    assert ps["Start"] == "2024-01-02T00:00:00Z" and ps["End"] == f"{np.busday_offset('2024-01-02', 59)}T00:00:00Z"
    assert ps["Duration"] == float((np.busday_offset("2024-01-02", 59) - np.datetime64("2024-01-02", "D")).astype(int))
    assert ps["# Trades"] == 0 and len(out["trades"]) == 1 and out["trades"][0]["is_open"]
    for key in ("Win Rate [%]", "Best Trade [%]", "Avg. Trade [%]", "Max. Trade Duration", "SQN", "Kelly Criterion"):
        assert ps[key] is None, key
    assert '"Win Rate [%]": null' in proc.stdout
    bars = load_file(csv).bars
    api = run_backtest(bars, "sma_cross", {"n1": 2, "n2": 5}, SimConfig.preset("backtesting", commission=0.002))
    assert api.indicator_warmup == 4
    assert ps == json.loads(json.dumps(api.to_json_dict()))["peer_stats"]


def test_vectorbt_and_backtesting_peer_stats_on_the_demo(capsys):
    for compat, keys in (("vectorbt", VECTORBT_KEYS), ("backtesting", BACKTESTING_KEYS)):
        assert main(["run", "--demo", "--json", "--compat", compat, "--commission", "0.002"]) == 0
        out = json.loads(capsys.readouterr().out)
        ps = out["peer_stats"]
        assert list(ps) == keys
        start = np.datetime_as_string(demo_bars("ACME").times()[0], unit="s") + "Z"
        assert ps["Start"] == start and ps["End"].endswith("Z")
        assert all(v is None or isinstance(v, (int, float)) for k, v in ps.items() if k not in ("Start", "End"))
        trade_key = "Total Trades" if compat == "vectorbt" else "# Trades"
        assert ps[trade_key] == sum(compat == "vectorbt" or not t["is_open"] for t in out["trades"])


def test_vectorbt_peer_stats_under_accumulate_from_the_real_command():
    """`backbench run --compat vectorbt --accumulate --json`: vectorbt's own pf.stats() for
    from_signals(..., accumulate=True), run here on the same bars and signals: donchian_breakout on the demo
    data, whose breakouts add to the position (a fixed size: each exit sells part of it), long and short."""
    pytest.importorskip("vectorbt")
    from tests.engine.test_peer_stats import assert_same_table
    from tests.engine.test_peer_stats_accumulate import vectorbt_portfolio

    exe = Path(sys.executable).with_name("backbench")
    options = ["--direction", "both", "--sizing", "fixed", "--size", "5", "--commission", "0.001"]
    argv = ["run", "--demo", "-s", "donchian_breakout", "--compat", "vectorbt", "--accumulate", *options, "--json",
            "--no-cache"]
    proc = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ps = json.loads(proc.stdout)["peer_stats"]
    assert list(ps) == VECTORBT_KEYS
    bars = demo_bars("ACME")
    config = SimConfig.preset("vectorbt", accumulate=True, direction="both", sizing="fixed", size=5.0,
                              commission=0.001)
    api = run_backtest(bars, "donchian_breakout", {}, config)
    log = api.order_log
    assert int((log["units"] > 0).sum()) > int((api.trade_records["side"] > 0).sum()), "the run must add to longs"
    assert ps == json.loads(json.dumps(api.to_json_dict()))["peer_stats"]
    sig = get_strategy("donchian_breakout").generate(bars)
    pf = vectorbt_portfolio(bars, sig.entries, sig.exits, 10_000.0, 0.001, direction="both", sizing="fixed", size=5.0)
    assert_same_table(peer_stats(api), pf.stats())
