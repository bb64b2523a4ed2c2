"""The first-run tour: an overlay over the main window that frames one part at a time and says what it is for.

Shown once (the window records `tour/seen` in its settings when the tour is finished or skipped); Help >
Show the tour brings it back. Esc or Skip ends it, Enter or Next moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme

SEEN_KEY = "tour/seen"


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    target: Callable[[], QtCore.QRect]  # in the window's coordinates


class Tour(QtWidgets.QWidget):
    """Covers `window` (a child of it, so it follows resizes): dims everything but the step's target."""

    finished = QtCore.Signal()

    def __init__(self, window: QtWidgets.QWidget, steps: list[Step]) -> None:
        super().__init__(window)
        self.setObjectName("tour")
        self.window_ = window
        self.steps = steps
        self.index = 0
        self.bubble = QtWidgets.QFrame(self)
        self.bubble.setObjectName("tourBubble")
        self.bubble.setStyleSheet(f"#tourBubble {{ background: {theme.PANEL}; border: 2px solid {theme.ACCENT};"
                                  " border-radius: 6px; } #tourBubble QLabel { background: transparent; }")
        self.title = QtWidgets.QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 15px;")
        self.text = QtWidgets.QLabel(wordWrap=True)
        self.counter = QtWidgets.QLabel()
        self.counter.setStyleSheet(f"color: {theme.MUTED};")
        self.skip_button = QtWidgets.QPushButton("Skip tour")
        self.next_button = QtWidgets.QPushButton("Next")
        self.next_button.setDefault(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.counter, 1)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.next_button)
        layout = QtWidgets.QVBoxLayout(self.bubble)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.bubble.setFixedWidth(360)
        self.skip_button.clicked.connect(self.finish)
        self.next_button.clicked.connect(self.next)
        QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), self, self.finish)
        for key in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            QtGui.QShortcut(QtGui.QKeySequence(key), self, self.next)
        window.installEventFilter(self)

    def start(self) -> None:
        self.setGeometry(self.window_.rect())
        self.index = 0
        self.show()
        self.raise_()
        self._show_step()
        self.next_button.setFocus()

    def next(self) -> None:
        if self.index + 1 >= len(self.steps):
            self.finish()
            return
        self.index += 1
        self._show_step()

    def finish(self) -> None:
        if self.isVisible():
            self.hide()
            self.finished.emit()

    def target(self) -> QtCore.QRect:
        return self.steps[self.index].target().adjusted(-4, -4, 4, 4)

    def _show_step(self) -> None:
        step = self.steps[self.index]
        self.title.setText(step.title)
        self.text.setText(step.text)
        self.counter.setText(f"{self.index + 1} of {len(self.steps)}")
        self.next_button.setText("Done" if self.index + 1 == len(self.steps) else "Next")
        self.bubble.adjustSize()
        self._place_bubble()
        self.update()

    def _place_bubble(self) -> None:
        """Beside the target: right of it if there is room, else left, else below; always inside the window."""
        t, b, w = self.target(), self.bubble.size(), self.rect()
        x = t.right() + 16 if t.right() + 16 + b.width() <= w.width() else t.left() - 16 - b.width()
        y = t.top()
        if x < 0:
            x, y = t.left(), t.bottom() + 16
        x = max(8, min(x, w.width() - b.width() - 8))
        y = max(8, min(y, w.height() - b.height() - 8))
        self.bubble.move(x, y)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        shade = QtGui.QPainterPath()
        shade.addRect(QtCore.QRectF(self.rect()))
        hole = QtGui.QPainterPath()
        hole.addRoundedRect(QtCore.QRectF(self.target()), 6, 6)
        painter.fillPath(shade.subtracted(hole), QtGui.QColor(0, 0, 0, 150))
        painter.setPen(QtGui.QPen(QtGui.QColor(theme.ACCENT), 3))
        painter.drawPath(hole)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt name)
        if obj is self.window_ and event.type() == QtCore.QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.window_.rect())
            self._place_bubble()
        return False

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802 (Qt name)
        event.accept()  # the window under the shade is not clickable while the tour is up
