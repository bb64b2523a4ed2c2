"""A plain-Python reference of the portfolio rules (docs/portfolio.md) and of vectorbt's cash-sharing
from_signals (docs/compat.md, "Portfolio"), written as a small broker over lists and dicts so the numba kernel
(engine/kernels/portfolio.py) is checked against an independent reading of the rules. Slow and obvious on
purpose. It reads the options from the PortfolioConfig by name, not from the kernel's record.

Input: `close` as a list of rows (lists, None where a symbol has no bar), entries/exits as lists of rows of
bools, score as a list of rows (None: no score). Returns (equity list, trades list of dicts keyed like
PF_TRADE_DTYPE, n_skipped).
"""

from __future__ import annotations

import math

REL, ABS = 1e-9, 1e-12
MIN_UNITS = 1e-8


def near(a, b):
    """vectorbt's tolerance: equal, or within 1e-9 relative / 1e-12 absolute (finite numbers only)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return a == b or abs(a - b) <= max(REL * max(abs(a), abs(b)), ABS)


def plus(a, b):
    """a + b, exactly 0 when they cancel within the tolerance."""
    cancel = near(abs(a), abs(b)) if (a > 0) - (a < 0) != (b > 0) - (b < 0) else near(a + b, 0.0)
    return 0.0 if cancel else a + b


class Holding:
    def __init__(self, bar, units, price, fee):
        self.bar, self.units, self.price, self.fee = bar, units, price, fee


class PortfolioBroker:
    def __init__(self, config, symbols, n_rows, last_rows):
        self.cfg = config
        self.symbols = symbols
        self.n = n_rows
        self.last_rows = last_rows
        self.cash = float(config.init_cash)
        self.held: dict[int, Holding] = {}
        self.marks: dict[int, float] = {}
        self.trades: list[dict] = []
        self.skipped = 0

    def fee(self, j):
        return self.cfg.commission_by_symbol.get(self.symbols[j], self.cfg.commission)

    def slip(self, j):
        return self.cfg.slippage_by_symbol.get(self.symbols[j], self.cfg.slippage)

    def equity(self):
        return self.cash + sum(h.units * self.marks[j] for j, h in self.held.items())

    def buy(self, i, j, units, price, fee):
        h = self.held.get(j)
        if h is None:
            self.held[j] = Holding(i, units, price, fee)
        else:
            total = h.units + units
            h.price = (h.units * h.price + units * price) / total
            h.fee += fee
            h.units = total

    def sell(self, i, j, units, price, fee, reason):
        h = self.held[j]
        whole = units >= h.units
        share = 1.0 if whole else units / h.units
        entry_fee = h.fee * share
        pnl = units * price - units * h.price - entry_fee - fee
        self.trades.append(dict(symbol=j, entry_bar=h.bar, exit_bar=i, size=units, entry_price=h.price,
                                exit_price=price, pnl=pnl, return_pct=pnl / (units * h.price) * 100,
                                entry_fee=entry_fee, exit_fee=fee, is_open=False, exit_reason=reason))
        if whole:
            del self.held[j]
        else:
            h.units = plus(h.units, -units)
            h.fee -= entry_fee
            if h.units == 0.0:
                del self.held[j]

    def sell_all(self, i, j, price_raw, reason, vbt=False):
        px = price_raw * (1 - self.slip(j))
        units = self.held[j].units
        proceeds = units * px
        fee = proceeds * self.fee(j)
        if vbt:
            self.cash = (0.0 if near(self.cash, 0.0) else self.cash) + plus(proceeds, -fee)
        else:
            self.cash += proceeds - fee
        self.sell(i, j, units, px, fee, reason)

    # -- vectorbt: from_signals(cash_sharing=True, group_by=True), column order
    def vbt_row(self, i, row, ent, ext):
        for j, c in enumerate(row):
            if c is None or (ent[j] and ext[j]):
                continue
            if j in self.held and ext[j]:
                self.sell_all(i, j, c, "signal", vbt=True)
            elif j not in self.held and ent[j]:
                cash = 0.0 if near(self.cash, 0.0) else self.cash
                px = c * (1 + self.slip(j))
                f = self.fee(j)
                if self.cfg.sizing == "percent":
                    limit, want = min(cash, self.cfg.size * cash), math.inf
                elif self.cfg.sizing == "value":
                    limit, want = cash, self.cfg.size / c
                else:
                    limit, want = cash, self.cfg.size
                if limit == 0.0:
                    self.skipped += 1
                    continue
                need = want * px * (1 + f)
                if near(need, limit) or need < limit:
                    units, fee, spent = want, want * px * f, want * px + want * px * f
                else:
                    spend = plus(limit, 0.0) / (1 + f)
                    if spend <= 0:
                        self.skipped += 1
                        continue
                    units, fee, spent = spend / px, limit - spend, limit
                if units < MIN_UNITS and not near(units, MIN_UNITS):
                    self.skipped += 1
                    continue
                self.cash = plus(self.cash, -spent)
                self.buy(i, j, units, px, fee)

    # -- ours
    def our_row(self, i, row, ent, ext, score, rebalance, target_weight):
        delisting = [self.cfg.delist_close and self.last_rows[j] == i and i < self.n - 1 for j in range(len(row))]
        for j in sorted(self.held):
            if row[j] is None:
                continue
            if (ext[j] and not ent[j]) or delisting[j]:
                self.sell_all(i, j, row[j], "signal" if ext[j] and not ent[j] else "delisted")
        if rebalance:
            target = target_weight * self.equity()
            for j in sorted(self.held):
                if row[j] is None:
                    continue
                units = self.held[j].units - target / row[j]
                if units > MIN_UNITS:
                    px = row[j] * (1 - self.slip(j))
                    fee = units * px * self.fee(j)
                    self.cash += units * px - fee
                    self.sell(i, j, units, px, fee, "rebalance")
            for j in sorted(self.held):
                if row[j] is None:
                    continue
                px = row[j] * (1 + self.slip(j))
                units = min(target / row[j] - self.held[j].units, self.cash / (px * (1 + self.fee(j))))
                if units > MIN_UNITS:
                    fee = units * px * self.fee(j)
                    self.cash -= units * px + fee
                    self.buy(i, j, units, px, fee)
        wanted = [j for j in range(len(row)) if j not in self.held and ent[j] and not ext[j] and row[j] is not None
                  and not delisting[j]]
        if score is not None:
            # best first; NaN last; ties keep symbol order (sorted is stable)
            wanted.sort(key=lambda j: (math.isnan(score[j]), -score[j] if not math.isnan(score[j]) else 0.0))
        slots = self.cfg.max_positions or len(row)
        value = self.equity()
        for j in wanted:
            if len(self.held) >= slots:
                self.skipped += 1
                continue
            px = row[j] * (1 + self.slip(j))
            f = self.fee(j)
            # the position's value by the sizing (units: its units outright), then in units at the fill price
            target_value = {"value": self.cfg.size, "percent": self.cfg.size * value, "equal": value / slots}
            units = self.cfg.size if self.cfg.sizing == "units" else target_value[self.cfg.sizing] / px
            if units * px * (1 + f) > self.cash:
                units = self.cash / (px * (1 + f))
            if not units > MIN_UNITS:
                self.skipped += 1
                continue
            fee = units * px * f
            self.cash = max(self.cash - units * px - fee, 0.0)
            self.buy(i, j, units, px, fee)

    def finish(self):
        last = self.n - 1
        for j in sorted(self.held):
            h = self.held[j]
            mark = self.marks[j]
            if self.cfg.at_end == "close":
                self.sell_all(last, j, mark, "end")
            else:
                pnl = h.units * mark - h.units * h.price - h.fee
                self.trades.append(dict(symbol=j, entry_bar=h.bar, exit_bar=last, size=h.units, entry_price=h.price,
                                        exit_price=mark, pnl=pnl, return_pct=pnl / (h.units * h.price) * 100,
                                        entry_fee=h.fee, exit_fee=0.0, is_open=True, exit_reason="end"))
        if self.cfg.at_end == "close":
            self.held.clear()


def reference_portfolio(config, symbols, close, entries, exits, score=None, rebalance=None):
    """Run the rules row by row (module docstring). `rebalance`: a list of bools per row, or None."""
    n = len(close)
    m = len(symbols)
    last_rows = [max((i for i in range(n) if close[i][j] is not None), default=-1) for j in range(m)]
    broker = PortfolioBroker(config, symbols, n, last_rows)
    weight = 0.0
    if config.rebalance is not None:
        weight = config.size if config.sizing == "percent" else 1.0 / (config.max_positions or m)
    equity = []
    for i in range(n):
        for j in range(m):
            if close[i][j] is not None:
                broker.marks[j] = close[i][j]
        if config.compat == "vectorbt":
            broker.vbt_row(i, close[i], entries[i], exits[i])
        else:
            broker.our_row(i, close[i], entries[i], exits[i], None if score is None else score[i],
                           bool(rebalance and rebalance[i]), weight)
        if i == n - 1:
            broker.finish()
        equity.append(broker.equity())
    trades = sorted(broker.trades, key=lambda t: (t["entry_bar"], t["exit_bar"], t["symbol"]))
    return equity, trades, broker.skipped
