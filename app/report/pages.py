"""HTML reports of a sweep, a walk-forward and a portfolio (docs/report.md), in the style of a run's report
(app/report/html.py): one self-contained file, charts as inline SVG, nothing fetched."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from app.report.html import (
    _date,
    _date_labels,
    _monthly_table,
    _pairs_table,
    _stats_table,
    _value,
    page,
)
from app.report.svg import line_chart
from app.sweep_grid import aggregate

if TYPE_CHECKING:
    from engine.bars import Bars
    from engine.portfolio import PortfolioResult
    from engine.sweep import SweepResult
    from engine.sweep.walkforward import WalkForwardResult

PALETTE = ("#2563eb", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def sweep_report(result: SweepResult, strategy: str, params: list[str], metric: str, minimize: bool,
                 settings: dict[str, Any], top: int = 25) -> str:
    """A sweep: its settings, the metric over the first two swept params as a heat table (the best of the other
    params' runs in each cell), and the top rows."""
    rows = result.rows
    swept = [p for p in params if p in rows.columns and rows[p].n_unique() > 1] or params[:1]
    x, y = swept[0], (swept[1] if len(swept) > 1 else None)
    parts = ["<h2>Settings</h2>", _pairs_table({"strategy": strategy, **settings}, raw=True),
             f"<p>{result.total:,} combos ({result.computed:,} computed, {result.total - result.computed:,} from "
             f"cache), ranked by <b>{html.escape(metric)}</b> ({'lower' if minimize else 'higher'} is better).</p>"]
    if not rows.is_empty() and metric in rows.columns:
        xs, ys, z = aggregate(rows, x, y, metric, "min" if minimize else "max")
        parts += [f"<h2>{html.escape(metric)} over {html.escape(x)}" + (f" and {html.escape(y)}" if y else "")
                  + "</h2>", _heat_grid(xs, ys, z, x, y, minimize)]
        ranked = rows.sort(metric, descending=not minimize, nulls_last=True).head(top)
        cols = [*swept, *[p for p in params if p not in swept and p in rows.columns], metric,
                *[c for c in ("return_pct", "max_drawdown_pct", "n_trades", "win_rate_pct") if c != metric]]
        if "symbol" in rows.columns and rows["symbol"].n_unique() > 1:
            cols.insert(0, "symbol")
        parts += [f"<h2>Top {min(top, len(rows))} runs</h2>", _frame_table(ranked, cols)]
    return page(f"Sweep of {strategy}", f"{result.total:,} combos", parts)


def walkforward_report(wf: WalkForwardResult, bars: Bars, strategy: str, settings: dict[str, Any]) -> str:
    """A walk-forward: its settings, the windows, the stitched out-of-sample equity (against the hindsight
    optimum when computed) and its stats, and the efficiency."""
    eq = wf.result.equity
    series = [("out-of-sample (walk-forward)", eq, PALETTE[0])]
    if wf.hindsight is not None:
        series.append(("in-sample: the grid's best over all bars", wf.hindsight, PALETTE[1]))
    eff = "—" if not math.isfinite(wf.efficiency) else f"{wf.efficiency:.3f}"
    parts = ["<h2>Settings</h2>", _pairs_table({"strategy": strategy, **settings}, raw=True),
             f"<p>{len(wf.spans)} windows, picking by <b>{html.escape(wf.metric)}</b>. Walk-forward efficiency "
             f"<b>{eff}</b>: the mean annualised out-of-sample return over the mean annualised in-sample return of "
             "the params picked.</p>",
             "<h2>Out-of-sample equity</h2>", line_chart(series, _date_labels(wf.result.bars.times()), title="oos"),
             "<h2>Windows</h2>", _frame_table(wf.windows, wf.windows.columns),
             "<h2>Stitched out-of-sample stats</h2>", _stats_table(wf.result.stats)]
    return page(f"Walk-forward of {strategy} on {bars.symbol or 'bars'} {bars.timeframe}",
                f"{len(bars):,} bars, {_date(bars.times()[0])} to {_date(bars.times()[-1])}", parts)


def portfolio_report(result: PortfolioResult) -> str:
    """A portfolio: its settings, the equity and the allocation by symbol (when computed), the stats, the
    monthly returns, the per-symbol contribution and the trades."""
    times = result.ts.astype("datetime64[ns]")
    labels = _date_labels(times)
    cfg = {k: v for k, v in vars(result.config).items() if v not in (None, {}, ())}
    peak = np.maximum.accumulate(result.equity)
    parts = ["<h2>Settings</h2>",
             _pairs_table({"strategy": f"{result.strategy} ({', '.join(f'{k}={v}' for k, v in result.params.items())})",
                           "symbols": ", ".join(result.symbols), **cfg}, raw=True),
             "<h2>Equity and drawdown</h2>",
             line_chart([("equity", result.equity, PALETTE[0])], labels, title="equity"),
             line_chart([("drawdown %", (result.equity / peak - 1.0) * 100.0, "#dc2626")], labels,
                        fill_to_zero=True, title="drawdown")]
    if result.value_by_symbol is not None:
        stacked = np.cumsum(result.value_by_symbol, axis=1)
        below = np.zeros(len(result.equity))
        bands = []
        for j in range(stacked.shape[1]):
            colour = PALETTE[j % len(PALETTE)]
            bands.append((below, stacked[:, j], _rgba(colour, 0.45)))
            below = stacked[:, j]
        legend = [(sym, stacked[:, j], PALETTE[j % len(PALETTE)]) for j, sym in enumerate(result.symbols)]
        parts += ["<h2>Allocation by symbol</h2>",
                  line_chart([*legend, ("equity (with cash)", result.equity, "#6b7280")], labels, bands=bands,
                             title="allocation")]
    per = {sym: d for sym, d in result.per_symbol.items()}
    per_rows = pl.DataFrame([{"symbol": s, **d} for s, d in per.items()])
    parts += ['<div class="cols"><div>', "<h2>Stats</h2>", _stats_table(result.stats), "</div><div>",
              "<h2>Per symbol</h2>", _frame_table(per_rows, per_rows.columns), "</div></div>",
              "<h2>Monthly returns [%]</h2>", _monthly_table(result.ts, result.equity),
              "<h2>Trades</h2>", _frame_table(pl.DataFrame(result.trades_list()[-500:]),
                                              ["symbol", "entry_time", "exit_time", "size", "entry_price",
                                               "exit_price", "pnl", "return_pct", "exit_reason"])]
    return page(f"Portfolio of {result.strategy} on {len(result.symbols)} symbols",
                f"{len(result.ts):,} rows, {_date(times[0])} to {_date(times[-1])}", parts)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _heat_grid(xs: list[Any], ys: list[Any], z: np.ndarray, x: str, y: str | None, minimize: bool) -> str:
    """The metric as a table: rows the y values (top: highest), columns the x values, cells shaded from the
    worst (pale) to the best (deep blue)."""
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    out = ['<table class="heat"><tr><th class="l">' + html.escape(f"{y} \\ {x}" if y else x) + "</th>"
           + "".join(f"<th>{html.escape(_value(v))}</th>" for v in xs) + "</tr>"]
    for iy in range(len(ys) - 1, -1, -1):
        label = _value(ys[iy]) if y else ""
        cells = []
        for ix in range(len(xs)):
            v = float(z[ix, iy])
            if not math.isfinite(v):
                cells.append("<td></td>")
                continue
            good = (v - lo) / (hi - lo) if hi > lo else 1.0
            good = 1.0 - good if minimize else good
            cells.append(f'<td style="background:rgba(37,99,235,{0.08 + 0.7 * good:.2f})">{v:.3g}</td>')
        out.append(f'<tr><td class="l">{html.escape(label)}</td>{"".join(cells)}</tr>')
    out.append("</table>")
    return "".join(out)


def _frame_table(frame: pl.DataFrame, cols: list[str] | tuple[str, ...]) -> str:
    cols = [c for c in cols if c in frame.columns]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"]
    for row in frame.iter_rows(named=True):
        cells = []
        for c in cols:
            v = row[c]
            text = f"{v:,.4g}" if isinstance(v, float) and math.isfinite(v) else "—" if isinstance(v, float) else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
