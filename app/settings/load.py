"""Loading settings: defaults, then the file, then BACKBENCH_* environment variables, then flags.

    settings = load_settings()                       # defaults < file < BACKBENCH_* env
    settings = load_settings({"simulation.commission": "0.001"})   # ... < command-line flags
    settings.simulation.commission, settings.sources["simulation.commission"]   # 0.001, "flag --commission"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.settings.file import read_settings_file
from app.settings.model import ENV_PREFIX, KEYS, SECTIONS, SPECS, Settings
from app.settings.paths import config_path
from app.settings.values import check_value, parse_text
from engine.errors import ConfigError


def load_settings(cli_overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] = os.environ,
                  path: str | os.PathLike[str] | None = None, *, flag_names: Mapping[str, str] | None = None,
                  ) -> Settings:
    """Defaults, then the file (`path`, else `config_path(env)`; missing = defaults), then the environment,
    then `cli_overrides` ({dotted key: value}; strings are parsed like environment values).
    `flag_names` ({key: "--flag"}) names the flag that set a key when it is not the key's own flag.

    Raises ConfigError (one line naming the key and where it was set) for unknown keys or bad values.
    """
    file = Path(path).expanduser() if path is not None else config_path(env)
    values: dict[str, Any] = {spec.key: spec.default for spec in KEYS}
    sources = dict.fromkeys(values, "default")
    for key, (value, line) in read_settings_file(file).items():
        values[key] = value
        sources[key] = f"file {file}:{line}" if line else f"file {file}"
    _check_env_names(env)
    for spec in KEYS:
        raw = env.get(spec.env)
        if raw:  # an empty variable counts as unset (as BACKBENCH_DB always has)
            values[spec.key] = parse_text(spec, raw, f"env {spec.env}")
            sources[spec.key] = f"env {spec.env}"
    for key, value in (cli_overrides or {}).items():
        given = SPECS.get(key)
        if given is None:
            raise ConfigError(f"unknown setting {key!r} (known: {', '.join(SPECS)})")
        where = (flag_names or {}).get(key) or given.flag or f"--set {key}"
        values[key] = parse_text(given, value, where) if isinstance(value, str) else check_value(given, value, where)
        sources[key] = f"flag {where}"
    return _build(values, sources, file)


def _check_env_names(env: Mapping[str, str]) -> None:
    """A BACKBENCH_<SECTION>_* variable that is no key is a typo: say so rather than ignore it."""
    known = {spec.env for spec in KEYS}
    for name in env:
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        section = next((s for s in SECTIONS if name.startswith(f"{ENV_PREFIX}{s.upper()}_")), None)
        if section is not None:
            names = ", ".join(s.env for s in KEYS if s.section == section)
            raise ConfigError(f"env {name}: no such setting in [{section}] (its variables: {names})")


def _build(values: dict[str, Any], sources: dict[str, str], file: Path | None) -> Settings:
    sections = {name: cls(**{k.name: values[k.key] for k in KEYS if k.section == name})
                for name, cls in SECTIONS.items()}
    settings = Settings(**sections, sources=dict(sources), config_file=file)
    try:  # rules between keys (sizing = "percent" needs size <= 1)
        settings.sim_config()
    except ConfigError as exc:
        where = sources["simulation.size"]
        raise ConfigError(f"{_location(where)}: simulation.{str(exc).removeprefix('config: ')}") from None
    return settings


def settings_from_values(values: Mapping[str, Any]) -> Settings:
    """Settings from {dotted key: value} (the Preferences form); unlisted keys take their defaults.

    Values are checked as if they were in a file; errors name the key.
    """
    merged: dict[str, Any] = {spec.key: spec.default for spec in KEYS}
    sources = dict.fromkeys(merged, "default")
    for key, value in values.items():
        spec = SPECS.get(key)
        if spec is None:
            raise ConfigError(f"unknown setting {key!r}")
        merged[key] = check_value(spec, value, key)
        sources[key] = "form"
    return _build(merged, sources, None)


def _location(source: str) -> str:
    """A source as an error prefix: "file /x.toml:3" -> "/x.toml:3", "flag --size" -> "--size"."""
    return source.removeprefix("file ").removeprefix("flag ")
