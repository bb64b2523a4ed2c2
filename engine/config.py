"""`SimConfig`: the frozen, validated, hashable description of how a backtest trades.

See docs/simulation.md for the rules each field controls, with worked examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError

FILLS = ("next_open", "close")
SIZINGS = ("all", "all_units", "fixed", "percent", "value")
DIRECTIONS = ("long", "short", "both")
ENTRY_WHILE_LONG = ("ignore", "reenter")
CONFLICTS = ("ignore", "entry_wins")
AT_END = ("keep_open", "close")
OPPOSITE_ENTRY = ("reverse", "close", "ignore")
COMPATS = ("backtesting", "vectorbt")
# What a compat preset leaves to the caller: the cash, the commission, and the risk-free rate, which only
# the stats read (trades and equity stay the peer's; docs/compat.md).
PRESET_OPEN = ("init_cash", "commission", "risk_free_rate")

# What each compatibility preset sets (docs/compat.md).
PRESETS: dict[str, dict[str, Any]] = {
    # backtesting.py 0.6.x Backtest(..., exclusive_orders=True), buy() / position.close()
    "backtesting": dict(fill="next_open", sizing="all_units", on_entry_while_long="reenter",
                        same_bar_conflict="entry_wins", at_end="keep_open", warmup_bars=1,
                        slippage=0.0, fixed_fee=0.0, direction="long", sl=None, tp=None, trail=None,
                        margin=1.0, maintenance=0.0, accumulate=False, on_opposite_entry="reverse"),
    # vectorbt 1.x Portfolio.from_signals(close, entries, exits, init_cash, fees) defaults
    "vectorbt": dict(fill="close", sizing="all", on_entry_while_long="ignore",
                     same_bar_conflict="ignore", at_end="keep_open", warmup_bars=0,
                     slippage=0.0, fixed_fee=0.0, direction="long", sl=None, tp=None, trail=None,
                     margin=1.0, maintenance=0.0, accumulate=False, on_opposite_entry="reverse"),
}

# What a preset lets a user set, because the peer has it and the preset reproduces it (docs/compat.md).
PRESET_OPTIONS: dict[str, frozenset[str]] = {
    # direction: buy() / sell(); at_end="close": finalize_trades=True; fill="close": trade_on_close=True;
    # accumulate: exclusive_orders=False (with hedging=False); slippage: spread (entries only)
    "backtesting": frozenset({*PRESET_OPEN, "direction", "at_end", "fill", "margin", "accumulate", "slippage"}),
    # from_signals(direction=...); sl_stop, tp_stop, sl_stop with sl_trail=True; size with size_type
    # "amount" (sizing fixed), "value" or "percent" (not with both and upon_opposite_entry="reverse"); accumulate=True;
    # upon_opposite_entry
    "vectorbt": frozenset({*PRESET_OPEN, "direction", "sl", "tp", "trail", "sizing", "size", "accumulate",
                           "on_opposite_entry"}),
}


@dataclass(frozen=True)
class SimConfig:
    """How orders are filled, sized and charged.

    init_cash: starting cash (currency units, > 0).
    commission: fraction of traded value charged on each leg (0.001 = 0.1 %).
    fixed_fee: currency charged per order (each leg), on top of `commission`.
    slippage: fraction by which every fill price moves against the trader.
    fill: "next_open" (signal at bar i's close fills at bar i+1's open) or "close" (at bar i's close).
    sizing: "all" (all cash, fractional units, fees on top), "all_units" (all cash, whole units,
        sized as backtesting.py sizes them), "fixed" (`size` units), "percent" (`size` = fraction of equity),
        "value" (`size` in currency: units = size / fill price).
    sl / tp / trail: stop-loss, take-profit, trailing-stop distances as fractions of the entry price
        (trail: of the best price since entry); None = off.
    direction: "long", "short" (entries open shorts) or "both" (long and short).
    on_entry_while_long: "ignore" or "reenter" (close and re-open at the same fill).
    same_bar_conflict: entry and exit on one bar: "ignore" both, or "entry_wins".
    at_end: an open trade at the last bar is kept open ("keep_open", marked to the last close)
        or closed at the last close ("close").
    warmup_bars: signals on bars before this index are ignored.
    margin: the fraction of a position's value the cash must cover; leverage = 1 / margin (as backtesting.py's
        `margin`).
    maintenance: equity below this fraction of the open position's value liquidates it at the close; 0 = off.
    accumulate: an entry signal on the side of the open position adds a lot to it (pyramiding) instead of
        being ignored; each lot keeps its own stops and is its own trade (not with on_entry_while_long="reenter").
    on_opposite_entry: an entry signal against the open position "reverse"s it (closes, then opens the other
        side), only "close"s it, or is ignored ("ignore").
    risk_free_rate: annual risk-free rate, a fraction (0.03 = 3 %), for the Sharpe and Sortino ratios and
        alpha (docs/stats.md); a stats option, not a trading rule: trades and equity do not depend on it.
    compat: the preset this config was built from, if any (informational).
    """

    init_cash: float = 10_000.0
    commission: float = 0.0
    fixed_fee: float = 0.0
    slippage: float = 0.0
    fill: str = "next_open"
    sizing: str = "all"
    size: float = 1.0
    sl: float | None = None
    tp: float | None = None
    trail: float | None = None
    direction: str = "long"
    on_entry_while_long: str = "ignore"
    same_bar_conflict: str = "ignore"
    at_end: str = "keep_open"
    warmup_bars: int = 0
    margin: float = 1.0
    maintenance: float = 0.0
    accumulate: bool = False
    on_opposite_entry: str = "reverse"
    risk_free_rate: float = 0.0
    compat: str | None = None

    def __post_init__(self) -> None:
        _check_number("init_cash", self.init_cash, low=0.0, low_open=True)
        _check_number("commission", self.commission, low=0.0, high=1.0, high_open=True)
        _check_number("fixed_fee", self.fixed_fee, low=0.0)
        _check_number("slippage", self.slippage, low=0.0, high=1.0, high_open=True)
        _check_choice("fill", self.fill, FILLS)
        _check_choice("sizing", self.sizing, SIZINGS)
        _check_number("size", self.size, low=0.0, low_open=True)
        _check_number("margin", self.margin, low=0.0, high=1.0, low_open=True)
        _check_number("maintenance", self.maintenance, low=0.0, high=self.margin, high_open=True)
        if self.sizing == "percent" and self.size > 1.0:
            raise ConfigError(f"config: size={self.size!r} must be a fraction in (0, 1] with sizing='percent'")
        for name in ("sl", "trail"):
            v = getattr(self, name)
            if v is not None:
                _check_number(name, v, low=0.0, high=1.0, low_open=True, high_open=True)
        if self.tp is not None:
            _check_number("tp", self.tp, low=0.0, low_open=True)
        _check_choice("direction", self.direction, DIRECTIONS)
        _check_choice("on_entry_while_long", self.on_entry_while_long, ENTRY_WHILE_LONG)
        _check_choice("same_bar_conflict", self.same_bar_conflict, CONFLICTS)
        _check_choice("at_end", self.at_end, AT_END)
        _check_choice("on_opposite_entry", self.on_opposite_entry, OPPOSITE_ENTRY)
        if not isinstance(self.accumulate, bool):
            raise ConfigError(f"config: accumulate={self.accumulate!r} must be true or false")
        if self.accumulate and self.on_entry_while_long == "reenter":
            raise ConfigError("config: accumulate (add to the position) and on_entry_while_long='reenter' (close and "
                              "re-open it) are two answers to one signal: choose one")
        if not isinstance(self.warmup_bars, int) or isinstance(self.warmup_bars, bool) or self.warmup_bars < 0:
            raise ConfigError(f"config: warmup_bars={self.warmup_bars!r} must be a whole number >= 0")
        _check_number("risk_free_rate", self.risk_free_rate, low=-1.0, high=1.0, low_open=True, high_open=True)
        if self.compat is not None:
            _check_choice("compat", self.compat, COMPATS)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SimConfig:
        """Build from a mapping, rejecting unknown keys; a `compat` key applies that preset first."""
        values = dict(values)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"config: unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")
        compat = values.pop("compat", None)
        if compat is not None:
            # A dict from to_dict() of a preset carries every field: keep only the ones that differ
            # from what the preset (or, for fields it leaves alone, the default) already sets.
            _check_choice("compat", compat, COMPATS)
            fixed = {f.name: f.default for f in dataclasses.fields(cls)} | PRESETS[compat]
            values = {k: v for k, v in values.items()
                      if k in PRESET_OPEN or v != fixed[k]}
            if compat == "backtesting" and values.get("accumulate"):
                values.pop("on_entry_while_long", None)  # what the preset sets for exclusive_orders=False
            return cls.preset(compat, **values)
        return cls(**values)

    @classmethod
    def preset(cls, compat: str, **overrides: Any) -> SimConfig:
        """The config that reproduces a peer backtester (`"backtesting"` or `"vectorbt"`).

        `PRESET_OPEN` (cash, commission, risk-free rate) may be overridden, and the options the peer has and the
        preset reproduces (`PRESET_OPTIONS`, docs/compat.md); the preset fixes everything else.
        """
        _check_choice("compat", compat, COMPATS)
        allowed = PRESET_OPTIONS[compat]
        bad = sorted(set(overrides) - allowed)
        if bad:
            raise ConfigError(
                f"config: option {bad[0]!r} cannot be combined with compat={compat!r} "
                f"(the preset allows only {', '.join(sorted(allowed))}; docs/compat.md)")
        sizing, direction = overrides.get("sizing", "all"), overrides.get("direction", "long")
        if compat == "vectorbt" and sizing not in ("all", "fixed", "value", "percent"):
            raise ConfigError(f"config: sizing={sizing!r} cannot be combined with compat='vectorbt': reproduced are "
                              "all (the default), fixed (size_type amount), value and percent")
        if (compat == "vectorbt" and sizing == "percent" and direction == "both"
                and overrides.get("on_opposite_entry", "reverse") == "reverse"):
            raise ConfigError("config: sizing='percent' with direction='both' and on_opposite_entry='reverse' "
                              "cannot be combined with compat='vectorbt': vectorbt refuses to reverse a position "
                              "sized by a percent (use on_opposite_entry close or ignore)")
        if compat == "vectorbt" and overrides.get("sl") and overrides.get("trail"):
            raise ConfigError("config: sl with trail cannot be combined with compat='vectorbt': vectorbt has one "
                              "stop-loss, fixed (sl_stop) or trailing (sl_stop with sl_trail=True)")
        if compat == "backtesting" and overrides.get("accumulate"):
            overrides = {**overrides, "on_entry_while_long": "ignore"}  # exclusive_orders=False: buy() adds a trade
        return cls(**{**PRESETS[compat], **overrides, "compat": compat})

    def replace(self, **changes: Any) -> SimConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """Stable hex hash of every field (same in every process and session)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"config: {name}={value!r} is not one of: {', '.join(choices)}")


def _check_number(name: str, value: Any, low: float | None = None, high: float | None = None,
                  low_open: bool = False, high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"config: {name}={value!r} must be a finite number")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"config: {name}={value!r} must be {'>' if low_open else '>='} {low:g}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"config: {name}={value!r} must be {'<' if high_open else '<='} {high:g}")
