"""Cross-sectional scores for ranking entries (docs/portfolio.md, "Ranking"): functions of one symbol's bars
that use bars up to and including each bar only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.bars import Bars
from engine.errors import ConfigError

SCORES = ("momentum",)


def momentum(lookback: int) -> Callable[[Bars], np.ndarray]:
    """close[i] / close[i - lookback] - 1 over the symbol's own bars; NaN for its first `lookback` bars."""
    if lookback < 1:
        raise ConfigError(f"score: momentum lookback {lookback} must be >= 1")

    def score(bars: Bars) -> np.ndarray:
        out = np.full(len(bars), np.nan)
        c = bars.close
        out[lookback:] = c[lookback:] / c[:-lookback] - 1.0
        return out

    return score


def parse_score(text: str | None) -> Callable[[Bars], np.ndarray] | None:
    """A score from its name and parameter, e.g. "momentum:63"; None for None or ""."""
    if not text:
        return None
    name, _, arg = text.partition(":")
    if name != "momentum":
        raise ConfigError(f"score: {name!r} is not one of: {', '.join(SCORES)} (e.g. momentum:63)")
    try:
        lookback = int(arg) if arg else 20
    except ValueError:
        raise ConfigError(f"score: {text!r}: the lookback must be a whole number of bars, e.g. momentum:63") from None
    return momentum(lookback)
