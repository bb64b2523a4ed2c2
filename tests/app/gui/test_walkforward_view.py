"""The Walk-forward tab used as a person uses it: the Sweep tab's grid, the windows set here, the button
clicked, a real background walk-forward on the window's pool; what it draws equals the engine's result."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.gui.views.walkforward_view import EMPTY_HINT, WalkForwardView
from engine.sweep.walkforward import walk_forward, windows
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 (the fixture)


def test_empty_state_says_what_to_do(qtbot, screenshot_dir):
    view = WalkForwardView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    assert view.stack.currentWidget() is view.empty_hint and view.empty_hint.text() == EMPTY_HINT
    assert "Set the grid on the Sweep tab" in EMPTY_HINT
    view.grab().save(str(screenshot_dir / "walkforward_empty.png"))


def test_walk_forward_in_the_window(qtbot, window, screenshot_dir):  # noqa: F811
    window.data_panel.select("ACME", "1d")
    sweep = window.sweep_view
    for name, (lo, hi, step) in {"n1": (5, 20, 5), "n2": (30, 90, 20)}.items():
        sweep.rows[name].start.setValue(lo)
        sweep.rows[name].stop.setValue(hi)
        sweep.rows[name].step.setValue(step)
    window.select_tab("walkforward")
    view = window.walkforward_view
    view.train.setValue(500)
    view.test.setValue(250)
    with qtbot.waitSignal(window.controller.walk_forward_done, timeout=WAIT_MS * 2) as done:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    wf, bars = done.args[0]
    assert view.stack.currentWidget() is view.content and view.run_button.isEnabled()
    want = walk_forward(bars, "sma_cross", sweep.grid(), train=500, test=250, config=window.strategy_panel.config(),
                        hindsight=True)
    np.testing.assert_allclose(wf.result.equity, want.result.equity, rtol=1e-12)
    np.testing.assert_allclose(wf.hindsight, want.hindsight, rtol=1e-12)
    assert wf.spans == windows(len(bars), 500, 250, 250) and view.table.rowCount() == len(wf.spans)
    regions = [i for i in view.price.getPlotItem().items if isinstance(i, pg.LinearRegionItem)]
    assert len(regions) == 2 * len(wf.spans)  # a training and a test region per window
    names = {c.name() for c in view.equity.getPlotItem().listDataItems()}
    assert names == {"out-of-sample (walk-forward)", "in-sample: the grid's best over all bars"}
    assert f"{len(wf.spans)} windows" in view.summary.text() and "walk-forward efficiency" in view.summary.text()
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    assert headers[:4] == ["window", "test start", "oos return pct", "oos trades"]  # the most read first
    qtbot.waitUntil(lambda: not any(view.table.isColumnHidden(c) for c in range(5)), timeout=5_000)
    window.grab().save(str(screenshot_dir / "walkforward.png"))
