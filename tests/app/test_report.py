"""`backbench report` / Export report: one self-contained HTML page (docs/report.md), checked for what it
holds, for fetching nothing, and rendered by a real headless browser (Chromium; .ci/run installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import main

SCREENS = Path(__file__).resolve().parents[1] / "_artifacts" / "screens"
# anything a browser would fetch: src=/href= to a URL or a protocol-relative one, CSS url(...) and @import
FETCH = re.compile(r"""(?i)(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\s*\(|@import""")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--demo", "--compat", "backtesting", "--commission", "0.002", "--runs", "500",
                 "--html", str(out)]) == 0
    return out


def test_the_report_holds_the_run_and_fetches_nothing(report):
    page = report.read_text(encoding="utf-8")
    assert not FETCH.search(page) and "http" not in page  # no script, font, stylesheet or image from anywhere
    assert "<script" not in page
    assert "<h1>sma_cross on ACME 1d</h1>" in page
    for part in ("Settings", "Equity and drawdown", "Stats", "backtesting's own stats", "Monthly returns [%]",
                 "Trade returns [%]", "Monte Carlo", "Trades", "Sharpe Ratio", "P(ruin)"):
        assert part in page, part
    assert page.count("<svg") == 4  # equity, drawdown, trade returns, the Monte Carlo fan
    assert re.search(r"<td class=\"l\">2010</td>(<td[^>]*>-?\d+\.\d</td>){13}</tr>", page)  # 12 months and the year


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_a_real_browser_renders_it(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium here (.ci/run installs it)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1600"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert "<h1>sma_cross on ACME 1d</h1>" in dom and dom.count("<svg") == 4 and "<polyline" in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120, check=True)
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1100, 1600)
    colours = {image.pixel(x, y) for x in range(0, 1100, 7) for y in range(0, 1600, 7)}
    assert len(colours) > 50  # text, lines, the drawdown fill, the heat table: not a blank page
    blue = [(x, y) for x in range(0, 1100, 2) for y in range(0, 800, 2)
            if (image.pixelColor(x, y).blue() > 150 and image.pixelColor(x, y).red() < 100)]
    assert len(blue) > 100  # the equity line (#2563eb) is drawn in the first screen
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENS / "report.png")


def test_export_report_from_the_results_view(qtbot, tmp_path):
    from app.gui.views.results_view import ResultsView
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import demo_bars

    view = ResultsView()
    qtbot.addWidget(view)
    assert not view.export_report_button.isEnabled()  # nothing to export yet
    result = run_backtest(demo_bars("GLOBEX"), "sma_cross", {}, SimConfig())
    view.show_result(result)
    assert view.export_report_button.isEnabled()
    out = view.export_report(tmp_path / "globex.html", runs=200)
    page = out.read_text(encoding="utf-8")
    assert "<h1>sma_cross on GLOBEX 1d</h1>" in page and not FETCH.search(page)


@pytest.mark.parametrize("kind", ["sweep", "walk_forward", "portfolio"])
def test_sweep_walk_forward_and_portfolio_reports(kind, tmp_path, capsys):
    """--html on sweep (heat table and top rows), on a walk-forward (windows, OOS equity against the hindsight
    optimum, efficiency) and on portfolio (allocation by symbol, per symbol): each self-contained."""
    out = tmp_path / f"{kind}.html"
    grid = ["-g", "n1=5:30:5", "-g", "n2=20:100:20", "--where", "n1 < n2"]
    argv = {"sweep": ["sweep", "--demo", *grid, "--workers", "1"],
            "walk_forward": ["sweep", "--demo", *grid, "--walk-forward", "1500:500", "--workers", "1"],
            "portfolio": ["portfolio", "--demo", "--max-positions", "2", "--rebalance", "1M"]}[kind]
    assert main([*argv, "--html", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert not FETCH.search(page) and "http" not in page and "<script" not in page
    want = {"sweep": ["<h1>Sweep of sma_cross</h1>", "sharpe_ratio over n1 and n2", "Top ", 'class="heat"'],
            "walk_forward": ["<h1>Walk-forward of sma_cross on ACME 1d</h1>", "Walk-forward efficiency", "Windows",
                             "in-sample: the grid&#x27;s best over all bars", "Stitched out-of-sample stats"],
            "portfolio": ["<h1>Portfolio of sma_cross on 5 symbols</h1>", "Allocation by symbol", "Per symbol",
                          "Monthly returns [%]", "WAYNE"]}[kind]
    for part in want:
        assert part in page, part
    assert page.count("<svg") == {"sweep": 0, "walk_forward": 1, "portfolio": 3}[kind]
