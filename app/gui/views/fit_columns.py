"""Tables that fit their width: each column as wide as its cells, and only as many columns as fit, most read
first; the rest come back as the table widens. Nothing a person reads sits behind a sideways scroll bar at
1280x800; the header's tooltip names what is left out."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

Qt = QtCore.Qt


class ColumnFitter(QtCore.QObject):
    """Fits `view`'s columns now (`fit`) and whenever its viewport changes width. `order()` gives the column
    indexes most read first (default: left to right)."""

    def __init__(self, view: QtWidgets.QTableView, order: Callable[[], list[int]] | None = None,
                 hint: str = "widen the table") -> None:
        super().__init__(view)
        self.view = view
        self.order = order or (lambda: list(range(view.model().columnCount() if view.model() else 0)))
        self.hint = hint
        self.hidden_titles: list[str] = []
        self._width = -1
        # a stretched last section keeps its own size hint when the room is short: it is what overflowed
        view.horizontalHeader().setStretchLastSection(False)
        view.viewport().installEventFilter(self)

    def fit(self) -> list[str]:
        """Show the columns that fit, by `order()`, strictly (none after the first left out); returns the
        titles of the columns left out."""
        view, model = self.view, self.view.model()
        header = view.horizontalHeader()
        metrics = header.fontMetrics()
        room = view.viewport().width() or view.width()
        self._width = room
        used = 0
        hidden: list[str] = []
        for col in self.order():
            title = str(model.headerData(col, Qt.Orientation.Horizontal) or "")
            width = max(view.sizeHintForColumn(col), metrics.horizontalAdvance(title) + 14,  # no sort-arrow room
                        header.minimumSectionSize())
            fits = not hidden and used + width <= room
            view.setColumnHidden(col, not fits)
            if fits:
                view.setColumnWidth(col, width)
                used += width
            else:
                hidden.append(title)
        self.hidden_titles = hidden
        header.setToolTip(f"Not shown for lack of room: {', '.join(hidden)} ({self.hint})" if hidden else "")
        return hidden

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QtCore.QEvent.Type.Resize and self.view.viewport().width() != self._width:
            QtCore.QTimer.singleShot(0, self, self.fit)  # after the layout settles; dropped if the view is gone
        return False
