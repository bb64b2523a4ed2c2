"""The portfolio kernel: one numba loop over [bars x symbols] arrays that shares one cash balance.

Rows are the union of the symbols' timestamps; a NaN close means the symbol has no bar there: it cannot
trade, and is marked at its last close (docs/portfolio.md, "Data"). Every fill is at the signal bar's
close, moved against the trader by the symbol's slippage; the fee is the symbol's fee rate times the
traded value, on top.

Inside bar i, in this order (docs/portfolio.md, "Inside a bar"):
1. exits: every open position whose symbol has a bar and an exit signal (and no entry signal: an entry
   and an exit on one bar are both dropped) is sold whole; so is one whose symbol has its last bar here
   (delisted) when the data goes on after it;
2. rebalance (on the bars the caller marks): every open position with a bar is sold down, then bought
   up (as far as the cash goes), to its target value: the target weight times the equity at bar i's close;
3. entries: the flat symbols with a bar and an entry signal, best score first (NaN scores last; ties and
   no score: symbol order), each sized by the run's sizing from the equity at bar i's close after steps
   1-2; an entry beyond `max_positions` is skipped, one the cash cannot pay is cut to what it can pay;
4. equity is marked: cash + the positions at their last closes.

The vectorbt mode (`vbt`) instead runs Portfolio.from_signals(cash_sharing=True, group_by=True) with
its default call sequence: each symbol in column order is exited or entered in turn with the cash left
by the symbols before it, sizes as vectorbt's buy_nb books them (docs/compat.md, "Portfolio").

Trades are exit trades as vectorbt counts them: a sale closes a trade record of the units sold at the
average entry price and the matching share of the entry fees (a partial sale by a rebalance splits the
trade); a purchase into an open position raises its size at a new average price.
"""

import numpy as np

from engine.kernels.jit import njit

PF_TRADE_DTYPE = np.dtype(
    [
        ("symbol", np.int64),  # column index
        ("entry_bar", np.int64),
        ("exit_bar", np.int64),
        ("size", np.float64),  # units, > 0 (long only)
        ("entry_price", np.float64),  # average, slippage included
        ("exit_price", np.float64),
        ("pnl", np.float64),  # net of both legs' fees
        ("return_pct", np.float64),  # pnl / (size * entry_price) * 100
        ("entry_fee", np.float64),
        ("exit_fee", np.float64),
        ("is_open", np.bool_),
        ("exit_reason", np.int64),  # PF_EXIT_* below
    ],
    align=True,
)

PF_PARAMS_DTYPE = np.dtype(
    [
        ("init_cash", np.float64),
        ("sizing", np.int64),  # PF_SIZE_* below
        ("size", np.float64),  # units, currency, or a fraction (percent); unused by equal
        ("max_positions", np.int64),  # 0 = no limit
        ("target_weight", np.float64),  # of each position on a rebalance bar; <= 0 = no rebalance
        ("min_units", np.float64),  # an order smaller than this is not placed
        ("close_at_end", np.bool_),  # close what is open at the last bar (else report it open)
        ("delist_close", np.bool_),  # close a position at its symbol's last bar when the data goes on
        ("vbt", np.bool_),  # vectorbt's cash-sharing from_signals (module docstring)
    ],
    align=True,
)

PF_SIZE_UNITS = 0
PF_SIZE_VALUE = 1
PF_SIZE_PERCENT = 2  # ours: a fraction of equity; vbt: a fraction of the cash left
PF_SIZE_EQUAL = 3  # equity / max_positions (or / the number of symbols)

PF_EXIT_SIGNAL = 0
PF_EXIT_REBALANCE = 1
PF_EXIT_DELISTED = 2
PF_EXIT_END = 3
PF_EXIT_REASONS = ("signal", "rebalance", "delisted", "end")

# vectorbt's tolerances (docs/compat.md, "Numerical guards")
_REL, _ABS = 1e-9, 1e-12


@njit(cache=True, nogil=True, inline="always")
def _is_close(a, b):
    if not (np.isfinite(a) and np.isfinite(b)):
        return False
    return a == b or abs(a - b) <= max(_REL * max(abs(a), abs(b)), _ABS)


@njit(cache=True, nogil=True, inline="always")
def _add(a, b):
    """a + b, snapped to 0 when the two cancel within the tolerances (vectorbt's add_nb)."""
    if np.sign(a) != np.sign(b):
        zero = _is_close(abs(a), abs(b))
    else:
        zero = _is_close(a + b, 0.0)
    return 0.0 if zero else a + b


@njit(cache=True, nogil=True)
def _buy(j, i, units, px, fee, pos, avg_px, entry_fee, entry_bar):
    """Add `units` at `px` (fee paid) to symbol j's position, at a new average entry price."""
    if pos[j] == 0.0:
        entry_bar[j] = i
        avg_px[j] = px
        entry_fee[j] = fee
        pos[j] = units
    else:
        total = pos[j] + units
        avg_px[j] = (pos[j] * avg_px[j] + units * px) / total
        entry_fee[j] += fee
        pos[j] = total


@njit(cache=True, nogil=True)
def _sell(j, i, units, px, fee, reason, pos, avg_px, entry_fee, entry_bar, trades, nt):
    """Sell `units` of symbol j at `px` (fee paid): one closed trade record; returns the new record count."""
    share = units / pos[j] if units < pos[j] else 1.0
    efee = entry_fee[j] * share
    t = trades[nt]
    t["symbol"] = j
    t["entry_bar"] = entry_bar[j]
    t["exit_bar"] = i
    t["size"] = units
    t["entry_price"] = avg_px[j]
    t["exit_price"] = px
    t["pnl"] = units * px - units * avg_px[j] - efee - fee
    t["return_pct"] = t["pnl"] / (units * avg_px[j]) * 100.0
    t["entry_fee"] = efee
    t["exit_fee"] = fee
    t["is_open"] = False
    t["exit_reason"] = reason
    if share == 1.0:
        pos[j] = 0.0
        entry_fee[j] = 0.0
    else:
        pos[j] = _add(pos[j], -units)
        entry_fee[j] -= efee
        if pos[j] == 0.0:
            entry_fee[j] = 0.0
    return nt + 1


@njit(cache=True, nogil=True)
def _grown(trades, need):
    """A copy of `trades` with room for at least `need` records."""
    out = np.empty(max(need, 2 * len(trades)), dtype=trades.dtype)
    out[: len(trades)] = trades
    return out


@njit(cache=True, nogil=True)
def _equity(cash, pos, mark):
    value = cash
    for j in range(len(pos)):
        if pos[j] != 0.0:
            value += pos[j] * mark[j]
    return value


@njit(cache=True, nogil=True)
def _entry_order(cand, nc, score, i, has_score):
    """Candidates cand[:nc] (symbol order) sorted best score first, NaN last, stable (insertion sort)."""
    if not has_score:
        return
    for a in range(1, nc):
        j = cand[a]
        s = score[i, j]
        b = a - 1
        while b >= 0:
            t = score[i, cand[b]]
            better = (not np.isnan(s)) and (np.isnan(t) or s > t)
            if not better:
                break
            cand[b + 1] = cand[b]
            b -= 1
        cand[b + 1] = j


@njit(cache=True, nogil=True)
def _vbt_buy_units(cash, size, sizing, price, px, fr, min_units):
    """vectorbt's buy_nb for a long entry from flat: (units, fee, cash spent), units 0 when not filled."""
    if _is_close(cash, 0.0):
        cash = 0.0
    limit = cash
    if sizing == PF_SIZE_PERCENT:
        limit = min(cash, size * cash)
        want = np.inf
    elif sizing == PF_SIZE_VALUE:
        want = size / price  # valued at the order price before slippage
    else:
        want = size
    if limit == 0.0 or _is_close(want, 0.0):
        return 0.0, 0.0, 0.0
    req = want * px
    req_fee = req * fr
    if _is_close(req + req_fee, limit) or req + req_fee < limit:
        units, fee, spent = want, req_fee, req + req_fee
    else:
        max_req = _add(limit, 0.0) / (1.0 + fr)
        if max_req <= 0.0:
            return 0.0, 0.0, 0.0
        units = max_req / px
        fee = limit - max_req
        spent = limit
    if units < min_units and not _is_close(units, min_units):
        return 0.0, 0.0, 0.0
    return units, fee, spent


@njit(cache=True, nogil=True)
def portfolio_nb(close, entries, exits, score, rebalance, fee_rate, slippage, last_bar, params, units_out):
    """Run the portfolio (module docstring) over `close` [n x m] (NaN: no bar).

    units_out: [n x m] to receive each symbol's units held at each row's close, or [0 x m] (not wanted).

    entries, exits: bool [n x m]; score: float [n x m] or [0 x 0] (none); rebalance: bool [n] or [0];
    fee_rate, slippage: per symbol [m]; last_bar: each symbol's last row with a bar [m] (-1: none);
    params: one PF_PARAMS_DTYPE record.
    Returns (equity [n], cash [n], position value [n], traded value [n], trades (PF_TRADE_DTYPE, by entry row,
    exit row, symbol), n_skipped): n_skipped counts entry signals that found no free slot or no cash.
    """
    p = params[0]
    n, m = close.shape
    has_score = score.shape[0] == n and n > 0
    do_rebalance = rebalance.shape[0] == n and p.target_weight > 0.0
    # trade records grow as needed: a row closes at most 2m records (sales and rebalance splits)
    trades = np.empty(1024 + 4 * m, dtype=PF_TRADE_DTYPE)
    equity = np.empty(n)
    cash_out = np.empty(n)
    held_value = np.empty(n)
    traded = np.zeros(n)
    pos = np.zeros(m)
    avg_px = np.zeros(m)
    entry_fee = np.zeros(m)
    entry_bar = np.zeros(m, dtype=np.int64)
    mark = np.full(m, np.nan)
    cand = np.empty(m, dtype=np.int64)
    cash = p.init_cash
    nt = 0
    n_skipped = 0
    slots = p.max_positions if p.max_positions > 0 else m
    for i in range(n):
        if nt + 2 * m + 1 > len(trades):
            trades = _grown(trades, nt + 2 * m + 1)
        if p.vbt:
            for j in range(m):
                c = close[i, j]
                if np.isnan(c):
                    continue
                mark[j] = c
                if entries[i, j] == exits[i, j]:  # neither, or both: both are dropped
                    continue
                if pos[j] > 0.0 and exits[i, j]:
                    px = c * (1.0 - slippage[j])
                    proceeds = pos[j] * px
                    fee = proceeds * fee_rate[j]
                    cash = (0.0 if _is_close(cash, 0.0) else cash) + _add(proceeds, -fee)
                    traded[i] += proceeds
                    nt = _sell(j, i, pos[j], px, fee, PF_EXIT_SIGNAL, pos, avg_px, entry_fee, entry_bar, trades, nt)
                elif pos[j] == 0.0 and entries[i, j]:
                    px = c * (1.0 + slippage[j])
                    units, fee, spent = _vbt_buy_units(cash, p.size, p.sizing, c, px, fee_rate[j], p.min_units)
                    if units > 0.0:
                        cash = _add(cash, -spent)
                        traded[i] += units * px
                        _buy(j, i, units, px, fee, pos, avg_px, entry_fee, entry_bar)
                    else:
                        n_skipped += 1
        else:
            # 1. exits and delistings (and the marks: every symbol with a bar)
            for j in range(m):
                c = close[i, j]
                if np.isnan(c):
                    continue
                mark[j] = c
                if pos[j] == 0.0:
                    continue
                signal = exits[i, j] and not entries[i, j]
                delisted = p.delist_close and last_bar[j] == i and i < n - 1
                if signal or delisted:
                    px = c * (1.0 - slippage[j])
                    proceeds = pos[j] * px
                    fee = proceeds * fee_rate[j]
                    cash += proceeds - fee
                    traded[i] += proceeds
                    reason = PF_EXIT_SIGNAL if signal else PF_EXIT_DELISTED
                    nt = _sell(j, i, pos[j], px, fee, reason, pos, avg_px, entry_fee, entry_bar, trades, nt)
            # 2. rebalance: sales first, so their cash pays for the purchases
            if do_rebalance and rebalance[i]:
                target = p.target_weight * _equity(cash, pos, mark)
                for j in range(m):
                    c = close[i, j]
                    if pos[j] > 0.0 and not np.isnan(c):
                        units = pos[j] - target / c
                        if units > p.min_units:
                            px = c * (1.0 - slippage[j])
                            fee = units * px * fee_rate[j]
                            cash += units * px - fee
                            traded[i] += units * px
                            nt = _sell(j, i, units, px, fee, PF_EXIT_REBALANCE, pos, avg_px, entry_fee, entry_bar,
                                       trades, nt)
                for j in range(m):
                    c = close[i, j]
                    if pos[j] > 0.0 and not np.isnan(c):
                        px = c * (1.0 + slippage[j])
                        units = min(target / c - pos[j], cash / (px * (1.0 + fee_rate[j])))
                        if units > p.min_units:
                            fee = units * px * fee_rate[j]
                            cash -= units * px + fee
                            traded[i] += units * px
                            _buy(j, i, units, px, fee, pos, avg_px, entry_fee, entry_bar)
            # 3. entries, best score first
            nc = 0
            n_open = 0
            for j in range(m):
                if pos[j] > 0.0:
                    n_open += 1
                elif (entries[i, j] and not exits[i, j] and not np.isnan(close[i, j])
                      and not (p.delist_close and last_bar[j] == i and i < n - 1)):
                    cand[nc] = j
                    nc += 1
            if nc > 0:
                _entry_order(cand, nc, score, i, has_score)
                value = _equity(cash, pos, mark)
                for k in range(nc):
                    j = cand[k]
                    c = close[i, j]
                    px = c * (1.0 + slippage[j])
                    fr = fee_rate[j]
                    if n_open >= slots:
                        n_skipped += 1
                        continue
                    if p.sizing == PF_SIZE_UNITS:
                        units = p.size
                    elif p.sizing == PF_SIZE_VALUE:
                        units = p.size / px
                    elif p.sizing == PF_SIZE_PERCENT:
                        units = p.size * value / px
                    else:
                        units = value / slots / px
                    if units * px * (1.0 + fr) > cash:  # cut to what the cash pays, fee included
                        units = cash / (px * (1.0 + fr))
                    if not units > p.min_units:
                        n_skipped += 1
                        continue
                    fee = units * px * fr
                    cash = max(cash - units * px - fee, 0.0)
                    traded[i] += units * px
                    _buy(j, i, units, px, fee, pos, avg_px, entry_fee, entry_bar)
                    n_open += 1
        # 4. mark
        held = 0.0
        for j in range(m):
            if pos[j] != 0.0:
                held += pos[j] * mark[j]
        if units_out.shape[0] == n:
            for j in range(m):
                units_out[i, j] = pos[j]
        equity[i] = cash + held
        cash_out[i] = cash
        held_value[i] = held
    # what is still open at the end: closed at the last marks, or reported open there
    if nt + m > len(trades):
        trades = _grown(trades, nt + m)
    for j in range(m):
        if pos[j] != 0.0 and n > 0:
            c = mark[j]
            if p.close_at_end:
                px = c * (1.0 - slippage[j])
                proceeds = pos[j] * px
                fee = proceeds * fee_rate[j]
                cash += proceeds - fee
                traded[n - 1] += proceeds
                nt = _sell(j, n - 1, pos[j], px, fee, PF_EXIT_END, pos, avg_px, entry_fee, entry_bar, trades, nt)
            else:
                t = trades[nt]
                t["symbol"] = j
                t["entry_bar"] = entry_bar[j]
                t["exit_bar"] = n - 1
                t["size"] = pos[j]
                t["entry_price"] = avg_px[j]
                t["exit_price"] = c
                t["pnl"] = pos[j] * c - pos[j] * avg_px[j] - entry_fee[j]
                t["return_pct"] = t["pnl"] / (pos[j] * avg_px[j]) * 100.0
                t["entry_fee"] = entry_fee[j]
                t["exit_fee"] = 0.0
                t["is_open"] = True
                t["exit_reason"] = PF_EXIT_END
                nt += 1
    if p.close_at_end and n > 0:
        equity[n - 1] = cash
        cash_out[n - 1] = cash
        held_value[n - 1] = 0.0
    return equity, cash_out, held_value, traded, _by_entry(trades, nt, n, m), n_skipped


@njit(cache=True, nogil=True)
def _by_entry(trades, nt, n, m):
    """The first `nt` records ordered by entry row, then exit row, then symbol (they are written as they close)."""
    key = np.empty(nt, dtype=np.int64)
    for k in range(nt):
        t = trades[k]
        key[k] = (t["entry_bar"] * n + t["exit_bar"]) * m + t["symbol"]
    order = np.argsort(key, kind="mergesort")
    out = np.empty(nt, dtype=trades.dtype)
    for k in range(nt):
        out[k] = trades[order[k]]
    return out


@njit(cache=True, nogil=True)
def filled_close_nb(close):
    """close [n x m] with each NaN replaced by the symbol's last close before it, and before its first bar by
    its first close (vectorbt's fillna_close: forward, then backward)."""
    n, m = close.shape
    out = np.empty((n, m))
    last = np.full(m, np.nan)
    for i in range(n):
        for j in range(m):
            if np.isnan(last[j]) and not np.isnan(close[i, j]):
                last[j] = close[i, j]
    # `last` now holds each symbol's first close: the back-fill before its first bar
    for i in range(n):
        for j in range(m):
            c = close[i, j]
            if not np.isnan(c):
                last[j] = c
            out[i, j] = last[j]
    return out


@njit(cache=True, nogil=True)
def equal_weight_index_nb(filled):
    """The mean over symbols of filled close / first close, per row (1.0 for a symbol before it lists)."""
    n, m = filled.shape
    out = np.zeros(n)
    if n == 0:
        return out
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += filled[i, j] / filled[0, j]
        out[i] = s / m
    return out
