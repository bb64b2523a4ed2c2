"""The HTML report of one backtest (docs/report.md): one self-contained file, no network fetch.

Contents: the run's settings, the stats (and the peer's own table under a preset), the equity and the
drawdown, monthly and yearly returns as a heatmap table, the trade returns' distribution, the trade list and,
when given, the Monte Carlo bands. Charts are inline SVG (app/report/svg.py); the styles are inline too.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from app.report.svg import histogram, line_chart
from app.stat_labels import format_stat, stat_label

if TYPE_CHECKING:
    from engine.analysis.montecarlo import MonteCarlo
    from engine.result import Result

STYLE = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1f2430;
       margin: 24px auto; max-width: 960px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e5e7eb; }
.muted { color: #6b7280; } table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 3px 8px; border-bottom: 1px solid #f0f0f0; text-align: right; } th { background: #f7f7f9; }
td.l, th.l { text-align: left; } .cols { display: flex; gap: 32px; flex-wrap: wrap; } svg { width: 100%; height: auto; }
.heat td { min-width: 44px; }
"""


def page(title: str, subtitle: str, parts: list[str]) -> str:
    """A whole report page: the title, a line under it, then `parts` (HTML) in order."""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)} · Backbench report</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">Backbench report, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {html.escape(subtitle)}</p>',
        *parts, "</body></html>"])


def run_report(result: Result, mc: MonteCarlo | None = None, title: str | None = None) -> str:
    """The report of `result` (with its Monte Carlo, if given) as one HTML document."""
    from engine.compat import peer_stats

    bars = result.bars
    name = title or f"{result.strategy} on {bars.symbol or 'bars'} {bars.timeframe}"
    times = bars.times()
    labels = _date_labels(times)
    parts = [
        "<h2>Settings</h2>", _settings_table(result),
        "<h2>Equity and drawdown</h2>",
        line_chart([("equity", result.equity, "#2563eb")], labels, title="equity"),
        line_chart([("drawdown %", result.drawdown_pct, "#dc2626")], labels, fill_to_zero=True, title="drawdown"),
        '<div class="cols"><div>', "<h2>Stats</h2>", _stats_table(result.stats), "</div>",
    ]
    peer = peer_stats(result) if result.config.compat else None
    if peer:
        parts += ["<div>", f"<h2>{html.escape(result.config.compat or '')}'s own stats</h2>", _pairs_table(peer),
                  "</div>"]
    parts.append("</div>")
    parts += ["<h2>Monthly returns [%]</h2>", _monthly_table(bars.ts, result.equity),
              "<h2>Trade returns [%]</h2>"]
    closed = result.trade_records[~result.trade_records["is_open"].astype(bool)]
    parts.append(histogram(closed["return_pct"].astype(np.float64), title="trade returns") if len(closed)
                 else '<p class="muted">No closed trade.</p>')
    if mc is not None:
        parts += ["<h2>Monte Carlo</h2>", _montecarlo(mc)]
    parts += ["<h2>Trades</h2>", _trades_table(result)]
    return page(name, f"{len(bars):,} bars, {_date(times[0])} to {_date(times[-1])}", parts)


def _date(t: np.datetime64) -> str:
    return str(t)[:10]


def _date_labels(times: np.ndarray, count: int = 6) -> list[tuple[float, str]]:
    n = len(times)
    return [(float(k), _date(times[k])) for k in np.linspace(0, n - 1, min(count, n)).astype(int)]


def _settings_table(result: Result) -> str:
    cfg = {k: v for k, v in result.config.to_dict().items() if v is not None}
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    rows = [("strategy", f"{result.strategy} ({params})"), *cfg.items()]
    return _pairs_table(dict(rows), raw=True)


def _pairs_table(values: dict[str, Any], raw: bool = False) -> str:
    out = ["<table>"]
    for k, v in values.items():
        shown = _value(v) if raw else format_stat(k, v) if not isinstance(v, (int, float)) else _value(v)
        out.append(f'<tr><td class="l">{html.escape(str(k))}</td><td>{html.escape(shown)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _stats_table(stats: dict[str, Any]) -> str:
    out = ["<table>"]
    for k, v in stats.items():
        out.append(f'<tr><td class="l">{html.escape(stat_label(k))}</td><td>{html.escape(format_stat(k, v))}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _value(v: Any) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:,.6g}"
    return str(v)


def _monthly_table(ts: np.ndarray, equity: np.ndarray) -> str:
    """Each calendar month's return (its last equity over the previous month's last), by year, with the
    year's return; cells shaded green (gain) or red (loss)."""
    months = ts.astype("datetime64[ns]").astype("datetime64[M]")
    last = np.r_[months[1:] != months[:-1], True]
    month_end, eq_end = months[last], equity[last]
    prev = np.r_[equity[0], eq_end[:-1]]
    rets = (eq_end / prev - 1.0) * 100.0
    by_year: dict[int, dict[int, float]] = {}
    for m, r in zip(month_end, rets, strict=True):
        year, month = int(str(m)[:4]), int(str(m)[5:7])
        by_year.setdefault(year, {})[month] = float(r)
    years = ts.astype("datetime64[ns]").astype("datetime64[Y]")
    year_last = np.r_[years[1:] != years[:-1], True]
    year_eq = equity[year_last]
    year_rets = (year_eq / np.r_[equity[0], year_eq[:-1]] - 1.0) * 100.0
    head = "".join(f"<th>{m}</th>" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                              "Nov", "Dec"))
    out = [f'<table class="heat"><tr><th class="l">Year</th>{head}<th>Year</th></tr>']
    for (year, row), yr in zip(sorted(by_year.items()), year_rets, strict=True):
        cells = "".join(_heat(row.get(m)) for m in range(1, 13))
        out.append(f'<tr><td class="l">{year}</td>{cells}{_heat(float(yr))}</tr>')
    out.append("</table>")
    return "".join(out)


def _heat(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "<td></td>"
    strength = min(abs(v) / 10.0, 1.0)
    rgb = "22,163,74" if v >= 0 else "220,38,38"  # green gain, red loss
    colour = f"rgba({rgb},{0.12 + 0.5 * strength:.2f})"
    return f'<td style="background:{colour}">{v:.1f}</td>'


def _montecarlo(mc: MonteCarlo) -> str:
    pct = mc.percentiles()
    x = f"{mc.unit}s"
    fan = line_chart([("median", mc.bands[2], "#2563eb"), ("actual", mc.actual_path, "#f59e0b")],
                     [(float(k), str(k)) for k in np.linspace(0, mc.bands.shape[1] - 1, 6).astype(int)],
                     bands=[(mc.bands[0], mc.bands[4], "rgba(37,99,235,0.15)"),
                            (mc.bands[1], mc.bands[3], "rgba(37,99,235,0.25)")], title="monte carlo fan")
    rows = "".join(f'<tr><td class="l">{html.escape(label)}</td>'
                   + "".join(f"<td>{pct[key][q]:,.2f}</td>" for q in ("5", "25", "50", "75", "95")) + "</tr>"
                   for key, label in (("final_return_pct", "Final return [%]"),
                                      ("max_drawdown_pct", "Max. drawdown [%]"),
                                      ("longest_drawdown", f"Longest drawdown [{x}]")))
    return (f'<p>{mc.runs:,} runs ({mc.method}, seed {mc.seed}), steps in {x}: P(loss) <b>{mc.p_loss:.1%}</b>, '
            f'P(ruin) <b>{mc.p_ruin:.1%}</b> (equity at or below {mc.ruin:.0%} of the cash). Bands: 5–95 % and '
            f"25–75 % of the paths; the median and the actual path.</p>{fan}"
            '<table><tr><th class="l"></th><th>5 %</th><th>25 %</th><th>50 %</th><th>75 %</th><th>95 %</th></tr>'
            f"{rows}</table>")


def _trades_table(result: Result, most: int = 500) -> str:
    trades = result.trades
    if not len(trades):
        return '<p class="muted">No trades.</p>'
    cols = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "pnl", "return_pct", "exit_reason")
    shown = trades.tail(most)
    note = f'<p class="muted">The last {most:,} of {len(trades):,} trades.</p>' if len(trades) > most else ""
    out = [note, "<table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>"]
    for r in shown.iter_rows(named=True):
        reason = "open" if r["is_open"] else r["exit_reason"]
        cells = [str(r["entry_time"])[:16], str(r["exit_time"])[:16], r["side"], _value(float(r["size"])),
                 _value(float(r["entry_price"])), _value(float(r["exit_price"])), f"{r['pnl']:,.2f}",
                 f"{r['return_pct']:.2f}", reason]
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
