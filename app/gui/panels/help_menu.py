"""The Help menu: the keyboard shortcuts (read from the window's own actions, so the list cannot go stale)
and the first-run tour again."""

from __future__ import annotations

import html

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMainWindow, QVBoxLayout, QWidget

# What a mouse or a key does inside a view (no QAction carries these).
IN_VIEWS = (
    ("Double-click a trade (or Enter)", "zoom the chart to that trade"),
    ("Click a heatmap cell", "run that parameter set and show it in Results"),
    ("Mouse wheel / drag on a chart", "zoom / pan; the three charts move together"),
)


def shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(what, keys) for every action of `window` that has a shortcut, in the order they were added."""
    rows = []
    for action in window.actions():
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…"), keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcutsDialog")
        rows = "".join(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td></tr>"
                       for what, keys in shortcuts(window))
        rows += "".join(f"<tr><td><b>{html.escape(how)}</b></td><td>{html.escape(what)}</td></tr>"
                        for how, what in IN_VIEWS)
        self.table = QLabel(f"<table cellspacing='6'>{rows}</table>")
        self.table.setObjectName("shortcutsTable")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)


def build_help_menu(window: QMainWindow, show_tour) -> dict[str, QAction]:
    """Help > Keyboard shortcuts… (F1), Show the tour; returns the actions by name."""
    menu = window.menuBar().addMenu("&Help")
    keys = QAction("Keyboard shortcuts…", window)
    keys.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    tour = QAction("Show the tour", window)
    menu.addAction(keys)
    menu.addAction(tour)
    window.addAction(keys)

    def open_shortcuts() -> ShortcutsDialog:
        dialog = ShortcutsDialog(window)
        dialog.open()
        window.shortcuts_dialog = dialog  # type: ignore[attr-defined]
        return dialog

    keys.triggered.connect(open_shortcuts)
    tour.triggered.connect(show_tour)
    return {"shortcuts": keys, "tour": tour}
