"""Import… dialog: pick files, preview what was detected (or the validation error), import in the background.

The preview runs the same validation the import runs (engine.data.importers.load_file), so what the
dialog accepts will import, and an error shows file, row and column before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.jobs import Job, JobRunner


class ImportDialog(QDialog):
    def __init__(self, runner: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import bars")
        self.resize(640, 420)
        self.runner = runner
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("importPath")
        self.path_edit.setPlaceholderText("CSV, CSV.GZ or Parquet file(s); separate several with ;")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.symbol_edit = QLineEdit()
        self.symbol_edit.setPlaceholderText("from the file name")
        self.timeframe_edit = QLineEdit()
        self.timeframe_edit.setPlaceholderText("detected from the bar spacing")
        self.tz_edit = QLineEdit()
        self.tz_edit.setPlaceholderText("UTC (naive times)")
        self.preview_button = QPushButton("Preview")
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("importPreview")
        self.preview.setReadOnly(True)
        self.status = QLabel()
        self.status.setObjectName("importStatus")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)

        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Symbol", self.symbol_edit)
        form.addRow("Timeframe", self.timeframe_edit)
        form.addRow("Time zone", self.tz_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview_button)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.preview_button.clicked.connect(self.run_preview)
        self.path_edit.textChanged.connect(lambda _: self.import_button.setEnabled(False))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.preview_job: Job | None = None

    def paths(self) -> list[str]:
        return [p.strip() for p in self.path_edit.text().split(";") if p.strip()]

    def options(self) -> dict[str, str | None]:
        return {"symbol": self.symbol_edit.text().strip() or None,
                "timeframe": self.timeframe_edit.text().strip() or None,
                "tz": self.tz_edit.text().strip() or None}

    def _browse(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import bars", str(Path.home()),
                                                "Bars (*.csv *.csv.gz *.parquet *.txt);;All files (*)")
        if files:
            self.path_edit.setText(";".join(files))
            self.run_preview()

    def run_preview(self) -> Job | None:
        paths = self.paths()
        if not paths:
            self._show_error("Choose a file first.")
            return None
        self.status.setText("Checking…")
        self.import_button.setEnabled(False)
        opts = self.options()
        job = Job("preview", _preview, paths, opts["symbol"], opts["timeframe"], opts["tz"])
        job.signals.finished.connect(self._show_preview)
        job.signals.failed.connect(self._show_error)
        self.preview_job = job
        return self.runner.start(job)

    def _show_preview(self, lines: list[str]) -> None:
        self.preview.setPlainText("\n".join(lines))
        self.status.setStyleSheet("color: #26a69a;")
        self.status.setText("Valid: ready to import.")
        self.import_button.setEnabled(True)

    def _show_error(self, message: str) -> None:
        self.preview.setPlainText(message)
        self.status.setStyleSheet("color: #ef5350;")
        self.status.setText(message.splitlines()[0] if message else "Invalid file")
        self.import_button.setEnabled(False)


def _preview(paths: list[str], symbol: str | None, timeframe: str | None, tz: str | None) -> list[str]:
    """Validate each file (nothing is written) and describe what would be imported."""
    from engine.data.importers import load_file

    lines = []
    for p in paths:
        prep = load_file(p, symbol, timeframe, tz)
        bars = prep.bars
        times = bars.times()
        lines.append(f"{Path(p).name}: {bars.symbol} {bars.timeframe}, {len(bars):,} bars "
                     f"from {str(times[0])[:19]} to {str(times[-1])[:19]} (UTC)")
        lines.append("  columns: " + ", ".join(f"{field} ← {col}" for field, col in prep.columns.items()))
        lines.append(f"  rows read {prep.rows_read:,}; last close {bars.close[-1]:,.4f}")
        for what, n in prep.repairs.items():
            lines.append(f"  repaired: {what}: {n}")
    return lines
