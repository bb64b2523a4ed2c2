"""An example user strategy: buy RSI dips, but only in an uptrend.

Put this file in your strategies folder (`backbench config show` prints it: the key strategies.dir),
or pass the folder with --strategies-dir. Then:

    backbench strategies --strategies-dir docs/examples
    backbench run --demo --strategies-dir docs/examples -s rsi_trend -p lower=35
    backbench sweep --demo --strategies-dir docs/examples -s rsi_trend -g trend=50:200:50 -g lower=25:40:5

The rules of a strategy file (docs/guide.md, "Your own strategies"):
- every `Strategy` subclass defined in the file is loaded under its `name` (builtin names are taken);
- `params` is a tuple of `Param(name, type, default, min, max, step)`; values arrive already typed and
  range-checked in `signals(bars, **params)` once you call `resolve_params`;
- `signals` returns boolean arrays, one value per bar; the value at bar i may only use data up to and
  including bar i (the engine reads it at bar i's close and fills at bar i+1's open by default);
- bump `version` when the signals change, so cached results are not reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.bars import Bars
from engine.kernels.indicators import rsi_nb, sma_nb
from engine.kernels.signals import crossover_level_nb, crossunder_nb
from engine.strategies import Param, Signals, Strategy, resolve_params


class RsiTrend(Strategy):
    name = "rsi_trend"
    version = 1
    description = ("Long when RSI leaves oversold (crosses above `lower`) while the close is above its "
                   "`trend`-bar SMA; exit when RSI crosses above `upper` or the close falls below the SMA.")
    params = (
        Param("period", int, 14, 2, 100, 1),  # RSI lookback, in bars
        Param("lower", float, 30.0, 5.0, 50.0, 5.0),  # oversold level
        Param("upper", float, 70.0, 50.0, 95.0, 5.0),  # overbought level: take profit
        Param("trend", int, 100, 10, 400, 10),  # trend filter: SMA length, in bars
    )

    def constraints(self, params: dict[str, Any]) -> str | None:
        if params["lower"] >= params["upper"]:
            return f"lower must be less than upper (got lower={params['lower']}, upper={params['upper']})"
        return None

    def _lines(self, bars: Bars, params: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        p = resolve_params(self, params)  # fills defaults, converts "35" -> 35.0, checks ranges
        return p, rsi_nb(bars.close, p["period"]), sma_nb(bars.close, p["trend"])

    def signals(self, bars: Bars, **params: Any) -> Signals:
        p, rsi, trend = self._lines(bars, params)
        uptrend = bars.close > trend  # False while the SMA is still NaN (its first trend-1 bars)
        entries = crossover_level_nb(rsi, float(p["lower"])) & uptrend
        exits = crossover_level_nb(rsi, float(p["upper"])) | crossunder_nb(bars.close, trend)
        return Signals(entries, exits)

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        """Lines the app draws on the price chart."""
        p, _, trend = self._lines(bars, params)
        return {f"sma_{p['trend']}": trend}
