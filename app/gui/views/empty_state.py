"""Empty and error states: what a view with nothing in it says instead (what to do next).

`hint_label` is the muted centred text that stands in a view's place; `Placeholder` writes such a text over
an empty table's viewport and hides itself when the table has rows.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gui import theme


def hint_label(text: str, name: str, error: bool = False) -> QtWidgets.QLabel:
    """Centred, wrapped, muted (or, for an error, red and selectable so it can be copied)."""
    label = QtWidgets.QLabel(text)
    label.setObjectName(name)
    label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setMargin(16)
    label.setStyleSheet(f"color: {theme.DOWN if error else theme.MUTED}; font-size: 15px;")
    if error:
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Placeholder(QtWidgets.QLabel):
    """A text over `view`'s viewport while its model has no rows (a table says what will fill it)."""

    def __init__(self, view: QtWidgets.QAbstractItemView, text: str, name: str) -> None:
        super().__init__(text, view.viewport())
        self.view = view
        self.setObjectName(name)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMargin(12)
        self.setStyleSheet(f"color: {theme.MUTED}; background: transparent;")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        view.viewport().installEventFilter(self)
        self.watch()

    def watch(self) -> None:
        """Follow the view's current model (call again after `setModel`)."""
        model = self.view.model()
        if model is not None:
            for sig in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
                sig.connect(self.sync)
        self.sync()

    def set_text(self, text: str) -> None:
        self.setText(text)
        self.sync()

    def sync(self, *_: object) -> None:
        model = self.view.model()
        empty = model is None or model.rowCount() == 0
        self.setGeometry(self.view.viewport().rect())
        self.setVisible(empty)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QtCore.QEvent.Type.Resize:
            self.setGeometry(self.view.viewport().rect())
        return False
