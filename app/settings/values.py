"""Checking one settings value, given as text (environment, flag) or as a typed value (file, form).

Simulation keys are checked by `SimConfig` itself, so the two never disagree on a rule or its message.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import Any

from app.settings.model import EXECUTORS, KeySpec, sim_value
from engine.config import SimConfig
from engine.errors import ConfigError

_TOML_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a float", dict: "a table",
               list: "an array"}
_WANT = {str: "a string", bool: "true or false", int: "a whole number", float: "a number"}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def type_name(value: Any) -> str:
    return next((n for t, n in _TOML_TYPES.items() if isinstance(value, t)), f"a {type(value).__name__}")


def toml_value(value: Any) -> str:
    """A value as TOML source: strings quoted and escaped, big integers with _ separators."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 100_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid TOML basic strings


def parse_text(spec: KeySpec, raw: str, where: str) -> Any:
    """A value given as text (environment variable, command-line flag), converted and checked."""
    text = raw.strip()
    value: Any
    try:
        if spec.type is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            value = text.lower() in _TRUE
        elif spec.type is int:
            value = int(text.replace("_", ""))
        elif spec.type is float:
            value = float(text)
        else:
            value = raw
    except ValueError:
        kind = "whole number" if spec.type is int else "float" if spec.type is float else "boolean (true/false)"
        raise ConfigError(f"{where}: {raw!r} is not a {kind} ({spec.key})") from None
    return check_value(spec, value, where)


def check_value(spec: KeySpec, value: Any, where: str) -> Any:
    """`value` with its type normalised (an integer for a float key becomes a float), or ConfigError."""
    key = spec.key
    ok = isinstance(value, spec.type) and not (spec.type is int and isinstance(value, bool))
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        shown = toml_value(value) if isinstance(value, (str, bool, int, float)) else repr(value)
        raise ConfigError(f"{where}: {key} = {shown} must be {_WANT[spec.type]}, not {type_name(value)}")
    if spec.type is float and not math.isfinite(value):
        raise ConfigError(f"{where}: {key}={value!r} must be a finite number")
    if spec.section == "simulation":  # the engine's own rules and messages, so they never disagree
        try:
            SimConfig(**{spec.name: sim_value(spec.name, value)})
        except ConfigError as exc:
            raise ConfigError(f"{where}: simulation.{str(exc).removeprefix('config: ')}") from None
        return value
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: {key}={value!r} is not one of: {', '.join(spec.choices)}"
                          f"{did_you_mean(str(value), spec.choices)}")
    if spec.min is not None and value < spec.min:
        raise ConfigError(f"{where}: {key}={value!r} must be >= {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ConfigError(f"{where}: {key}={value!r} must be <= {spec.max:g}")
    if key == "sweep.executor" and value not in EXECUTORS and "://" not in value:
        raise ConfigError(f"{where}: {key}={value!r} is not one of: {', '.join(EXECUTORS)}, "
                          "or a Dask scheduler address like tcp://host:8786")
    return value


