"""Plain-text tables for the terminal, one formatter for every command: numbers right-aligned with thousands
separators, text left-aligned (or all one way), and `key  value` listings."""

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


def format_table(rows: Iterable[dict[str, Any]] | Iterable[Sequence[Any]], columns: Sequence[str], indent: str = "",
                 align: str = "right") -> str:
    """Rows (dicts keyed by column, or sequences in column order) under a header line.

    align: "right" (every column), or "left" (every column; for listings of names and paths)."""
    cells = [[cell(r.get(c)) for c in columns] if isinstance(r, dict) else [cell(v) for v in r] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if align == "right" else v.ljust(w) for v, w in zip(values, widths, strict=True)]
        return (indent + "  ".join(padded)).rstrip()

    return "\n".join([line(columns), *(line(row) for row in cells)])


def format_pairs(pairs: Iterable[tuple[str, Any]], indent: str = "", value_width: int = 0) -> str:
    """`key  value` lines, keys padded to the longest; values right-aligned in `value_width` when given."""
    pairs = [(k, v if isinstance(v, str) else cell(v)) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{indent}{k:<{width}}  {v:>{value_width}}".rstrip() for k, v in pairs)
