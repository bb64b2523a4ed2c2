"""The Benchmarks tab: browse results files of `python -m benchmarks run --out` and their history.

- lists the committed baselines (benchmarks/baselines/: app/resources.py finds them in a checkout, an
  installed wheel or the frozen app) and every file the
  user opened before (QSettings "bench/files"); files are read when the tab is first shown or a file
  is opened, never at startup;
- Open results… (multi-select) or drop JSON files on the tab; a file that is not a results JSON
  gets a message naming it and the fault, and is not listed;
- the history table (one row per file, newest first); selecting a file shows its figures;
  selecting two compares the newer with the older, one file can be compared with any listed file
  ("Compare with"), with `--compare`'s regression rule and threshold;
- the history plot follows one figure across every listed file in date order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.bench_results import (
    DEFAULT_THRESHOLD,
    ResultsFileError,
    fmt_time,
    fmt_value,
    load_results,
    machine_label,
    suites_of,
)
from app.gui import theme
from app.gui.views.bench_figures import FiguresTable
from app.gui.views.bench_history import HistoryPlot, HistoryPoint
from app.gui.views.empty_state import Placeholder
from app.resources import baselines_dir

Qt = QtCore.Qt
BASELINES_DIR = baselines_dir()
SETTINGS_FILES = "bench/files"
SETTINGS_DIR = "bench/last_dir"
HISTORY_COLUMNS = ("Date (UTC)", "Commit", "File", "Figures", "Machine", "Suites")
NO_COMPARISON = "(no comparison)"
EMPTY_HINT = ("No benchmark results listed. Run `python -m benchmarks run --out results.json`, then Open results… "
              "or drop the file on this tab.")


@dataclass
class ResultsFile:
    path: Path
    doc: dict[str, Any]
    baseline: bool  # one of the committed baselines (listed whatever the settings say)

    @property
    def timestamp(self) -> float:
        """The run's start ("created"), else the file's modification time, in seconds since the epoch."""
        created = self.doc.get("created")
        if isinstance(created, str):
            try:
                stamp = datetime.fromisoformat(created)
                return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
            except ValueError:
                pass
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def date_text(self) -> str:
        return datetime.fromtimestamp(self.timestamp, UTC).strftime("%Y-%m-%d %H:%M")

    @property
    def commit(self) -> str:
        """The commit, short; "*" marks a run of a tree with uncommitted changes (the tooltip says so)."""
        commit = str(self.doc.get("git_commit") or "-")
        return commit[:10] + ("*" if commit.endswith("-dirty") else "")

    @property
    def name(self) -> str:
        return self.path.name + (" (baseline)" if self.baseline else "")


class BenchView(QtWidgets.QWidget):
    def __init__(self, settings: QtCore.QSettings | None = None, baselines_dir: Path | None = BASELINES_DIR,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or QtCore.QSettings("Backbench", "Backbench")
        self.baselines_dir = baselines_dir
        self.files: list[ResultsFile] = []  # newest first, as in the history table
        self.errors: list[str] = []
        self.loaded = False
        self.current: ResultsFile | None = None
        self.against: ResultsFile | None = None
        self.setAcceptDrops(True)

        self.open_button = QtWidgets.QPushButton("Open results…")
        self.open_button.setToolTip("open results JSON files (python -m benchmarks run --out FILE); "
                                    "or drop them on this tab")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("take the selected files off the list (committed baselines come back "
                                      "next time)")
        self.compare_combo = QtWidgets.QComboBox()
        self.compare_combo.setMinimumContentsLength(22)
        self.compare_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare_combo.setToolTip("compare the selected file with this one (or select two files)")
        self.threshold_spin = QtWidgets.QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1000.0)
        self.threshold_spin.setDecimals(1)
        self.threshold_spin.setSuffix(" %")
        self.threshold_spin.setValue(DEFAULT_THRESHOLD * 100)
        self.threshold_spin.setToolTip("regression threshold, as --threshold: a gated benchmark regressed when "
                                       "its median and its fastest repeat are both this much slower")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(self.remove_button)
        bar.addSpacing(16)
        bar.addWidget(QtWidgets.QLabel("Compare with"))
        bar.addWidget(self.compare_combo, 1)
        bar.addWidget(QtWidgets.QLabel("Threshold"))
        bar.addWidget(self.threshold_spin)

        self.error_label = QtWidgets.QLabel("")
        self.error_label.setObjectName("benchError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(f"color: {theme.DOWN};")
        self.error_label.hide()

        self.history = QtWidgets.QTableWidget(0, len(HISTORY_COLUMNS))
        self.history.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.history.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.history.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.history.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().hide()
        self.history.verticalHeader().setDefaultSectionSize(22)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(True)
        self.empty_hint = Placeholder(self.history, EMPTY_HINT, "benchHint")
        self.history_plot = HistoryPlot()
        self.figures = FiguresTable()
        self.caption = QtWidgets.QLabel("")
        self.caption.setWordWrap(True)

        top = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.history)
        top.addWidget(self.history_plot)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setSizes([720, 400])
        bottom = QtWidgets.QWidget()
        bottom_layout = QtWidgets.QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.caption)
        bottom_layout.addWidget(self.figures, 1)
        split = QtWidgets.QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([230, 470])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.error_label)
        layout.addWidget(split, 1)

        self.open_button.clicked.connect(self.open_dialog)
        self.remove_button.clicked.connect(self.remove_selected)
        self.compare_combo.currentIndexChanged.connect(lambda _: self._show_selection())
        self.threshold_spin.valueChanged.connect(lambda _: self._show_selection())
        self.history.itemSelectionChanged.connect(self._show_selection)
        self.figures.figure_chosen.connect(self.history_plot.choose)
        self.history_plot.figure_changed.connect(lambda _: self._plot())
        self._show_selection()

    # ------------------------------------------------------------------ loading
    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self.ensure_loaded()

    def ensure_loaded(self) -> None:
        """Read the committed baselines and the remembered files, once (the first time the tab shows)."""
        if self.loaded:
            return
        self.loaded = True
        baselines = sorted(self.baselines_dir.glob("*.json")) if self.baselines_dir and self.baselines_dir.is_dir() \
            else []
        remembered = [Path(p) for p in self._remembered()]
        errors = self._add([*baselines], baseline=True) + self._add(remembered, baseline=False)
        if errors:
            self._remember()  # files gone or broken since last time leave the list
        self._refresh(errors, select=self.files[0].path if self.files else None)
        committed = [f for f in self.files if f.baseline]
        if committed:  # a file opened next is compared with the committed baseline, as `--compare` would be
            self.set_compare_with(committed[0].path)

    def open_files(self, paths: Sequence[str | Path]) -> list[str]:
        """Open results files as the dialog or a drop does: list them, remember them, select the last
        good one. Returns the error messages (also shown in the tab), one per file that failed."""
        self.ensure_loaded()
        files = [Path(p) for p in paths]
        errors = self._add(files, baseline=False)
        self._remember()
        opened = [p.resolve() for p in files if self._find(p.resolve()) is not None]
        self._refresh(errors, select=opened[-1] if opened else None)
        if opened:
            self.settings.setValue(SETTINGS_DIR, str(opened[-1].parent))
        return errors

    def open_dialog(self) -> None:
        start = str(self.settings.value(SETTINGS_DIR) or Path.cwd())
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Open benchmark results", start,
                                                          "Results JSON (*.json);;All files (*)")
        if paths:
            self.open_files(paths)

    def remove_selected(self) -> None:
        chosen = {f.path for f in self.selected_files()}
        self.files = [f for f in self.files if f.path not in chosen]
        self._remember()
        self._refresh([], select=self.files[0].path if self.files else None)

    def _add(self, paths: list[Path], baseline: bool) -> list[str]:
        errors = []
        for path in paths:
            path = path.resolve()
            try:
                doc = load_results(path)
            except ResultsFileError as exc:
                errors.append(str(exc))
                continue
            entry = ResultsFile(path, doc, baseline or self._is_baseline(path))
            old = self._find(path)
            if old is not None:  # opened again: read it afresh (it may have been re-run)
                self.files[self.files.index(old)] = entry
            else:
                self.files.append(entry)
        self.files.sort(key=lambda f: f.timestamp, reverse=True)
        return errors

    def _is_baseline(self, path: Path) -> bool:
        return self.baselines_dir is not None and path.parent == Path(self.baselines_dir).resolve()

    def _find(self, path: Path) -> ResultsFile | None:
        return next((f for f in self.files if f.path == path), None)

    def _remembered(self) -> list[str]:
        raw = self.settings.value(SETTINGS_FILES)
        try:
            paths = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            return []  # an old or hand-edited value
        return [p for p in paths if isinstance(p, str)] if isinstance(paths, list) else []

    def _remember(self) -> None:
        paths = [str(f.path) for f in reversed(self.files) if not f.baseline]
        self.settings.setValue(SETTINGS_FILES, json.dumps(paths))

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:  # noqa: N802 (Qt name)
        if _local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802 (Qt name)
        paths = _local_files(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    # ------------------------------------------------------------------ showing
    def _refresh(self, errors: list[str], select: Path | None) -> None:
        """Rebuild the history table, compare choices and figure list; select `select`."""
        self.errors = errors
        self.error_label.setText("\n".join(f"Could not open {e}" for e in errors))
        self.error_label.setVisible(bool(errors))
        self.history.blockSignals(True)
        self.history.clearContents()
        self.history.setRowCount(len(self.files))
        for row, f in enumerate(self.files):
            n_results, n_ratios = len(f.doc.get("results", [])), len(f.doc.get("ratios", []))
            cells = [f.date_text, f.commit, f.name, str(n_results + n_ratios), machine_label(f.doc),
                     ", ".join(suites_of(f.doc))]
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                commit = str(f.doc.get("git_commit") or "-")
                if commit.endswith("-dirty"):
                    commit = commit.removesuffix("-dirty") + " with uncommitted changes"
                item.setToolTip({1: commit, 2: str(f.path),
                                 3: f"{n_results} benchmarks, {n_ratios} derived figures"}.get(col, text))
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.history.setItem(row, col, item)
        self.history.resizeColumnsToContents()
        # the long cells (machine, suites) wrap in a narrower column: at 1280 px the table fits its pane
        for col, width in ((HISTORY_COLUMNS.index("Machine"), 140), (HISTORY_COLUMNS.index("Suites"), 120)):
            self.history.setColumnWidth(col, min(width, self.history.columnWidth(col)))
        self.history.resizeRowsToContents()
        self.history.blockSignals(False)

        keep = self.compare_combo.currentData()
        self.compare_combo.blockSignals(True)
        self.compare_combo.clear()
        self.compare_combo.addItem(NO_COMPARISON, "")
        for f in self.files:
            self.compare_combo.addItem(f"{f.name}  {f.date_text}", str(f.path))
        self.compare_combo.setCurrentIndex(max(0, self.compare_combo.findData(keep)) if keep else 0)
        self.compare_combo.blockSignals(False)
        self.history_plot.set_figures(self._figure_list())
        if select is not None:
            self.select_files([select])
        else:
            self._show_selection()

    def select_files(self, paths: list[Path]) -> None:
        """Select these files' rows in the history table (as a click or ctrl-click would)."""
        wanted = {Path(p).resolve() for p in paths}
        selection = self.history.selectionModel()
        selection.clearSelection()
        flags = QtCore.QItemSelectionModel.SelectionFlag.Select | QtCore.QItemSelectionModel.SelectionFlag.Rows
        for row, f in enumerate(self.files):
            if f.path in wanted:
                selection.select(self.history.model().index(row, 0), flags)

    def selected_files(self) -> list[ResultsFile]:
        rows = sorted({i.row() for i in self.history.selectionModel().selectedRows()})
        return [self.files[r] for r in rows if r < len(self.files)]

    def set_compare_with(self, path: Path | None) -> None:
        index = self.compare_combo.findData(str(Path(path).resolve())) if path else 0
        self.compare_combo.setCurrentIndex(max(0, index))

    def threshold(self) -> float:
        return self.threshold_spin.value() / 100.0

    def _show_selection(self) -> None:
        chosen = self.selected_files()
        self.compare_combo.setEnabled(len(chosen) < 2)
        self.remove_button.setEnabled(bool(chosen))
        if not chosen:
            self.current = self.against = None
            self.caption.setText("Select a results file above to see its figures; select two to compare them."
                                 if self.files else "No results files listed: Open results… or drop files here.")
            self.figures.show_results(None)
            self._plot()
            return
        if len(chosen) >= 2:
            newest_first = sorted(chosen, key=lambda f: f.timestamp, reverse=True)
            self.current, self.against = newest_first[0], newest_first[-1]
        else:
            self.current = chosen[0]
            path = self.compare_combo.currentData()
            self.against = self._find(Path(path)) if path else None
            if self.against is self.current:
                self.against = None
        self.figures.show_results(self.current.doc, self.against.doc if self.against else None, self.threshold())
        self.caption.setText(self._caption(len(chosen)))
        self._plot()

    def _caption(self, n_selected: int) -> str:
        f = self.current
        assert f is not None
        text = f"<b>{f.path.name}</b> — {f.date_text} UTC, commit {f.commit}, {machine_label(f.doc)}"
        if self.against is not None:
            n = len(self.figures.regressed)
            verdict = (f"<span style='color:{theme.DOWN}'><b>{n} regressed</b></span>" if n
                       else f"<span style='color:{theme.UP}'>no regression</span>")
            text += (f"<br>compared with <b>{self.against.path.name}</b> ({self.against.date_text}, commit "
                     f"{self.against.commit}) at a {self.threshold() * 100:g} % threshold: {verdict}")
        if n_selected > 2:
            text += "<br>(more than two files selected: comparing the newest with the oldest)"
        return text

    # ------------------------------------------------------------------ history plot
    def _figure_list(self) -> list[tuple[tuple, str]]:
        seen: dict[tuple, str] = {}
        for f in sorted(self.files, key=lambda f: f.timestamp, reverse=True):
            for r in f.doc.get("results", []):
                seen.setdefault(("bench", r["suite"], r["name"]), f"{r['suite']} / {r['name']}")
            for q in f.doc.get("ratios", []):
                seen.setdefault(("ratio", q["suite"], q["name"]), f"{q['suite']} / {q['name']} (derived)")
        return list(seen.items())

    def _plot(self) -> None:
        key = self.history_plot.current_figure()
        if key is None:
            self.history_plot.clear("No figures: no results files listed.")
            return
        kind, suite, name = key
        points, target, unit = [], None, "s"
        for f in self.files:
            entry = _figure(f.doc, kind, suite, name)
            if entry is None:
                continue
            if kind == "bench":
                value = entry.get("median_s")
                shown = fmt_time(value)
            else:
                value, unit = entry.get("value"), entry.get("unit") or ""
                target = entry.get("target") if target is None else target
                shown = fmt_value(value, unit)
            if isinstance(value, int | float):
                points.append(HistoryPoint(f.timestamp, float(value),
                                           f"{f.path.name}\n{f.date_text} UTC, commit {f.commit}\n{shown}",
                                           current=f is self.current))
        if kind == "bench":
            self.history_plot.show_history(f"{suite} / {name}: median", points, "median", "s")
        else:
            # units the axis must not SI-prefix ("kx", "k%") go into the label instead
            si = unit.endswith("/s") or unit in ("s", "B")
            self.history_plot.show_history(f"{suite} / {name}", points, "value" if si else f"value [{unit}]",
                                           unit if si else "", target)


def _figure(doc: dict[str, Any], kind: str, suite: str, name: str) -> dict[str, Any] | None:
    entries = doc.get("results", []) if kind == "bench" else doc.get("ratios", [])
    for entry in entries:
        if entry["suite"] == suite and entry["name"] == name and "error" not in entry:
            return entry
    return None


def _local_files(mime: QtCore.QMimeData) -> list[str]:
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
