"""The stats of one backtest as a two-column table: readable names, formatted values."""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme

MISSING = "—"

# key -> (label, kind); kinds: date, days, pct, money, ratio, count. Units go in the label.
STAT_LABELS: dict[str, tuple[str, str]] = {
    "start": ("Start", "date"),
    "end": ("End", "date"),
    "duration": ("Duration", "days"),
    "exposure_time_pct": ("Exposure time [%]", "pct"),
    "equity_final": ("Equity final", "money"),
    "equity_peak": ("Equity peak", "money"),
    "return_pct": ("Return [%]", "pct"),
    "buy_hold_return_pct": ("Buy & hold return [%]", "pct"),
    "return_ann_pct": ("Return (ann.) [%]", "pct"),
    "volatility_ann_pct": ("Volatility (ann.) [%]", "pct"),
    "sharpe_ratio": ("Sharpe ratio", "ratio"),
    "sortino_ratio": ("Sortino ratio", "ratio"),
    "calmar_ratio": ("Calmar ratio", "ratio"),
    "max_drawdown_pct": ("Max drawdown [%]", "pct"),
    "avg_drawdown_pct": ("Avg drawdown [%]", "pct"),
    "max_drawdown_duration": ("Max drawdown duration", "days"),
    "n_trades": ("Trades", "count"),
    "win_rate_pct": ("Win rate [%]", "pct"),
    "best_trade_pct": ("Best trade [%]", "pct"),
    "worst_trade_pct": ("Worst trade [%]", "pct"),
    "avg_trade_pct": ("Avg trade [%]", "pct"),
    "max_trade_duration": ("Max trade duration", "days"),
    "avg_trade_duration": ("Avg trade duration", "days"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy_pct": ("Expectancy [%]", "pct"),
    "sqn": ("SQN", "ratio"),
}


def stat_label(key: str) -> str:
    """The readable name of a stat key; unknown keys get a plain rendering ("foo_pct" -> "Foo [%]")."""
    if key in STAT_LABELS:
        return STAT_LABELS[key][0]
    if key.endswith("_pct"):
        return key[:-4].replace("_", " ").capitalize() + " [%]"
    return key.replace("_", " ").capitalize()


def format_stat(key: str, value: Any) -> str:
    """A stat value as text: days as "123.0 d", percentages and ratios with 2 decimals, money with
    thousands separators, ISO dates without the "T"/"Z"; None and NaN as "—", infinities as "∞"."""
    kind = STAT_LABELS.get(key, ("", "pct" if key.endswith("_pct") else "ratio"))[1]
    if value is None:
        return MISSING
    if isinstance(value, str):
        if kind != "date":
            return value
        text = value.replace("T", " ").removesuffix("Z")  # ISO, UTC: to the minute, or the day
        return text.removesuffix(":00").removesuffix(" 00:00") if len(text) == 19 else text
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if kind == "days":
        return f"{v:,.1f} d"
    if kind == "money":
        return f"{v:,.2f}"
    if kind == "count":
        return f"{v:,.0f}"
    return f"{v:,.2f}"


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
        self.setRowCount(0)
        self.setRowCount(len(stats))
        right = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        for row, (key, value) in enumerate(stats.items()):
            name = QtWidgets.QTableWidgetItem(stat_label(key))
            name.setToolTip(key)
            text = format_stat(key, value)
            cell = QtWidgets.QTableWidgetItem(text)
            cell.setTextAlignment(right)
            cell.setData(QtCore.Qt.ItemDataRole.UserRole, value)
            if text == MISSING:
                cell.setForeground(QtGui.QColor(theme.MUTED))
                cell.setToolTip("not defined for this result (e.g. no closed trades)")
            elif key in ("return_pct", "avg_trade_pct", "expectancy_pct") and isinstance(value, (int, float)):
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
