"""Every broken file of the corpus is rejected with its own clear message and leaves the store as it was."""

import pytest

from engine.data.importers import import_files
from engine.data.validate import MAX_SHOWN, ValidationError
from engine.errors import DataError

from .corpus import CASES, write_corpus
from .helpers import HEADER, dump


def test_corpus_is_big_enough():
    assert len(CASES) >= 20 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rejected_with_message_and_store_unchanged(tmp_path, store_path, case):
    [(case, path)] = [(c, p) for c, p in write_corpus(tmp_path) if c is case]
    tz = case.args[1] if case.args[:1] == ("--tz",) else None
    before = dump(store_path)
    with pytest.raises(DataError) as info:
        import_files(store_path, [path], tz=tz)
    msg = str(info.value)
    assert msg.startswith(f"{case.name}: ") and "\n" not in msg
    for fragment in case.expect:
        assert fragment in msg, (fragment, msg)
    assert dump(store_path) == before  # rows, catalogue and the file's bytes


def test_many_errors_list_ten_and_the_total(tmp_path):
    (case, path), = [(c, p) for c, p in write_corpus(tmp_path) if c.name == "many_errors.csv"]
    with pytest.raises(ValidationError) as info:
        import_files(None, [path], check=True)
    assert info.value.total == 25 and len(info.value.problems) == MAX_SHOWN
    assert str(info.value).count("high < low") == MAX_SHOWN
    assert [p.row + 2 for p in info.value.problems] == list(range(3, 13))


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path, store_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,11,10,10.8,200\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2020-01-02,10,11,9,oops,100\n")
    before = dump(store_path)
    with pytest.raises(DataError, match="bad.csv: line 2, column 'Close': unparseable number 'oops'"):
        import_files(store_path, [good, bad])
    assert dump(store_path) == before


def test_failure_inside_the_write_transaction_rolls_back(tmp_path, store_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2020-01-02,10,11,9,10.5,100\n2020-01-03,10.5,11,10,10.8,200\n")
    before = dump(store_path)

    def fail_after_write(stage):
        if stage.startswith("written:"):
            raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError):
        import_files(store_path, [good], on_stage=fail_after_write)
    assert dump(store_path)[:2] == before[:2]


def test_gzip_bomb_and_row_cap_are_refused_without_reading_it_all(tmp_path, store_path):
    """A 200 kB .gz that decompresses to ~80 MB is refused at the cap, with the setting named."""
    import gzip

    from engine.data.importers import ImportLimits

    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(HEADER.encode() + b"2020-01-02,10,11,9,10.5,100\n" * 3_000_000))
    before = dump(store_path)
    with pytest.raises(DataError, match=r"bomb.csv.gz: decompresses to more than 8 MiB .*data.max_decompressed_mb"):
        import_files(store_path, [bomb], limits=ImportLimits(max_decompressed_bytes=8 << 20))
    rows = tmp_path / "rows.csv"
    rows.write_text(HEADER + "".join(f"2020-01-{d:02d},10,11,9,10.5,1\n" for d in range(1, 21)))
    with pytest.raises(DataError, match=r"rows.csv: 20 data rows, more than the 10 allowed \(setting data.max_rows\)"):
        import_files(store_path, [rows], limits=ImportLimits(max_rows=10))
    assert dump(store_path) == before
