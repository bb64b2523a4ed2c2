"""Datasets in the store: a table (symbol, timeframe, rows, range), Import… and Delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.views.empty_state import hint_label

COLUMNS = ("Symbol", "TF", "Bars", "From", "To")
EMPTY_HINT = ("No datasets in the store.\n\nImport your bars (Ctrl+I): CSV or Parquet with a date and open, high, "
              "low, close columns.\n\nOr load the demo data: five daily symbols over 20 years and two of a "
              "million one-minute bars.")


class DataPanel(QWidget):
    dataset_selected = Signal(str, str)  # symbol, timeframe
    import_requested = Signal()
    demo_requested = Signal()
    delete_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("datasets")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)  # a stretched last column keeps 100 px: with 7 rows the dates got cut
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.import_button = QPushButton("Import…")
        self.delete_button = QPushButton("Delete")
        self.demo_button = QPushButton("Load demo data")
        self.demo_button.setToolTip("fill the store with the demo datasets (generated here, a few seconds)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        # with no dataset the table's place says how to get one; the demo button shows only then
        self.empty_hint = hint_label(EMPTY_HINT, "datasetsHint")
        self.empty_hint.setStyleSheet(self.empty_hint.styleSheet().replace("15px", "13px"))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_hint)
        self.stack.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        layout.addLayout(buttons)
        self._show_empty(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.import_button.clicked.connect(self.import_requested.emit)
        self.delete_button.clicked.connect(self._delete)
        self.demo_button.clicked.connect(self._demo)

    def _show_empty(self, empty: bool) -> None:
        self.stack.setCurrentWidget(self.empty_hint if empty else self.table)
        self.demo_button.setVisible(empty)
        self.demo_button.setEnabled(True)
        self.delete_button.setEnabled(not empty)

    def _demo(self) -> None:
        self.demo_button.setEnabled(False)  # until the list comes back
        self.demo_requested.emit()

    def set_busy(self, text: str) -> None:
        """While the demo data is written: say so where the empty list is."""
        self.empty_hint.setText(text)
        self.demo_button.setEnabled(False)

    def set_datasets(self, datasets: list[dict], keep: tuple[str, str] | None = None) -> None:
        keep = keep or self.current()
        self.table.blockSignals(True)
        self.table.setRowCount(len(datasets))
        for row, d in enumerate(datasets):
            values = (d["symbol"], d["timeframe"], f"{d['rows']:,}", _date(d.get("first_ts")),
                      _date(d.get("last_ts")))
            stamps = {3: _stamp(d.get("first_ts")), 4: _stamp(d.get("last_ts"))}
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if stamps.get(col):
                    item.setToolTip(stamps[col])
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        self.empty_hint.setText(EMPTY_HINT)
        self._show_empty(not datasets)
        if datasets:
            self.select(*(keep or (datasets[0]["symbol"], datasets[0]["timeframe"])))

    def select(self, symbol: str, timeframe: str) -> bool:
        for row in range(self.table.rowCount()):
            if self._cells(row) == (symbol, timeframe):
                self.table.selectRow(row)
                return True
        if self.table.rowCount():
            self.table.selectRow(0)
        return False

    def current(self) -> tuple[str, str] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self._cells(rows[0].row())

    def _cells(self, row: int) -> tuple[str, str] | None:
        sym, tf = self.table.item(row, 0), self.table.item(row, 1)
        return (sym.text(), tf.text()) if sym is not None and tf is not None else None

    def _selected(self) -> None:
        cur = self.current()
        if cur:
            self.dataset_selected.emit(*cur)

    def _delete(self) -> None:
        cur = self.current()
        if cur:
            self.delete_requested.emit(*cur)


def _date(value) -> str:
    """The day only (the column fits the panel; a minute dataset's time of day is in the tooltip)."""
    return "" if value is None else str(value)[:10]


def _stamp(value) -> str:
    return "" if value is None else str(value)[:19]
