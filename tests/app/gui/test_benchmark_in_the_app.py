"""The Results tab's benchmark choice, used as a person uses it: the run against another stored symbol, its
figures under the stats and its curve beside the equity, equal to engine/analysis/benchmark.py's."""

import numpy as np
from PySide6.QtCore import Qt

from engine.analysis.benchmark import aligned_close, relative_stats
from tests.app.gui.test_main_window import WAIT_MS, window  # noqa: F401 (the fixture)


def _stat_rows(view) -> dict[str, str]:
    t = view.stats
    return {t.item(r, 0).text(): t.item(r, 1).text() for r in range(t.rowCount())}


def test_choose_a_benchmark_then_none(qtbot, window, screenshot_dir):  # noqa: F811
    window.data_panel.select("ACME", "1d")
    with qtbot.waitSignal(window.outcome_shown, timeout=WAIT_MS) as done:
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    result = done.args[0].result
    view = window.results_view
    combo = view.benchmark_combo
    assert [combo.itemData(k) for k in range(combo.count())] == ["", "ACME", "GLOBEX"]
    assert "Information Ratio" not in _stat_rows(view) and not view.chart.benchmark_curve.isVisible()
    combo.setCurrentIndex(combo.findData("GLOBEX"))
    globex = window.controller.bars("GLOBEX", "1d")
    want = relative_stats(result.bars.ts, result.equity, globex.ts, globex.close)
    rows = _stat_rows(view)
    assert rows["Information Ratio"] == f"{want['information_ratio']:.3f}"
    assert rows["Beta vs Benchmark"] == f"{want['bench_beta']:.3f}"
    close = aligned_close(result.bars.ts, globex.ts, globex.close)
    x, y = view.chart.benchmark_curve.getData()
    assert view.chart.benchmark_curve.isVisible() and len(y) == len(result.bars)
    np.testing.assert_allclose(y, close / close[0] * result.config.init_cash, rtol=1e-12)
    window.grab().save(str(screenshot_dir / "results_benchmark.png"))
    combo.setCurrentIndex(0)
    assert "Information Ratio" not in _stat_rows(view) and not view.chart.benchmark_curve.isVisible()
    assert _stat_rows(view)["Sharpe Ratio"] == f"{result.stats['sharpe_ratio']:.3f}"
