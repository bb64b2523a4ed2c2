"""One hand-worked example per simulation rule (docs/simulation.md shows the same numbers)."""

import numpy as np
import pytest

from engine.bars import Bars
from engine.config import SimConfig
from engine.errors import ConfigError
from engine.kernels.simulate_records import EXIT_BANKRUPT, EXIT_STOP_LOSS, EXIT_TAKE_PROFIT, EXIT_TRAILING
from engine.simulation import SignalArrays, simulate

F = False
T = True


def bars(rows):
    """rows of (open, high, low, close)"""
    a = np.array(rows, dtype=float)
    return Bars.from_arrays(a[:, 0], a[:, 1], a[:, 2], a[:, 3])


FLAT = bars([(100, 101, 99, 100), (102, 103, 101, 102), (104, 105, 103, 104), (106, 107, 105, 106),
             (108, 109, 107, 108)])


def run(b, entries, exits, **cfg):
    return simulate(b, SignalArrays(np.array(entries), np.array(exits)), SimConfig(**cfg))


def test_next_open_fills_at_the_following_open():
    eq, tr, _, _ = run(FLAT, [T, F, F, F, F], [F, F, T, F, F], init_cash=1000)
    t = tr[0]
    assert (t["entry_bar"], t["entry_price"], t["exit_bar"], t["exit_price"]) == (1, 102, 3, 106)
    assert t["size"] == pytest.approx(1000 / 102)
    np.testing.assert_allclose(eq, [1000, 1000, 1000 + (104 - 102) * 1000 / 102, 1000 + 4 * 1000 / 102,
                                    1000 + 4 * 1000 / 102])


def test_close_fill_fills_at_the_signal_bar_close():
    _, tr, _, _ = run(FLAT, [T, F, F, F, F], [F, F, T, F, F], init_cash=1000, fill="close")
    assert (tr[0]["entry_bar"], tr[0]["entry_price"], tr[0]["exit_bar"], tr[0]["exit_price"]) == (0, 100, 2, 104)


def test_commission_both_legs_and_all_in_sizing_leaves_room_for_it():
    _, tr, _, _ = run(FLAT, [T, F, F, F, F], [F, F, T, F, F], init_cash=1010, commission=0.01, fixed_fee=0.0)
    t = tr[0]
    assert t["size"] == pytest.approx(1000 / 102)  # 1010 / 1.01 = 1000 spent on units
    assert t["entry_fee"] == pytest.approx(10.0)
    assert t["exit_fee"] == pytest.approx(1000 / 102 * 106 * 0.01)
    assert t["pnl"] == pytest.approx(1000 / 102 * 4 - 10 - 1000 / 102 * 106 * 0.01)


def test_slippage_moves_both_fills_against_the_trader():
    _, tr, _, _ = run(FLAT, [T, F, F, F, F], [F, F, T, F, F], slippage=0.01)
    assert tr[0]["entry_price"] == pytest.approx(102 * 1.01)
    assert tr[0]["exit_price"] == pytest.approx(106 * 0.99)


def test_sizing_modes():
    e, x = [T, F, F, F, F], [F, F, F, F, F]
    assert run(FLAT, e, x, init_cash=1000, sizing="all_units")[1][0]["size"] == 9  # floor(1000/102)
    assert run(FLAT, e, x, init_cash=1000, sizing="fixed", size=3)[1][0]["size"] == 3
    assert run(FLAT, e, x, init_cash=1000, sizing="percent", size=0.5)[1][0]["size"] == pytest.approx(500 / 102)


def test_order_that_cannot_be_paid_is_cancelled():
    eq, tr, _, cancelled = run(FLAT, [T, F, F, F, F], [F] * 5, init_cash=50, sizing="all_units")
    assert len(tr) == 0 and cancelled == 1 and (eq == 50).all()


def test_stop_loss_inside_the_bar_fills_at_the_stop():
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (100, 100, 94, 96), (96, 97, 95, 96)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, sl=0.05)
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (2, 95.0, EXIT_STOP_LOSS)


def test_gap_through_the_stop_fills_at_the_open():
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (90, 92, 89, 91), (91, 92, 90, 91)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, sl=0.05)
    assert (tr[0]["exit_bar"], tr[0]["exit_price"]) == (2, 90.0)


def test_stop_before_target_when_both_inside_one_bar():
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (100, 111, 94, 100), (100, 100, 100, 100)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, sl=0.05, tp=0.1)
    assert (tr[0]["exit_price"], tr[0]["exit_reason"]) == (95.0, EXIT_STOP_LOSS)


def test_take_profit_and_gap_through_target():
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (100, 111, 99, 105), (100, 100, 100, 100)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, tp=0.1)
    assert tr[0]["exit_price"] == pytest.approx(110.0) and tr[0]["exit_reason"] == EXIT_TAKE_PROFIT
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (115, 116, 114, 115), (100, 100, 100, 100)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, tp=0.1)
    assert tr[0]["exit_price"] == 115.0


def test_trailing_stop_follows_the_best_price_of_earlier_bars():
    b = bars([(100, 100, 100, 100), (100, 100, 100, 100), (100, 120, 100, 118), (118, 119, 107, 110)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, trail=0.1)
    # best high before bar 3 is 120 -> stop at 108, hit by bar 3's low of 107
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (3, 108.0, EXIT_TRAILING)


def test_open_trade_at_end_is_kept_open_or_closed():
    _, tr, _, _ = run(FLAT, [T, F, F, F, F], [F] * 5)
    assert tr[0]["is_open"] and tr[0]["exit_price"] == 108 and tr[0]["exit_fee"] == 0
    eq, tr, _, _ = run(FLAT, [T, F, F, F, F], [F] * 5, at_end="close", commission=0.01)
    assert not tr[0]["is_open"] and tr[0]["exit_price"] == 108 and tr[0]["exit_fee"] > 0
    assert eq[-1] == pytest.approx(10_000 + tr[0]["pnl"])


def test_signal_on_the_last_bar_never_fills_with_next_open():
    _, tr, _, _ = run(FLAT, [F, F, F, F, T], [F] * 5)
    assert len(tr) == 0


def test_entry_while_long_ignored_or_reentered():
    e = [T, F, T, F, F]
    assert len(run(FLAT, e, [F] * 5)[1]) == 1
    _, tr, _, _ = run(FLAT, e, [F] * 5, on_entry_while_long="reenter")
    assert len(tr) == 2 and tr[0]["exit_bar"] == tr[1]["entry_bar"] == 3


def test_same_bar_entry_and_exit():
    e, x = [T, F, F, F, F], [T, F, F, F, F]
    assert len(run(FLAT, e, x)[1]) == 0
    assert len(run(FLAT, e, x, same_bar_conflict="entry_wins")[1]) == 1


def test_short_side_profits_when_price_falls():
    b = bars([(100, 100, 100, 100), (100, 100, 100, 100), (90, 90, 90, 90), (80, 80, 80, 80)])
    _, tr, _, _ = run(b, [T, F, F, F], [F, F, T, F], direction="short", init_cash=1000)
    assert tr[0]["side"] == -1 and tr[0]["pnl"] == pytest.approx(10 * 20)


def test_equity_at_zero_closes_and_stops():
    b = bars([(100, 100, 100, 100), (100, 100, 100, 100), (150, 150, 150, 150), (300, 300, 300, 300),
              (100, 100, 100, 100)])
    eq, tr, status, _ = run(b, [T, F, F, F, F], [F] * 5, direction="short", init_cash=1000)
    assert status == 1 and tr[-1]["exit_reason"] == EXIT_BANKRUPT and tr[-1]["exit_bar"] == 3
    assert (eq[3:] == eq[3]).all() and eq[3] <= 0


def test_warmup_ignores_early_signals():
    assert len(run(FLAT, [T, F, F, F, F], [F] * 5, warmup_bars=1)[1]) == 0


def test_config_rejects_bad_values_and_hash_covers_every_field():
    import dataclasses

    with pytest.raises(ConfigError, match="unknown option 'bogus'"):
        SimConfig.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="size=2 must be a fraction"):
        SimConfig(sizing="percent", size=2)
    for rate in (-1.0, 1.0, float("nan")):
        with pytest.raises(ConfigError, match="risk_free_rate"):
            SimConfig(risk_free_rate=rate)
    for margin in (0.0, 1.5):
        with pytest.raises(ConfigError, match="margin"):
            SimConfig(margin=margin)
    with pytest.raises(ConfigError, match="maintenance"):
        SimConfig(margin=0.2, maintenance=0.3)  # maintenance must stay below the margin
    with pytest.raises(ConfigError, match="two answers to one signal"):
        SimConfig(accumulate=True, on_entry_while_long="reenter")
    with pytest.raises(ConfigError, match="on_opposite_entry"):
        SimConfig(on_opposite_entry="flip")
    base = SimConfig()
    changed = dict(init_cash=5.0, commission=0.01, fixed_fee=1.0, slippage=0.01, fill="close", sizing="fixed",
                   size=2.0, sl=0.1, tp=0.1, trail=0.1, direction="both", on_entry_while_long="reenter",
                   same_bar_conflict="entry_wins", at_end="close", warmup_bars=3, risk_free_rate=0.02,
                   margin=0.5, maintenance=0.1, compat="vectorbt", accumulate=True, on_opposite_entry="ignore")
    assert set(changed) == {f.name for f in dataclasses.fields(SimConfig)}
    keys = {base.key()} | {base.replace(**{k: v}).key() for k, v in changed.items()}
    assert len(keys) == len(changed) + 1
    assert SimConfig().key() == SimConfig().key()


def test_stop_loss_and_trailing_stop_the_tighter_applies():
    b = bars([(100, 100, 100, 100), (100, 100, 100, 100), (100, 120, 100, 118), (118, 119, 107, 110)])
    _, tr, _, _ = run(b, [T, F, F, F], [F] * 4, sl=0.05, trail=0.1)
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (3, 108.0, EXIT_TRAILING)


def test_opposite_entry_reverses_and_contradictory_entries_are_dropped():
    _, tr, _, _ = run(FLAT, [T, F, F, F, F], [F, F, T, F, F], direction="both")
    assert len(tr) == 2 and tr[0]["side"] == 1 and tr[1]["side"] == -1
    assert tr[0]["exit_bar"] == tr[1]["entry_bar"] == 3 and tr[0]["exit_price"] == tr[1]["entry_price"] == 106
    both = SignalArrays(np.array([T, F, F, F, F]), np.array([F] * 5), np.array([T, F, F, F, F]), np.array([F] * 5))
    assert len(simulate(FLAT, both, SimConfig(direction="both"))[1]) == 0


@pytest.mark.parametrize("compat", ["backtesting", "vectorbt"])
def test_preset_round_trips_through_to_dict(compat):
    cfg = SimConfig.preset(compat, init_cash=5_000.0, commission=0.002)
    assert SimConfig.from_dict(cfg.to_dict()) == cfg
    stats_rate = SimConfig.preset(compat, risk_free_rate=0.04)  # a stats option: the trades stay the peer's
    assert SimConfig.from_dict(stats_rate.to_dict()) == stats_rate == cfg.replace(
        init_cash=10_000.0, commission=0.0, risk_free_rate=0.04)
    with pytest.raises(ConfigError, match="cannot be combined with compat"):
        SimConfig.from_dict({**cfg.to_dict(), "fixed_fee": 1.0})  # no preset reproduces a fixed fee
    if compat == "backtesting":  # an option the peer has (trade_on_close) survives the round trip
        on_close = SimConfig.preset(compat, fill="close", direction="both", slippage=0.001)  # and spread
        assert SimConfig.from_dict(on_close.to_dict()) == on_close


def test_margin_levers_the_position_and_maintenance_liquidates_it():
    """docs/simulation.md, "Margin": cash 1,000, margin 0.5 buys 2,000 of value; with maintenance 0.3 the
    position is liquidated at the first close where equity < 30 % of its value."""
    b = bars([(100, 100, 100, 100), (100, 100, 100, 100), (90, 90, 90, 90), (70, 70, 70, 70), (60, 60, 60, 60)])
    _, tr, _, _ = run(b, [T, F, F, F, F], [F, F, F, F, F], init_cash=1000, margin=0.5)
    assert tr[0]["size"] == pytest.approx(20.0)  # 2,000 / 100
    eq, tr, status, _ = run(b, [T, F, F, F, F], [F, F, F, F, F], init_cash=1000, margin=0.5, maintenance=0.3)
    # bar 2: equity 1000 - 20 x 10 = 800 >= 0.3 x 1,800; bar 3: 1000 - 20 x 30 = 400 < 0.3 x 1,400 = 420
    assert (tr[0]["exit_bar"], tr[0]["exit_price"], tr[0]["exit_reason"]) == (3, 70.0, 6)
    np.testing.assert_allclose(eq, [1000, 1000, 800, 400, 400])
    assert status == 0  # liquidated, not ruined: the run goes on


def _closes(*closes):
    c = np.array(closes, dtype=float)
    return Bars.from_arrays(c, c, c, c)


def test_vectorbt_adds_to_a_short_from_its_free_cash_at_entry_prices():
    """docs/simulation.md, accumulate under --compat vectorbt: 5 units short at 100 from cash 1,000 (half of
    it), then half of the free cash, 1,000 - 5 x 100, at 101, whatever the price did in between (130)."""
    cfg = SimConfig.preset("vectorbt", init_cash=1000, direction="short", sizing="percent", size=0.5,
                           accumulate=True)
    b = _closes(100, 130, 101, 101)
    eq, tr, _, _ = simulate(b, SignalArrays(np.array([T, F, T, F]), np.array([F, F, F, F])), cfg)
    assert tr[0]["size"] == pytest.approx(5 + 0.5 * 500 / 101)
    assert tr[0]["entry_price"] == pytest.approx((500 + 250) / (5 + 250 / 101))
    np.testing.assert_allclose(eq, [1000, 1000 - 5 * 30, 1000 - 5, 1000 - 5])


def test_vectorbt_trades_on_below_zero_and_buys_back_what_its_cash_pays():
    """docs/simulation.md, ruin under --compat vectorbt: 10 units short at 100 from cash 1,000; at 300 the
    equity is -1,000 and vectorbt's cash (1,000 plus the 1,000 of proceeds) buys back 2,000 / 300 units; the
    rest stays short, marked to 90 at the end."""
    cfg = SimConfig.preset("vectorbt", init_cash=1000, direction="short")
    b = _closes(100, 300, 300, 90)
    eq, tr, status, _ = simulate(b, SignalArrays(np.array([T, F, F, F]), np.array([F, F, T, F])), cfg)
    assert status == 1
    np.testing.assert_allclose(eq, [1000, -1000, -1000, -300])
    assert tr[0]["size"] == pytest.approx(2000 / 300) and tr[0]["exit_price"] == 300
    assert tr[1]["is_open"] and tr[1]["size"] == pytest.approx(10 - 2000 / 300)
