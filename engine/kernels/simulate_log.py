"""The simulate kernel's order log (docs/simulation.md, "The order log"): every fill of the run, in the order
the kernel made them, as ORDER_LOG_DTYPE records (engine/kernels/simulate_records.py). Kept only when the
options ask for it (`log_orders`, vectorbt's accumulation): a run that does not keep it calls none of this.

An entry is logged when its lot is added, from the lot itself (its units, fill price, fee and bar). An exit is
logged from the trade record it wrote, so the exits wait in the trade records until the next entry or the end
of the run flushes them, oldest first: the log keeps the order in which the kernel filled them. (Under the
vectorbt preset one exit order is one trade record: `merge_exits`.)
"""

from engine.kernels.jit import njit
from engine.kernels.simulate_records import L_BAR, L_FEE, L_PX, L_SIZE


@njit(cache=True, nogil=True)
def _log_exits(log, log_n, trades, nt):
    """Log the exits of the trade records written since the last call, up to record nt (an open record is no
    order). `log_n`: [fills logged, trade records looked at], updated. Past the log's or the records' end
    nothing is written: the run is made again with room (engine/simulation.py)."""
    nlog = log_n[0]
    for k in range(log_n[1], min(nt, trades.shape[0])):
        if trades[k]["is_open"]:
            continue
        if nlog < log.shape[0]:
            r = log[nlog]
            r.bar = trades[k]["exit_bar"]
            r.units = -float(trades[k]["side"]) * trades[k]["size"]
            r.price = trades[k]["exit_price"]
            r.fee = trades[k]["exit_fee"]
        nlog += 1
    log_n[0] = nlog
    log_n[1] = max(nt, log_n[1])


@njit(cache=True, nogil=True)
def _log_entry(log, log_n, trades, nt, lots, j):
    """Log the exits recorded since the last call, then the entry that just added lot j."""
    _log_exits(log, log_n, trades, nt)
    nlog = log_n[0]
    if nlog < log.shape[0]:
        r = log[nlog]
        r.bar = int(lots[j, L_BAR])
        r.units = lots[j, L_SIZE]
        r.price = lots[j, L_PX]
        r.fee = lots[j, L_FEE]
    log_n[0] = nlog + 1
