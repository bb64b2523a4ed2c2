"""`backbench montecarlo`: the documented JSON, equal to the API on the same run and seed, and a table a
person reads."""

import json

import pytest

from app.cli import main
from engine.analysis.montecarlo import run_montecarlo
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import demo_bars


def mc_json(capsys, *argv):
    assert main(["montecarlo", "--demo", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_documented_shape_and_equals_the_api(capsys):
    out = mc_json(capsys, "--runs", "500", "--seed", "4", "--ruin", "0.8", "--commission", "0.001")
    assert {"actual", "percentiles", "p_loss", "p_ruin"} <= set(out)
    assert set(out["percentiles"]) == {"final_return_pct", "max_drawdown_pct", "longest_drawdown"}
    assert list(out["percentiles"]["final_return_pct"]) == ["5", "25", "50", "75", "95"]
    result = run_backtest(demo_bars("ACME"), "sma_cross", {}, SimConfig(commission=0.001))
    api = run_montecarlo(result.equity, result.trade_records, 10_000.0, runs=500, seed=4, ruin=0.8)
    assert out == json.loads(json.dumps(api.to_json_dict()))
    assert mc_json(capsys, "--runs", "500", "--seed", "4", "--ruin", "0.8", "--commission", "0.001") == out


def test_blocks_and_the_table(capsys):
    out = mc_json(capsys, "--method", "blocks", "--block", "5", "--runs", "50")
    assert out["unit"] == "bar" and out["block"] == 5
    assert main(["montecarlo", "--demo", "--runs", "200", "--method", "shuffle"]) == 0
    text = capsys.readouterr().out
    assert "200 runs, trades shuffled, seed 0" in text and "Max. drawdown [%]" in text and "P(ruin)" in text


def test_bad_options_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["montecarlo", "--demo", "--runs", "0"])
    assert exc.value.code == 2 and "--runs" in capsys.readouterr().err
    assert main(["montecarlo", "--demo", "--ruin", "2"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
