"""User strategy folder: good files load, bad files give LoadErrors with file and line, reload works."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.errors import StrategyError
from engine.strategies import LoadError, get_strategy, list_strategies, load_user_strategies
from tests.engine.test_strategies import random_bars

GOOD = '''\
import numpy as np

from engine.kernels.indicators import sma_nb
from engine.kernels.signals import crossover_nb, crossunder_nb
from engine.strategies import Param, Signals, Strategy, resolve_params
from engine.strategies.builtins import SmaCross  # imported, not defined here: not registered


class CloseOverSma(Strategy):
    name = "close_over_sma"
    version = 1
    description = "Close crosses its own SMA."
    params = (Param("n", int, 10, 2, 100, 1),)

    def signals(self, bars, **params):
        p = resolve_params(self, params)
        ma = sma_nb(bars.close, p["n"])
        return Signals(crossover_nb(bars.close, ma), crossunder_nb(bars.close, ma))
'''

SYNTAX_ERROR = '''\
from engine.strategies import Strategy


class Broken(Strategy):
    name = "broken"

    def signals(self, bars, **params)
        return None
'''

RAISES = '''\
from engine.strategies import Strategy


def _setup():
    return {}["missing_key"]


TABLE = _setup()
'''

SHADOW = '''\
from engine.strategies import Signals, Strategy


class MySma(Strategy):
    name = "sma_cross"

    def signals(self, bars, **params):
        return Signals(bars.close > 0, bars.close < 0)
'''

MISSING_IMPORT = "import backbench_no_such_module_xyz\n"

NO_NAME = '''\
from engine.strategies import Strategy


class Nameless(Strategy):
    def signals(self, bars, **params):
        return bars.close > 0, bars.close < 0
'''


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "good.py", GOOD)
    write(tmp_path, "syntax_error.py", SYNTAX_ERROR)
    write(tmp_path, "raises.py", RAISES)
    write(tmp_path, "shadow.py", SHADOW)
    write(tmp_path, "missing_import.py", MISSING_IMPORT)
    write(tmp_path, "no_name.py", NO_NAME)
    write(tmp_path, "_helper.py", "raise RuntimeError('private files are not loaded')\n")
    (tmp_path / "notes.txt").write_text("not python")
    return tmp_path


def errors_by_file(errors: list[LoadError]) -> dict[str, LoadError]:
    return {Path(e.file).name: e for e in errors}


def test_good_file_loads_and_bad_files_report(folder: Path):
    strategies, errors = load_user_strategies(folder)
    assert list(strategies) == ["close_over_sma"]
    by_file = errors_by_file(errors)
    assert sorted(by_file) == ["missing_import.py", "no_name.py", "raises.py", "shadow.py", "syntax_error.py"]

    syntax = by_file["syntax_error.py"]
    assert syntax.file == str(folder / "syntax_error.py") and syntax.line == 7
    assert syntax.message.startswith("SyntaxError:")
    assert str(syntax).startswith(f"{folder / 'syntax_error.py'}:7: SyntaxError")

    raises = by_file["raises.py"]  # innermost frame inside the file: the line in _setup()
    assert raises.line == 5 and raises.message == "KeyError: 'missing_key'"

    missing = by_file["missing_import.py"]
    assert missing.line == 1 and missing.message.startswith("ModuleNotFoundError:")

    shadow = by_file["shadow.py"]
    assert shadow.line == 4 and "'sma_cross' is taken by a builtin" in shadow.message

    no_name = by_file["no_name.py"]
    assert no_name.line == 4 and "class Nameless has no `name`" in no_name.message


def test_loaded_strategy_runs(folder: Path):
    strategies, _ = load_user_strategies(folder)
    bars = random_bars(200)
    signals = strategies["close_over_sma"].generate(bars, n="15")
    assert signals.entries.dtype == np.bool_ and signals.entries.shape == (200,)
    assert signals.entries.any()


def test_registry_sees_user_strategies(folder: Path):
    names = [s.name for s in list_strategies(folder)]
    assert names[-1] == "close_over_sma" and names.count("sma_cross") == 1
    assert get_strategy("close_over_sma", folder).name == "close_over_sma"
    assert get_strategy("sma_cross", folder).__module__ == "engine.strategies.builtins"
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope' \(available: .*close_over_sma\); "
                                            r"5 user strategy file\(s\) failed to load"):
        get_strategy("nope", folder)


def test_reload_picks_up_an_edit(folder: Path):
    strategies, _ = load_user_strategies(folder)
    first = strategies["close_over_sma"]
    assert first.params[0].default == 10

    # Same file size, same second: a stale __pycache__ would hide this edit.
    write(folder, "good.py", GOOD.replace('Param("n", int, 10,', 'Param("n", int, 20,'))
    strategies, _ = load_user_strategies(folder)
    assert strategies["close_over_sma"].params[0].default == 20
    assert type(strategies["close_over_sma"]) is not type(first)


def test_reload_keeps_unchanged_files_and_retries_failed_ones(folder: Path):
    first, _ = load_user_strategies(folder)
    write(folder, "syntax_error.py", SYNTAX_ERROR.replace("**params)\n", "**params):\n"))
    second, errors = load_user_strategies(folder)
    assert type(second["close_over_sma"]) is type(first["close_over_sma"])
    assert "broken" in second and "syntax_error.py" not in errors_by_file(errors)


def test_reload_drops_a_deleted_file(folder: Path):
    load_user_strategies(folder)
    (folder / "good.py").unlink()
    strategies, _ = load_user_strategies(folder)
    assert "close_over_sma" not in strategies


def test_duplicate_name_across_files(tmp_path: Path):
    write(tmp_path, "a.py", GOOD)
    write(tmp_path, "b.py", GOOD)
    strategies, errors = load_user_strategies(tmp_path)
    assert list(strategies) == ["close_over_sma"]
    assert len(errors) == 1 and Path(errors[0].file).name == "b.py"
    assert "already defined in a.py" in errors[0].message


def test_missing_folder_is_empty(tmp_path: Path):
    assert load_user_strategies(tmp_path / "nope") == ({}, [])


def test_sys_exit_at_import_is_a_load_error(tmp_path: Path):
    write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    strategies, errors = load_user_strategies(tmp_path)
    assert strategies == {} and errors[0].line == 2 and errors[0].message == "SystemExit: 3"
