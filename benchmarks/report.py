"""`python -m benchmarks report results.json [--compare baseline.json] [--suite NAME...] --html OUT.html`

Renders a results JSON (from `python -m benchmarks run --out`) as one self-contained HTML page:
- the run: machine, versions, commit, mode, time per suite, and the baseline it is compared with;
- "Figures against targets": every derived figure with its target and baseline value, and a chart
  of each figure's distance from its target (log scale; >= 1 meets it);
- one section per suite: a table of every benchmark (median, min, max, p95, repeats, rate, peak RSS,
  tracemalloc) beside its baseline median and the change, and a chart of median / baseline median
  per benchmark (< 1 is faster);
- the correctness checks and notes of the run.
Charts are PNGs drawn with QPainter on an offscreen QImage (QT_QPA_PLATFORM=offscreen) and embedded
as base64, so the page is one file. Without PySide6 the page has the tables only, and says so.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from typing import Any

from app.bench_results import compare, fmt_rate, fmt_time, fmt_value, suites_of
from benchmarks.errors import UsageError

Bar = tuple[str, float, str, bool | None]  # label, value (1 = neutral), annotation, good?

_CSS = """
body { font: 14px/1.4 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
td.desc { text-align: left; white-space: normal; color: #666; max-width: 420px; }
.yes { color: #1a7f37; font-weight: 600; } .no { color: #c62828; font-weight: 600; }
.regressed { color: #c62828; font-weight: 600; } .faster { color: #1a7f37; }
.meta td { text-align: left; } img { max-width: 100%; border: 1px solid #eee; }
.note { color: #555; }
"""


# ----------------------------------------------------------------------------------------------- charts

def _qt_ready() -> str | None:
    """None if PySide6 can draw offscreen here, else why not."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtGui import QGuiApplication
    except ImportError as exc:  # pragma: no cover - PySide6 is a dependency
        return f"PySide6 not importable ({exc})"
    if QGuiApplication.instance() is None:
        _qt_ready.app = QGuiApplication([])  # type: ignore[attr-defined]  # kept alive for later charts
    return None


MAX_SPAN = 4  # the axis runs from 1/16x to 16x; bars beyond are drawn to the edge with an arrow


def bar_chart_png(title: str, bars: Sequence[Bar], axis_label: str, width: int = 1000) -> bytes:
    """A horizontal bar chart on a log axis around 1 (bars grow left or right from the 1 line)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    row_h, top, bottom = 24, 40, 44
    label_w, note_w = 300, 260
    height = top + bottom + row_h * max(1, len(bars))
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(12)
    p.setFont(font)
    bold = QFont(font)
    bold.setPixelSize(14)
    bold.setBold(True)

    values = [v for _, v, _, _ in bars if v > 0 and math.isfinite(v)]
    span = max([abs(math.log2(v)) for v in values] + [1.0])
    span = min(max(1.0, math.ceil(span)), float(MAX_SPAN))  # axis: 2^-span .. 2^span
    x0, x1 = label_w, width - note_w
    mid = (x0 + x1) / 2.0

    def xpos(v: float) -> float:
        lv = max(-span, min(span, math.log2(v)))
        return mid + lv / span * (x1 - x0) / 2.0

    p.setFont(bold)
    p.drawText(QRectF(8, 6, width - 16, 24), Qt.AlignmentFlag.AlignLeft, title)
    p.setFont(font)
    grid = QPen(QColor("#dddddd"))
    for k in range(-int(span), int(span) + 1):
        x = xpos(2.0 ** k)
        p.setPen(grid)
        p.drawLine(int(x), top - 4, int(x), height - bottom + 4)
        p.setPen(QColor("#666666"))
        text = f"{2.0 ** k:g}x" if k >= 0 else f"1/{2 ** -k:g}"
        p.drawText(QRectF(x - 30, height - bottom + 6, 60, 16), Qt.AlignmentFlag.AlignCenter, text)
    p.drawText(QRectF(x0, height - 20, x1 - x0, 16), Qt.AlignmentFlag.AlignCenter, axis_label)

    for i, (label, value, note, good) in enumerate(bars):
        y = top + i * row_h
        p.setPen(QColor("#222222"))
        p.drawText(QRectF(6, y, label_w - 12, row_h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   label)
        if value > 0 and math.isfinite(value):
            xv = xpos(value)
            color = QColor("#9e9e9e") if good is None else QColor("#43a047") if good else QColor("#e53935")
            p.fillRect(QRectF(min(mid, xv), y + 5, max(2.0, abs(xv - mid)), row_h - 10), color)
            if abs(math.log2(value)) > span:  # off the axis: an arrow at the edge
                p.setPen(QColor("#222222"))
                p.drawText(QRectF(xv - 14 if value > 1 else xv + 2, y, 12, row_h),
                           Qt.AlignmentFlag.AlignCenter, ">" if value > 1 else "<")
        p.setPen(QColor("#444444"))
        p.drawText(QRectF(x1 + 8, y, note_w - 12, row_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   note)
    p.setPen(QPen(QColor("#222222"), 1.5))
    p.drawLine(int(mid), top - 6, int(mid), height - bottom + 6)
    p.end()

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def target_bars(ratios: list[dict[str, Any]]) -> list[Bar]:
    """Each figure with a target as value / target (higher is better) or target / value (lower)."""
    out: list[Bar] = []
    for q in ratios:
        if q.get("target") in (None, 0) or not q.get("value"):
            continue
        v, t = float(q["value"]), float(q["target"])
        score = v / t if q["better"] == "higher" else (t / v if v > 0 else math.inf)
        sign = ">=" if q["better"] == "higher" else "<="
        out.append((f"{q['suite']}/{q['name']}", score,
                    f"{fmt_value(v, q['unit'])} ({sign} {fmt_value(t, q['unit'])})", bool(q.get("meets"))))
    return out


def baseline_bars(rows: list[dict[str, Any]]) -> list[Bar]:
    """Median now / baseline median per benchmark (< 1: faster); regressions red, peers grey."""
    out: list[Bar] = []
    for r in rows:
        if r.get("time_change") is None:
            continue
        ratio = 1.0 + r["time_change"]
        good = None if r["status"].startswith("slower (not gated") else (not r["regressed"])
        out.append((r["name"], ratio, f"{r['time_change'] * 100:+.1f}%  {r['status']}", good))
    return out


def _img(png: bytes, alt: str) -> str:
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></p>'


# ----------------------------------------------------------------------------------------------- html

def _esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1, cls: str = "") -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{_esc(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            klass = "l" if i < left else ""
            if isinstance(c, tuple):  # (text, css class)
                cells.append(f'<td class="{klass} {c[1]}">{_esc(c[0])}</td>')
            else:
                cells.append(f'<td class="{klass}">{_esc(c)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><tr>{head}</tr>' + "".join(body) + "</table>"


def _mb(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def select_suites(doc: dict[str, Any], suites: Sequence[str] | None, path: str) -> list[str]:
    have = suites_of(doc)
    if not suites:
        return have
    for s in suites:
        if s not in have:
            raise UsageError(f"suite {s!r} is not in {path} (it has: {', '.join(have) or 'no suites'})")
    return list(dict.fromkeys(suites))


def render_html(doc: dict[str, Any], baseline: dict[str, Any] | None = None, suites: Sequence[str] | None = None,
                title: str = "Backbench benchmarks", threshold: float = 0.10) -> str:
    chosen = list(suites) if suites else suites_of(doc)
    results = [r for r in doc.get("results", []) if r["suite"] in chosen]
    ratios = [q for q in doc.get("ratios", []) if q["suite"] in chosen]
    why_no_charts = _qt_ready()
    cmp_rows = compare({"results": results}, baseline, threshold) if baseline else []
    cmp_by = {(r["suite"], r["name"]): r for r in cmp_rows}
    base_ratios = {(q["suite"], q["name"]): q for q in (baseline or {}).get("ratios", [])}

    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{_esc(title)}</h1>"]

    # the run
    m, v = doc.get("machine", {}), doc.get("versions", {})
    meta = [("created", doc.get("created")), ("commit", doc.get("git_commit")),
            ("machine", f"{m.get('processor')}, {m.get('cpu_count_usable')} usable CPUs "
                        f"({m.get('cpu_count_physical')} physical), {m.get('memory_total_gb')} GB, "
                        f"{m.get('platform')}"),
            ("load average", f"{m.get('load_avg_1_5_15')} at start, {m.get('load_avg_end')} at end"),
            ("mode", ", ".join(f"{k}={val}" for k, val in (doc.get("mode") or {}).items())),
            ("versions", ", ".join(f"{k} {val}" for k, val in v.items() if val)),
            ("seconds per suite", ", ".join(f"{k} {val}" for k, val in (doc.get("suite_seconds") or {}).items()))]
    if baseline is not None:
        meta.append(("baseline", f"created {baseline.get('created')}, commit {baseline.get('git_commit')}, "
                                 f"regression threshold {threshold * 100:g}%"))
    out.append('<h2 id="run">Run</h2>' + _table(["", ""], [(k, val) for k, val in meta], left=2, cls="meta"))
    if why_no_charts:
        out.append(f'<p class="note">No charts: {_esc(why_no_charts)}.</p>')

    # figures against targets
    out.append('<h2 id="targets">Figures against targets</h2>')
    rows = []
    for q in ratios:
        target = "-" if q["target"] is None else ((">= " if q["better"] == "higher" else "<= ")
                                                  + fmt_value(q["target"], q["unit"]))
        meets = {True: ("yes", "yes"), False: ("NO", "no"), None: ("-", "")}[q["meets"]]
        b = base_ratios.get((q["suite"], q["name"]))
        rows.append([f"{q['suite']}/{q['name']}", fmt_value(q["value"], q["unit"]), target, meets,
                     fmt_value(q.get("value_from_min"), q["unit"]), fmt_value(b["value"] if b else None, q["unit"]),
                     (q.get("description") or "", "desc")])
    out.append(_table(["figure", "value (medians)", "target", "meets", "from fastest repeats", "baseline",
                       "what"], rows))
    bars = target_bars(ratios)
    if bars and not why_no_charts:
        out.append(_img(bar_chart_png("Figures against their targets (>= 1x meets the target)", bars,
                                      "value / target (higher-is-better) or target / value (lower-is-better)"),
                        "figures against targets"))

    # suites
    for suite in chosen:
        srows = [r for r in results if r["suite"] == suite]
        secs = (doc.get("suite_seconds") or {}).get(suite)
        out.append(f'<h2 id="suite-{_esc(suite)}">Suite {_esc(suite)}</h2>')
        if secs is not None:
            out.append(f'<p class="note">{secs} s for the whole suite (setup, repeats, memory).</p>')
        if not srows:
            out.append('<p class="note">No results for this suite in this run.</p>')
            continue
        trs = []
        for r in srows:
            name = r["name"]
            if "error" in r:
                trs.append([name, ("ERROR: " + r["error"], "no"), "", "", "", "", "", "", "", "", "", "", ""])
                continue
            c = cmp_by.get((suite, name))
            change = c["time_change"] if c else None
            status = c["status"] if c else ""
            klass = "regressed" if (c and c["regressed"]) else ("faster" if change is not None and change < 0 else "")
            trs.append([name, (r.get("description") or "", "desc"), fmt_time(r["median_s"]), fmt_time(r["min_s"]),
                        fmt_time(r["max_s"]), fmt_time(r["p95_s"]), f"{r['repeats']}x{r['number']}",
                        fmt_rate(r.get("rate"), r["unit"]), _mb(r.get("peak_rss_mb")),
                        _mb(r.get("peak_tracemalloc_mb")), fmt_time(c["base_median_s"]) if c else "-",
                        ("-" if change is None else f"{change * 100:+.1f}%", klass), (status, klass)])
        out.append(_table(["benchmark", "what", "median", "min", "max", "p95", "reps", "rate", "peak RSS MB",
                           "tracemalloc MB", "baseline median", "change", "status"], trs))
        bars = baseline_bars([c for c in cmp_rows if c["suite"] == suite])
        if bars and not why_no_charts:
            out.append(_img(bar_chart_png(f"Suite {suite}: median now / baseline median (< 1x is faster)", bars,
                                          "median time now / baseline"), f"suite {suite} vs baseline"))
        elif baseline is None:
            out.append('<p class="note">No baseline given (--compare): no comparison chart.</p>')
        else:
            out.append('<p class="note">Nothing comparable in the baseline for this suite '
                       '(absent, or other sizes).</p>')

    # checks and notes
    out.append('<h2 id="checks">Checks and notes</h2>')
    checks = doc.get("checks") or []
    if checks:
        out.append(_table(["check", "ok", "detail"],
                          [[c.get("name"), ("ok", "yes") if c.get("ok") else ("FAILED", "no"),
                            (c.get("detail", ""), "desc")] for c in checks]))
    notes = doc.get("notes") or []
    out.append("<ul>" + "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>" if notes
               else '<p class="note">No notes.</p>')
    out.append("</body></html>")
    return "\n".join(out)
