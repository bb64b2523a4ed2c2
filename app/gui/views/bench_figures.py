"""The figures of one benchmark results file, optionally beside a baseline: a sortable table.

One row per benchmark (median, rate, peak memory) and one per derived figure (value, target,
pass/miss). With a baseline, each row also shows the baseline's value and the change in %; a
benchmark's regression follows `--compare` exactly (`app.bench_results.compare`: gated, median and
fastest repeat past the threshold) and its row is highlighted. Derived figures show their change
for information only, as `--compare` does not gate on them.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.bench_results import compare, compare_ratios, fmt_rate, fmt_time, fmt_value, suites_of
from app.gui import theme

Qt = QtCore.Qt
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2  # on column 0: ("bench" | "ratio", suite, name)

# The comparison columns (hidden without a baseline) sit beside the median and value they compare.
COLUMNS = ("Suite", "Figure", "Median", "Rate / value", "Baseline", "Change [%]", "Status", "RSS [MB]", "Target",
           "Meets")
(SUITE, NAME, MEDIAN, RATE, BASE, CHANGE, STATUS, PEAK, TARGET, MEETS) = range(len(COLUMNS))
REGRESSED_BG = QtGui.QColor("#4a2327")  # a dark red row: readable light text on the dark theme
WORSE = QtGui.QColor("#ffb74d")  # slower but not a regression (not gated, or median only)


class _Item(QtWidgets.QTableWidgetItem):
    """A cell that sorts by its SORT_ROLE value (numbers as numbers; empty cells last)."""

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:  # type: ignore[override]
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is None or b is None:  # empty cells sort after every value
            return b is None and a is not None
        if isinstance(a, str) or isinstance(b, str):
            return str(a) < str(b)
        return a < b


def _cell(text: str, key: Any = None, align_right: bool = False, tip: str | None = None) -> _Item:
    item = _Item(text)
    item.setData(SORT_ROLE, text.lower() if key is None and not align_right else key)
    item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if tip:
        item.setToolTip(tip)
    return item


def _blank_row() -> list[_Item]:
    right = {MEDIAN, RATE, BASE, CHANGE, PEAK, TARGET}
    return [_cell("", None, col in right) for col in range(len(COLUMNS))]


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


class FiguresTable(QtWidgets.QTableWidget):
    """`show_results(doc, baseline, threshold)` fills it; clicking a row emits `figure_chosen(key)`."""

    figure_chosen = QtCore.Signal(tuple)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Interactive)
        self.setSortingEnabled(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # file order until a header is clicked
        self.regressed: list[tuple[str, str]] = []
        self.itemSelectionChanged.connect(self._chosen)

    def show_results(self, doc: dict[str, Any] | None, baseline: dict[str, Any] | None = None,
                     threshold: float = 0.10) -> None:
        """Fill the table from a results document (None: empty); with `baseline`, add the comparison."""
        section, order = self.horizontalHeader().sortIndicatorSection(), self.horizontalHeader().sortIndicatorOrder()
        self.setSortingEnabled(False)
        self.clearContents()
        self.setRowCount(0)
        self.regressed = []
        if doc is None:
            self.setSortingEnabled(True)
            return
        cmp = {(c["suite"], c["name"]): c for c in compare(doc, baseline, threshold)} if baseline else {}
        ratio_change = compare_ratios(doc, baseline) if baseline else {}
        base_ratios = {(q["suite"], q["name"]): q for q in (baseline or {}).get("ratios", [])}
        rows = []
        suites = suites_of(doc)
        suites += [q["suite"] for q in doc.get("ratios", []) if q["suite"] not in suites]
        for suite in dict.fromkeys(suites):  # each suite's benchmarks, then the figures derived from them
            rows += [self._result_row(r, cmp.get((r["suite"], r["name"])), baseline is not None)
                     for r in doc.get("results", []) if r["suite"] == suite]
            rows += [self._ratio_row(q, base_ratios.get((q["suite"], q["name"])),
                                     ratio_change.get((q["suite"], q["name"])), baseline is not None, threshold)
                     for q in doc.get("ratios", []) if q["suite"] == suite]
        for col in (BASE, CHANGE, STATUS):
            self.setColumnHidden(col, baseline is None)
        self.setRowCount(len(rows))
        for i, (key, cells, regressed) in enumerate(rows):
            cells[SUITE].setData(KEY_ROLE, key)
            for col, item in enumerate(cells):
                if regressed:
                    item.setBackground(REGRESSED_BG)
                self.setItem(i, col, item)
            if regressed:
                self.regressed.append(key[1:])
        self.setSortingEnabled(True)
        if section >= 0:
            self.sortItems(section, order)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Columns as wide as their cells or header text, without the room Qt keeps for a sort arrow
        on every header (it pushed the comparison columns off a 1280-pixel window)."""
        metrics = self.horizontalHeader().fontMetrics()
        for col, title in enumerate(COLUMNS):
            width = max(self.sizeHintForColumn(col), metrics.horizontalAdvance(title) + 14)
            widest = {NAME: 210, STATUS: 110}.get(col)  # long names elide; their tooltips have them
            self.setColumnWidth(col, min(width, widest) if widest else width)

    def _result_row(self, r: dict[str, Any], c: dict[str, Any] | None,
                    comparing: bool) -> tuple[tuple, list[_Item], bool]:
        unit = r.get("unit") or ""
        key = ("bench", r["suite"], r["name"])
        desc = r.get("description") or ""
        if "error" in r:
            cells = _blank_row()
            cells[SUITE], cells[NAME] = _cell(r["suite"]), _cell(r["name"], tip=desc)
            cells[MEDIAN], cells[STATUS] = _cell("ERROR", tip=str(r["error"])), _cell("error", tip=str(r["error"]))
            cells[MEDIAN].setForeground(QtGui.QColor(theme.DOWN))
            return key, cells, False
        peak, traced = _num(r.get("peak_rss_mb")), _num(r.get("peak_tracemalloc_mb"))
        peak_tip = "peak RSS of the process tree" + (
            f"; peak of Python allocations (tracemalloc) {traced:,.1f} MB" if traced is not None else "")
        spread = (f"min {fmt_time(r.get('min_s'))}, max {fmt_time(r.get('max_s'))}, p95 {fmt_time(r.get('p95_s'))}, "
                  f"{r.get('repeats', '?')} repeats of {r.get('number', '?')} calls")
        cells = _blank_row()
        cells[SUITE], cells[NAME] = _cell(r["suite"]), _cell(r["name"], tip=desc)
        cells[MEDIAN] = _cell(fmt_time(_num(r.get("median_s"))), _num(r.get("median_s")), True, spread)
        cells[RATE] = _cell(fmt_rate(_num(r.get("rate")), unit), _num(r.get("rate")), True, f"unit: {unit}")
        cells[PEAK] = _cell("-" if peak is None else f"{peak:,.1f}", peak, True, peak_tip)
        regressed = False
        if c is not None and comparing:
            cells[BASE] = _cell(fmt_time(c["base_median_s"]), c["base_median_s"], True)
            change = c["time_change"]
            cells[CHANGE] = _cell("-" if change is None else f"{change * 100:+.1f}", change, True,
                                  "median time now / baseline - 1 (+ is slower)")
            cells[STATUS] = _cell(c["status"], tip=c["status"])
            regressed = bool(c["regressed"])
            if regressed:
                bold = cells[STATUS].font()
                bold.setBold(True)
                for col in (CHANGE, STATUS):
                    cells[col].setFont(bold)
                    cells[col].setForeground(QtGui.QColor(theme.DOWN))
            elif change is not None and change < 0:
                cells[CHANGE].setForeground(QtGui.QColor(theme.UP))
            elif c["status"] != "ok" and change is not None and change > 0:
                cells[CHANGE].setForeground(WORSE)
        return key, cells, regressed

    def _ratio_row(self, q: dict[str, Any], b: dict[str, Any] | None, change: float | None, comparing: bool,
                   threshold: float) -> tuple[tuple, list[_Item], bool]:
        unit = q.get("unit") or ""
        value, target = _num(q.get("value")), _num(q.get("target"))
        higher = q.get("better", "higher") == "higher"
        target_text = "-" if target is None else (">= " if higher else "<= ") + fmt_value(target, unit)
        meets = q.get("meets")
        cells = _blank_row()
        cells[SUITE], cells[NAME] = _cell(q["suite"]), _cell(q["name"], tip=q.get("description") or "derived figure")
        cells[MEDIAN], cells[PEAK] = _cell("-", None, True), _cell("-", None, True)
        cells[RATE] = _cell(fmt_value(value, unit), value, True,
                            f"unit: {unit}; from the fastest repeats: {fmt_value(_num(q.get('value_from_min')), unit)}")
        cells[TARGET] = _cell(target_text, target, True)
        cells[MEETS] = _cell("-" if meets is None else "pass" if meets else "miss")
        if meets is not None:
            cells[MEETS].setForeground(QtGui.QColor(theme.UP if meets else theme.DOWN))
        if comparing:
            cells[BASE] = _cell(fmt_value(_num(b.get("value")) if b else None, unit),
                                _num(b.get("value")) if b else None, True)
            cells[CHANGE] = _cell("-" if change is None else f"{change * 100:+.1f}", change, True,
                                  f"value now / baseline - 1 ({'higher' if higher else 'lower'} is better; "
                                  "derived figures are not gated by --compare)")
            cells[STATUS] = _cell("new" if b is None else "not gated")
            if change is not None:
                better = change > 0 if higher else change < 0
                if better:
                    cells[CHANGE].setForeground(QtGui.QColor(theme.UP))
                elif abs(change) > threshold:
                    cells[CHANGE].setForeground(WORSE)
        return ("ratio", q["suite"], q["name"]), cells, False

    # ------------------------------------------------------------------ reading back (tests, plot)
    def row_of(self, suite: str, name: str, kind: str = "bench") -> int:
        """The table row of a figure as currently sorted, or -1."""
        for row in range(self.rowCount()):
            item = self.item(row, SUITE)
            if item is not None and item.data(KEY_ROLE) == (kind, suite, name):
                return row
        return -1

    def text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return "" if item is None else item.text()

    def _chosen(self) -> None:
        rows = self.selectionModel().selectedRows()
        if rows:
            item = self.item(rows[0].row(), SUITE)
            key = item.data(KEY_ROLE) if item is not None else None
            if key:
                self.figure_chosen.emit(tuple(key))
