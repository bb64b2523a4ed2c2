"""Strategy picker, parameter editors generated from the param spec, and simulation settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.config import COMPATS, DIRECTIONS, FILLS, PRESET_OPTIONS, SIZINGS, SimConfig

PERCENT_FIELDS = {"commission": (0.0, 10.0, 0.01), "slippage": (0.0, 10.0, 0.01),
                  "sl": (0.0, 99.0, 0.5), "tp": (0.0, 1000.0, 0.5), "trail": (0.0, 99.0, 0.5),
                  "risk_free_rate": (-99.0, 99.0, 0.25)}
CHOICES = {"fill": FILLS, "sizing": SIZINGS, "direction": DIRECTIONS, "compat": ("none", *COMPATS)}


class StrategyPanel(QWidget):
    strategy_changed = Signal(object)  # the Strategy
    reload_requested = Signal()

    def __init__(self, strategies_dir: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.strategies_dir = strategies_dir
        self._base = SimConfig()  # what the form has no editor for (apply_defaults)
        self._strategies: dict[str, Any] = {}
        self.param_editors: dict[str, QSpinBox | QDoubleSpinBox] = {}

        self.picker = QComboBox()
        self.picker.setObjectName("strategyPicker")
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Reload user strategies from the strategies folder")
        self.errors = QLabel()
        self.errors.setObjectName("loadErrors")
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #ef5350;")
        self.errors.hide()
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("muted")

        top = QHBoxLayout()
        top.addWidget(self.picker, 1)
        top.addWidget(self.reload_button)
        self.params_box = QGroupBox("Parameters")
        self.params_form = QFormLayout(self.params_box)
        self.sim_box = QGroupBox("Simulation")
        self.sim_form = QFormLayout(self.sim_box)
        self._build_sim()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.errors)
        layout.addWidget(self.description)
        layout.addWidget(self.params_box)
        layout.addWidget(self.sim_box)
        layout.addStretch(1)

        self.picker.currentTextChanged.connect(self._on_pick)
        self.reload_button.clicked.connect(self.reload)
        self.reload()

    # ------------------------------------------------------------------ strategies
    def reload(self) -> list:
        """Re-read builtins and the user folder; show load errors with file and line."""
        from engine.strategies import BUILTINS, load_user_strategies

        current = self.picker.currentText()
        user: dict[str, Any] = {}
        errors: list[Any] = []
        if self.strategies_dir:
            user, errors = load_user_strategies(self.strategies_dir)
        self._strategies = {**BUILTINS, **dict(sorted(user.items()))}
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItems(list(self._strategies))
        self.picker.blockSignals(False)
        self.errors.setText("\n".join(f"⚠ {e}" for e in errors))
        self.errors.setVisible(bool(errors))
        self.select(current if current in self._strategies else next(iter(self._strategies)))
        return errors

    def select(self, name: str) -> None:
        if self.picker.currentText() == name:
            self._on_pick(name)
        else:
            self.picker.setCurrentText(name)

    def strategy(self):
        return self._strategies[self.picker.currentText()]

    def _on_pick(self, name: str) -> None:
        if name not in self._strategies:
            return
        strat = self._strategies[name]
        self.description.setText(strat.description)
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.param_editors = {}
        for p in strat.params:
            editor: QSpinBox | QDoubleSpinBox
            if p.type is int:
                editor = QSpinBox()
                editor.setRange(int(p.min), int(p.max))
                editor.setSingleStep(max(1, int(p.step)))
            else:
                editor = QDoubleSpinBox()
                editor.setDecimals(4)
                editor.setRange(float(p.min), float(p.max))
                editor.setSingleStep(float(p.step))
            editor.setValue(p.default)
            editor.setObjectName(f"param_{p.name}")
            editor.setToolTip(f"{p.name}: {p.type.__name__} in [{p.min}, {p.max}], step {p.step}")
            self.param_editors[p.name] = editor
            self.params_form.addRow(p.name, editor)
        self.strategy_changed.emit(strat)

    def params(self) -> dict[str, Any]:
        return {name: ed.value() for name, ed in self.param_editors.items()}

    def set_params(self, params: dict[str, Any]) -> None:
        for name, value in params.items():
            if name in self.param_editors:
                self.param_editors[name].setValue(value)

    # ------------------------------------------------------------------ simulation settings
    def _build_sim(self) -> None:
        d = SimConfig()
        self.sim: dict[str, QWidget] = {}
        cash = QDoubleSpinBox()
        cash.setRange(1.0, 1e12)
        cash.setDecimals(2)
        cash.setValue(d.init_cash)
        cash.setGroupSeparatorShown(True)
        self._add_sim("init_cash", "Cash", cash)
        for name, (lo, hi, step) in PERCENT_FIELDS.items():
            box = QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setDecimals(3)
            box.setSuffix(" %")
            box.setSpecialValueText("off" if name in ("sl", "tp", "trail") else "")
            label = {"commission": "Commission", "slippage": "Slippage", "sl": "Stop-loss", "tp": "Take-profit",
                     "trail": "Trailing stop", "risk_free_rate": "Risk-free rate (a year)"}[name]
            self._add_sim(name, label, box)
        for name, options in CHOICES.items():
            combo = QComboBox()
            combo.addItems(list(options))
            self._add_sim(name, name.capitalize(), combo)
        size = QDoubleSpinBox()
        size.setRange(0.0001, 1e9)
        size.setDecimals(4)
        size.setValue(1.0)
        self._add_sim("size", "Size", size)
        for box in (cash, size):  # their ranges' widest text would make the panel wider than its column at 1280 px
            box.setMinimumWidth(120)
        self.sim["compat"].currentTextChanged.connect(self._compat_changed)  # type: ignore[attr-defined]

    def apply_defaults(self, sim: SimConfig) -> None:
        """Show `sim` (e.g. the settings' simulation defaults) in the simulation editors; the options the form
        has no editor for (margin, maintenance, at_end, ...) come from it too (`config`)."""
        self._base = sim
        self.sim["init_cash"].setValue(sim.init_cash)  # type: ignore[attr-defined]
        for name in PERCENT_FIELDS:
            value = getattr(sim, name)
            self.sim[name].setValue((value or 0.0) * 100.0)  # type: ignore[attr-defined]
        for name in ("fill", "sizing", "direction"):
            self.sim[name].setCurrentText(getattr(sim, name))  # type: ignore[attr-defined]
        self.sim["size"].setValue(sim.size)  # type: ignore[attr-defined]

    def _add_sim(self, name: str, label: str, widget: QWidget) -> None:
        widget.setObjectName(f"sim_{name}")
        self.sim[name] = widget
        self.sim_form.addRow(label, widget)

    def _compat_changed(self, compat: str) -> None:
        """A preset fixes every option but those the peer has and the preset reproduces (PRESET_OPTIONS)."""
        free = PRESET_OPTIONS.get(compat, set()) | {"compat"}
        for name, widget in self.sim.items():
            widget.setEnabled(compat == "none" or name in free)

    def config(self) -> SimConfig:
        """The SimConfig the settings describe (ConfigError if a combination is invalid)."""
        v: dict[str, Any] = {"init_cash": self.sim["init_cash"].value(),  # type: ignore[attr-defined]
                             "commission": self.sim["commission"].value() / 100.0,  # type: ignore[attr-defined]
                             "risk_free_rate": self.sim["risk_free_rate"].value() / 100.0}  # type: ignore[attr-defined]
        v["slippage"] = self.sim["slippage"].value() / 100.0  # type: ignore[attr-defined]
        for name in ("sl", "tp", "trail"):
            pct = self.sim[name].value()  # type: ignore[attr-defined]
            v[name] = pct / 100.0 if pct > 0 else None
        for name in ("fill", "sizing", "direction"):
            v[name] = self.sim[name].currentText()  # type: ignore[attr-defined]
        v["size"] = self.sim["size"].value()  # type: ignore[attr-defined]
        compat = self.sim["compat"].currentText()  # type: ignore[attr-defined]
        if compat != "none":  # the options the preset accepts (the others are locked in the form)
            free = {k: x for k, x in v.items() if k in PRESET_OPTIONS[compat]}
            return SimConfig.preset(compat, **{k: x for k, x in free.items() if x != getattr(SimConfig(), k)})
        return self._base.replace(**v)

    def state(self) -> dict[str, Any]:
        sim = {k: (w.currentText() if isinstance(w, QComboBox) else w.value())  # type: ignore[attr-defined]
               for k, w in self.sim.items()}
        return {"strategy": self.picker.currentText(), "params": self.params(), "sim": sim}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("strategy") in self._strategies:
            self.select(state["strategy"])
        self.set_params(state.get("params") or {})
        for k, value in (state.get("sim") or {}).items():
            w = self.sim.get(k)
            if isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif w is not None:
                w.setValue(float(value))  # type: ignore[attr-defined]
