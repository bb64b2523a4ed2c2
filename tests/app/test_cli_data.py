"""`backbench import` / `backbench data ...` and the store helpers other commands use."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import _apply_settings, build_parser, main
from app.cli_options import datasets_from_args
from app.workbench import Workbench
from engine.data.demo import DEMO_SYMBOLS, demo_bars, generate_bars
from engine.data.store import Store
from engine.errors import DataError
from tests.engine.data.corpus import CASES, write_corpus
from tests.engine.data.helpers import HEADER, dump, same_bars

GOOD = HEADER + "2020-01-03,10.5,11,10,10.8,200\n2020-01-02,10,11,9,10.5,100\n2020-01-06,10.8,12,10.5,11.5,300\n\n"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A store filled with the demo data once per module (copied per test)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    Workbench.from_values({"store.path": str(path)}).ensure_demo()
    return path


@pytest.fixture
def db(tmp_path, demo_db):
    path = tmp_path / "store.duckdb"
    shutil.copy(demo_db, path)
    return path


def test_import_prints_summary_and_warnings(tmp_path, db, capsys):
    (tmp_path / "good.csv").write_text(GOOD)
    assert main(["import", str(tmp_path / "good.csv"), "--symbol", "GOOD", "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("good.csv -> GOOD 1d: 3 rows read, 3 imported, 2 repaired, 0 skipped")
    assert "rows/s)" in out and " s (" in out
    assert "warning: good.csv: rows out of time order (sorted): 1" in err
    assert "warning: good.csv: trailing blank lines removed: 1" in err
    assert main(["import", str(tmp_path / "good.csv"), "--symbol", "GOOD", "--db", str(db)]) == 0
    assert "0 imported, 2 repaired, 3 skipped (already stored)" in capsys.readouterr().out
    with Store(db, read_only=True) as st:
        assert st.load("GOOD").close.tolist() == [10.5, 10.8, 11.5]


def test_import_check_writes_nothing(tmp_path, small_db, capsys):
    db = small_db
    (tmp_path / "good.csv").write_text(GOOD)
    before = dump(db)
    assert main(["import", "--check", str(tmp_path / "good.csv"), "--db", str(db)]) == 0
    assert "good.csv: OK (checked, nothing written): GOOD 1d, 3 rows" in capsys.readouterr().out
    assert dump(db) == before


def test_import_several_files_with_tz_and_map(tmp_path, db, capsys):
    (tmp_path / "a.csv").write_text("when;o;h;l;c\n2020-07-01 09:30;1;2;0.5;1.5\n2020-07-01 09:31;1;2;0.5;1.5\n")
    (tmp_path / "b.csv").write_text("when;o;h;l;c\n2020-07-01 09:32;1;2;0.5;1.5\n2020-07-01 09:33;1;2;0.5;1.5\n")
    argv = ["import", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--symbol", "NYX", "--tz",
            "America/New_York", "--map", "ts=when", "--map", "open=o", "--map", "high=h", "--map", "low=l",
            "--map", "close=c", "--db", str(db)]
    assert main(argv) == 0
    assert "total: 2 files, 4 rows" in capsys.readouterr().out
    with Store(db, read_only=True) as st:
        b = st.load("NYX")
    assert str(b.times()[0]) == "2020-07-01T13:30:00.000000000" and len(b) == 4
    assert main(["import", str(tmp_path / "a.csv"), "--map", "nonsense", "--db", str(db)]) == 2
    assert "expected FIELD=COLUMN" in capsys.readouterr().err


@pytest.fixture
def small_db(tmp_path):
    path = tmp_path / "small.duckdb"
    with Store(path) as st:
        st.write_bars(generate_bars("OLD", 300, "1d"))
        st.write_bars(generate_bars("OLDM", 500, "1m"))
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_file_exit_2_one_line_and_store_unchanged(tmp_path, small_db, capsys, case):
    db = small_db
    [(case, path)] = [(c, p) for c, p in write_corpus(tmp_path) if c is case]
    before = dump(db)
    assert main(["import", str(path), "--db", str(db), *case.args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"backbench: error: {case.name}: ")
    for fragment in case.expect:
        assert fragment in err
    assert dump(db) == before


def test_real_subprocess_exit_code_and_message(tmp_path, small_db):
    db = small_db
    exe = Path(sys.executable).with_name("backbench")
    if not exe.exists():
        pytest.skip("backbench entry point not installed in this environment")
    [(case, path)] = [(c, p) for c, p in write_corpus(tmp_path) if c.name == "high_below_low.csv"]
    before = dump(db)
    proc = subprocess.run([str(exe), "import", str(path), "--db", str(db)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"backbench: error: high_below_low.csv: {case.expect[0]}\n"
    assert dump(db) == before


def test_data_list_show_delete_vacuum(db, capsys):
    assert main(["data", "list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["SYMBOL", "TF", "ROWS"]
    assert {line.split()[0] for line in lines[2:]} == set(DEMO_SYMBOLS)
    assert "BTCX      1m  1,000,000" in out
    assert main(["data", "show", "ACME", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ACME 1d: 5,040 bars") and "fingerprint " + demo_bars("ACME").fingerprint() in out
    assert "2005-01-03 00:00:00" in out
    assert main(["data", "show", "BTCX", "--timeframe", "1h", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("BTCX 1h: 16,667 bars (resampled from 1m)")
    assert main(["data", "show", "NOPE", "--db", str(db)]) == 2
    assert "symbol 'NOPE' is not in the store; available: ACME 1d, BTCX 1m" in capsys.readouterr().err
    assert main(["data", "delete", "ETHX", "--db", str(db)]) == 0
    assert capsys.readouterr().out == "deleted ETHX: 1,000,000 bars\n"
    assert main(["data", "delete", "ETHX", "--db", str(db)]) == 2
    assert main(["data", "vacuum", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    before, after = (float(x) for x in out.split(": ")[1].replace(" MB", "").split(" -> "))
    assert after < before * 0.8  # a million bars' space given back
    with Store(db, read_only=True) as st:
        assert "ETHX" not in {d["symbol"] for d in st.datasets()} and len(st.load("BTCX")) == 1_000_000


def _args(*argv):
    """`backbench run ARGV` parsed, with the settings applied as the entry point applies them."""
    args = build_parser().parse_args(["run", *argv])
    _apply_settings(args, None)
    return args


def bars_from_args(args):
    return datasets_from_args(args)[0]


def test_the_data_options_read_the_store(db):
    b = bars_from_args(_args("--db", str(db), "--symbol", "ACME"))
    assert same_bars(b, demo_bars("ACME")) and b.symbol == "ACME" and b.timeframe == "1d"
    b = bars_from_args(_args("--db", str(db), "--symbol", "GLOBEX", "--start", "2010-01-01", "--end", "2010-12-31"))
    days = b.times().astype("datetime64[D]")
    assert str(days[0]) == "2010-01-01" and str(days[-1]) == "2010-12-31"
    b = bars_from_args(_args("--db", str(db), "--symbol", "BTCX", "--timeframe", "5m", "--end", "2005-01-03"))
    assert b.timeframe == "5m" and len(b) == 288
    with pytest.raises(DataError, match="symbol 'MSFT' is not in the store; available: ACME 1d"):
        bars_from_args(_args("--db", str(db), "--symbol", "MSFT"))
    with pytest.raises(DataError, match="no bars between 2040-01-01"):
        bars_from_args(_args("--store", str(db), "--symbol", "ACME", "--start", "2040-01-01"))
    with pytest.raises(DataError, match="no data given"):
        bars_from_args(_args("--store", str(db)))


def test_first_start_fills_demo_data_with_progress(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "fresh" / "env.duckdb"))
    b = bars_from_args(_args("--symbol", "WAYNE"))
    assert same_bars(b, generate_bars("WAYNE", 5040, "1d"))
    err = capsys.readouterr().err
    assert "demo data [" in err and "100%" in err
    assert (tmp_path / "fresh" / "env.duckdb").exists()
    bars_from_args(_args("--symbol", "WAYNE"))  # second start: no refill
    assert capsys.readouterr().err == ""


def test_store_in_use_by_a_writer_gives_a_clear_error(db):
    with Store(db):
        proc = subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; "
                               f"sys.exit(main(['data', 'list', '--db', {str(db)!r}]))"],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
                              timeout=120)
    assert proc.returncode == 2
    assert "is in use by another process" in proc.stderr and proc.stderr.count("\n") == 1
