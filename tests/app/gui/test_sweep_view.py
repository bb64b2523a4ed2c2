"""SweepView with real widgets and the real engine: grid editor -> sweep_requested -> run_sweep ->
heatmap / table -> cell_clicked; where validation; a 3-param strategy folded over its third param."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.gui import theme  # noqa: E402
from app.gui.views.sweep_view import SweepView  # noqa: E402
from engine.data.demo import demo_bars  # noqa: E402
from engine.strategies import get_strategy  # noqa: E402
from engine.sweep import Progress, expand_grid, run_sweep  # noqa: E402


def apply_dark_palette(app: QApplication) -> None:
    """The theme's colours as a Fusion palette (the main window does the same for the whole app)."""
    app.setStyle("Fusion")
    pal = QPalette()
    c = {k: QColor(v) for k, v in (("bg", theme.BACKGROUND), ("panel", theme.PANEL), ("fg", theme.FOREGROUND),
                                   ("muted", theme.MUTED), ("accent", theme.ACCENT))}
    for role, key in ((QPalette.ColorRole.Window, "bg"), (QPalette.ColorRole.WindowText, "fg"),
                      (QPalette.ColorRole.Base, "panel"), (QPalette.ColorRole.AlternateBase, "bg"),
                      (QPalette.ColorRole.Text, "fg"), (QPalette.ColorRole.Button, "panel"),
                      (QPalette.ColorRole.ButtonText, "fg"), (QPalette.ColorRole.Highlight, "accent"),
                      (QPalette.ColorRole.HighlightedText, "bg"), (QPalette.ColorRole.ToolTipBase, "panel"),
                      (QPalette.ColorRole.ToolTipText, "fg"), (QPalette.ColorRole.PlaceholderText, "muted")):
        pal.setColor(role, c[key])
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c["muted"])
    app.setPalette(pal)


@pytest.fixture
def dark(qapp):
    """Dark palette for screenshots, restored afterwards (other tests share the QApplication)."""
    style, palette = qapp.style().name(), qapp.palette()
    apply_dark_palette(qapp)
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


@pytest.fixture(scope="module")
def bars():
    return demo_bars()


@pytest.fixture
def view(qtbot) -> SweepView:
    v = SweepView()
    qtbot.addWidget(v)
    v.resize(1280, 800)
    v.show()
    qtbot.waitExposed(v)
    return v


def click_at(qtbot, view: SweepView, point, double: bool = False) -> None:
    """A real mouse click at `point` (view coordinates) on whatever child widget is there."""
    target: QWidget = view.childAt(point)
    assert target is not None
    local = target.mapFrom(view, point)
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=local)
    if double:  # QTest's double click alone has no first press; a user's has
        qtbot.mouseDClick(target, Qt.MouseButton.LeftButton, pos=local)


def set_range(row, start, stop, step, qtbot=None) -> None:
    row.sweep.setChecked(True)
    row.start.setValue(start)
    row.stop.setValue(stop)
    row.step.setValue(step)


def sweep_through_view(qtbot, view: SweepView, bars):
    with qtbot.waitSignal(view.sweep_requested, timeout=3000) as sig:
        qtbot.mouseClick(view.sweep_button, Qt.MouseButton.LeftButton)
    grid, where = sig.args
    result = run_sweep(bars, view.strategy, grid, where=where or None)
    view.set_result(result)
    return grid, where, result


def test_grid_editor_sweep_heatmap_click(qtbot, view: SweepView, bars) -> None:
    view.set_strategy(get_strategy("sma_cross"))
    n1, n2 = view.rows["n1"], view.rows["n2"]
    assert n1.swept() and n2.swept()
    set_range(n1, 5, 20, 5)
    # n2 "to" typed by hand, as a user would
    n2.start.setValue(10)
    n2.step.setValue(10)
    n2.stop.selectAll()
    qtbot.keyClicks(n2.stop, "50")
    qtbot.keyClick(n2.stop, Qt.Key.Key_Return)
    assert view.grid() == {"n1": [5, 10, 15, 20], "n2": [10, 20, 30, 40, 50]}
    view.update_count()
    expected = len(expand_grid(view.strategy, view.grid()))
    assert view.count_label.text() == f"{expected} combos"

    grid, where, result = sweep_through_view(qtbot, view, bars)
    assert grid == {"n1": [5, 10, 15, 20], "n2": [10, 20, 30, 40, 50]} and where == ""
    assert view.current_metric() == "sharpe_ratio"
    z, xs, ys = view.heatmap_values()
    assert z.shape == (4, 5) and xs == [5, 10, 15, 20] and ys == [10, 20, 30, 40, 50]
    rows = result.rows
    for ix, x in enumerate(xs):
        for iy, y in enumerate(ys):
            cell = rows.filter((pl.col("n1") == x) & (pl.col("n2") == y))
            if x >= y:  # the strategy's own constraint n1 < n2: no run, a neutral cell
                assert cell.is_empty() and math.isnan(z[ix, iy])
            else:
                assert z[ix, iy] == pytest.approx(cell["sharpe_ratio"][0], nan_ok=True)

    ix, iy = 1, 3  # n1=10, n2=40
    with qtbot.waitSignal(view.cell_clicked, timeout=3000) as sig:
        click_at(qtbot, view, view.heatmap_cell_center(ix, iy))
    assert sig.args[0] == {"n1": 10, "n2": 40}
    assert all(type(v) is int for v in sig.args[0].values())

    qtbot.mouseMove(view.childAt(view.heatmap_cell_center(2, 4)),
                    view.childAt(view.heatmap_cell_center(2, 4)).mapFrom(view, view.heatmap_cell_center(2, 4)))
    qtbot.waitUntil(lambda: "n1 = 15" in view.results.hover_label.text())
    assert "n2 = 50" in view.results.hover_label.text()
    assert f"{z[2, 4]:.4g}" in view.results.hover_label.text()

    # NaN cell: nothing is emitted
    with qtbot.assertNotEmitted(view.cell_clicked, wait=100):
        click_at(qtbot, view, view.heatmap_cell_center(3, 0))

    # top-N table: sorted by the metric, double-click opens that row
    best = result.top("sharpe_ratio", 1).row(0, named=True)
    table = view.table
    assert table.rowCount() == min(25, len(rows))
    item = table.item(0, 0)
    point = table.viewport().mapTo(view, table.visualItemRect(item).center())
    with qtbot.waitSignal(view.cell_clicked, timeout=3000) as sig:
        click_at(qtbot, view, point, double=True)
    assert sig.args[0] == {"n1": best["n1"], "n2": best["n2"]}


def test_metric_change_redraws(qtbot, view: SweepView, bars) -> None:
    view.set_strategy(get_strategy("sma_cross"))
    set_range(view.rows["n1"], 5, 15, 5)
    set_range(view.rows["n2"], 20, 40, 10)
    _, _, result = sweep_through_view(qtbot, view, bars)
    view.results.metric_combo.setCurrentText("return_pct")
    assert view.current_metric() == "return_pct"
    z, xs, ys = view.heatmap_values()
    row = result.rows.filter((pl.col("n1") == xs[0]) & (pl.col("n2") == ys[2])).row(0, named=True)
    assert z[0, 2] == pytest.approx(row["return_pct"])
    assert view.table.horizontalHeaderItem(3).text() == "return %"


def test_where_validation(qtbot, view: SweepView) -> None:
    view.set_strategy(get_strategy("sma_cross"))
    qtbot.keyClicks(view.where_edit, "n1 < n3")
    assert view.where_error.isVisible()
    assert "n3" in view.where_error.text()
    assert "border" in view.where_edit.styleSheet()
    view.update_count()
    assert not view.sweep_button.isEnabled()
    with qtbot.assertNotEmitted(view.sweep_requested, wait=50):
        qtbot.mouseClick(view.sweep_button, Qt.MouseButton.LeftButton)

    view.where_edit.clear()
    qtbot.keyClicks(view.where_edit, "n2 >= 2 * n1")
    assert not view.where_error.isVisible()
    qtbot.waitUntil(lambda: view.sweep_button.isEnabled())
    n = len(expand_grid(view.strategy, view.grid(), "n2 >= 2 * n1"))
    assert view.count_label.text() == f"{n} combos"
    with qtbot.waitSignal(view.sweep_requested) as sig:
        qtbot.mouseClick(view.sweep_button, Qt.MouseButton.LeftButton)
    assert sig.args[1] == "n2 >= 2 * n1"

    view.where_edit.setText("n1 >")  # a syntax error is an error too
    assert view.where_error.isVisible()


def test_macd_three_params_folded(qtbot, view: SweepView, bars) -> None:
    view.set_strategy(get_strategy("macd"))
    assert [r.swept() for r in view.rows.values()] == [True, True, False]
    assert view.grid()["signal"] == [9]  # fixed at the default
    set_range(view.rows["fast"], 4, 12, 4)
    set_range(view.rows["slow"], 20, 40, 10)
    set_range(view.rows["signal"], 5, 13, 4)
    _, _, result = sweep_through_view(qtbot, view, bars)
    assert len(result.rows) == 27
    panel = view.results
    assert panel.axes() == ("fast", "slow")
    assert panel.agg_combo.isEnabled()
    z, xs, ys = view.heatmap_values()
    cell = result.rows.filter((pl.col("fast") == 8) & (pl.col("slow") == 30))["sharpe_ratio"].to_numpy()
    for agg, fn in (("max", np.max), ("mean", np.mean), ("median", np.median)):
        panel.agg_combo.setCurrentText(agg)
        z, xs, ys = view.heatmap_values()
        assert z[xs.index(8), ys.index(30)] == pytest.approx(fn(cell))
    # a click opens the best run of the cell, third param included
    panel.agg_combo.setCurrentText("mean")
    best = result.rows.filter((pl.col("fast") == 8) & (pl.col("slow") == 30)).sort(
        "sharpe_ratio", descending=True).row(0, named=True)
    with qtbot.waitSignal(view.cell_clicked) as sig:
        click_at(qtbot, view, view.heatmap_cell_center(xs.index(8), ys.index(30)))
    assert sig.args[0] == {"fast": 8, "slow": 30, "signal": best["signal"]}

    # choosing the X param as Y swaps the axes instead of showing one param twice
    panel.y_combo.setCurrentText("fast")
    assert panel.axes() == ("slow", "fast")
    panel.y_combo.setCurrentText("signal")
    z, xs, ys = view.heatmap_values()
    assert ys == [5, 9, 13] and z.shape == (3, 3)


def test_fixed_param_reaches_cell_params(qtbot, view: SweepView, bars) -> None:
    view.set_strategy(get_strategy("macd"))
    set_range(view.rows["fast"], 6, 12, 6)
    set_range(view.rows["slow"], 20, 30, 10)
    view.rows["signal"].start.setValue(7)
    _, _, result = sweep_through_view(qtbot, view, bars)
    assert not view.results.agg_combo.isEnabled()  # nothing to fold
    with qtbot.waitSignal(view.cell_clicked) as sig:
        click_at(qtbot, view, view.heatmap_cell_center(0, 1))
    assert sig.args[0] == {"fast": 6, "slow": 30, "signal": 7}


def test_running_state_and_progress(qtbot, view: SweepView) -> None:
    view.set_strategy(get_strategy("sma_cross"))
    assert view.sweep_button.isEnabled() and not view.cancel_button.isEnabled()
    view.set_running(True)
    assert not view.sweep_button.isEnabled() and view.cancel_button.isEnabled()
    assert not view.grid_box.isEnabled()
    with qtbot.waitSignal(view.cancel_requested):
        qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    view.set_progress(Progress(done=40, total=160, elapsed_s=2.0, combos_per_s=20.0, eta_s=6.0))
    assert view.progress.value() == 40 and view.progress.maximum() == 160
    assert view.progress.text() == "40/160 · 20 combos/s · ETA 0:06"
    view.set_running(False)
    assert view.sweep_button.isEnabled() and not view.cancel_button.isEnabled()


def test_screenshot(qtbot, dark, view: SweepView, bars, screenshot_dir) -> None:
    view.set_strategy(get_strategy("sma_cross"))
    set_range(view.rows["n1"], 4, 40, 4)
    set_range(view.rows["n2"], 10, 120, 10)
    view.where_edit.setText("n2 >= 2 * n1")
    view.update_count()
    with qtbot.waitSignal(view.sweep_requested) as sig:
        qtbot.mouseClick(view.sweep_button, Qt.MouseButton.LeftButton)
    view.set_running(True)
    result = run_sweep(bars, view.strategy, sig.args[0], where=sig.args[1], progress=view.set_progress)
    view.set_running(False)
    assert view.progress.text().startswith(f"{result.total}/{result.total} · ")
    view.set_result(result)
    qtbot.mouseMove(view.childAt(view.heatmap_cell_center(4, 6)),
                    view.childAt(view.heatmap_cell_center(4, 6)).mapFrom(view, view.heatmap_cell_center(4, 6)))
    qtbot.wait(50)
    path = screenshot_dir / "sweep_view.png"
    assert view.grab().save(str(path))
    assert path.stat().st_size > 10_000


def test_before_the_first_sweep_the_tab_says_what_to_do(qtbot, view: SweepView, bars, screenshot_dir) -> None:
    """The empty state: the grid's combo count and the Sweep button named, not an empty hatched square; the
    heatmap takes its place once a sweep finishes."""
    view.set_strategy(get_strategy("sma_cross"))
    set_range(view.rows["n1"], 5, 20, 5)
    set_range(view.rows["n2"], 30, 50, 10)
    view.update_count()
    assert view.results_stack.currentWidget() is view.empty_hint
    assert "No sweep yet" in view.empty_hint.text() and "makes 12 combos" in view.empty_hint.text()
    assert "Press Sweep" in view.empty_hint.text()
    assert view.grab().save(str(screenshot_dir / "sweep_empty.png"))
    sweep_through_view(qtbot, view, bars)
    assert view.results_stack.currentWidget() is view.results
