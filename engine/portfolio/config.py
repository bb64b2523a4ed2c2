"""`PortfolioConfig`: how a portfolio of symbols shares its cash (docs/portfolio.md, "Options")."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ConfigError

SIZINGS = ("units", "value", "percent", "equal")
AT_END = ("keep_open", "close")
COMPATS = ("vectorbt",)
# a rebalance period: a count and a unit (day, week, month, quarter, year), e.g. 1M, 2W, 1Q
_PERIOD = re.compile(r"^([1-9][0-9]*)([DWMQY])$")


@dataclass(frozen=True)
class PortfolioConfig:
    """How a portfolio trades (every fill at the signal bar's close).

    init_cash: the one cash balance all symbols share (currency, > 0).
    commission / slippage: fraction of traded value per leg / fraction each fill moves against the trader;
        `commission_by_symbol` / `slippage_by_symbol` override them per symbol ({symbol: fraction}).
    sizing: what `size` means for an entry: "units"; "value" (currency); "percent" (a fraction of equity;
        under compat="vectorbt" of the cash left, as its size_type "percent"); "equal" (equity / max_positions,
        or / the number of symbols; `size` unused).
    max_positions: open positions at most (0: no limit); further entries are skipped, best score first.
    rebalance: a period ("1M", "2W", "1Q", "1D", "1Y"): on each period's first bar the open positions are
        resized to their target weight (sizing "equal": 1 / max_positions; "percent": `size`); None: never.
    at_end: what is open at the last bar is kept open ("keep_open", marked to its last close) or closed there.
    delist_close: a position open at its symbol's last bar is closed there when the data goes on after it.
    risk_free_rate: annual, a fraction, for the Sharpe and Sortino ratios (docs/stats.md).
    compat: "vectorbt": Portfolio.from_signals(..., cash_sharing=True, group_by=True) (docs/compat.md).
    """

    init_cash: float = 10_000.0
    commission: float = 0.0
    slippage: float = 0.0
    commission_by_symbol: dict[str, float] = field(default_factory=dict)
    slippage_by_symbol: dict[str, float] = field(default_factory=dict)
    sizing: str = "equal"
    size: float = 1.0
    max_positions: int = 0
    rebalance: str | None = None
    at_end: str = "keep_open"
    delist_close: bool = True
    risk_free_rate: float = 0.0
    compat: str | None = None

    def __post_init__(self) -> None:
        _number("init_cash", self.init_cash, low=0.0, low_open=True)
        for name in ("commission", "slippage"):
            _number(name, getattr(self, name), low=0.0, high=1.0, high_open=True)
            for sym, v in getattr(self, f"{name}_by_symbol").items():
                _number(f"{name}_by_symbol[{sym!r}]", v, low=0.0, high=1.0, high_open=True)
        if self.sizing not in SIZINGS:
            raise ConfigError(f"portfolio: sizing={self.sizing!r} is not one of: {', '.join(SIZINGS)}")
        _number("size", self.size, low=0.0, low_open=True)
        if self.sizing == "percent" and self.size > 1.0:
            raise ConfigError(f"portfolio: size={self.size!r} must be a fraction in (0, 1] with sizing='percent'")
        if isinstance(self.max_positions, bool) or not isinstance(self.max_positions, int) or self.max_positions < 0:
            raise ConfigError(f"portfolio: max_positions={self.max_positions!r} must be a whole number >= 0")
        if self.rebalance is not None:
            if not _PERIOD.match(str(self.rebalance)):
                raise ConfigError(f"portfolio: rebalance={self.rebalance!r} is not a period such as 1D, 2W, 1M, "
                                  "1Q, 1Y")
            if self.sizing not in ("equal", "percent"):
                raise ConfigError("portfolio: rebalance needs target weights: sizing 'equal' or 'percent'")
        if self.at_end not in AT_END:
            raise ConfigError(f"portfolio: at_end={self.at_end!r} is not one of: {', '.join(AT_END)}")
        _number("risk_free_rate", self.risk_free_rate, low=-1.0, high=1.0, low_open=True, high_open=True)
        if self.compat is not None:
            if self.compat not in COMPATS:
                raise ConfigError(f"portfolio: compat={self.compat!r} is not one of: {', '.join(COMPATS)}")
            clash = [name for name, bad in (("sizing='equal'", self.sizing == "equal"),
                                            ("max_positions", self.max_positions > 0),
                                            ("rebalance", self.rebalance is not None),
                                            ("at_end='close'", self.at_end == "close")) if bad]
            if clash:
                raise ConfigError(f"portfolio: {clash[0]} cannot be combined with compat='vectorbt': "
                                  "from_signals has no such option (docs/compat.md, \"Portfolio\")")

    def fee_rate(self, symbol: str) -> float:
        return float(self.commission_by_symbol.get(symbol, self.commission))

    def slippage_of(self, symbol: str) -> float:
        return float(self.slippage_by_symbol.get(symbol, self.slippage))

    def period(self) -> tuple[int, str] | None:
        """The rebalance period as (count, unit), or None."""
        if self.rebalance is None:
            return None
        found = _PERIOD.match(self.rebalance)
        assert found is not None  # checked in __post_init__
        return int(found.group(1)), found.group(2)

    def replace(self, **changes: Any) -> PortfolioConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """Stable hex hash of every field."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()

    def __hash__(self) -> int:
        return hash(self.key())


def _number(name: str, value: Any, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"portfolio: {name}={value!r} must be a finite number")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"portfolio: {name}={value!r} must be {'>' if low_open else '>='} {low:g}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"portfolio: {name}={value!r} must be {'<' if high_open else '<='} {high:g}")
