"""Where Backbench keeps its files by default: the one place that knows the platform's user folders.

Every default path (settings file, bar store, result cache, strategies folder, numba's kernels in the
packaged app) comes from `default_path`; a setting or flag that names a path replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APP_NAME = "Backbench"
CONFIG_ENV = "BACKBENCH_CONFIG"

# kind -> (platform folder, name inside it)
_DEFAULTS = {
    "config": ("config", "backbench.toml"),
    "store": ("data", "backbench.duckdb"),
    "strategies": ("data", "strategies"),
    "cache": ("cache", "results"),
    "numba": ("cache", "numba"),
}


def user_dir(kind: str) -> Path:
    """The platform's per-user "config", "data" or "cache" directory for Backbench."""
    import platformdirs

    fn = {"config": platformdirs.user_config_dir, "data": platformdirs.user_data_dir,
          "cache": platformdirs.user_cache_dir}[kind]
    return Path(fn(APP_NAME, appauthor=False))


def default_path(kind: str) -> Path:
    """The default location of "config" (the settings file), "store", "strategies", "cache" or "numba"."""
    folder, name = _DEFAULTS[kind]
    return user_dir(folder) / name


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """$BACKBENCH_CONFIG, else backbench.toml in the platform's user config dir."""
    env = os.environ if env is None else env
    given = env.get(CONFIG_ENV)
    return Path(given).expanduser() if given else default_path("config")
