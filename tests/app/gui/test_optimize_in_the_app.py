"""The Sweep tab's search choice (TPE / CMA-ES beside the grid, docs/optimize.md) and the heatmap's stability
view, used as a person uses them: real clicks, a real background sweep on the window's process pool."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.gui.views.heatmap import smooth_neighbours
from engine.sweep import run_sweep
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 (the fixture)


def test_smoothing_is_the_mean_of_each_cell_and_its_neighbours():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(6, 5))
    z[rng.random(z.shape) < 0.25] = np.nan
    got = smooth_neighbours(z)
    for i in range(6):
        for j in range(5):
            if np.isnan(z[i, j]):
                assert np.isnan(got[i, j])  # a cell without a run stays empty
                continue
            block = z[max(0, i - 1):i + 2, max(0, j - 1):j + 2]
            assert got[i, j] == pytest.approx(np.nanmean(block), rel=1e-12)


def test_tpe_from_the_sweep_tab_and_the_stability_view(qtbot, window, store_path):  # noqa: F811
    pytest.importorskip("optuna")
    window.data_panel.select("ACME", "1d")
    window.select_tab("sweep")
    view = window.sweep_view
    view.rows["n1"].start.setValue(5)
    view.rows["n1"].stop.setValue(50)
    view.rows["n1"].step.setValue(5)
    view.rows["n2"].start.setValue(20)
    view.rows["n2"].stop.setValue(110)
    view.rows["n2"].step.setValue(10)
    assert not view.trials_spin.isEnabled()  # every combo: no trial count
    view.search_combo.setCurrentIndex(view.search_combo.findData("tpe"))
    assert view.trials_spin.isEnabled()
    view.trials_spin.setValue(20)
    view.update_count()
    with qtbot.waitSignal(window.controller.sweep_done, timeout=WAIT_MS * 2):
        qtbot.mouseClick(view.sweep_button, Qt.MouseButton.LeftButton)
    _, result = window.last_sweep
    assert len(result.rows) == 20 and not result.cancelled
    # the sampler's rows are the grid's rows for the same combos
    bars = window.controller.bars("ACME", "1d")
    grid = run_sweep(bars, "sma_cross", view.grid()).rows
    for row in result.rows.iter_rows(named=True):
        same = grid.filter((grid["n1"] == row["n1"]) & (grid["n2"] == row["n2"]))
        assert same["sharpe_ratio"][0] == pytest.approx(row["sharpe_ratio"], rel=1e-12)
    raw = view.results.heatmap.z.copy()
    assert np.isfinite(raw).sum() == 20 and np.isnan(raw).sum() == raw.size - 20  # the untried cells are empty
    qtbot.mouseClick(view.results.smooth_check, Qt.MouseButton.LeftButton)
    smoothed = view.results.heatmap.z
    np.testing.assert_allclose(smoothed, smooth_neighbours(raw), equal_nan=True)
    assert not np.allclose(smoothed[np.isfinite(smoothed)], raw[np.isfinite(raw)])
