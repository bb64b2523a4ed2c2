"""Child processes of the sweep suite: `python -m benchmarks.sweep_child ours|vectorbt` (see child.py).

ours: a LocalExecutor pool (spawn, shared-memory bars) running `run_sweep` on demo bars; every "sweep"
reply carries the sweep's own time and the peak RSS of this process plus its workers, sampled every
10 ms during the sweep.

vectorbt: imports numpy, pandas and vectorbt only (never our engine, so its memory is its own), and
runs vectorbt's own parameter sweep on bars and signals the parent wrote to .npz files:
`MA.run(close, n1s)`, `MA.run(close, n2s)` (run_unique: each distinct window once),
`ma_crossed_above/below`, `Portfolio.from_signals(close, entries, exits, fees, init_cash, freq)` over
all columns at once, and `pf.stats(agg_func=None)` (stats per column).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from benchmarks.child import serve
from benchmarks.procmem import PeakSampler, high_water_mb, release_free_memory

SEED = 20240611
SYMBOL = "BENCH"
TIMEFRAME = "1m"
INIT_CASH = 10_000.0
COMMISSION = 0.002

# name -> (grid {param: (start, stop_inclusive, step)}, where, random_n)
GRIDS: dict[str, tuple[dict[str, tuple[int, int, int]], str, int | None]] = {
    # issue 4: n1 in 5..100 step 5, n2 in 10..200 step 10, n1 < n2 (300 combos)
    "issue4": ({"n1": (5, 100, 5), "n2": (10, 200, 10)}, "n1 < n2", None),
    # 1,000 combos sampled (seeded) from a wider grid: the memory figure
    "random1000": ({"n1": (2, 200, 2), "n2": (10, 500, 10)}, "n1 < n2", 1000),
}


def grid_ranges(name: str) -> dict[str, range]:
    spec, _, _ = GRIDS[name]
    return {k: range(a, b + 1, s) for k, (a, b, s) in spec.items()}


def pairs(name: str) -> list[tuple[int, int]]:
    """(n1, n2) of every combo in run_sweep's order (itertools.product order, filtered): issue4 only."""
    spec, where, random_n = GRIDS[name]
    assert where == "n1 < n2" and random_n is None
    r = grid_ranges(name)
    return [(a, b) for a in r["n1"] for b in r["n2"] if a < b]


# ----------------------------------------------------------------------------------------------- ours

class Ours:
    def __init__(self) -> None:
        self.executor: Any = None
        self.bars: dict[int, Any] = {}

    def start(self, workers: int | None = None) -> dict[str, Any]:
        from engine.sweep.executors import LocalExecutor

        t0 = time.perf_counter()
        self.executor = LocalExecutor(workers).start()  # warm now: the timed sweeps never start a pool
        return {"workers": self.executor.workers, "pids": self.executor.worker_pids(),
                "start_s": time.perf_counter() - t0}

    def _bars(self, n: int):
        if n not in self.bars:
            from engine.data.demo import generate_bars

            self.bars[n] = generate_bars(SYMBOL, n, TIMEFRAME, seed=SEED)
        return self.bars[n]

    def pids(self) -> list[int]:
        return [os.getpid(), *self.executor.worker_pids()]

    def sweep(self, n: int, grid: str, chunk_size: int | None = None, want_equity: bool = False) -> dict[str, Any]:
        from engine.config import PRESETS, SimConfig
        from engine.sweep import run_sweep

        _, where, random_n = GRIDS[grid]
        bars = self._bars(n)
        # The vectorbt preset's semantics. Built field by field with compat=None because run_sweep sends
        # config.to_dict() to the workers and SimConfig.from_dict rejects a compat preset's own fields
        # (SimConfig.preset(...) in a sweep raises ConfigError in the worker; reported upstream).
        config = SimConfig(**{**PRESETS["vectorbt"], "init_cash": INIT_CASH, "commission": COMMISSION})
        release_free_memory()
        with PeakSampler(self.pids, 0.01, pss=True) as mem:
            t0 = time.perf_counter()
            result = run_sweep(bars, "sma_cross", grid_ranges(grid), where=where, random_n=random_n, seed=0,
                               config=config, executor=self.executor, chunk_size=chunk_size)
            seconds = time.perf_counter() - t0
        if result.errors:
            raise RuntimeError(f"{len(result.errors)} combos failed, first: {result.errors[0]}")
        combos = result.rows.height
        reply: dict[str, Any] = {"seconds": seconds, "combos": combos, "bars": n, "work": combos * n,
                                 "peak_rss_mb": mem.peak_mb, "start_rss_mb": mem.start / 2**20,
                                 "peak_pss_mb": mem.pss_peak_mb, "workers": self.executor.workers,
                                 "hwm_sum_mb": sum(high_water_mb(p) or 0.0 for p in self.pids())}
        if want_equity:
            reply["equity_final"] = result.rows["equity_final"].to_list()
            reply["n_trades"] = result.rows["n_trades"].to_list()
            reply["params"] = result.rows.select("n1", "n2").rows()
        return reply

    def write_inputs(self, n: int, grid: str, path: str) -> dict[str, Any]:
        """Bars and our SMA-cross signals for every combo of `grid`, as .npz for the vectorbt child."""
        import numpy as np

        from engine.strategies import get_strategy

        bars = self._bars(n)
        strat = get_strategy("sma_cross")
        ent, ext = [], []
        for n1, n2 in pairs(grid):
            sig = strat.generate(bars, n1=n1, n2=n2)
            ent.append(np.packbits(sig.entries))
            ext.append(np.packbits(sig.exits))
        np.savez(path, ts=bars.ts, close=bars.close, entries=np.stack(ent), exits=np.stack(ext), n=n)
        return {"path": path}

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()


# ----------------------------------------------------------------------------------------------- vectorbt

class Vectorbt:
    def __init__(self) -> None:
        self.close_series: Any = None
        self.entries: Any = None
        self.exits: Any = None
        self.started: dict[str, Any] | None = None

    def start(self) -> dict[str, Any]:
        if self.started is None:
            self.started = self._import()
        return self.started

    def _import(self) -> dict[str, Any]:
        import warnings

        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        import numpy as np
        import pandas as pd
        import vectorbt as vbt

        import_s = time.perf_counter() - t0
        # No warm-up here: the parity check and the suite's untimed first full-size call compile what the
        # timed calls use.
        return {"import_s": import_s, "vectorbt": vbt.__version__, "pid": os.getpid(),
                "numpy": np.__version__, "pandas": pd.__version__}

    def load(self, path: str) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        d = np.load(path)
        n = int(d["n"])
        self.close_series = pd.Series(d["close"], index=pd.DatetimeIndex(d["ts"].astype("datetime64[ns]")),
                                      name="Close")
        self.entries = np.unpackbits(d["entries"], axis=1, count=n).astype(bool).T.copy()
        self.exits = np.unpackbits(d["exits"], axis=1, count=n).astype(bool).T.copy()
        return {"bars": n, "columns": self.entries.shape[1]}

    def _pipeline(self, close: Any, n1s: list[int], n2s: list[int], stats: bool = True):
        import vectorbt as vbt

        fast = vbt.MA.run(close, n1s, short_name="fast", run_unique=True)
        slow = vbt.MA.run(close, n2s, short_name="slow", run_unique=True)
        entries = fast.ma_crossed_above(slow)
        exits = fast.ma_crossed_below(slow)
        pf = vbt.Portfolio.from_signals(close, entries, exits, init_cash=INIT_CASH, fees=COMMISSION, freq="1min")
        table = pf.stats(agg_func=None) if stats else None
        return pf, entries, exits, table

    def check(self) -> dict[str, Any]:
        """Final value and closed trades per combo with our signals fed to from_signals."""
        import vectorbt as vbt

        pf = vbt.Portfolio.from_signals(self.close_series, self.entries, self.exits, init_cash=INIT_CASH,
                                        fees=COMMISSION, freq="1min")
        return {"fed_final_value": pf.final_value().to_numpy().tolist(),
                "fed_closed_trades": pf.trades.closed.count().to_numpy().tolist()}

    def pipeline(self, grid: str, want_check: bool = False) -> dict[str, Any]:
        """vectorbt's own sweep, timed; with `want_check` (after the timing) its final values and which
        combos' native signals equal ours."""
        import numpy as np

        combos = pairs(grid)
        n1s, n2s = [a for a, _ in combos], [b for _, b in combos]
        release_free_memory()
        with PeakSampler(lambda: [os.getpid()], 0.01, pss=True) as mem:
            t0 = time.perf_counter()
            pf, entries, exits, table = self._pipeline(self.close_series, n1s, n2s)
            seconds = time.perf_counter() - t0
        n = len(self.close_series)
        reply = {"seconds": seconds, "combos": len(combos), "bars": n, "work": len(combos) * n,
                 "peak_rss_mb": mem.peak_mb, "start_rss_mb": mem.start / 2**20, "peak_pss_mb": mem.pss_peak_mb,
                 "stats_rows": int(table.shape[0]),
                 "hwm_mb": high_water_mb(os.getpid())}
        if want_check:
            same = (np.all(entries.to_numpy() == self.entries, axis=0)
                    & np.all(exits.to_numpy() == self.exits, axis=0))
            reply["native_final_value"] = pf.final_value().to_numpy().tolist()
            reply["native_signals_equal"] = same.tolist()
        return reply


def main(role: str) -> None:
    if role == "ours":
        ours = Ours()
        try:
            serve({"start": ours.start, "sweep": ours.sweep, "write_inputs": ours.write_inputs})
        finally:
            ours.close()
    elif role == "vectorbt":
        vb = Vectorbt()
        vb.start()  # import now, while the parent sets up our side: "start" then only reports
        serve({"start": vb.start, "load": vb.load, "check": vb.check, "pipeline": vb.pipeline})
    else:
        raise SystemExit(f"unknown role {role!r}: expected ours or vectorbt")


if __name__ == "__main__":
    main(sys.argv[1])
