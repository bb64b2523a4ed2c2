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
    compat.setCurrentText("none")
    assert panel.sim["slippage"].isEnabled() and panel.sim["direction"].isEnabled()
    qtbot.mouseClick(panel.reload_button, Qt.MouseButton.LeftButton)  # the form survives a reload
    assert panel.config().direction == "both"
