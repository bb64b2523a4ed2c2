"""GUI tests run offscreen with PySide6; screenshots go to tests/_artifacts/screens (looked at by people)."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

SCREENS = Path(__file__).resolve().parents[2] / "_artifacts" / "screens"


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS


@pytest.fixture(autouse=True, scope="session")
def _pyqtgraph_theme():
    from app.gui.theme import configure_pyqtgraph

    configure_pyqtgraph()
