"""The peer's own stats table under a compat preset (backtesting.py's stats Series, vectorbt's pf.stats()),
with the peer's key names and order (docs/compat.md, "The peer's stats")."""

from __future__ import annotations

import math
from typing import Any

from app.gui.views.stats_table import MISSING, StatsTable, format_stat

PEER_NAMES = {"backtesting": "backtesting.py", "vectorbt": "vectorbt"}


def format_peer_value(key: str, value: Any) -> str:
    """A peer's figure as text: times as they come (ISO), durations in days, counts whole, other numbers
    with the digits a reader compares against the peer's printout."""
    if value is None:
        return MISSING
    if isinstance(value, str):  # an ISO time: shown as our own Start/End are
        return format_stat("start", value)
    v = float(value)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if "Duration" in key:
        return f"{v:,.1f} d"
    if key.startswith("#") or key.startswith("Total") and "Trades" in key:
        return f"{v:,.0f}"
    return f"{v:,.4f}"


class PeerStatsTable(StatsTable):
    """Two columns, the peer's key and its value, in the peer's order."""

    def set_peer_stats(self, table: dict[str, Any] | None) -> None:
        self.set_rows([(key, key, format_peer_value(key, value), value, False) for key, value in (table or {}).items()])
