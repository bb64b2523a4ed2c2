"""The Sweep tab: a grid editor generated from the strategy's params, progress, heatmap and top-N table.

The view never runs the engine: Sweep emits `sweep_requested(grid, where)`, the window runs
`engine.sweep.run_sweep` off the UI thread and feeds `set_progress` / `set_result` back. Clicking a
heatmap cell (or double-clicking a table row) emits `cell_clicked(params)` with every param by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui import theme
from app.gui.views.empty_state import Placeholder, hint_label
from app.gui.views.heatmap import SweepResultsPanel
from engine.errors import StrategyError
from engine.strategies.base import Param, Strategy
from engine.sweep import Progress, SweepResult, compile_where, expand_grid

W = TypeVar("W", bound=QWidget)
COUNT_CAP = 20_000  # above this many raw combos the count is estimated on a thinned grid
# How the grid is searched: every combo, or Optuna's samplers picking --trials of them (docs/optimize.md)
SEARCHES = {"grid": "Every combo", "tpe": "TPE (Optuna)", "cmaes": "CMA-ES (Optuna)"}


def _decimals(p: Param) -> int:
    if p.type is int:
        return 0
    exps = [-int(Decimal(str(v)).normalize().as_tuple().exponent) for v in (p.step, p.default)]
    return min(6, max(1, *exps))


def default_range(p: Param) -> tuple[float, float, float]:
    """(from, to, step) around the default: about half to twice it, ~10 values, on the param's step."""
    lo, hi = max(p.min, p.default / 2), min(p.max, p.default * 2)
    if hi - lo < p.step:
        lo, hi = max(p.min, p.default - 5 * p.step), min(p.max, p.default + 5 * p.step)
    step = max(p.step, round((hi - lo) / 10 / p.step) * p.step)
    if p.type is int:
        return math.ceil(lo), math.floor(hi), max(1, round(step))
    d = _decimals(p)
    return round(lo, d), round(hi, d), round(step, d)


def values_between(start: float, stop: float, step: float, kind: type, decimals: int) -> list[Any]:
    """The inclusive range start..stop by step ([] if stop < start)."""
    if stop < start or step <= 0:
        return []
    if kind is int:
        return list(range(int(start), int(stop) + 1, int(step)))
    n = math.floor((stop - start) / step + 1e-9) + 1
    return [round(start + i * step, decimals) for i in range(n)]


class _ParamRow:
    """One param's editors: sweep checkbox, from/to/step (from doubles as the fixed value)."""

    def __init__(self, p: Param) -> None:
        self.param = p
        self.decimals = _decimals(p)
        lo, hi, step = default_range(p)
        self.sweep = QCheckBox()
        self.sweep.setToolTip(f"Sweep {p.name} (unchecked: fixed at the value in 'from')")
        self.start, self.stop = self._spin(p.min, p.max, lo), self._spin(p.min, p.max, hi)
        span = p.max - p.min
        self.step = self._spin(p.step if p.type is int else 10 ** -self.decimals, max(span, p.step), step)
        for name, box in (("from", self.start), ("to", self.stop), ("step", self.step)):
            box.setObjectName(f"{p.name}_{name}")

    def _spin(self, lo: float, hi: float, value: float) -> QSpinBox | QDoubleSpinBox:
        box: QSpinBox | QDoubleSpinBox
        if self.param.type is int:
            box = QSpinBox()
            box.setRange(int(lo), int(hi))
            box.setValue(int(value))
        else:
            box = QDoubleSpinBox()
            box.setDecimals(self.decimals)
            box.setRange(float(lo), float(hi))
            box.setSingleStep(float(self.param.step))
            box.setValue(float(value))
        box.setKeyboardTracking(False)
        box.setMinimumWidth(62)
        return box

    def swept(self) -> bool:
        return self.sweep.isChecked()

    def values(self) -> list[Any]:
        if not self.swept():
            return [self.param.type(self.start.value())]
        return values_between(self.start.value(), self.stop.value(), self.step.value(), self.param.type,
                              self.decimals)

    def sync_enabled(self) -> None:
        self.stop.setEnabled(self.swept())
        self.step.setEnabled(self.swept())


class SweepView(QWidget):
    sweep_requested = Signal(dict, str)  # grid {name: [values]} (fixed params as one value), where
    cancel_requested = Signal()
    cell_clicked = Signal(dict)  # every param of the chosen run, by name

    def __init__(self, parent: QWidget | None = None, top_n: int = 25) -> None:
        super().__init__(parent)
        self.strategy: Strategy | None = None
        self.rows: dict[str, _ParamRow] = {}
        self._running = False
        self._valid = False
        self._where_ok = True
        self._count_timer = QTimer(self, singleShot=True, interval=150)
        self._count_timer.timeout.connect(self.update_count)

        self.grid_box = QGroupBox("Grid")
        self.grid_layout = QGridLayout(self.grid_box)
        self.where_edit = _named(QLineEdit(placeholderText="optional condition"), "where")
        self.where_edit.setToolTip("Comparisons of params and numbers (+ - * /) joined by 'and'")
        self.where_edit.textChanged.connect(self._on_edit)
        self.where_error = _named(QLabel(wordWrap=True), "whereError")
        self.where_error.setStyleSheet(f"color: {theme.DOWN};")
        self.where_error.hide()
        self.count_label = _named(QLabel("", wordWrap=True), "comboCount")
        self.search_combo = _named(QComboBox(), "searchMode")
        for key, label in SEARCHES.items():
            self.search_combo.addItem(label, key)
        self.search_combo.setToolTip("Every combo of the grid, or let a sampler choose which to try from the results "
                                     "so far, maximising the heatmap's metric (docs/optimize.md)")
        self.trials_spin = _named(QSpinBox(), "trials")
        self.trials_spin.setRange(1, 100_000)
        self.trials_spin.setValue(50)
        self.trials_spin.setPrefix("trials ")
        self.search_combo.currentIndexChanged.connect(self._on_search)
        self._on_search()
        self.sweep_button = _named(QPushButton("Sweep"), "sweepButton")
        self.cancel_button = _named(QPushButton("Cancel"), "cancelButton")
        self.sweep_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.sweep_button.clicked.connect(self._on_sweep)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = _named(QProgressBar(textVisible=True), "sweepProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.summary = _named(QLabel("", wordWrap=True), "sweepSummary")
        self.results = SweepResultsPanel(top_n=top_n)
        self.results.cell_clicked.connect(self.cell_clicked)
        self.heatmap = self.results.heatmap
        self.table = self.results.table

        buttons = QHBoxLayout()
        buttons.addWidget(self.sweep_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left.setFixedWidth(320)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 4, 0)
        search = QHBoxLayout()
        search.addWidget(QLabel("Search"))
        search.addWidget(self.search_combo, 1)
        search.addWidget(self.trials_spin)
        for w in (self.grid_box, QLabel("Where (constraints)"), self.where_edit, self.where_error,
                  self.count_label):
            lv.addWidget(w)
        lv.addLayout(search)
        lv.addLayout(buttons)
        lv.addWidget(self.progress)
        lv.addWidget(self.summary)
        # the top-N table fills this column (at 1280 px the heatmap needs the whole right side)
        table_box = self.table.parentWidget()
        assert table_box is not None
        self.results.table_title.setWordWrap(True)
        lv.addWidget(self.results.table_title)
        lv.addWidget(self.table, 1)
        table_box.hide()
        self.table_hint = Placeholder(self.table, "The best runs appear here after a sweep, ranked by the heatmap's "
                                      "metric; double-click one to open it.", "topRunsHint")
        # before the first sweep the heatmap's place says what to do, instead of an empty hatched square
        self.empty_hint = _named(QLabel(wordWrap=True), "sweepEmptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setStyleSheet(f"color: {theme.MUTED}; font-size: 15px;")
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.empty_hint)
        self.results_stack.addWidget(self.results)
        self.error_page = hint_label("", "sweepError", error=True)
        self.results_stack.addWidget(self.error_page)
        self._show_hint("")
        root = QHBoxLayout(self)
        root.addWidget(left)
        root.addWidget(self.results_stack, 1)

    # ------------------------------------------------------------------ grid editor
    def set_strategy(self, strategy: Strategy) -> None:
        """Rebuild the grid editor for `strategy`: the first two params swept, the rest fixed at defaults."""
        self.strategy = strategy
        while self.grid_layout.count():
            item = self.grid_layout.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.rows = {}
        for col, text in enumerate(("Param", "Sweep", "From", "To", "Step")):
            self.grid_layout.addWidget(_named(QLabel(text), "muted"), 0, col)
        for i, p in enumerate(strategy.params):
            row = _ParamRow(p)
            row.sweep.setChecked(i < 2)
            if i >= 2:  # fixed at the default
                row.start.setValue(p.default)
            self.rows[p.name] = row
            self.grid_layout.addWidget(QLabel(p.name), i + 1, 0)
            for col, w in enumerate((row.sweep, row.start, row.stop, row.step), start=1):
                self.grid_layout.addWidget(w, i + 1, col)
            row.sweep.toggled.connect(self._on_edit)
            for box in (row.start, row.stop, row.step):
                box.valueChanged.connect(self._on_edit)
        self.grid_box.setTitle(f"Grid · {strategy.name}")
        names = [p.name for p in strategy.params]
        self.where_edit.setPlaceholderText(f"e.g. {names[0]} < {names[1]}" if len(names) > 1 else "optional")
        self._on_edit()
        self.update_count()

    def grid(self) -> dict[str, Sequence[Any]]:
        """{param: values} for every param; a fixed param has one value."""
        return {name: row.values() for name, row in self.rows.items()}

    def where(self) -> str:
        return self.where_edit.text().strip()

    def search(self) -> dict[str, Any]:
        """How to search the grid: {"optimize": None (every combo) or "tpe" / "cmaes", "trials": N, "metric":
        the heatmap's metric (what a sampler maximises, or minimises where lower is better)}."""
        mode = self.search_combo.currentData()
        metric = self.results.metric_combo.currentText() or None
        return {"optimize": None if mode == "grid" else mode, "trials": self.trials_spin.value(), "metric": metric}

    def _on_search(self, *_: Any) -> None:
        self.trials_spin.setEnabled(self.search_combo.currentData() != "grid")

    def _on_edit(self, *_: Any) -> None:
        for row in self.rows.values():
            row.sync_enabled()
        error = None
        try:
            compile_where(self.where(), list(self.rows))
        except StrategyError as exc:
            error = str(exc)
        self._where_ok = error is None
        self.where_error.setText(error or "")
        self.where_error.setVisible(error is not None)
        self.where_edit.setStyleSheet(f"border: 1px solid {theme.DOWN};" if error else "")
        self._count_timer.start()  # debounced: counting a big grid takes a moment

    def update_count(self) -> None:
        """Count the combos of the grid (estimated on a thinned grid above COUNT_CAP raw combos)."""
        self._count_timer.stop()
        if self.strategy is None:
            return
        grid, ok = self.grid(), False
        empty = [n for n, v in grid.items() if not v]
        raw = math.prod(len(v) for v in grid.values())
        if empty:
            text = f"{empty[0]}: 'to' is below 'from'"
        elif not self._where_ok:
            text = "fix the where condition"
        else:
            thin = grid if raw <= COUNT_CAP else _thin(grid, COUNT_CAP)
            try:
                n = len(expand_grid(self.strategy, thin, self.where() or None))
            except StrategyError as exc:
                text = str(exc)
            else:
                if thin is not grid:
                    n = round(n / math.prod(len(v) for v in thin.values()) * raw)
                ok = n > 0
                text = f"{n:,} combos" if thin is grid else f"≈ {n:,} combos (estimated; {raw:,} before constraints)"
                if n == 0:
                    text = "0 combos: the constraints exclude every combination"
        self.count_label.setText(text)
        self.count_label.setStyleSheet("" if ok else f"color: {theme.DOWN};")
        self._show_hint(text if ok else "")
        self._valid = ok
        self._sync_buttons()

    def _on_sweep(self) -> None:
        self.update_count()
        if self._valid and not self._running:
            self.sweep_requested.emit(self.grid(), self.where())

    # ------------------------------------------------------------------ running
    def set_running(self, running: bool) -> None:
        """Sweep off and Cancel on while running; the grid cannot change under a running sweep."""
        self._running = running
        self.grid_box.setEnabled(not running)
        self.where_edit.setEnabled(not running)
        if running:
            self.progress.setRange(0, 0)  # busy indicator until the first progress report
            self.progress.setFormat("starting…")
        elif self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setFormat("idle")
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.sweep_button.setEnabled(self._valid and not self._running)
        self.cancel_button.setEnabled(self._running)

    def set_progress(self, progress: Progress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(min(progress.done, progress.total))
        self.progress.setFormat(f"{progress.done:,}/{progress.total:,} · {progress.combos_per_s:,.0f} combos/s"
                                f" · ETA {_duration(progress.eta_s)}")

    # ------------------------------------------------------------------ results
    def _show_hint(self, count: str) -> None:
        """The empty state's text, with the grid's combo count once there is a valid grid."""
        grid = f"The grid on the left makes {count}. " if count else "Choose the parameters to sweep on the left. "
        self.empty_hint.setText(f"No sweep yet.\n\n{grid}Press Sweep to run every combination on the "
                                "performance cores;\nthe heatmap and the best rows appear here, and a click on a "
                                "cell opens that run.")

    def show_error(self, message: str) -> None:
        """A failed sweep: its error where the heatmap goes, until the next sweep finishes."""
        self.set_running(False)
        self.error_page.setText(f"The sweep failed.\n\n{message}\n\nFix the grid, the strategy or the dataset, then "
                                "press Sweep again.")
        self.results_stack.setCurrentWidget(self.error_page)

    def set_result(self, result: SweepResult) -> None:
        """Fill heatmap and top-N table from a finished (or cancelled) sweep."""
        self.results_stack.setCurrentWidget(self.results)
        types = {p.name: p.type for p in self.strategy.params} if self.strategy else {}
        self.results.set_result(result, types)
        cached = result.total - result.computed
        self.summary.setText(f"{len(result.rows):,} rows · {len(result.errors):,} errors · {cached:,} from cache"
                             f" · {result.elapsed_s:.2f} s" + (" · cancelled" if result.cancelled else ""))
        self.summary.setStyleSheet(f"color: {theme.DOWN};" if result.errors else "")
        if result.cancelled:
            self.progress.setFormat(f"cancelled · {len(result.rows):,}/{result.total:,} rows")
        elif result.total:
            self.progress.setRange(0, result.total)
            self.progress.setValue(result.total)
            self.progress.setFormat(f"{result.total:,} combos in {result.elapsed_s:.2f} s")

    def current_metric(self) -> str:
        return self.results.current_metric()

    def heatmap_values(self) -> tuple[Any, list[Any], list[Any]]:
        """The grid on show: Z[ix, iy] (numpy), x values and y values."""
        return self.heatmap.z, list(self.results.xs), list(self.results.ys)

    def heatmap_cell_center(self, ix: int, iy: int) -> QPoint:
        """Centre of heatmap cell (ix, iy) in this widget's coordinates (childAt() there is the plot)."""
        return self.heatmap.viewport().mapTo(self, self.heatmap.cell_center(ix, iy))


def _thin(grid: dict[str, Sequence[Any]], cap: int) -> dict[str, Sequence[Any]]:
    """Every k-th value of each param so the product stays near `cap` (one k for all)."""
    raw = math.prod(len(v) for v in grid.values())
    swept = sum(len(v) > 1 for v in grid.values())
    k = max(1, math.ceil((raw / cap) ** (1 / max(1, swept))))
    return {n: v[::k] for n, v in grid.items()}


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget
