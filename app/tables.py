"""Plain-text tables for the terminal: right-aligned columns, numbers with thousands separators."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def cell(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:,.{digits}f}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def format_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], indent: str = "") -> str:
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = [indent + "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [indent + "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
