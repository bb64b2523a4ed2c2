"""`backbench config path | show | init`, and how the CLI applies settings to every command.

    backbench config path               # the settings file in use ($BACKBENCH_CONFIG or the platform's)
    backbench config show [--json]      # every key, its effective value and where it came from
    backbench config init [--force]     # write the commented default file

The entry point (`app.cli.main`) loads the settings (file < env) before numpy or numba are imported,
sets thread caps and NUMBA_CACHE_DIR from them, then reloads them with the command's flags on top
(`overrides_from_args`) and fills every option the user left out (`apply_to_args`): flags still win.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from app.cli_options import fill_from_settings, given_settings
from app.settings import KEYS, SPECS, Settings, config_path, load_settings
from app.tables import format_table
from engine.errors import ConfigError

# `backbench config` actions that must work while the settings file is broken (to find it, to rewrite it)
TOLERANT_ACTIONS = ("path", "init")


def register(sub: argparse._SubParsersAction) -> None:
    cfg = sub.add_parser("config", help="show the settings and where they come from; write the settings file",
                         description="Settings come from defaults, then the settings file, then BACKBENCH_* "
                                     "environment variables, then command-line flags (docs/settings.md).")
    cfg.set_defaults(func=lambda args: cfg.print_help() or 0)
    actions = cfg.add_subparsers(dest="config_command", metavar="ACTION")
    p = actions.add_parser("path", help="print the settings file's path ($BACKBENCH_CONFIG or the platform's)")
    p.set_defaults(func=cmd_path)
    p = actions.add_parser("show", help="every setting, its effective value and its source")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--set", dest="set_values", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key as a flag would, e.g. --set simulation.commission=0.001 (repeatable)")
    p.set_defaults(func=cmd_show)
    p = actions.add_parser("init", help="write the settings file with every key at its default, commented")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)


# -- wiring ----------------------------------------------------------------------------------------------
def early_settings(env: dict[str, str] | None = None) -> tuple[Settings | None, ConfigError | None]:
    """Settings from the file and the environment (no flags yet), or the error loading them."""
    try:
        return load_settings(env=os.environ if env is None else env), None
    except ConfigError as exc:
        return None, exc


# polars allocates with a jemalloc of its own, which keeps freed pages for 10 s and lets them go only while it
# is still allocating. A sweep's parent reads its file with polars, then allocates nothing in polars for the
# whole sweep, so the file's frame (~70-90 MB at 1,000,000 bars) stayed in the process to its end. Read by
# jemalloc when polars loads (docs/performance.md, "Peak memory").
POLARS_MALLOC_CONF = "dirty_decay_ms:0,muzzy_decay_ms:0"


def apply_process_settings(settings: Settings | None) -> None:
    """Thread caps, NUMBA_CACHE_DIR and polars' allocator: must run before numpy/numba/polars are imported.
    Variables the user already set in the environment win."""
    from engine.runtime.threads import apply_thread_caps, cap_main_process

    os.environ.setdefault("_RJEM_MALLOC_CONF", POLARS_MALLOC_CONF)
    if settings is None:
        cap_main_process()
        return
    apply_thread_caps(settings.main_threads(), override=False)
    numba_dir = settings.numba_cache_dir()
    if numba_dir is not None and not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(numba_dir)


def needs_settings(args: argparse.Namespace) -> bool:
    return not (args.command == "config" and getattr(args, "config_command", None) in TOLERANT_ACTIONS)


def overrides_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """({settings key: value}, {key: flag}) for every settings flag given on the command line, including
    `config show --set KEY=VALUE`."""
    out = given_settings(args)
    flags = {}
    for item in getattr(args, "set_values", None) or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in SPECS:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a key from `backbench config show`")
        out[key] = value
        flags[key] = f"--set {key}"
    return out, flags


def apply_to_args(args: argparse.Namespace, settings: Settings) -> None:
    """The command's settings, its workbench (app/workbench.py), and every settings flag it has filled with
    the effective value (given flags were already checked by the loader)."""
    from app.workbench import Workbench

    args.settings = settings
    args.workbench = Workbench(settings, use_cache=not getattr(args, "no_cache", False))
    fill_from_settings(args, settings)


# -- commands --------------------------------------------------------------------------------------------
def cmd_path(args: argparse.Namespace) -> int:
    path = config_path()
    print(path)
    if not path.exists():
        print("(no file there: defaults apply; `backbench config init` writes one)", file=sys.stderr)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from app.settings import write_settings_file

    path = write_settings_file(config_path(), force=args.force)
    print(f"wrote {path}")
    return 0


def effective(settings: Settings, key: str) -> str:
    """A value as `config show` prints it: paths and automatic counts resolved."""
    value = settings.resolved(key)
    if key == "numba.cache_dir" and value is None:
        return "(numba's default: next to the sources)"
    if key == "workers.count" and not value:
        return f"0 (auto: {settings.worker_count()})"
    if key == "workers.threads_main" and not value:
        return f"0 (auto: {settings.main_threads()})"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cmd_show(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    file = settings.config_file
    if args.json:
        out = {"config_file": str(file), "config_file_exists": bool(file and file.exists()),
               "settings": {spec.key: {"value": settings.get(spec.key), "effective": effective(settings, spec.key),
                                       "source": settings.sources[spec.key]} for spec in KEYS}}
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return 0
    state = "" if file is not None and file.exists() else " (not found: defaults apply)"
    print(f"settings file: {file}{state}")
    rows = [(spec.key, effective(settings, spec.key), settings.sources[spec.key]) for spec in KEYS]
    print(format_table(rows, ["KEY", "VALUE", "SOURCE"], align="left"))
    return 0
