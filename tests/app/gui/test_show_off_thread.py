"""Showing a finished backtest: prepared in a worker thread, swapped into the widgets on the UI thread, the
newest result winning (app/gui/views/result_prep.py, ResultsView.present). Real backtests, real widgets,
real threads, offscreen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableView

from app.gui.views.results_view import ResultsView
from engine.backtest import run_backtest
from engine.config import SimConfig
from engine.data.demo import generate_bars
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 - the fixture

PARAMS = {"n1": 10, "n2": 30}


@pytest.fixture(scope="module")
def minute_result():
    return run_backtest(generate_bars("BTCX", 200_000, "1m"), "sma_cross", {"n1": 20, "n2": 100}, SimConfig())


def _view(qtbot) -> ResultsView:
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    qtbot.waitExposed(view)
    return view


def _present(qtbot, view: ResultsView, result) -> None:
    with qtbot.waitSignal(view.result_shown, timeout=WAIT_MS, check_params_cb=lambda r: r is result):
        view.present(result)


def _shown_data(view: ResultsView) -> dict:
    """What a person sees of the result, read back from the widgets."""
    chart = view.chart
    chart.price_plot.setXRange(0, 400, padding=0)  # few enough trades in view that the markers show
    QApplication.processEvents()
    model = view.trades.trades_model
    cells = [[model.data(model.index(r, c)) for c in range(model.columnCount())] for r in range(model.rowCount())]
    widths = [None if view.trades.isColumnHidden(c) else view.trades.columnWidth(c) for c in range(len(cells[0]))]
    return {
        "candles": [lvl for level in chart.candles.pyramid.levels for lvl in level],
        "equity": chart.equity_curve.yData, "drawdown": chart.drawdown_curve.yData,
        "indicators": [item.yData for item in chart._indicator_items],
        "entries": chart._entries.getData(), "exits": chart._exits.getData(),
        "wins": chart._win_lines.getData(), "losses": chart._loss_lines.getData(),
        "markers_visible": chart.trade_markers_visible,
        "readout": chart.show_crosshair_at(10**9),  # clamped to the last bar
        "cells": cells, "widths": widths, "title": view.title.text(),
        "stats": [view.stats.item(r, 1).text() for r in range(view.stats.rowCount())],
    }


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if key in ("entries", "exits", "wins", "losses"):
            for u, v in zip(x, y, strict=True):
                np.testing.assert_array_equal(u, v, err_msg=key)
        elif key in ("candles", "indicators"):
            assert len(x) == len(y)
            for u, v in zip(x, y, strict=True):
                np.testing.assert_array_equal(u, v, err_msg=key)
        elif key in ("equity", "drawdown"):
            np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            assert x == y, key


def test_a_backtest_run_in_the_window_is_prepared_off_the_ui_thread(qtbot, window):  # noqa: F811
    window.data_panel.select("ACME", "1d")
    window.strategy_panel.select("sma_cross")
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    outcome = done.args[0]
    view = window.results_view
    assert view.result is outcome.result
    assert view.prepared_in and view.prepared_in[-1] != "MainThread"
    # the rest of the window followed the swap
    assert window.montecarlo_view.result is outcome.result
    assert "sma_cross on ACME 1d" in window.status_label.text()
    # the same widgets as the result shown at once on the UI thread
    reference = _view(qtbot)
    reference.resize(view.size())  # the same room: the same columns fit
    qtbot.waitUntil(lambda: reference.size() == view.size())
    reference.show_result(outcome.result, outcome.indicators)
    _same(_shown_data(view), _shown_data(reference))


@pytest.mark.parametrize("which", ["daily_result", "minute_result"])
def test_present_shows_what_show_result_shows(qtbot, request, which):
    result = request.getfixturevalue(which)
    later, now = _view(qtbot), _view(qtbot)
    _present(qtbot, later, result)
    now.show_result(result)
    assert later.prepared_in[-1] != "MainThread"
    got, want = _shown_data(later), _shown_data(now)
    _same(got, want)
    assert got["markers_visible"] and len(got["entries"][0]) > 0
    bars = result.bars
    assert f"bar {len(bars) - 1}" in got["readout"]
    assert got["equity"][-1] == result.equity[-1]


@pytest.mark.parametrize("which", ["daily_result", "minute_result"])
def test_trade_table_widths_are_qts_own(qtbot, request, which):
    """The fast column fit (one delegate call per text shape) gives the width Qt's own loop over every row
    would, sorted and scrolled too."""
    view = _view(qtbot)
    view.show_result(request.getfixturevalue(which))
    table = view.trades
    n_cols = table.trades_model.columnCount()
    for sort_col in (None, 8):
        if sort_col is not None:
            table.sortByColumn(sort_col, Qt.SortOrder.DescendingOrder)
            table.verticalScrollBar().setValue(table.verticalScrollBar().maximum() // 2)
            QApplication.processEvents()
        assert [table.sizeHintForColumn(c) for c in range(n_cols)] == \
            [QTableView.sizeHintForColumn(table, c) for c in range(n_cols)]


def test_a_newer_result_wins_over_an_older_one_still_being_prepared(qtbot, daily_result, minute_result):
    view = _view(qtbot)
    view.present(minute_result)  # the older: 200k bars, still being prepared when the newer comes
    with qtbot.waitSignal(view.result_shown, timeout=WAIT_MS) as shown:
        view.present(daily_result)
        assert view.preparing
    assert shown.args[0] is daily_result
    assert view.wait_prepared()
    qtbot.wait(100)  # anything the older preparation might still deliver
    assert view.result is daily_result
    assert len(view.chart.candles.pyramid) == len(daily_result.bars)
    assert view.trades.trades_model.rowCount() == len(daily_result.trade_records)
    assert "ACME" in view.title.text()


def test_an_error_or_a_clear_wins_over_a_result_still_being_prepared(qtbot, daily_result, minute_result):
    view = _view(qtbot)
    shown = []
    view.result_shown.connect(shown.append)
    view.present(minute_result)
    view.show_error("the newer run failed")
    assert view.wait_prepared()
    qtbot.wait(100)
    assert shown == [] and view.result is None
    assert view.chart_stack.currentWidget() is view.error_page
    assert "the newer run failed" in view.error_page.text()

    view.present(daily_result)
    view.clear()
    assert view.wait_prepared()
    qtbot.wait(100)
    assert shown == [] and view.result is None
    assert view.chart_stack.currentWidget() is view.empty_hint
    assert view.trades.trades_model.rowCount() == 0


def test_a_closed_view_frees_the_result_it_presented(qtbot, minute_result):
    """Nothing the worker or the swap left behind keeps a closed view's arrays alive (a closure connected
    to the worker's signals once kept every closed window's ~160 MB of 1M-bar arrays)."""
    import gc
    import weakref

    from PySide6.QtCore import QEvent

    view = ResultsView()
    view.resize(1280, 800)
    view.show()
    _present(qtbot, view, minute_result)
    index = weakref.ref(view.chart._equity_index)
    view.close()
    view.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del view
    gc.collect()
    assert index() is None


def test_a_clear_in_the_middle_of_a_swap_wins_and_leaves_the_chart_painting(qtbot, daily_result, minute_result):
    """The chart keeps its last frame (updates off) while the swap's steps run; a clear between two steps
    stops the swap, and the chart paints again."""
    view = _view(qtbot)
    view._step_timer.setInterval(60_000)  # hold the swap after its first step
    view.present(minute_result)
    qtbot.waitUntil(lambda: view._steps is not None, timeout=WAIT_MS)
    assert not view.chart.graphics.updatesEnabled() and view.result is None
    view.clear()
    assert view.chart.graphics.updatesEnabled()
    assert view.result is None and view.chart_stack.currentWidget() is view.empty_hint
    view._step_timer.setInterval(1)
    _present(qtbot, view, daily_result)  # and the next result shows whole
    assert view.chart.graphics.updatesEnabled() and len(view.chart.candles.pyramid) == len(daily_result.bars)
