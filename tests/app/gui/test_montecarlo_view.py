"""The Monte Carlo tab used as a person uses it: a real backtest in the window, the Resample button clicked,
the resampling run as a background job, the fan chart and histograms drawn, and the numbers equal the
engine's for the same run and seed."""

import pytest
from PySide6.QtCore import Qt

from app.gui.views.montecarlo_view import EMPTY_HINT, MonteCarloView
from engine.analysis.montecarlo import run_montecarlo
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 (the fixture)


def test_empty_state_says_what_to_do(qtbot, screenshot_dir):
    view = MonteCarloView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    assert view.stack.currentWidget() is view.empty_hint and view.empty_hint.text() == EMPTY_HINT
    assert "Run a backtest (Ctrl+R), then press Resample" in EMPTY_HINT
    assert not view.resample_button.isEnabled()
    view.grab().save(str(screenshot_dir / "montecarlo_empty.png"))


def test_resample_the_last_backtest_in_the_window(qtbot, window, screenshot_dir):  # noqa: F811
    window.data_panel.select("ACME", "1d")
    window.strategy_panel.select("sma_cross")
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    result = done.args[0].result
    view = window.montecarlo_view
    window.tabs.setCurrentWidget(view)
    assert view.result is result and "Ready to resample sma_cross on ACME 1d" in view.empty_hint.text()
    view.method.setCurrentIndex(view.method.findData("shuffle"))
    view.runs.setValue(3_000)
    view.seed.setValue(7)
    assert not view.block.isEnabled()  # blocks only
    with qtbot.waitSignal(window.controller.montecarlo_done, timeout=WAIT_MS) as mc_done:
        qtbot.mouseClick(view.resample_button, Qt.MouseButton.LeftButton)
        assert view.resample_button.text() == "Resampling…"
    mc = mc_done.args[0]
    assert view.stack.currentWidget() is view.content and view.resample_button.text() == "Resample"
    want = run_montecarlo(result.equity, result.trade_records, result.config.init_cash, method="shuffle",
                          runs=3_000, seed=7, ruin=0.5)
    assert mc.to_json_dict() == want.to_json_dict()
    assert f"P(loss) <b>{want.p_loss:.1%}</b>" in view.summary.text() and "3,000 runs" in view.summary.text()
    curves = [item for item in view.fan.getPlotItem().listDataItems() if item.name() in ("median", "actual")]
    assert {c.name() for c in curves} == {"median", "actual"}
    actual = next(c for c in curves if c.name() == "actual")
    assert list(actual.getData()[1]) == pytest.approx(list(want.actual_path))
    assert view.final_hist.getPlotItem().listDataItems() and view.dd_hist.getPlotItem().listDataItems()
    # shuffled trades end where the run ended: one bar in the final-return histogram; drawn with
    # replacement they spread, and the fan opens
    view.method.setCurrentIndex(view.method.findData("trades"))
    with qtbot.waitSignal(window.controller.montecarlo_done, timeout=WAIT_MS) as mc_done:
        qtbot.mouseClick(view.resample_button, Qt.MouseButton.LeftButton)
    spread = mc_done.args[0].bands[:, -1]
    legend = view.fan.getPlotItem().legend
    assert len(legend.items) == 4  # two bands, the median and the actual path: drawn anew, not added to
    assert spread[0] < spread[2] < spread[4] and "trades, redrawn" in view.summary.text()
    window.grab().save(str(screenshot_dir / "montecarlo.png"))


def test_a_failed_resampling_says_why_where_the_chart_goes(qtbot, window):  # noqa: F811
    window.data_panel.select("GLOBEX", "1d")
    window.strategy_panel.select("sma_cross")
    window.strategy_panel.param_editors["n1"].setValue(400)  # too slow to cross on 800 bars: no closed trade
    window.strategy_panel.param_editors["n2"].setValue(401)
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    if (~done.args[0].result.trade_records["is_open"]).sum():
        pytest.skip("the run closed a trade")
    view = window.montecarlo_view
    with qtbot.waitSignal(window.controller.montecarlo_failed, timeout=WAIT_MS):
        qtbot.mouseClick(view.resample_button, Qt.MouseButton.LeftButton)
    assert view.stack.currentWidget() is view.error_page and "no closed trade" in view.error_page.text()
    assert view.resample_button.isEnabled()
