"""The order log of a run whose kernels run as Python (engine/kernels/jit.py) equals numba's, fill by fill: the
log's writers (engine/kernels/simulate_log.py) under vectorbt's accumulation, the only runs that keep one
(docs/simulation.md#the-order-log). The Python runs happen in a fresh child process, as in
tests/engine/test_python_kernels.py, which compares everything else."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.kernels import jit

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = """
from engine.config import SimConfig
from tests.engine.market import random_bars

def scenarios():
    for k, (strategy, direction, sizing, size, stops) in enumerate([
            ("donchian_breakout", "long", "fixed", 5.0, {}), ("rsi_reversion", "both", "value", 1_500.0, {}),
            ("donchian_breakout", "short", "percent", 0.3, {"sl": 0.03}),
            ("macd", "both", "all", 1.0, {"trail": 0.02})]):
        cfg = SimConfig.preset("vectorbt", init_cash=10_000, commission=0.001, accumulate=True, direction=direction,
                               sizing=sizing, size=size, **stops)
        yield k, random_bars(700 + k, 900, tick=0.5 if k % 2 else None), strategy, cfg
"""

_CHILD = SCENARIOS + """
import pickle, sys
from engine.backtest import run_backtest
out = {k: run_backtest(bars, strategy, {}, cfg).order_log.copy() for k, bars, strategy, cfg in scenarios()}
out["numba loaded"] = "numba" in sys.modules
sys.stdout.buffer.write(pickle.dumps(out))
"""


def test_python_order_logs_equal_numba_order_logs():
    from engine.backtest import run_backtest

    proc = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    python_logs = pickle.loads(proc.stdout)
    assert python_logs.pop("numba loaded") is False
    jit.use_numba()
    namespace: dict = {}
    exec(SCENARIOS, namespace)
    for k, bars, strategy, cfg in namespace["scenarios"]():
        got, want = python_logs[k], run_backtest(bars, strategy, {}, cfg).order_log
        assert got.dtype == want.dtype and len(got) == len(want) > 0, k
        for field in want.dtype.names:  # field by field: the padding bytes between fields are not data
            np.testing.assert_array_equal(got[field], want[field], err_msg=f"{k} {field}")
