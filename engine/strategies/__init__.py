"""Strategies: the `Strategy` contract, the builtins, and user strategies loaded from a folder.

    from engine.strategies import get_strategy, resolve_params
    strategy = get_strategy("sma_cross")
    signals = strategy.generate(bars, n1="10", n2=30)   # resolves, validates, checks shapes

`get_strategy` / `list_strategies` look at the builtins first, then at `strategies_dir` (a folder of
Python files, see loader.py). A strategy instance holds no state, so one can be shared freely;
to use a user strategy in a worker process, pass (name, strategies_dir) and call `get_strategy` there.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import StrategyError
from engine.strategies.base import Param, Signals, Strategy, call_signals, check_signals, resolve_params
from engine.strategies.builtins import BUILTIN_CLASSES
from engine.strategies.loader import LoadError, load_user_strategies

BUILTINS: dict[str, Strategy] = {cls.name: cls() for cls in BUILTIN_CLASSES}

__all__ = [
    "BUILTINS",
    "LoadError",
    "Param",
    "Signals",
    "Strategy",
    "call_signals",
    "check_signals",
    "get_strategy",
    "list_strategies",
    "load_user_strategies",
    "resolve_params",
]


def get_strategy(name: str, strategies_dir: str | Path | None = None) -> Strategy:
    """The builtin or user strategy called `name`; StrategyError if there is none.

    When the name is unknown and some user files failed to load, the message says so (a typo in
    a user file is the usual reason a user strategy is "missing").
    """
    if name in BUILTINS:
        return BUILTINS[name]
    user: dict[str, Strategy] = {}
    errors: list[LoadError] = []
    if strategies_dir is not None:
        user, errors = load_user_strategies(strategies_dir)
        if name in user:
            return user[name]
    available = ", ".join([*BUILTINS, *sorted(user)])
    message = f"unknown strategy {name!r} (available: {available})"
    if errors:
        message += f"; {len(errors)} user strategy file(s) failed to load, first: {errors[0]}"
    raise StrategyError(message)


def list_strategies(strategies_dir: str | Path | None = None) -> list[Strategy]:
    """Builtins in their fixed order, then the user strategies that loaded, by name.

    Load errors are not raised here; call `load_user_strategies` to show them.
    """
    found = list(BUILTINS.values())
    if strategies_dir is not None:
        user, _ = load_user_strategies(strategies_dir)
        found.extend(user[name] for name in sorted(user))
    return found
