"""A tab page that builds its widget the first time it is shown, so a tab few people open (the
Benchmarks tab: pyqtgraph plot, tables, ~60 ms) costs nothing while the window comes up."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtGui, QtWidgets


class LazyTab(QtWidgets.QWidget):
    def __init__(self, factory: Callable[[], QtWidgets.QWidget], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self.content: QtWidgets.QWidget | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def widget(self) -> QtWidgets.QWidget:
        """The page's widget, built now if it was not yet."""
        if self.content is None:
            self.content = self._factory()
            layout = self.layout()
            assert layout is not None
            layout.addWidget(self.content)
            self.content.show()  # a child added to a shown widget stays hidden unless told
        return self.content

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt name)
        self.widget()
        super().showEvent(event)
