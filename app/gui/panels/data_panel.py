"""Datasets in the store: a table (symbol, timeframe, rows, range), Import… and Delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Symbol", "TF", "Bars", "From", "To")


class DataPanel(QWidget):
    dataset_selected = Signal(str, str)  # symbol, timeframe
    import_requested = Signal()
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
        header.setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.import_button = QPushButton("Import…")
        self.delete_button = QPushButton("Delete")
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.table.itemSelectionChanged.connect(self._selected)
        self.import_button.clicked.connect(self.import_requested.emit)
        self.delete_button.clicked.connect(self._delete)

    def set_datasets(self, datasets: list[dict], keep: tuple[str, str] | None = None) -> None:
        keep = keep or self.current()
        self.table.blockSignals(True)
        self.table.setRowCount(len(datasets))
        for row, d in enumerate(datasets):
            values = (d["symbol"], d["timeframe"], f"{d['rows']:,}", _date(d.get("first_ts")),
                      _date(d.get("last_ts")))
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
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
    if value is None:
        return ""
    text = str(value)
    return text[:10] if text[11:19] in ("", "00:00:00") else text[:16]
