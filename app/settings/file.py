"""The settings file: reading it with line numbers, checking values, and writing the commented default.

tomllib gives no line numbers, so `scan_lines` finds them with a small scan of the file's `[section]`
headers and `key =` lines; every error then names the file and line. `render_settings` writes the
file `backbench config init` creates and the Preferences dialog rewrites: every key with its help,
default and environment variable as comments, so regenerating it with new values keeps the comments.
"""

from __future__ import annotations

import os
import re
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.settings.model import KEYS, SECTIONS, SPECS
from app.settings.values import check_value, did_you_mean, toml_value, type_name
from engine.errors import ConfigError

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]*?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")


# -- reading -------------------------------------------------------------------------------------------
def scan_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line numbers (1-based, first occurrence) of every [section] header and `key =` line, keyed by the
    dotted path they define: ("simulation",) for a header, ("simulation", "commission") for a key in it."""
    found: dict[tuple[str, ...], int] = {}
    section: tuple[str, ...] = ()
    for lineno, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            section = _split_dotted(header.group(1))
            for i in range(1, len(section) + 1):
                found.setdefault(section[:i], lineno)
            continue
        key = _KEY.match(line)
        if key:
            path = section + _split_dotted(key.group(1))
            for i in range(1, len(path) + 1):
                found.setdefault(path[:i], lineno)
    return found


def _split_dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r""""[^"]*"|'[^']*'|[^.]+""", text))


def read_settings_file(path: Path) -> dict[str, tuple[Any, int | None]]:
    """{dotted key: (checked value, line)} for every key the file sets; {} if the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a settings file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the settings file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (TOML files are UTF-8)") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _AT_LINE.search(msg)
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ConfigError(f"{where}: TOML syntax error: {_AT_LINE.sub('', msg)}") from None
    lines = scan_lines(text)
    out: dict[str, tuple[Any, int | None]] = {}
    for section, body in table.items():
        at = _at(path, lines.get((section,)))
        if section not in SECTIONS:
            if not isinstance(body, dict):
                raise ConfigError(f"{at}: unknown key {section!r} outside any [section]; keys go in one of: "
                                  f"{_sections()}")
            raise ConfigError(f"{at}: unknown section [{section}]{did_you_mean(section, SECTIONS)} "
                              f"(sections: {_sections()})")
        if not isinstance(body, dict):
            raise ConfigError(f"{at}: {section} must be a [{section}] table of keys, not {type_name(body)}")
        names = [s.name for s in KEYS if s.section == section]
        for name, value in body.items():
            key_line: int | None = lines.get((section, name)) or lines.get((section,))
            where = _at(path, key_line)
            spec = SPECS.get(f"{section}.{name}")
            if spec is None:
                raise ConfigError(f"{where}: unknown key {name!r} in [{section}]{did_you_mean(name, names)} "
                                  f"(keys: {', '.join(names)})")
            out[spec.key] = (check_value(spec, value, where), key_line)
    return out


def _at(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


def _sections() -> str:
    return ", ".join(SECTIONS)


# -- writing -------------------------------------------------------------------------------------------
FILE_INTRO = """\
# Backbench settings.
#
# Written by `backbench config init`; the app's Preferences dialog rewrites it with the same comments.
# Every key is optional: a key left out takes its default. An empty path means the platform default.
# Precedence: default < this file < environment variable < command-line flag.
# `backbench config show` prints every value and where it came from; docs/settings.md describes them.
"""


def render_settings(values: Mapping[str, Any] | None = None) -> str:
    """The commented settings file, with `values` ({dotted key: value}; defaults for the rest)."""
    values = values or {}
    unknown = sorted(set(values) - set(SPECS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    out = [FILE_INTRO]
    for section, cls in SECTIONS.items():
        out.append(f"\n[{section}]  # {(cls.__doc__ or '').strip()}\n")
        for spec in (s for s in KEYS if s.section == section):
            out += [f"# {line}\n" for line in textwrap.wrap(spec.help, 98)]
            if spec.choices is not None and spec.key != "sweep.metric":
                out.append(f"# One of: {', '.join(spec.choices)}.\n")
            elif spec.choices is not None:
                out.append("# Any stat name (docs/stats.md).\n")
            out += [f"# {line}\n" for line in textwrap.wrap(f"Default: {spec.describe_default()}.", 98)]
            out.append(f"# Environment: {spec.env}" + (f"; flag: {spec.flag}" if spec.flag else "") + ".\n")
            out.append(f"{spec.name} = {toml_value(values.get(spec.key, spec.default))}\n")
    return "".join(out)


def write_settings_file(path: Path, values: Mapping[str, Any] | None = None, *, force: bool = False) -> Path:
    """Write `render_settings(values)` to `path` (atomically); ConfigError if it exists and not `force`."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render_settings(values), encoding="utf-8")
    os.replace(tmp, path)
    return path
