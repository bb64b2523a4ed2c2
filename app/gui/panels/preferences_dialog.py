"""Preferences…: edit the settings file, with a form generated from the settings model.

    PreferencesDialog(parent).exec()

One group per section of `app.settings.Settings`, one editor per key: a check box for booleans, a
combo box for choices, spin boxes for numbers (the model's min/max), a line edit for text and paths
(empty = the platform default, shown as the placeholder). The form shows the file's values, not the
environment's: a key an environment variable overrides says so next to its editor. Save checks every
value with the same rules as `backbench` (errors name the key and keep the dialog open), then rewrites
the file as `backbench config init` writes it (same comments, the new values).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import (
    KEYS,
    SECTIONS,
    KeySpec,
    Settings,
    config_path,
    load_settings,
    settings_from_values,
    write_settings_file,
)
from engine.errors import ConfigError

_FLOAT_DECIMALS = 6
_DIR_KEYS = ("cache.dir", "numba.cache_dir", "strategies.dir")


class PreferencesDialog(QDialog):
    """Edits the settings file (`path`, default: `config_path()`); `saved` carries the Settings read back."""

    saved = Signal(object)

    def __init__(self, parent: QWidget | None = None, path: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("preferencesDialog")
        self.resize(720, 640)
        self.env = os.environ if env is None else env
        self.path = Path(path) if path is not None else config_path(self.env)
        self.editors: dict[str, QWidget] = {}
        self.status = QLabel()
        self.status.setObjectName("preferencesStatus")
        self.status.setWordWrap(True)

        body = QWidget()
        column = QVBoxLayout(body)
        for section, cls in SECTIONS.items():
            group = QGroupBox(f"{section} — {(cls.__doc__ or '').strip()}")
            form = QFormLayout(group)
            for spec in (s for s in KEYS if s.section == section):
                editor = self._editor(spec)
                self.editors[spec.key] = editor
                form.addRow(spec.name, self._row(spec, editor))
            column.addWidget(group)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.RestoreDefaults)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            lambda: self.set_values(Settings().values()))
        layout = QVBoxLayout(self)
        where = QLabel(f"Settings file: {self.path}  (environment variables and command-line flags override it; "
                       "saving rewrites it with its standard comments)")
        where.setWordWrap(True)
        layout.addWidget(where)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.reload()

    # -- building ------------------------------------------------------------------------------------
    def _editor(self, spec: KeySpec) -> QWidget:
        tip = f"{spec.help}\nDefault: {spec.describe_default()}\nEnvironment: {spec.env}"
        if spec.flag:
            tip += f"\nFlag: {spec.flag}"
        editor: QWidget
        if spec.type is bool:
            editor = QCheckBox()
        elif spec.choices is not None:
            editor = QComboBox()
            editor.addItems(list(spec.choices))
        elif spec.type is int:
            editor = QSpinBox()
            editor.setRange(int(spec.min if spec.min is not None else 0),
                            int(spec.max if spec.max is not None else 2**31 - 1))
        elif spec.type is float:
            editor = QDoubleSpinBox()
            editor.setDecimals(_FLOAT_DECIMALS)
            low = spec.min if spec.min is not None else 0.0
            high = spec.max if spec.max is not None else 1e12
            editor.setRange(low, high)
            editor.setSingleStep(0.0005 if high <= 1.0 else 1.0)
        else:
            editor = QLineEdit()
            if spec.kind == "path":
                editor.setPlaceholderText(self._default_path(spec))
        editor.setObjectName(f"pref_{spec.section}_{spec.name}")
        editor.setToolTip(tip)
        return editor

    def _row(self, spec: KeySpec, editor: QWidget) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(editor, 1)
        if spec.kind == "path":
            browse = QPushButton("Browse…")
            browse.clicked.connect(lambda _=False, s=spec, e=editor: self._browse(s, e))
            box.addWidget(browse)
        overridden = self.env.get(spec.env)
        if overridden:
            note = QLabel(f"overridden by {spec.env}")
            note.setObjectName(f"pref_override_{spec.section}_{spec.name}")
            note.setToolTip(f"{spec.env}={overridden}")
            box.addWidget(note)
        return row

    @staticmethod
    def _default_path(spec: KeySpec) -> str:
        blank = Settings()
        resolved = {"store.path": blank.store_path, "cache.dir": blank.cache_dir,
                    "strategies.dir": blank.strategies_dir}.get(spec.key)
        return str(resolved()) if resolved is not None else (spec.default_doc or "")

    def _browse(self, spec: KeySpec, editor: QLineEdit) -> None:
        start = editor.text() or editor.placeholderText()
        if spec.key in _DIR_KEYS:
            chosen = QFileDialog.getExistingDirectory(self, spec.help, start)
        elif spec.key.startswith("sweep.tls_"):
            chosen, _ = QFileDialog.getOpenFileName(self, spec.help, start,
                                                    "PEM files (*.pem *.crt *.key);;All files (*)")
        else:
            chosen, _ = QFileDialog.getSaveFileName(self, spec.help, start, "DuckDB store (*.duckdb);;All files (*)")
        if chosen:
            editor.setText(chosen)

    # -- values --------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Show the file's values (defaults where it is silent); a broken file shows its error."""
        try:
            settings = load_settings(env={}, path=self.path)
            self.status.setText("")
        except ConfigError as exc:
            settings = Settings()
            self._error(f"{exc}\nThe form shows the defaults; Save replaces the file.")
        self.set_values(settings.values())

    def set_values(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            editor = self.editors[key]
            if isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                editor.setCurrentText(str(value))
            elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                editor.setValue(value)
            elif isinstance(editor, QLineEdit):
                editor.setText(str(value))

    def values(self) -> dict[str, Any]:
        """{dotted key: value} as the form shows them."""
        out: dict[str, Any] = {}
        for key, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[key] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                out[key] = editor.currentText()
            elif isinstance(editor, QDoubleSpinBox):
                out[key] = round(float(editor.value()), _FLOAT_DECIMALS)
            elif isinstance(editor, QSpinBox):
                out[key] = int(editor.value())
            elif isinstance(editor, QLineEdit):
                out[key] = editor.text().strip()
        return out

    def save(self) -> bool:
        """Check, write, read back; close on success. False (dialog stays open) on a bad value."""
        values = self.values()
        try:
            settings_from_values(values)
            write_settings_file(self.path, values, force=True)
            settings = load_settings(env={}, path=self.path)
        except (ConfigError, OSError) as exc:
            self._error(str(exc))
            return False
        self.status.setStyleSheet("")
        self.status.setText(f"Saved {self.path}")
        self.saved.emit(settings)
        self.accept()
        return True

    def _error(self, message: str) -> None:
        self.status.setStyleSheet("color: #e06c75;")
        self.status.setText(message)
