"""How `sweep --walk-forward` prints its result, for one dataset and for a portfolio alike."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from app.stat_labels import format_stat, stat_label
from app.tables import format_pairs, format_table

OOS_KEYS = ("return_pct", "return_ann_pct", "sharpe_ratio", "max_drawdown_pct", "n_trades", "win_rate_pct")


def print_walk_forward(wf: Any, header: str, stitched: str, as_json: bool) -> int:
    """`--json`: the stitched result with "windows" and "efficiency"; else `header`, the windows' table, the
    stitched out-of-sample figures under `stitched`, and the walk-forward efficiency."""
    if as_json:
        out = wf.result.to_json_dict()
        out["windows"] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                          for r in wf.windows.iter_rows(named=True)]
        out["efficiency"] = wf.efficiency if math.isfinite(wf.efficiency) else None
        json.dump(out, sys.stdout, allow_nan=False, default=str)
        sys.stdout.write("\n")
        return 0
    print(header)
    print(format_table(wf.windows.iter_rows(named=True), wf.windows.columns))
    print(f"\n{stitched}:")
    print(format_pairs([(stat_label(k), format_stat(k, wf.result.stats[k])) for k in OOS_KEYS], indent="  ",
                       value_width=14))
    print(f"  Walk-forward efficiency  {wf.efficiency:.3f}  (mean annualised out-of-sample return / in-sample; "
          "docs/guide.md)")
    return 0
