"""Regression: PySide6 6.12.0 leaked a reference to None on each void call (CPython 3.11) and the
app aborted with 'none_dealloc' after a few seconds of live plotting. pyproject pins a good release."""

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_do_not_leak_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2_000):
        label.setText("x")
    assert abs(sys.getrefcount(None) - before) < 100
