"""The strategy panel's simulation form: a compat preset leaves free only what the peer has and the preset
reproduces."""

from PySide6.QtCore import Qt

from app.gui.panels.strategy_panel import StrategyPanel
from engine.config import SimConfig


def test_a_preset_locks_what_it_fixes_and_keeps_the_direction_free(qtbot):
    panel = StrategyPanel()
    qtbot.addWidget(panel)
    panel.show()
    compat = panel.sim["compat"]
    compat.setCurrentText("backtesting")
    assert panel.sim["direction"].isEnabled() and panel.sim["commission"].isEnabled()
    assert panel.sim["slippage"].isEnabled() and not panel.sim["sl"].isEnabled()  # slippage: its spread
    panel.sim["direction"].setCurrentText("both")
    assert panel.config() == SimConfig.preset("backtesting", init_cash=panel.sim["init_cash"].value(),
                                              commission=panel.sim["commission"].value() / 100, direction="both")
    compat.setCurrentText("vectorbt")
    assert panel.sim["direction"].isEnabled() and not panel.sim["fill"].isEnabled()
    assert not panel.sim["slippage"].isEnabled()  # vectorbt's from_signals: none reproduced
    assert panel.config() == SimConfig.preset("vectorbt", init_cash=panel.sim["init_cash"].value(),
                                              commission=panel.sim["commission"].value() / 100, direction="both")
    panel.sim["direction"].setCurrentText("long")
    panel.sim["sizing"].setCurrentText("percent")
    panel.sim["size"].setValue(0.5)
    panel.sim["sl"].setValue(3.0)  # percent in the form
    assert panel.config() == SimConfig.preset("vectorbt", init_cash=panel.sim["init_cash"].value(),
                                              commission=panel.sim["commission"].value() / 100, sizing="percent",
                                              size=0.5, sl=0.03)
    panel.sim["direction"].setCurrentText("both")
    panel.sim["sizing"].setCurrentText("all")
    panel.sim["sl"].setValue(0.0)
    compat.setCurrentText("none")
    assert panel.sim["slippage"].isEnabled() and panel.sim["direction"].isEnabled()
    qtbot.mouseClick(panel.reload_button, Qt.MouseButton.LeftButton)  # the form survives a reload
    assert panel.config().direction == "both"


def test_options_without_an_editor_come_from_the_settings(qtbot):
    """The form edits cash, fees, stops, fill, sizing and direction; margin, maintenance, at_end, the entry
    rules and the warm-up come from the settings it was given (Preferences), not from SimConfig's defaults."""
    panel = StrategyPanel()
    qtbot.addWidget(panel)
    settings = SimConfig(margin=0.5, maintenance=0.2, at_end="close", on_entry_while_long="reenter", commission=0.001)
    panel.apply_defaults(settings)
    cfg = panel.config()
    assert (cfg.margin, cfg.maintenance, cfg.at_end, cfg.on_entry_while_long) == (0.5, 0.2, "close", "reenter")
    assert cfg.commission == 0.001
    panel.sim["commission"].setValue(0.2)  # percent in the form: the form wins for what it edits
    assert panel.config().commission == 0.002 and panel.config().margin == 0.5
