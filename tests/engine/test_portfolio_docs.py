"""docs/portfolio.md's rotation example runs as written, and does what the text says it does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

DOC = Path(__file__).resolve().parents[2] / "docs" / "portfolio.md"


def rotation_block() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), flags=re.S | re.M)
    (block,) = [b for b in blocks if "top_k" in b]
    return block


def test_the_rotation_example_runs_and_holds_the_top_k_by_momentum(capsys):
    scope: dict = {}
    exec(compile(rotation_block(), str(DOC), "exec"), scope)
    out = capsys.readouterr().out
    assert "% return" in out
    result, arrays, aligned = scope["result"], scope["arrays"], scope["aligned"]
    top_k, month_start, momentum = scope["top_k"], scope["month_start"][:, 0], scope["momentum"]
    trades = arrays.trades
    assert result.stats["n_trades"] > 20
    # entries happen on a month's first row only, into a symbol ranked in the top K by momentum there
    assert month_start[trades["entry_bar"]].all()
    for t in trades:
        row = momentum[t["entry_bar"]]
        assert np.sum(row > row[t["symbol"]]) < top_k
    # never more than K positions; after each month's first row exactly K are held (the demo symbols all trade
    # every day)
    held = np.zeros(aligned.close.shape, dtype=bool)
    for t in trades:
        held[t["entry_bar"]: t["exit_bar"] + (1 if t["is_open"] else 0), t["symbol"]] = True
    assert held.sum(axis=1).max() <= top_k
    rows = np.flatnonzero(month_start & ~np.isnan(momentum).all(axis=1))[1:]
    assert (held[rows].sum(axis=1) == top_k).all()
    # ... and the cash is spent on them (1/K each, the fees aside)
    assert (arrays.position_value[rows] / arrays.equity[rows] > 0.99).all()
