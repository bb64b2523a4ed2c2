"""`backbench run` / `backbench strategies`: output shape, equality with the API, and clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.stat_labels import STAT_LABELS, stat_label
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars
from engine.result import TRADE_JSON_KEYS

STAT_KEYS_DESIGN = (
    "start end duration exposure_time_pct equity_final equity_peak commissions return_pct buy_hold_return_pct "
    "return_ann_pct volatility_ann_pct cagr_pct sharpe_ratio sortino_ratio calmar_ratio alpha_pct beta "
    "max_drawdown_pct avg_drawdown_pct max_drawdown_duration n_trades win_rate_pct best_trade_pct "
    "worst_trade_pct avg_trade_pct max_trade_duration avg_trade_duration profit_factor expectancy_pct sqn "
    "kelly").split()


def run_json(capsys, *argv):
    assert main(["run", "--demo", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_json_has_documented_shape_and_equals_api(capsys):
    out = run_json(capsys, "--strategy", "sma_cross", "-p", "n1=15", "-p", "n2=40", "--commission", "0.001")
    assert set(out) == {"stats", "trades"}
    assert list(out["stats"]) == STAT_KEYS_DESIGN
    assert out["trades"] and all(tuple(t) == TRADE_JSON_KEYS for t in out["trades"])
    api = run_backtest(demo_bars("ACME"), "sma_cross", {"n1": 15, "n2": 40}, SimConfig(commission=0.001))
    assert out == json.loads(json.dumps(api.to_json_dict()))
    assert out["stats"]["n_trades"] == sum(not t["is_open"] for t in out["trades"])


def test_run_compat_and_stops_are_applied(capsys):
    plain = run_json(capsys)
    bt = run_json(capsys, "--compat", "backtesting", "--commission", "0.002")
    stopped = run_json(capsys, "--sl", "0.02", "--tp", "0.05")
    assert bt["trades"][0]["entry_bar"] >= 1 and all(float(t["size"]).is_integer() for t in bt["trades"])
    assert plain["stats"] != stopped["stats"]
    # the risk-free rate is a stats option: a preset takes it, and its trades stay the peer's
    bt_rf = run_json(capsys, "--compat", "backtesting", "--commission", "0.002", "--risk-free-rate", "0.03")
    assert bt_rf["trades"] == bt["trades"] and bt_rf["stats"]["equity_final"] == bt["stats"]["equity_final"]
    assert bt_rf["stats"]["sharpe_ratio"] < bt["stats"]["sharpe_ratio"]


def test_run_table_output(capsys):
    assert main(["run", "--demo", "--strategy", "macd", "--trades", "3"]) == 0
    text = capsys.readouterr().out
    assert "macd (fast=12, slow=26, signal=9) on ACME 1d" in text
    assert "Last 3 of" in text and "sharpe_ratio" not in text


def test_run_prints_every_stat_with_its_label_and_unit(capsys):
    """Labels and units as backtesting.py prints them (app/stat_labels.py); --json keeps the snake_case keys."""
    stats = run_json(capsys, "-p", "n1=20", "-p", "n2=50")["stats"]
    assert main(["run", "--demo", "-p", "n1=20", "-p", "n2=50"]) == 0
    lines = {line.strip().rsplit("  ", 1)[0].strip(): line.strip().rsplit("  ", 1)[1].strip()
             for line in capsys.readouterr().out.split("\n\n")[1].splitlines()}
    assert list(lines) == [stat_label(k) for k in STAT_KEYS_DESIGN]
    assert lines["Start"] == "2005-01-03" and lines["Duration"] == f"{stats['duration']:,.0f} days"
    assert lines["Equity Final [$]"] == f"{stats['equity_final']:,.2f}"
    assert lines["Max. Drawdown [%]"] == f"{stats['max_drawdown_pct']:.2f}"
    assert lines["Sharpe Ratio"] == f"{stats['sharpe_ratio']:.3f}"
    assert lines["# Closed Trades"] == str(stats["n_trades"])


def test_every_stat_has_a_label_and_a_unit():
    from engine.kernels.stats import STAT_KEYS

    assert set(STAT_LABELS) == {"start", "end", *STAT_KEYS}
    for key, (label, kind) in STAT_LABELS.items():
        assert kind in ("date", "days", "pct", "money", "ratio", "count"), key
        assert label.endswith("[%]") == (kind == "pct") and label.endswith("[$]") == (kind == "money"), key


def test_the_trade_counts_agree_in_the_text_and_the_json(capsys):
    """docs/stats.md, "Trade counts": n_trades counts closed trades; the trade list also holds the open one."""
    out = run_json(capsys)
    n_open = sum(t["is_open"] for t in out["trades"])
    assert n_open == 1 and out["stats"]["n_trades"] == len(out["trades"]) - 1
    assert main(["run", "--demo"]) == 0
    text = capsys.readouterr().out
    n = len(out["trades"])
    assert f"Last 10 of {n} trades ({n - 1} closed, 1 open):" in text
    assert "# Closed Trades  " in text and text.split("# Closed Trades")[1].split()[0] == str(n - 1)


def test_strategies_lists_every_builtin(capsys):
    assert main(["strategies"]) == 0
    text = capsys.readouterr().out
    for name in ("sma_cross", "ema_cross", "rsi_reversion", "bollinger_breakout", "donchian_breakout", "macd"):
        assert text.count(f"{name} (v") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["-p", "n9=3"], "n9"),
        (["-p", "n1=100000"], "n1"),
        (["-p", "n1=abc"], "n1"),
        (["-p", "n1"], "expected NAME=VALUE"),
        (["-p", "n1=30", "-p", "n2=10"], "n1"),
        (["--fill", "tomorrow"], "fill='tomorrow' is not one of: next_open, close"),
        (["--sizing", "lots"], "sizing='lots'"),
        (["--commission", "abc"], "--commission: 'abc' is not a float"),
        (["--commission", "-0.1"], "commission=-0.1 must be >= 0"),
        (["--sl", "1.5"], "sl=1.5 must be < 1"),
        (["--cash", "0"], "init_cash=0.0 must be > 0"),
        (["--compat", "backtesting", "--sl", "0.1"], "cannot be combined with compat='backtesting'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["run", "--demo", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backbench: error: ")
    assert message in err
    assert "Traceback" not in err


def test_missing_file_and_no_data(capsys, tmp_path):
    assert main(["run", "--file", str(tmp_path / "nothere.csv")]) == 2
    assert "nothere.csv: file not found" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "no data given" in capsys.readouterr().err


def test_real_command_reports_errors_without_traceback(tmp_path):
    exe = Path(sys.executable).with_name("backbench")
    proc = subprocess.run([str(exe), "run", "--demo", "--strategy", "nope"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("backbench: error: unknown strategy 'nope'")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_run_against_a_benchmark_file(capsys, tmp_path):
    from engine.analysis.benchmark import relative_stats

    bars = demo_bars("GLOBEX")
    path = tmp_path / "INDEX.csv"
    rows = ["Date,Open,High,Low,Close"] + [
        f"{str(t)[:10]},{o},{h},{lo},{c}" for t, o, h, lo, c in zip(bars.times(), bars.open, bars.high, bars.low,
                                                                     bars.close, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    out = run_json(capsys, "--benchmark", str(path))
    acme = demo_bars("ACME")
    result = run_backtest(acme, "sma_cross", {}, SimConfig())
    want = relative_stats(acme.ts, result.equity, bars.ts, bars.close)
    assert out["benchmark"]["name"] == "INDEX.csv"
    assert {k: v for k, v in out["benchmark"].items() if k != "name"} == pytest.approx(want, rel=1e-9)
    assert main(["run", "--demo", "--benchmark", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Against INDEX.csv:" in text and "Information Ratio" in text and "Tracking Error (Ann.) [%]" in text
    assert main(["run", "--demo", "--benchmark", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: file not found" in capsys.readouterr().err
