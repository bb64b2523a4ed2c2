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
    assert not panel.sim["slippage"].isEnabled() and not panel.sim["sl"].isEnabled()
    panel.sim["direction"].setCurrentText("both")
    assert panel.config() == SimConfig.preset("backtesting", init_cash=panel.sim["init_cash"].value(),
                                              commission=panel.sim["commission"].value() / 100, direction="both")
    compat.setCurrentText("vectorbt")
    assert panel.sim["direction"].isEnabled() and not panel.sim["fill"].isEnabled()
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
