"""The strategy contract: `Strategy`, its `Param`s, the `Signals` it returns, and `resolve_params`.

A strategy is a small class with class attributes (`name`, `version`, `description`, `params`) and
a `signals(bars, **params)` method that returns boolean arrays, one value per bar. Signals at bar i
may use data up to and including bar i only (the engine fills them at bar i's close or later).

    class MyCross(Strategy):
        name = "my_cross"
        params = (Param("n", int, 10, 2, 200, 1),)

        def signals(self, bars, **params):
            p = resolve_params(self, params)
            ma = sma_nb(bars.close, p["n"])
            return Signals(crossover_nb(bars.close, ma), crossunder_nb(bars.close, ma))
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from engine.bars import Bars, is_read_only_error
from engine.errors import StrategyError


@dataclass(frozen=True)
class Param:
    """One tunable parameter: its type (int or float), default and inclusive [min, max] range.

    `step` is the spacing the GUI spin box and default sweep grids use; values off the step grid
    are still accepted.
    """

    name: str
    type: type
    default: Any
    min: Any
    max: Any
    step: Any = 1

    def __post_init__(self) -> None:
        if self.type not in (int, float):
            raise TypeError(f"Param {self.name!r}: type must be int or float, not {self.type!r}")
        if not (self.min <= self.default <= self.max):
            raise ValueError(f"Param {self.name!r}: default {self.default!r} is outside "
                             f"[{self.min!r}, {self.max!r}]")
        if not self.step > 0:
            raise ValueError(f"Param {self.name!r}: step must be > 0, not {self.step!r}")


ORDER_SIZE_TYPES = ("units", "equity", "value", "risk")


@dataclass(frozen=True)
class Orders:
    """What kind of order each entry signal places (docs/simulation.md, "Orders").

    Every field is None (not used), a number (every bar) or an array of len(bars) with NaN where a bar sets
    nothing; only bars with an entry signal are read, and an unset field falls back to the run's options.
    limit / stop: a limit or stop entry at this price instead of a market order (not both on one bar);
    valid: bars the limit/stop order stays open after its signal bar (NaN or 0: until it fills, an exit
        on its side cancels it, or a new entry replaces it);
    size: the position's size, read as `size_type`: "units", "equity" (fraction of equity, <= 1),
        "value" (currency) or "risk" (fraction of equity lost if the stop-loss is hit; needs a stop-loss);
    sl_price / tp_price: stop-loss and take-profit levels; sl_dist / tp_dist: the same as a distance
        from the fill price (e.g. 2 x ATR); trail_dist: a trailing stop this far from the best price.
    exit_portion: read on bars with an exit signal: the fraction of the position it closes, in (0, 1] (each
        lot gives up that share); NaN or None: all of it.
    """

    limit: Any = None
    stop: Any = None
    valid: Any = None
    size: Any = None
    size_type: str = "units"
    sl_price: Any = None
    tp_price: Any = None
    sl_dist: Any = None
    tp_dist: Any = None
    trail_dist: Any = None
    exit_portion: Any = None


class Signals(NamedTuple):
    """Boolean arrays of len(bars): long entries/exits and, optionally, short entries/exits, and the
    `Orders` the entries place (None: market orders with the run's sizing and stops)."""

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray | None = None
    short_exits: np.ndarray | None = None
    orders: Orders | None = None


class Strategy:
    """Base class of every strategy. Subclass it, set the class attributes, implement `signals`."""

    name: str
    version: int = 1
    description: str = ""
    params: tuple[Param, ...] = ()

    def signals(self, bars: Bars, **params: Any) -> Signals:
        """Entry/exit arrays for `bars` with the given parameter values (see `resolve_params`)."""
        raise NotImplementedError(f"strategy {getattr(self, 'name', type(self).__name__)!r} "
                                  "does not implement signals()")

    def indicators(self, bars: Bars, **params: Any) -> dict[str, np.ndarray]:
        """Lines to draw on the price chart, e.g. {"sma_10": array}; none by default."""
        return {}

    def constraints(self, params: dict[str, Any]) -> str | None:
        """Check a full, typed parameter set; return an error message or None if it is valid."""
        return None

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default value."""
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise StrategyError(_unknown_param_message(self, name))

    def generate(self, bars: Bars, **given: Any) -> Signals:
        """Resolve `given` params, compute signals and check their shape.

        Accepts a plain (entries, exits[, short_entries, short_exits]) tuple from a user strategy
        and returns `Signals` of contiguous bool arrays of len(bars); raises StrategyError if the
        strategy returns anything else.
        """
        return call_signals(self, bars, resolve_params(self, given))

    def __repr__(self) -> str:
        return f"<Strategy {getattr(self, 'name', '?')} v{self.version}>"


def call_signals(strategy: Strategy, bars: Bars, params: dict[str, Any]) -> Signals:
    """`strategy.signals(bars, **params)`, checked (`check_signals`). The bars are read-only
    (engine/bars.py): a strategy that writes into them gets a StrategyError saying so, not numpy's
    bare "assignment destination is read-only"."""
    try:
        result = strategy.signals(bars, **params)
    except (ValueError, TypeError) as exc:
        if is_read_only_error(exc) and not isinstance(exc, StrategyError):
            name = getattr(strategy, "name", type(strategy).__name__)
            raise StrategyError(f"strategy {name!r} wrote into its bars, which are read-only (they are shared by "
                                "every run): copy an array before changing it, e.g. "
                                "close = np.array(bars.close)") from exc
        raise
    return check_signals(strategy, result, len(bars))


def check_signals(strategy: Strategy, result: Any, n_bars: int) -> Signals:
    """Normalise what `signals()` returned to `Signals` of bool arrays of length `n_bars`."""
    label = f"strategy {getattr(strategy, 'name', type(strategy).__name__)!r}"
    if not isinstance(result, tuple) or not 2 <= len(result) <= 5:
        raise StrategyError(f"{label}: signals() must return Signals(entries, exits, ...), "
                            f"got {type(result).__name__}")
    orders = result[4] if len(result) == 5 else None
    if orders is not None and not isinstance(orders, Orders):
        raise StrategyError(f"{label}: Signals.orders must be an Orders(...), got {type(orders).__name__}")
    arrays: list[np.ndarray | None] = []
    for field, value in zip(Signals._fields[:4], result[:4], strict=False):
        if value is None and field.startswith("short_"):
            arrays.append(None)
            continue
        a = np.asarray(value)
        if a.shape != (n_bars,):
            raise StrategyError(f"{label}: {field} has shape {a.shape}, expected ({n_bars},)")
        if a.dtype != np.bool_:
            raise StrategyError(f"{label}: {field} has dtype {a.dtype}, expected bool")
        arrays.append(np.ascontiguousarray(a))
    entries, exits, *short = arrays + [None] * (4 - len(arrays))
    assert entries is not None and exits is not None
    return Signals(entries, exits, short[0], short[1], orders)


def resolve_params(strategy: Strategy, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete `given` with defaults, convert and validate it; return {name: int | float}.

    Strings (from the CLI or a settings file) are parsed per `Param.type`: "10" -> 10 for an int
    param, "1.5" -> 1.5 for a float param; "1.5" for an int param is an error. Integral floats
    (10.0) are accepted for int params. Raises StrategyError (one line, naming the strategy and
    the parameter) for an unknown name, a wrong type, a value outside [min, max], or a parameter
    set that breaks the strategy's `constraints`.
    """
    given = dict(given or {})
    label = f"strategy {strategy.name!r}"
    known = {p.name for p in strategy.params}
    for key in given:
        if key not in known:
            raise StrategyError(_unknown_param_message(strategy, key))
    resolved: dict[str, Any] = {}
    for p in strategy.params:
        value = _convert(label, p, given[p.name]) if p.name in given else p.default
        if not p.min <= value <= p.max:
            raise StrategyError(f"{label}: parameter {p.name}={value!r} is outside "
                                f"[{p.min!r}, {p.max!r}]")
        resolved[p.name] = value
    problem = strategy.constraints(resolved)
    if problem:
        raise StrategyError(f"{label}: {problem}")
    return resolved


def _unknown_param_message(strategy: Strategy, key: str) -> str:
    known = ", ".join(p.name for p in strategy.params) or "none"
    return f"strategy {strategy.name!r}: unknown parameter {key!r} (known: {known})"


def _convert(label: str, p: Param, value: Any) -> int | float:
    """`value` as p.type, or StrategyError naming the parameter."""
    kind = "a whole number" if p.type is int else "a number"
    bad = StrategyError(f"{label}: parameter {p.name}={value!r} must be {kind}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if p.type is int else float(text)
        except ValueError:
            raise bad from None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise bad
    number = float(value)
    if not math.isfinite(number):
        raise bad
    if p.type is int:
        if isinstance(value, numbers.Integral):
            return int(value)  # exact, even beyond 2**53
        if number.is_integer():
            return int(number)
        raise bad
    return number
