"""Settings: every tunable of the app, from defaults, the settings file, BACKBENCH_* variables and flags.

Modules, each using only those listed before it (docs/settings.md describes the keys):
    paths   default locations (the platform's user folders)
    model   the keys (`KEYS`: type, default, help, variable, flag) and the `Settings` object
    values  checking one value, given as text or typed
    file    reading the TOML file with line numbers; writing the commented default file
    load    defaults < file < environment < flags
"""

from app.settings.file import read_settings_file, render_settings, write_settings_file
from app.settings.load import load_settings, settings_from_values
from app.settings.model import EXECUTORS, KEYS, SECTIONS, SPECS, SWEEP_METRICS, KeySpec, Settings, sim_value
from app.settings.paths import config_path, default_path, user_dir

__all__ = ["EXECUTORS", "KEYS", "SECTIONS", "SPECS", "SWEEP_METRICS", "KeySpec", "Settings", "config_path",
           "default_path", "load_settings", "read_settings_file", "render_settings", "settings_from_values",
           "sim_value", "user_dir", "write_settings_file"]
