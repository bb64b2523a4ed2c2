"""The trades of one backtest: a table model over the polars DataFrame, sortable, CSV export.

The model keeps the frame as it came (the order of `result.trades`) plus a row order; sorting
reorders rows by polars' `arg_sort` on the column's own type, so numbers sort as numbers.

Everything the table needs from a frame is prepared by `prepare_trades`, plain numpy and polars work that
may run off the UI thread (docs/performance.md, "Showing a 1M-bar result"): the columns' values and each
cell's text *shape* (digits as 0, italic open rows apart). Fitting the columns then asks Qt's delegate for
one cell per distinct shape instead of for a thousand cells per column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class TradesPrep:
    """A trades frame made ready for the table (plain data: built in any thread)."""

    frame: pl.DataFrame
    columns: list[str]
    kinds: list[str]
    values: list[np.ndarray]
    open: np.ndarray
    date_only: bool
    # per column, per source row: an id of the cell's text shape (its text with every digit as 0, times 2,
    # plus 1 for an open, italic row): cells of one shape are equally wide where the font's digits are
    shapes: list[np.ndarray] = field(default_factory=list)


def _date_only(values: list[np.ndarray], kinds: list[str]) -> bool:
    times = [v for v, k in zip(values, kinds, strict=False) if k == "time"]
    day_ns = 86_400 * 10**9
    return bool(times) and all(
        bool(np.all(t.astype("datetime64[ns]").astype(np.int64) % day_ns == 0)) for t in times)


def prepare_trades(df: pl.DataFrame) -> TradesPrep:
    """Everything `TradesModel.set_prepared` needs from `df`; no Qt object is touched (any thread)."""
    columns = list(df.columns)
    kinds = [COLUMNS.get(c, (c, "text"))[1] for c in columns]
    values = [df[c].to_numpy() for c in columns]
    n = len(df)
    is_open = df["is_open"].to_numpy().astype(bool) if "is_open" in df.columns else np.zeros(n, bool)
    date_only = _date_only(values, kinds)
    shapes = []
    for kind, col in zip(kinds, values, strict=True):
        texts = pl.Series([format_cell(kind, v, date_only) for v in col], dtype=pl.String)
        ids = texts.str.replace_all("[0-9]", "0").cast(pl.Categorical).to_physical().to_numpy()
        shapes.append(ids.astype(np.int64) * 2 + is_open)
    return TradesPrep(df, columns, kinds, values, is_open, date_only, shapes)


class TradesModel(QtCore.QAbstractTableModel):
    """Read-only table model over a trades DataFrame (one row per trade)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.frame = pl.DataFrame()
        self._columns: list[str] = []
        self._kinds: list[str] = []
        self._values: list[np.ndarray] = []
        self._shapes: list[np.ndarray] = []
        self._order = np.empty(0, dtype=np.int64)
        self._open = np.empty(0, dtype=bool)
        self._date_only = False
        self._italic = QtGui.QFont()
        self._italic.setItalic(True)
        self._colors = {1: QtGui.QColor(theme.UP), -1: QtGui.QColor(theme.DOWN)}
        self._muted = QtGui.QColor(theme.MUTED)

    def set_frame(self, df: pl.DataFrame) -> None:
        self.set_prepared(prepare_trades(df))

    def set_prepared(self, prep: TradesPrep) -> None:
        """Show a frame `prepare_trades` made ready (in any thread): a reset, no per-row work."""
        self.beginResetModel()
        self.frame = prep.frame
        self._columns = prep.columns
        self._kinds = prep.kinds
        self._values = prep.values
        self._shapes = prep.shapes
        self._order = np.arange(len(prep.frame), dtype=np.int64)
        self._open = prep.open
        self._date_only = prep.date_only
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
    def shape_rows(self, column: int, rows: np.ndarray) -> np.ndarray:
        """Of view rows `rows`, the first of each distinct text shape in `column` (see TradesPrep.shapes)."""
        if not self._shapes:
            return rows
        _, first = np.unique(self._shapes[column][self._order[rows]], return_index=True)
        return rows[np.sort(first)]

    def source_row(self, row: int) -> int:
        """The row of `frame` shown at view row `row`."""
        return int(self._order[row])

    def trade_bars(self, row: int) -> tuple[int, int]:
        """(entry_bar, exit_bar) of the trade shown at view row `row`."""
        src = self.source_row(row)
        return int(self.frame["entry_bar"][src]), int(self.frame["exit_bar"][src])


def _rows_qt_measures(top: int, bottom: int, n: int, precision: int) -> np.ndarray:
    """The view rows QTableView::sizeHintForColumn reads (qtableview.cpp): those in view, up to `precision`;
    then, while fewer than `precision`, one below and one above in turn (only below or above at an end)."""
    rows = list(range(top, bottom + 1))
    if precision > 0:
        rows = rows[:precision]
    processed = len(rows) if precision != 0 else precision
    idx_top, idx_bottom, last = top, top + len(rows) - 1, n - 1
    while processed != precision and (idx_top > 0 or idx_bottom < last):
        if (processed % 2 and idx_top > 0) or idx_bottom == last:
            idx_top -= 1
            rows.append(idx_top)
        else:
            idx_bottom += 1
            rows.append(idx_bottom)
        processed += 1
    return np.asarray(rows, dtype=np.int64)


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

    def set_trades(self, df: pl.DataFrame | TradesPrep) -> None:
        """Show `df` (result.trades, or it made ready by `prepare_trades`), keeping the current sort column
        and order."""
        self.trades_model.set_prepared(df if isinstance(df, TradesPrep) else prepare_trades(df))
        header = self.horizontalHeader()
        self.trades_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.fit_columns()

    def fit_columns(self) -> list[str]:
        """Only the columns that fit the width, by PRIORITY (fit_columns.py); returns the titles left out."""
        return self.fitter.fit()

    def sizeHintForColumn(self, column: int) -> int:  # noqa: N802 - Qt API
        """Qt's own width for `column` (the widest delegate size hint over the rows Qt looks at: those in
        view, then others near them up to the header's resizeContentsPrecision, 1000), asking the
        delegate about one row per distinct text shape instead of about every row: on a 1M-bar result
        Qt's loop of a thousand rows x 14 columns of Python data() calls blocked the UI for ~1.5 s.
        Exact while the font's digits are all equally wide (the usual tabular figures); otherwise Qt's."""
        model = self.trades_model
        n = model.rowCount()
        if n == 0 or not 0 <= column < model.columnCount() or not self._digits_even():
            return super().sizeHintForColumn(column)
        precision = self.horizontalHeader().resizeContentsPrecision()
        vheader = self.verticalHeader()
        top = max(0, vheader.visualIndexAt(0))
        bottom = vheader.visualIndexAt(self.viewport().height())
        if not self.isVisible() or bottom == -1:
            bottom = n - 1
        rows = _rows_qt_measures(top, bottom, n, precision)
        option = QtWidgets.QStyleOptionViewItem()
        self.initViewItemOption(option)
        delegate = self.itemDelegate()
        hint = 0
        for row in model.shape_rows(column, rows):
            hint = max(hint, delegate.sizeHint(option, model.index(int(row), column)).width())
        return hint + 1 if self.showGrid() else hint

    def _digits_even(self) -> bool:
        fonts = (self.font(), self.trades_model._italic)
        return all(len({QtGui.QFontMetricsF(f).horizontalAdvance(d) for d in "0123456789"}) == 1 for f in fonts)

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
