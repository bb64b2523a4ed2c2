"""How a stat is shown to a person, declared once for `backbench run` and the app's stats table: its label
(backtesting.py's, where it has the figure; the unit in brackets) and how its value is written.

The keys are engine.kernels.stats.STAT_KEYS plus start/end (docs/stats.md defines them); `--json` and the
sweep keep the snake_case keys. No Qt here: the CLI imports it.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"

# key -> (label, kind); kinds: date, days, pct, money, ratio, count. Units go in the label, except days,
# which the value carries ("3,116 days", as backtesting.py prints a duration).
STAT_LABELS: dict[str, tuple[str, str]] = {
    "start": ("Start", "date"),
    "end": ("End", "date"),
    "duration": ("Duration", "days"),
    "exposure_time_pct": ("Exposure Time [%]", "pct"),
    "equity_final": ("Equity Final [$]", "money"),
    "equity_peak": ("Equity Peak [$]", "money"),
    "commissions": ("Commissions [$]", "money"),
    "return_pct": ("Return [%]", "pct"),
    "buy_hold_return_pct": ("Buy & Hold Return [%]", "pct"),
    "return_ann_pct": ("Return (Ann.) [%]", "pct"),
    "volatility_ann_pct": ("Volatility (Ann.) [%]", "pct"),
    "cagr_pct": ("CAGR [%]", "pct"),
    "sharpe_ratio": ("Sharpe Ratio", "ratio"),
    "sortino_ratio": ("Sortino Ratio", "ratio"),
    "calmar_ratio": ("Calmar Ratio", "ratio"),
    "alpha_pct": ("Alpha (Ann.) [%]", "pct"),  # annualised, unlike backtesting.py's "Alpha [%]"
    "beta": ("Beta", "ratio"),
    "max_drawdown_pct": ("Max. Drawdown [%]", "pct"),
    "avg_drawdown_pct": ("Avg. Drawdown [%]", "pct"),
    "max_drawdown_duration": ("Max. Drawdown Duration", "days"),
    "n_trades": ("# Closed Trades", "count"),
    "win_rate_pct": ("Win Rate [%]", "pct"),
    "best_trade_pct": ("Best Trade [%]", "pct"),
    "worst_trade_pct": ("Worst Trade [%]", "pct"),
    "avg_trade_pct": ("Avg. Trade [%]", "pct"),
    "max_trade_duration": ("Max. Trade Duration", "days"),
    "avg_trade_duration": ("Avg. Trade Duration", "days"),
    "profit_factor": ("Profit Factor", "ratio"),
    "expectancy_pct": ("Expectancy [%]", "pct"),
    "sqn": ("SQN", "ratio"),
    "kelly": ("Kelly Criterion", "ratio"),
}

# `run --benchmark` (engine/analysis/benchmark.py, docs/stats.md)
BENCHMARK_LABELS: dict[str, tuple[str, str]] = {
    "bench_return_pct": ("Benchmark Return [%]", "pct"),
    "bench_alpha_pct": ("Alpha vs Benchmark (Ann.) [%]", "pct"),
    "bench_beta": ("Beta vs Benchmark", "ratio"),
    "information_ratio": ("Information Ratio", "ratio"),
    "tracking_error_pct": ("Tracking Error (Ann.) [%]", "pct"),
    "correlation": ("Correlation", "ratio"),
}
_LABELS = {**STAT_LABELS, **BENCHMARK_LABELS}


def stat_label(key: str) -> str:
    """The readable name of a stat key; unknown keys get a plain rendering ("foo_pct" -> "Foo [%]")."""
    if key in _LABELS:
        return _LABELS[key][0]
    if key.endswith("_pct"):
        return key[:-4].replace("_", " ").capitalize() + " [%]"
    return key.replace("_", " ").capitalize()


def format_stat(key: str, value: Any) -> str:
    """A stat value as text: days as "3,116 days" (up to 2 decimals), percentages and money with 2 decimals,
    ratios with 3, thousands separated, ISO dates without the "T"/"Z" (and without a midnight time); None
    and NaN as "—", infinities as "∞"."""
    kind = _LABELS.get(key, ("", "pct" if key.endswith("_pct") else "ratio"))[1]
    if value is None:
        return MISSING
    if isinstance(value, str):
        if kind != "date":
            return value
        text = value.replace("T", " ").removesuffix("Z")  # ISO, UTC: to the minute, or the day
        return text.removesuffix(":00").removesuffix(" 00:00") if len(text) == 19 else text
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if kind == "days":
        text = f"{v:,.2f}".rstrip("0").rstrip(".")
        return f"{text} day" if text == "1" else f"{text} days"
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "ratio":
        return f"{v:,.3f}"
    return f"{v:,.2f}"


def trade_count_text(n_closed: int, n_open: int) -> str:
    """How many trades a result lists, in the words every face uses (docs/stats.md, "Trade counts"):
    "132 trades (131 closed, 1 open)", or "131 trades (all closed)"."""
    if n_open:
        return f"{n_closed + n_open:,} trades ({n_closed:,} closed, {n_open:,} open)"
    return f"{n_closed:,} trade{'' if n_closed == 1 else 's'} (all closed)"
