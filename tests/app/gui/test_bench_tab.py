"""The Benchmarks tab used as a person uses it: open results files, click rows, read tables and the plot.

Files are opened through the tab's dialog-less path (`open_files`, what the dialog and a drop call);
everything after that is clicks on the real tables and buttons. No timing asserts.
"""

import copy
import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.bench_results import compare
from app.gui.app import create_app
from app.gui.views import bench_figures as F
from app.gui.views.bench_figures import REGRESSED_BG
from app.gui.views.bench_view import SETTINGS_FILES, BenchView

COMMITTED = Path(__file__).resolve().parents[3] / "benchmarks" / "baselines" / "linux-x86_64-2core.json"
# The tests read a frozen copy of a past baseline (its figures and dates are asserted below), placed under the
# committed baseline's name: a new `--save-baseline` run changes the committed file, not these tests.
FROZEN = Path(__file__).resolve().parent / "data" / "bench_baseline_2026-11-22.json"
BASELINE = COMMITTED  # (its name)
SLOWED = ("backtest", "sma_cross_10k_warm")


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def baselines(tmp_path):
    """A baselines folder holding a copy of the committed baseline (the tab lists it by default)."""
    folder = tmp_path / "baselines"
    folder.mkdir()
    shutil.copy(FROZEN, folder / COMMITTED.name)
    return folder


@pytest.fixture
def slower_file(tmp_path):
    """The baseline re-dated three days later, with one benchmark 50 % slower (median and every repeat)."""
    doc = json.loads(FROZEN.read_text())
    newer = copy.deepcopy(doc)
    newer["created"] = "2026-11-25T10:00:00+00:00"
    newer["git_commit"] = "feedbeefcafe0123456789"
    r = next(r for r in newer["results"] if (r["suite"], r["name"]) == SLOWED)
    for key in ("median_s", "min_s", "max_s", "p95_s", "mean_s"):
        r[key] *= 1.5
    r["times_s"] = [t * 1.5 for t in r["times_s"]]
    r["rate"] /= 1.5
    path = tmp_path / "results-slower.json"
    path.write_text(json.dumps(newer))
    return path


@pytest.fixture
def view(qtbot, settings, baselines):
    create_app()
    v = BenchView(settings, baselines)
    qtbot.addWidget(v)
    v.resize(1100, 760)
    v.show()
    qtbot.waitExposed(v)
    return v


def click_row(qtbot, table, row, modifier=Qt.KeyboardModifier.NoModifier):
    table.scrollToItem(table.item(row, 0))
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def history_row(view, name):
    return next(i for i, f in enumerate(view.files) if f.path.name == name)


def test_the_committed_baseline_is_listed_when_the_tab_first_shows(qtbot, settings, baselines):
    create_app()
    v = BenchView(settings, baselines)
    qtbot.addWidget(v)
    assert not v.loaded and v.files == []  # nothing read before the tab is shown
    v.show()
    qtbot.waitExposed(v)
    assert v.loaded and [f.path.name for f in v.files] == [BASELINE.name]
    doc = json.loads(FROZEN.read_text())
    h = v.history
    assert h.item(0, 0).text() == "2026-11-22 05:14"
    assert h.item(0, 1).text() == doc["git_commit"][:10]
    assert h.item(0, 2).text() == f"{BASELINE.name} (baseline)"
    assert h.item(0, 3).text() == str(len(doc["results"]) + len(doc["ratios"]))
    assert "AMD EPYC" in h.item(0, 4).text() and "backtest" in h.item(0, 5).text()
    assert v.error_label.isHidden()
    assert v.figures.rowCount() == len(doc["results"]) + len(doc["ratios"])  # first file selected


def test_figures_table_shows_the_files_values(qtbot, view):
    click_row(qtbot, view.history, 0)
    t = view.figures
    row = t.row_of(*SLOWED)
    assert t.text(row, F.MEDIAN) == "272.3 us" and t.text(row, F.RATE) == "36.72 Mbars/s"
    assert t.text(row, F.PEAK) == "324.4"
    row = t.row_of("backtest", "simulate_kernel_bars_per_s", kind="ratio")
    assert t.text(row, F.TARGET) == ">= 50.00 Mbars/s" and t.text(row, F.MEETS) == "pass"
    assert t.text(row, F.RATE) == "106.68 Mbars/s"
    assert t.isColumnHidden(F.CHANGE)  # nothing to compare with


def test_sorting_by_median_sorts_numbers_not_text(qtbot, view):
    t = view.figures
    header = t.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(F.MEDIAN) + 10, header.height() // 2))
    medians = [t.item(r, F.MEDIAN).data(F.SORT_ROLE) for r in range(t.rowCount())]
    numbers = [m for m in medians if m is not None]
    assert numbers == sorted(numbers) and len(numbers) > 50
    assert medians[: len(numbers)] == numbers  # rows without a median (derived figures) come last


def test_two_selected_files_compare_the_newer_with_the_older_and_highlight_the_regression(
        qtbot, view, slower_file):
    assert view.open_files([slower_file]) == []
    assert [f.path.name for f in view.files] == [slower_file.name, BASELINE.name]  # newest first
    click_row(qtbot, view.history, history_row(view, slower_file.name))
    click_row(qtbot, view.history, history_row(view, BASELINE.name), Qt.KeyboardModifier.ControlModifier)
    assert view.current.path == slower_file and view.against.path.name == BASELINE.name
    assert not view.compare_combo.isEnabled()

    t = view.figures
    row = t.row_of(*SLOWED)
    assert t.text(row, F.MEDIAN) == "408.5 us" and t.text(row, F.BASE) == "272.3 us"
    assert t.text(row, F.CHANGE) == "+50.0" and t.text(row, F.STATUS) == "REGRESSED"
    assert t.item(row, F.NAME).background().color() == REGRESSED_BG
    assert t.regressed == [SLOWED]
    other = t.row_of("backtest", "sma_cross_10k_signals")
    assert t.text(other, F.CHANGE) == "+0.0" and t.text(other, F.STATUS) == "ok"
    assert t.item(other, F.NAME).background().color() != REGRESSED_BG
    assert "1 regressed" in view.caption.text()
    # the same rule as `--compare`
    expected = [r for r in compare(json.loads(slower_file.read_text()), json.loads(FROZEN.read_text()), 0.10)
                if r["regressed"]]
    assert [(r["suite"], r["name"]) for r in expected] == t.regressed


def test_a_higher_threshold_clears_the_regression(qtbot, view, slower_file):
    view.open_files([slower_file])
    click_row(qtbot, view.history, history_row(view, slower_file.name))
    view.set_compare_with(view.files[history_row(view, BASELINE.name)].path)  # "Compare with" the baseline
    assert view.figures.regressed == [SLOWED]
    view.threshold_spin.clear()
    qtbot.keyClicks(view.threshold_spin, "60")
    qtbot.keyClick(view.threshold_spin, Qt.Key.Key_Enter)
    assert view.threshold() == pytest.approx(0.60)
    row = view.figures.row_of(*SLOWED)
    assert view.figures.regressed == [] and view.figures.text(row, F.STATUS) == "ok"
    assert "no regression" in view.caption.text()


def test_history_plot_has_one_point_per_file_and_follows_the_clicked_figure(qtbot, view, slower_file, tmp_path):
    view.open_files([slower_file])
    third = json.loads(FROZEN.read_text())
    third["created"] = "2026-11-28T09:00:00+00:00"
    (tmp_path / "third.json").write_text(json.dumps(third))
    view.open_files([tmp_path / "third.json"])
    assert len(view.files) == 3

    click_row(qtbot, view.history, history_row(view, slower_file.name))
    click_row(qtbot, view.figures, view.figures.row_of(*SLOWED))
    plot = view.history_plot
    assert plot.current_figure() == ("bench", *SLOWED)
    x, y = plot.line.getData()
    assert len(x) == 3 and plot.point_count() == 3
    assert list(x) == sorted(x)  # date order
    assert y[1] == pytest.approx(y[0] * 1.5)  # the slower run in the middle
    assert [p.size() for p in plot.points.points()] == [9, 13, 9]  # the browsed file's point stands out
    assert slower_file.name in plot._tip(x=0.0, y=0.0, data=1)  # hovering a point names its file

    click_row(qtbot, view.figures, view.figures.row_of("backtest", "simulate_kernel_bars_per_s", kind="ratio"))
    assert plot.current_figure() == ("ratio", "backtest", "simulate_kernel_bars_per_s")
    assert plot.point_count() == 3 and plot.target_line.isVisible()


def test_a_broken_file_is_named_in_the_tab_and_not_listed(qtbot, view, tmp_path):
    broken = tmp_path / "half-written.json"
    broken.write_text('{"results": [')
    not_results = tmp_path / "package.json"
    not_results.write_text('{"name": "x", "version": "1"}')
    errors = view.open_files([broken, not_results])
    assert len(errors) == 2
    text = view.error_label.text()
    assert view.error_label.isVisible()
    assert "half-written.json: not valid JSON (line 1" in text
    assert "package.json: not a Backbench results file: no 'results' list" in text
    assert [f.path.name for f in view.files] == [BASELINE.name]
    assert json.loads(view.settings.value(SETTINGS_FILES)) == []


def test_opened_files_are_remembered_and_a_vanished_one_is_reported(qtbot, settings, baselines, slower_file):
    create_app()
    first = BenchView(settings, baselines)
    qtbot.addWidget(first)
    first.open_files([slower_file])
    assert json.loads(settings.value(SETTINGS_FILES)) == [str(slower_file.resolve())]

    again = BenchView(settings, baselines)
    qtbot.addWidget(again)
    again.show()
    assert [f.path.name for f in again.files] == [slower_file.name, BASELINE.name]

    slower_file.unlink()
    third = BenchView(settings, baselines)
    qtbot.addWidget(third)
    third.show()
    assert "results-slower.json: file not found" in third.error_label.text()
    assert json.loads(settings.value(SETTINGS_FILES)) == []


def test_remove_takes_a_file_off_the_list(qtbot, view, slower_file):
    view.open_files([slower_file])
    click_row(qtbot, view.history, history_row(view, slower_file.name))
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert [f.path.name for f in view.files] == [BASELINE.name]
    assert json.loads(view.settings.value(SETTINGS_FILES)) == []


def test_dropping_files_opens_them(qtbot, view, slower_file):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(slower_file))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    assert event.isAccepted()
    assert view.current is not None and view.current.path == slower_file.resolve()
    assert view.against.path.name == BASELINE.name  # compared with the committed baseline by default
    assert view.figures.regressed == [SLOWED]


def test_the_main_window_has_the_tab_and_reads_files_only_when_it_shows(qtbot, tmp_path, monkeypatch):
    from app.gui.controller import Controller
    from app.gui.main_window import MainWindow
    from app.workbench import Workbench

    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    create_app()
    controller = Controller(Workbench.from_values({"store.path": str(tmp_path / "bars.duckdb"), "workers.count": 1},
                                                 use_cache=False))
    win = MainWindow(controller, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    assert win.tabs.tabText(win.tabs.indexOf(win.bench_tab)) == "Benchmarks"
    assert win.bench_tab.content is None  # nothing built or read while the window comes up
    win.select_tab("benchmarks")
    view = win.bench_tab.content
    assert isinstance(view, BenchView) and view.isVisible()
    assert view.loaded and BASELINE.name in [f.path.name for f in view.files]
    win.close()
