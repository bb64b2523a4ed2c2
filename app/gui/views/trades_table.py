"""The trades of one backtest: a table model over the polars DataFrame, sortable, CSV export.

The model keeps the frame as it came (the order of `result.trades`) plus a row order; sorting
reorders rows by polars' `arg_sort` on the column's own type, so numbers sort as numbers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.gui.views.fit_columns import ColumnFitter
from app.gui.views.stats_table import MISSING

Qt = QtCore.Qt
_Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex

# column -> (header, kind). Columns not listed are shown as plain text under their own name.
COLUMNS: dict[str, tuple[str, str]] = {
    "entry_bar": ("Entry bar", "int"),
    "exit_bar": ("Exit bar", "int"),
    "entry_time": ("Entry time", "time"),
    "exit_time": ("Exit time", "time"),
    "side": ("Side", "text"),
    "size": ("Size", "size"),
    "entry_price": ("Entry price", "price"),
    "exit_price": ("Exit price", "price"),
    "pnl": ("P&L", "pnl"),
    "return_pct": ("Return [%]", "pct"),
    "fees": ("Fees", "money"),
    "duration_days": ("Duration [d]", "days"),
    "exit_reason": ("Exit reason", "text"),
    "is_open": ("Status", "status"),
}
_NUMERIC = {"int", "size", "price", "pnl", "pct", "money", "days"}
# Shown first when the table is too narrow for every column (the rest come back as it widens; the CSV export
# always has them all): a person reads when, which way, how it went and why it ended before the bar indexes.
PRIORITY = ("entry_time", "exit_time", "side", "return_pct", "pnl", "exit_reason", "is_open", "duration_days",
            "entry_price", "exit_price", "size", "fees", "entry_bar", "exit_bar")
_SIGNED = {"pnl", "return_pct"}


def format_price(v: float) -> str:
    a = abs(v)
    return f"{v:,.2f}" if a >= 10 else f"{v:,.4f}" if a >= 1 else f"{v:.5g}"


def format_cell(kind: str, value: Any, date_only: bool = False) -> str:
    """One cell's text; NaN/None as "—"."""
    if value is None:
        return MISSING
    if kind == "time":
        unit = "D" if date_only else "m"
        stamp = np.datetime64(value, "ns").astype(f"datetime64[{unit}]")
        return str(stamp).replace("T", " ")
    if kind == "status":
        return "open" if value else "closed"
    if kind == "text":
        return str(value)
    v = float(value)
    if math.isnan(v):
        return MISSING
    if kind == "int":
        return f"{int(v)}"
    if kind == "price":
        return format_price(v)
    if kind == "size":
        return f"{v:,.4f}".rstrip("0").rstrip(".")
    if kind == "pnl":
        return f"{v:+,.2f}"
    if kind == "pct":
        return f"{v:+.2f}"
    if kind == "days":
        return f"{v:,.2f}" if v < 1 else f"{v:,.1f}"
    return f"{v:,.2f}"


class TradesModel(QtCore.QAbstractTableModel):
    """Read-only table model over a trades DataFrame (one row per trade)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.frame = pl.DataFrame()
        self._columns: list[str] = []
        self._kinds: list[str] = []
        self._values: list[np.ndarray] = []
        self._order = np.empty(0, dtype=np.int64)
        self._open = np.empty(0, dtype=bool)
        self._date_only = False
        self._italic = QtGui.QFont()
        self._italic.setItalic(True)
        self._colors = {1: QtGui.QColor(theme.UP), -1: QtGui.QColor(theme.DOWN)}
        self._muted = QtGui.QColor(theme.MUTED)

    def set_frame(self, df: pl.DataFrame) -> None:
        self.beginResetModel()
        self.frame = df
        self._columns = list(df.columns)
        self._kinds = [COLUMNS.get(c, (c, "text"))[1] for c in self._columns]
        self._values = [df[c].to_numpy() for c in self._columns]
        self._order = np.arange(len(df), dtype=np.int64)
        n = len(df)
        self._open = df["is_open"].to_numpy().astype(bool) if "is_open" in df.columns else np.zeros(n, bool)
        times = [v for v, k in zip(self._values, self._kinds, strict=False) if k == "time"]
        day_ns = 86_400 * 10**9
        self._date_only = bool(times) and all(
            bool(np.all(t.astype("datetime64[ns]").astype(np.int64) % day_ns == 0)) for t in times)
        self.endResetModel()

    # -- Qt model API ----------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QtCore.QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: _Index = QtCore.QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS.get(self._columns[section], (self._columns[section], ""))[0]
        return str(int(self._order[section]) + 1)  # the trade's number, whatever the sort

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        src = int(self._order[index.row()])
        col = index.column()
        kind = self._kinds[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(kind, self._values[col][src], self._date_only)
        if role == Qt.ItemDataRole.UserRole:
            value = self._values[col][src]
            return value.item() if isinstance(value, np.generic) else value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = Qt.AlignmentFlag.AlignRight if kind in _NUMERIC else Qt.AlignmentFlag.AlignLeft
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if self._columns[col] in _SIGNED:
                v = float(self._values[col][src])
                return self._colors.get(int(np.sign(v)), None) if math.isfinite(v) else None
            return self._muted if self._open[src] else None
        if role == Qt.ItemDataRole.FontRole and self._open[src]:
            return self._italic
        if role == Qt.ItemDataRole.ToolTipRole and self._open[src]:
            return "Open at the end of the data: marked to the last close, not in the closed-trade stats"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not (0 <= column < len(self._columns)) or len(self.frame) == 0:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        new_order = (self.frame[self._columns[column]]
                     .arg_sort(descending=descending, nulls_last=True).to_numpy().astype(np.int64))
        self.layoutAboutToBeChanged.emit()
        new_row_of = np.empty_like(new_order)
        new_row_of[new_order] = np.arange(len(new_order))
        old = self.persistentIndexList()
        new = [self.index(int(new_row_of[self._order[i.row()]]), i.column()) for i in old]
        self._order = new_order
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    # -- helpers ---------------------------------------------------------------------------------
    def source_row(self, row: int) -> int:
        """The row of `frame` shown at view row `row`."""
        return int(self._order[row])

    def trade_bars(self, row: int) -> tuple[int, int]:
        """(entry_bar, exit_bar) of the trade shown at view row `row`."""
        src = self.source_row(row)
        return int(self.frame["entry_bar"][src]), int(self.frame["exit_bar"][src])


class TradesTable(QtWidgets.QTableView):
    """Sortable trades; double-click (or Enter) on a row emits `trade_activated(entry_bar, exit_bar)`."""

    trade_activated = QtCore.Signal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.trades_model = TradesModel(self)
        self.setModel(self.trades_model)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(22)
        self.verticalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.horizontalHeader().setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.doubleClicked.connect(self._on_double_clicked)
        self.fitter = ColumnFitter(self, self._priority, "widen the table; Export CSV has every column")

    @property
    def trades(self) -> pl.DataFrame:
        return self.trades_model.frame

    def set_trades(self, df: pl.DataFrame) -> None:
        """Show `df` (result.trades), keeping the current sort column and order."""
        self.trades_model.set_frame(df)
        header = self.horizontalHeader()
        self.trades_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.fit_columns()

    def fit_columns(self) -> list[str]:
        """Only the columns that fit the width, by PRIORITY (fit_columns.py); returns the titles left out."""
        return self.fitter.fit()

    @property
    def hidden_titles(self) -> list[str]:
        return self.fitter.hidden_titles

    def _priority(self) -> list[int]:
        columns = self.trades_model.frame.columns
        return [columns.index(c) for c in PRIORITY if c in columns] + [
            i for i, c in enumerate(columns) if c not in PRIORITY]

    def export_csv(self, path: str | Path) -> Path:
        """Write the trades (all columns, original order) to `path` as CSV; returns the path."""
        path = Path(path)
        self.trades_model.frame.write_csv(path)
        return path

    def _on_double_clicked(self, index: QtCore.QModelIndex) -> None:
        if index.isValid():
            self.trade_activated.emit(*self.trades_model.trade_bars(index.row()))

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.trade_activated.emit(*self.trades_model.trade_bars(self.currentIndex().row()))
            return
        super().keyPressEvent(event)
