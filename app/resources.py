"""Where bundled files live: next to the sources (a checkout or an installed wheel), or inside a PyInstaller
bundle / macOS .app. `app/`, `benchmarks/` and `resources/` sit side by side in all three."""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder holding app/ (a checkout, site-packages) or the frozen bundle's data (Contents/Frameworks)."""
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller one-folder build
    return Path(frozen) if frozen else Path(__file__).resolve().parent.parent


def resource_dir() -> Path:
    return bundle_root() / "resources"


def resource(name: str) -> Path:
    return resource_dir() / name


def baselines_dir() -> Path:
    """The committed benchmark results the Benchmarks tab lists (benchmarks/baselines/*.json): package data
    of the wheel and data of the frozen bundle, so the tab finds them wherever the app runs from."""
    return bundle_root() / "benchmarks" / "baselines"
