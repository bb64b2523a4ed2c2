"""The stats of one backtest as a two-column table: labels and formatted values from app/stat_labels.py
(the same as `backbench run` prints)."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.stat_labels import MISSING, format_stat, stat_label

SIGNED = ("return_pct", "cagr_pct", "alpha_pct", "avg_trade_pct", "expectancy_pct")  # green above 0, red below


class StatsTable(QtWidgets.QTableWidget):
    """Two columns, Stat and Value, one row per key of `result.stats`, in the dict's order."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Stat", "Value"])
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)

    def set_stats(self, stats: dict[str, Any]) -> None:
        """Show `stats` (snake_case key -> value); replaces what was shown."""
        self.set_rows([(stat_label(key), key, format_stat(key, value), value, key in SIGNED) for key, value
                       in stats.items()])

    def set_rows(self, rows: list[tuple[str, str, str, Any, bool]]) -> None:
        """Show (label, key, text, value, signed) rows; `signed` colours the value by its sign."""
        self.setRowCount(0)
        self.setRowCount(len(rows))
        right = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        for row, (label, key, text, value, signed) in enumerate(rows):
            name = QtWidgets.QTableWidgetItem(label)
            name.setToolTip(key)
            cell = QtWidgets.QTableWidgetItem(text)
            cell.setTextAlignment(right)
            cell.setData(QtCore.Qt.ItemDataRole.UserRole, value)
            if text == MISSING:
                cell.setForeground(QtGui.QColor(theme.MUTED))
                cell.setToolTip("not defined for this result (e.g. no closed trades)")
            elif signed and isinstance(value, (int, float)):
                cell.setForeground(_signed_color(value))
            self.setItem(row, 0, name)
            self.setItem(row, 1, cell)

    def value_text(self, key: str) -> str | None:
        """The displayed value of stat `key` (None if absent): for tests and copy."""
        for row in range(self.rowCount()):
            name, cell = self.item(row, 0), self.item(row, 1)
            if name is not None and cell is not None and name.toolTip() == key:
                return cell.text()
        return None


def _signed_color(value: float) -> QtGui.QColor:
    return QtGui.QColor(theme.UP if value > 0 else theme.DOWN if value < 0 else theme.FOREGROUND)
