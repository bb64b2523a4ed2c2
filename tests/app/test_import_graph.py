"""Each command imports only what it uses (issue 17, docs/performance.md#fresh-process-commands).

Every test runs the real command's entry function (`app.cli.main`) in a fresh Python process and reads
that process's `sys.modules` afterwards: `backbench import` and `backbench data` never load numba (nor
pandas, which pyarrow would pull in to probe its input), `backbench run --file` never loads DuckDB
or pyarrow, and on a small file not numba either. A module list in a fresh process is the only honest
check: in the test process everything is already imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

WATCHED = ("numba", "duckdb", "pyarrow", "pandas", "polars", "scipy", "app.cli_sweep", "app.cli_gui")

_CHILD = f"""\
import json, sys
from app.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\nMODULES " + json.dumps({{"exit": code, "loaded": [m for m in {WATCHED!r} if m in sys.modules]}}))
"""


def run_fresh(*argv: str) -> tuple[int, set[str], str, str]:
    """(exit code, watched modules loaded, stdout, stderr) of `backbench argv...` in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], capture_output=True, text=True, timeout=120)
    assert "MODULES " in proc.stdout, proc.stderr[-2000:]
    out, _, tail = proc.stdout.rpartition("MODULES ")
    report = json.loads(tail)
    return report["exit"], set(report["loaded"]), out, proc.stderr


def _frame(n: int = 60) -> pl.DataFrame:
    rng = np.random.default_rng(17)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * (1 + rng.normal(0, 0.002, n))
    return pl.DataFrame({
        "Date": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 1) + pl.duration(days=n - 1), eager=True)
        .cast(pl.String),
        "Open": open_, "High": np.maximum(open_, close) * 1.01, "Low": np.minimum(open_, close) * 0.99,
        "Close": close, "Volume": rng.integers(1_000, 5_000, n).astype(float),
    })


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    frame = _frame()
    csv, parquet = tmp_path / "gimp.csv", tmp_path / "gpq.parquet"
    frame.write_csv(csv)
    frame.write_parquet(parquet)
    return {"csv": csv, "parquet": parquet}


def _stored_rows(db: Path, symbol: str) -> int:
    from engine.data.store import Store

    with Store(db, read_only=True) as store:
        entry = store.dataset(symbol, "1d")
        return 0 if entry is None else int(entry["rows"])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_import_never_loads_numba_or_pandas(tmp_path, files, kind):
    db = tmp_path / "store.duckdb"
    code, loaded, out, err = run_fresh("import", str(files[kind]), "--store", str(db))
    assert code == 0, err
    assert "60 rows read, 60 imported" in out
    assert _stored_rows(db, files[kind].stem.upper()) == 60  # the bars really landed
    assert "numba" not in loaded and "pandas" not in loaded and "scipy" not in loaded, loaded
    assert "app.cli_sweep" not in loaded and "app.cli_gui" not in loaded, loaded  # only its own command's parser
    assert "duckdb" in loaded  # the command did its work in that process


def test_import_check_never_loads_numba(tmp_path, files):
    db = tmp_path / "store.duckdb"
    code, loaded, out, err = run_fresh("import", str(files["csv"]), "--check", "--store", str(db))
    assert code == 0, err
    assert "OK (checked, nothing written)" in out
    assert "numba" not in loaded and "duckdb" not in loaded, loaded  # nothing is written: no store either
    assert not db.exists()


def test_bad_file_is_still_named_and_nothing_written_without_numba(tmp_path, files):
    """The validation errors and the all-or-nothing rule do not depend on numba."""
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-01,10,9,11,10,100\n")
    db = tmp_path / "store.duckdb"
    code, loaded, _, err = run_fresh("import", str(files["csv"]), str(bad), "--store", str(db))
    assert code == 2
    assert "bad.csv" in err and "line 2" in err and "high" in err.lower()
    assert "numba" not in loaded, loaded
    assert not db.exists() or _stored_rows(db, "GIMP") == 0


def test_data_commands_never_load_numba(tmp_path, files):
    db = tmp_path / "store.duckdb"
    assert run_fresh("import", str(files["csv"]), "--store", str(db))[0] == 0
    for argv in (("data", "list"), ("data", "show", "GIMP"), ("data", "delete", "GIMP", "--timeframe", "1d")):
        code, loaded, out, err = run_fresh(*argv, "--store", str(db))
        assert code == 0, (argv, err)
        assert "GIMP" in out
        assert "numba" not in loaded and "pandas" not in loaded, (argv, loaded)


@pytest.mark.parametrize("cache", [True, False])
def test_run_file_never_loads_duckdb(tmp_path, files, cache):
    args = ["run", "--file", str(files["csv"]), "--json"] + ([] if cache else ["--no-cache"])
    code, loaded, out, err = run_fresh(*args, "--store", str(tmp_path / "untouched.duckdb"))
    assert code == 0, err
    assert json.loads(out)["stats"]["n_trades"] >= 1
    assert "duckdb" not in loaded and "pyarrow" not in loaded, loaded
    assert "numba" not in loaded  # 60 bars: the kernels run as Python (engine/kernels/jit.py), or none (cached)
    assert not (tmp_path / "untouched.duckdb").exists()


def test_a_run_past_the_python_size_loads_numba_and_a_small_one_does_not(tmp_path):
    """A first backtest of a few thousand bars runs the kernels' own code as Python, without loading numba
    (~0.5 s); a bigger one loads numba and its compiled kernels (docs/performance.md, "The first backtest
    without numba")."""
    from engine.kernels.jit import PYTHON_MAX_BARS

    for n, numba_expected in ((PYTHON_MAX_BARS, False), (PYTHON_MAX_BARS + 1, True)):
        path = tmp_path / f"bars{n}.csv"
        _frame(n).write_csv(path)
        code, loaded, out, err = run_fresh("run", "--file", str(path), "--json", "--no-cache")
        assert code == 0, err
        assert json.loads(out)["stats"]["n_trades"] >= 1
        assert ("numba" in loaded) is numba_expected, (n, loaded)


def test_command_table_names_the_module_that_registers_each_command():
    """app.cli.COMMANDS (one module's parser per command line) must match what the modules register."""
    import argparse
    import importlib

    from app.cli import COMMAND_MODULES, COMMANDS

    registered = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        registered.update(dict.fromkeys(sub.choices, name))
    assert registered == COMMANDS


def test_help_and_unknown_commands_still_list_every_command():
    from app.cli import COMMANDS, build_parser

    for argv in ([], ["--help"], ["runn"]):
        text = build_parser(argv).format_help()
        assert all(cmd in text for cmd in COMMANDS), argv
    sub = next(a for a in build_parser(["import", "x.csv"])._actions if a.dest == "command")
    assert set(sub.choices) == {"import", "data"}
