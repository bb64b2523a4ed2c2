"""Top-level functions the sweep tests run inside spawned workers (must be importable there)."""

import os


def thread_env() -> dict:
    import numba

    return {"env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                     "VECLIB_MAXIMUM_THREADS", "MKL_NUM_THREADS",
                                                     "NUMBA_NUM_THREADS")},
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "qt_loaded": any(m.startswith(("PySide6", "PyQt")) for m in __import__("sys").modules)}


USER_STRATEGY = '''
import os, signal, time
import numpy as np
from engine.strategies import Param, Signals, Strategy
from engine.kernels.indicators import sma_nb
from engine.kernels.signals import crossover_nb, crossunder_nb


class Fragile(Strategy):
    name = "fragile"
    params = (Param("n1", int, 5, 1, 100, 1), Param("n2", int, 20, 2, 200, 1))

    def signals(self, bars, n1, n2):
        if n1 == {kill}:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep({sleep})
        if n1 == {boom}:
            raise RuntimeError("boom at n1={boom}")
        fast, slow = sma_nb(bars.close, n1), sma_nb(bars.close, n2)
        return Signals(crossover_nb(fast, slow), crossunder_nb(fast, slow))
'''


def write_user_strategy(folder, kill=-1, boom=-1, sleep=0.0):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fragile.py"
    path.write_text(USER_STRATEGY.replace("{kill}", str(kill)).replace("{boom}", str(boom))
                    .replace("{sleep}", str(sleep)))
    return str(folder)


# Strategy objects defined in an importable module, as a user's own package would hold them
# (tests/engine/test_cache_stale_code.py ships them to spawned workers).
from engine.kernels.indicators import sma_nb as _sma  # noqa: E402
from engine.kernels.signals import crossover_nb as _over  # noqa: E402
from engine.kernels.signals import crossunder_nb as _under  # noqa: E402
from engine.strategies import Param as _Param  # noqa: E402
from engine.strategies import Signals as _Signals  # noqa: E402
from engine.strategies.builtins import SmaCross as _SmaCross  # noqa: E402


class ShadowSmaCross(_SmaCross):
    """Takes the builtin's name but trades the opposite crosses."""

    def signals(self, bars, **params):
        fast, slow = _sma(bars.close, params["n1"]), _sma(bars.close, params["n2"])
        return _Signals(_under(fast, slow), _over(fast, slow))


class LaggedCross(_SmaCross):
    """A new name, and an attribute set per instance that changes its signals."""

    name = "lagged_cross"
    params = (_Param("n1", int, 10, 1, 500, 1), _Param("n2", int, 20, 2, 1000, 1))

    def __init__(self, lag: int = 0):
        self.lag = lag

    def signals(self, bars, **params):
        fast, slow = _sma(bars.close, params["n1"] + self.lag), _sma(bars.close, params["n2"])
        return _Signals(_over(fast, slow), _under(fast, slow))
