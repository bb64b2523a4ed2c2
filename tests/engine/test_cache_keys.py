"""Cache keys: every component of a backtest changes the key; the same inputs give the same key everywhere."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import engine
import engine.cache.keys as keys_module
from engine.bars import Bars
from engine.cache import backtest_key, backtest_keys, make_key, sweep_row_key
from engine.config import SimConfig
from engine.data.demo import generate_bars
from engine.strategies import get_strategy

ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"n1": 10, "n2": 30}

# One valid, different value per SimConfig field (from the default config).
CHANGED = {
    "init_cash": 20_000.0, "commission": 0.001, "fixed_fee": 1.0, "slippage": 0.001, "fill": "close",
    "sizing": "fixed", "size": 2.0, "sl": 0.05, "tp": 0.1, "trail": 0.05, "direction": "both",
    "on_entry_while_long": "reenter", "same_bar_conflict": "entry_wins", "at_end": "close",
    "warmup_bars": 5, "risk_free_rate": 0.03, "margin": 0.5, "maintenance": 0.1, "compat": "vectorbt",
    "accumulate": True, "on_opposite_entry": "close",
}


@pytest.fixture(scope="module")
def bars():
    return generate_bars("ACME", 300)


def key(bars, strategy="sma_cross", params=PARAMS, config=None):
    return backtest_key(bars, strategy, params, config or SimConfig())


def test_every_config_field_changes_the_key(bars):
    fields = {f.name for f in dataclasses.fields(SimConfig)}
    assert fields == set(CHANGED), "a new SimConfig field: add a changed value for it here"
    base = key(bars)
    seen = {base}
    for name, value in CHANGED.items():
        k = key(bars, config=dataclasses.replace(SimConfig(), **{name: value}))
        assert k not in seen, name
        seen.add(k)


def test_dataset_components_change_the_key(bars):
    base = key(bars)
    close = bars.close.copy()
    close[150] *= 1.0001
    variants = {
        "content": Bars(bars.ts, bars.open, bars.high, bars.low, close, bars.volume, bars.symbol, bars.timeframe),
        "symbol": Bars(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, "OTHER", bars.timeframe),
        "timeframe": Bars(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, bars.symbol, "1h"),
        "rows": bars.slice(0, 299),
        "first_ts": Bars(bars.ts + 60_000_000_000, bars.open, bars.high, bars.low, bars.close, bars.volume,
                         bars.symbol, bars.timeframe),
    }
    keys = {name: key(b) for name, b in variants.items()}
    assert base not in keys.values()
    assert len(set(keys.values())) == len(keys)


def test_strategy_params_engine_version_and_kind_change_the_key(bars, monkeypatch):
    base = key(bars)
    strat = get_strategy("sma_cross")

    class Bumped(type(strat)):
        version = strat.version + 1

    class SameVersionEditedCode(type(strat)):
        pass

    assert key(bars, strategy="ema_cross", params={}) != key(bars, params={})
    assert key(bars, strategy=Bumped()) != base
    assert key(bars, strategy=SameVersionEditedCode()) != base  # class source is part of the key
    assert key(bars, params={"n1": 11, "n2": 30}) != base
    assert backtest_key(bars, "sma_cross", PARAMS, SimConfig(), kind="stats") != base
    assert sweep_row_key(bars, "sma_cross", PARAMS, SimConfig()) != base
    monkeypatch.setattr(engine, "__version__", engine.__version__ + ".post1")
    monkeypatch.setattr(keys_module, "_engine_version", [])
    assert key(bars) != base


@pytest.mark.parametrize(("edited", "misses"), [
    ("kernels/simulate.py", True),
    ("strategies/memo.py", True),  # reached only through other modules' imports
    ("cache/codec.py", True),
    ("data/store.py", False),  # not on the path from bars to stats
    ("runtime/hardware.py", False),
])
def test_edited_engine_code_changes_the_key_without_a_version_bump(bars, monkeypatch, tmp_path, edited, misses):
    """The modules hashed are found from the import statements (on 48df530 a hand-kept list of nine
    files missed e.g. engine/strategies/memo.py and every cache module)."""
    import shutil
    from pathlib import Path

    real = Path(engine.__file__).resolve().parent
    shutil.copytree(real, tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "__file__", str(tmp_path / "engine" / "__init__.py"))
    monkeypatch.setattr(keys_module, "_engine_version", [])
    same_code = key(bars)
    with open(tmp_path / "engine" / edited, "a") as f:
        f.write("\n# an edit\n")
    monkeypatch.setattr(keys_module, "_engine_version", [])
    assert (key(bars) != same_code) is misses


def test_equal_inputs_give_equal_keys(bars):
    base = key(bars)
    copy = Bars(bars.ts.copy(), bars.open.copy(), bars.high.copy(), bars.low.copy(), bars.close.copy(),
                bars.volume.copy(), bars.symbol, bars.timeframe)
    assert key(copy) == base
    assert key(bars, params={"n1": "10", "n2": 30.0}) == base  # params are resolved first
    assert key(bars, strategy=get_strategy("sma_cross")) == base
    assert key(bars, params={"n2": 30, "n1": 10}) == base
    assert backtest_keys(bars, "sma_cross", [PARAMS, {"n1": 5, "n2": 20}], SimConfig()) == [
        base, key(bars, params={"n1": 5, "n2": 20})]
    assert backtest_keys(bars, "sma_cross", [PARAMS], SimConfig(), kind="stats") == [
        sweep_row_key(bars, "sma_cross", PARAMS, SimConfig())]


def test_key_is_the_same_in_a_new_process(bars):
    code = ("from engine.cache import backtest_key; from engine.config import SimConfig; "
            "from engine.data.demo import generate_bars; "
            "print(backtest_key(generate_bars('ACME', 300), 'sma_cross', {'n1': 10, 'n2': 30}, "
            "SimConfig(commission=0.001)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == key(bars, config=SimConfig(commission=0.001))


def test_make_key_canonicalises_and_refuses_unkeyable_values():
    a = np.arange(5.0)
    assert make_key("x", a) == make_key("x", a.copy())
    assert make_key("x", a) != make_key("x", a.astype(np.float32))
    assert make_key("x", {"a": 1, "b": 2}) == make_key("x", {"b": 2, "a": 1})
    assert make_key(1) != make_key(True) != make_key(1.0)
    assert make_key(float("nan")) == make_key(float("nan"))
    assert make_key(np.int64(3)) == make_key(3)
    with pytest.raises(TypeError):
        make_key(object())
    with pytest.raises(TypeError):
        make_key({1: "non-str key"})
