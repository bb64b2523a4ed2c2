"""Backbench benchmarks.

    python -m benchmarks                          # every suite (backtest, peers), full repeats
    python -m benchmarks --suite backtest --quick # one suite, fewer repeats (same sizes)
    python -m benchmarks list                     # suites, benchmarks and derived figures
    python -m benchmarks --out results.json       # also write the results JSON
    python -m benchmarks --save-baseline          # write benchmarks/baselines/<os>-<arch>-<N>core.json
    python -m benchmarks --compare benchmarks/baselines/linux-x86_64-2core.json --threshold 10%
    python -m benchmarks --suite backtest --filter warm --tiny   # smoke test: tiny sizes, meaningless figures

Suites: backtest (one SMA-cross backtest on 10k and 1M demo bars, warm per stage, and cold in a fresh
process with a warm and an empty numba cache) and peers (backtesting.py and vectorbt on the same 10k-bar
workload, checked equal to ours first; needs the 'peers' extra). Each benchmark reports the median,
min, max and p95 of its repeats, a rate (work / median), peak tracemalloc and peak RSS (process tree);
derived figures ("ours vs vectorbt", targets) come from results of the same run, so they hold on a
noisy machine better than absolute times do.

--compare prints every figure beside the baseline and exits 1 when one of ours regressed: median time
up, or rate down, by more than --threshold (peers' own timings are shown but not gated; sizes that
differ from the baseline's are not compared). Exit 2: usage error (e.g. unknown suite); exit 3: a
benchmark failed (e.g. a peer's result differs from ours, so the timing would compare different work).
"""

import sys

from benchmarks.runner import main

if __name__ == "__main__":
    sys.exit(main())
