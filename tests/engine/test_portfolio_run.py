"""run_portfolio: a strategy on many symbols (signals on each symbol's own bars), its result, JSON and cache; and
no look-ahead: the run on the data up to row k equals the full run up to row k."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.bars import Bars
from engine.cache import ResultCache
from engine.kernels.stats import STAT_KEYS
from engine.portfolio import PortfolioConfig, align, momentum, run_portfolio
from engine.portfolio.result import TRADE_JSON_KEYS
from engine.strategies.builtins import SmaCross
from tests.engine.portfolio_data import random_universe

PARAMS = {"n1": 3, "n2": 8}


def test_result_has_the_single_run_stats_keys_per_symbol_figures_and_symbol_trades():
    data = random_universe(4, 4, 250)
    r = run_portfolio(data, "sma_cross", PARAMS, PortfolioConfig(sizing="equal", max_positions=2, commission=0.001),
                      score=momentum(10))
    assert set(STAT_KEYS) <= set(r.stats) and {"start", "end"} <= set(r.stats)
    assert r.stats["equity_final"] == pytest.approx(r.equity[-1])
    assert set(r.per_symbol) == {"S0", "S1", "S2", "S3"}
    total = sum(d["pnl"] for d in r.per_symbol.values())
    assert total == pytest.approx(r.equity[-1] - 10_000.0, abs=1e-6)  # contributions add up to the P&L
    out = json.loads(json.dumps(r.to_json_dict(), allow_nan=False))
    assert set(out) >= {"stats", "per_symbol", "trades"}
    assert out["trades"] and all(tuple(t) == TRADE_JSON_KEYS for t in out["trades"])
    assert r.stats["n_trades"] == sum(d["n_trades"] for d in r.per_symbol.values())


def test_signals_come_from_each_symbols_own_bars():
    from engine.strategies import get_strategy

    data = random_universe(5, 3, 120)
    r = run_portfolio(data, "sma_cross", PARAMS, PortfolioConfig(sizing="value", size=100.0))
    a = align(data)
    strat = get_strategy("sma_cross")
    for j, bars in enumerate(data):
        sig = strat.signals(bars, **PARAMS)
        first_entry = a.rows[j][np.argmax(sig.entries)] if sig.entries.any() else None
        mine = r.trade_records[r.trade_records["symbol"] == j]
        if first_entry is not None:
            assert mine["entry_bar"][0] == first_entry


def test_a_cached_run_is_returned_from_the_cache(tmp_path):
    cache = ResultCache(tmp_path / "c", l1_bytes=1 << 20)
    data = random_universe(6, 3, 100)
    cfg = PortfolioConfig(sizing="percent", size=0.3)
    first = run_portfolio(data, "sma_cross", PARAMS, cfg, cache=cache)
    again = run_portfolio(data, "sma_cross", PARAMS, cfg, cache=cache)
    assert not first.from_cache and again.from_cache
    np.testing.assert_array_equal(first.equity, again.equity)
    np.testing.assert_array_equal(first.trade_records, again.trade_records)
    assert again.to_json_dict() == first.to_json_dict()
    other = run_portfolio(data, "sma_cross", PARAMS, cfg.replace(size=0.4), cache=cache)
    assert not other.from_cache


def test_the_cache_key_covers_the_portfolio_code():
    from engine.cache.keys import engine_modules

    modules = engine_modules(("engine.portfolio.run",))
    assert {"engine.kernels.portfolio", "engine.portfolio.simulate", "engine.portfolio.result",
            "engine.compat.vectorbt_portfolio", "engine.kernels.stats"} <= set(modules)


def _truncate(data: list[Bars], t_end: int) -> list[Bars]:
    return [b.slice(0, int(np.searchsorted(b.ts, t_end, side="right"))) for b in data]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("config", [
    PortfolioConfig(sizing="equal", max_positions=2, commission=0.001, rebalance="1M"),
    PortfolioConfig(sizing="percent", size=0.3, slippage=0.001),
    PortfolioConfig(compat="vectorbt", sizing="percent", size=0.5, commission=0.002),
], ids=["equal-rebalance", "percent", "vectorbt"])
def test_no_look_ahead(seed, config):
    """Rows up to k do not depend on data after k. k is a row where every symbol still listed after it has a
    bar: a symbol's last bar is a fact of the data (its delisting) the rules act on (docs/portfolio.md)."""
    data = random_universe(seed, 4, 200, gap=0.1)
    score = None if config.compat else momentum(15)
    full = run_portfolio(data, "sma_cross", PARAMS, config, score=score)
    a = align(data)
    listed_after = a.last_bar[None, :] > np.arange(a.n_bars)[:, None]
    ok = ~(listed_after & np.isnan(a.close)).any(axis=1)
    ks = [k for k in np.flatnonzero(ok) if 30 < k < a.n_bars - 1]  # every symbol listed by k (NaN before)
    for k in ks[:: max(1, len(ks) // 5)]:
        cut = _truncate(data, int(a.ts[k]))
        part = run_portfolio(cut, "sma_cross", PARAMS, config, score=score)
        np.testing.assert_allclose(part.equity, full.equity[: k + 1], rtol=1e-12)
        done = full.trade_records[(full.trade_records["exit_bar"] < k) & ~full.trade_records["is_open"]]
        mine = part.trade_records[(part.trade_records["exit_bar"] < k) & ~part.trade_records["is_open"]]
        np.testing.assert_array_equal(mine, done)


class ScoredCross(SmaCross):
    """sma_cross with a score method: the portfolio ranks its entries by it (unless compat="vectorbt")."""

    name = "scored_cross"

    def score(self, bars, **params):
        return -np.asarray(bars.close)  # the cheapest first


def test_a_strategys_score_method_ranks_entries_except_under_vectorbt():
    data = random_universe(8, 5, 150)
    strat = ScoredCross()
    cfg = PortfolioConfig(sizing="equal", max_positions=1)
    ranked = run_portfolio(data, strat, PARAMS, cfg)
    explicit = run_portfolio(data, "sma_cross", PARAMS, cfg, score=lambda b: -np.asarray(b.close))
    np.testing.assert_array_equal(ranked.trade_records, explicit.trade_records)
    plain = run_portfolio(data, "sma_cross", PARAMS, cfg)
    assert not np.array_equal(ranked.trade_records, plain.trade_records)
    vbt = PortfolioConfig(compat="vectorbt", sizing="percent", size=0.5)
    np.testing.assert_array_equal(run_portfolio(data, strat, PARAMS, vbt).trade_records,
                                  run_portfolio(data, "sma_cross", PARAMS, vbt).trade_records)


def test_series_in_json():
    r = run_portfolio(random_universe(9, 3, 40), "sma_cross", PARAMS, PortfolioConfig(sizing="percent", size=0.3))
    s = r.to_json_dict(series=True)["series"]
    assert len(s["time"]) == len(s["equity"]) == len(s["cash"]) == len(s["exposure_pct"]) == len(r.ts)
    np.testing.assert_allclose(np.array(s["equity"]), np.array(s["cash"]) + r.position_value)
