"""Preferences dialog: a form generated from the settings model that rewrites the settings file."""

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QLineEdit, QSpinBox

from app.gui.panels.preferences_dialog import PreferencesDialog
from app.settings import KEYS, Settings, load_settings


def make(qtbot, path, env=None) -> PreferencesDialog:
    dialog = PreferencesDialog(None, path=path, env=env or {})
    qtbot.addWidget(dialog)
    return dialog


def test_form_has_an_editor_of_the_right_kind_per_key(qtbot, tmp_path):
    dialog = make(qtbot, tmp_path / "backbench.toml")
    assert list(dialog.editors) == [spec.key for spec in KEYS]
    kinds = {"simulation.fill": QComboBox, "sweep.minimize": QCheckBox, "ui.refresh_hz": QSpinBox,
             "simulation.commission": QDoubleSpinBox, "store.path": QLineEdit, "sweep.metric": QComboBox}
    for key, kind in kinds.items():
        assert isinstance(dialog.editors[key], kind)
    assert dialog.values() == Settings().values()  # no file: the defaults
    assert dialog.editors["store.path"].placeholderText().endswith("backbench.duckdb")


def test_change_save_and_read_back(qtbot, tmp_path):
    path = tmp_path / "conf" / "backbench.toml"
    dialog = make(qtbot, path)
    dialog.editors["simulation.commission"].setValue(0.0015)
    dialog.editors["simulation.fill"].setCurrentText("close")
    dialog.editors["ui.refresh_hz"].setValue(60)
    dialog.editors["sweep.minimize"].setChecked(True)
    dialog.editors["store.path"].setText(str(tmp_path / "bars.duckdb"))
    with qtbot.waitSignal(dialog.saved) as saved:
        dialog.save_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    s = load_settings(env={}, path=path)
    assert (s.simulation.commission, s.simulation.fill, s.ui.refresh_hz, s.sweep.minimize) == (0.0015, "close", 60,
                                                                                                True)
    assert s.store_path() == tmp_path / "bars.duckdb" and saved.args[0] == s
    text = path.read_text()
    assert "# Commission per side" in text and "# Environment: BACKBENCH_DB; flag: --store." in text  # comments kept
    again = make(qtbot, path)  # a new dialog shows what was saved
    assert again.values() == s.values()


def test_bad_combination_is_refused_and_the_file_is_unchanged(qtbot, tmp_path):
    path = tmp_path / "backbench.toml"
    path.write_text("[ui]\nrefresh_hz = 20\n")
    dialog = make(qtbot, path)
    assert dialog.editors["ui.refresh_hz"].value() == 20
    dialog.editors["simulation.sizing"].setCurrentText("percent")
    dialog.editors["simulation.size"].setValue(3.0)
    assert dialog.save() is False
    assert "simulation.size=3.0 must be a fraction in (0, 1]" in dialog.status.text()
    assert path.read_text() == "[ui]\nrefresh_hz = 20\n"


def test_broken_file_shows_its_error_and_save_replaces_it(qtbot, tmp_path):
    path = tmp_path / "backbench.toml"
    path.write_text("[ui]\nrefresh = 20\n")
    dialog = make(qtbot, path, env={"BACKBENCH_DB": "/elsewhere.duckdb"})
    assert f"{path}:2: unknown key 'refresh' in [ui]" in dialog.status.text()
    assert dialog.findChild(object, "pref_override_store_path").text() == "overridden by BACKBENCH_DB"
    assert dialog.save() is True
    assert load_settings(env={}, path=path) == Settings()


def test_restore_defaults(qtbot, tmp_path):
    path = tmp_path / "backbench.toml"
    path.write_text("[simulation]\ncommission = 0.01\n")
    dialog = make(qtbot, path)
    dialog.buttons.button(dialog.buttons.StandardButton.RestoreDefaults).click()
    assert dialog.values() == Settings().values()
