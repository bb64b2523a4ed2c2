"""Signals -> trades, equity and stats: the Python face of the simulate and stats kernels."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from engine.bars import Bars, read_only
from engine.config import SimConfig
from engine.errors import DataError, StrategyError
from engine.kernels.checks import RULE_AT_MOST_ONE, RULE_FRACTION, RULE_POSITIVE, RULE_WHOLE, first_bad_nb
from engine.kernels.simulate import simulate_nb
from engine.kernels.simulate_book import simulate_book_nb
from engine.kernels.simulate_records import (
    FILL_CLOSE,
    FILL_NEXT_OPEN,
    OPPOSITE_CLOSE,
    OPPOSITE_IGNORE,
    OPPOSITE_REVERSE,
    ORDER_LOG_DTYPE,
    SIM_PARAMS_DTYPE,
    SIM_PARAMS_RECORD,
    SIZE_ALL,
    SIZE_ALL_UNITS,
    SIZE_FIXED,
    SIZE_PERCENT,
    SIZE_VALUE,
    TRADE_DTYPE,
)
from engine.kernels.stats import STAT_KEYS, stats_drawdown_nb, stats_nb
from engine.strategies.base import ORDER_SIZE_TYPES, Orders, Signals

_FILL_CODES = {"next_open": FILL_NEXT_OPEN, "close": FILL_CLOSE}
_OPPOSITE_CODES = {"reverse": OPPOSITE_REVERSE, "close": OPPOSITE_CLOSE, "ignore": OPPOSITE_IGNORE}
_SIZING_CODES = {"all": SIZE_ALL, "all_units": SIZE_ALL_UNITS, "fixed": SIZE_FIXED, "percent": SIZE_PERCENT,
                 "value": SIZE_VALUE}
_INT_STATS = {"n_trades"}
_SIM_FIELDS = set(SIM_PARAMS_DTYPE.names or ())


class SignalArrays(NamedTuple):
    """Anything with these fields works as signals (strategies return `Signals`, the same shape)."""

    entries: Any
    exits: Any
    short_entries: Any = None
    short_exits: Any = None
    orders: Orders | None = None


def simulate(bars: Bars, signals: SignalArrays | Signals, config: SimConfig):
    """Run the simulate kernel on `bars` with `signals` under `config`.

    Returns (equity, trade_records, status_code, n_cancelled).
    """
    return simulate_logged(bars, signals, config)[:4]


def simulate_logged(bars: Bars, signals: SignalArrays | Signals, config: SimConfig):
    """`simulate`, and the order log: (equity, trade_records, status_code, n_cancelled, orders), `orders` the
    run's fills as ORDER_LOG_DTYPE records, kept only where `keeps_order_log(config)` (else empty)."""
    n = len(bars)
    entries, exits, short_entries, short_exits = _directional(signals, config.direction, n)
    if config.direction == "both" and signals.short_entries is None and (
            config.compat == "vectorbt" or (config.compat == "backtesting" and config.accumulate)):
        # vectorbt's direction="both" reads exits as short entries and has no exits: a long ends by a short
        # entry (reversed, closed or ignored by upon_opposite_entry) or by a stop; so does backtesting.py's
        # sell() on an exit with exclusive_orders=False, which nets against the open trades
        exits = short_exits = np.zeros(n, dtype=np.bool_)
    given = getattr(signals, "orders", None)
    orders = order_arrays(given, n, config)
    if given is not None and config.compat is not None:
        _check_preset_orders(orders, config.compat)
    params = sim_params(config)
    # Every array goes in read-only: numba compiles the kernel (~12 s with an empty cache) once per
    # combination of writable and read-only inputs, and callers hand it both (docs/performance.md).
    o, h, lo, c = read_only(bars.open), read_only(bars.high), read_only(bars.low), read_only(bars.close)
    e, x, se, sx = read_only(entries), read_only(exits), read_only(short_entries), read_only(short_exits)
    orders = OrderArrays(*(read_only(a) for a in orders))
    book = config.compat == "backtesting" and config.accumulate and any(
        _any_set(a) for a in (orders.limit, orders.stop, orders.sl_price, orders.tp_price))

    def run():
        if book:
            # several working orders at once (entries, stop-losses, take-profits): backtesting.py's order book
            # (docs/simulation.md, "Several working orders"); it keeps no order log (vectorbt's only)
            return (*simulate_book_nb(o, h, lo, c, e, x, se, sx, orders, params), _NO_LOG)
        return simulate_nb(o, h, lo, c, e, x, se, sx, orders, params)

    equity, trades, status, n_cancelled, n_records, log = run()
    if n_records > len(trades):  # partial exits split more trades than there were entries: again, with room
        params["extra_records"] = n_records
        equity, trades, status, n_cancelled, n_records, log = run()
    # (the record dtypes when run as Python)
    return equity, trades.view(TRADE_DTYPE), status, n_cancelled, log.view(ORDER_LOG_DTYPE)


def keeps_order_log(config: SimConfig) -> bool:
    """Whether a run under `config` keeps its order log: vectorbt's accumulation, whose stats table books each
    entry order (engine/compat/vectorbt_stats.py; a trade record merges them). Other runs pay nothing for it."""
    return config.compat == "vectorbt" and config.accumulate


class OrderArrays(NamedTuple):
    """The kernel's view of `Orders`: one float64 array per field, of length n (per bar), 1 (every bar) or
    0 (not set), NaN where a bar sets nothing; `size_type`: one ORDER_SIZE_* code. Strategies' arrays are
    used as they are, not copied into a per-bar record (a 1M-bar run would pay for 80 MB of them)."""

    limit: np.ndarray
    stop: np.ndarray
    valid: np.ndarray
    size: np.ndarray
    sl_price: np.ndarray
    tp_price: np.ndarray
    sl_dist: np.ndarray
    tp_dist: np.ndarray
    trail_dist: np.ndarray
    exit_portion: np.ndarray
    size_type: np.ndarray


_FIELDS = tuple(f for f in OrderArrays._fields if f != "size_type")
_NO_LOG = np.zeros(0, dtype=ORDER_LOG_DTYPE)
_EMPTY = np.empty(0, dtype=np.float64)
_NO_ORDERS = OrderArrays(**dict.fromkeys(_FIELDS, _EMPTY), size_type=np.zeros(1, dtype=np.int64))
_PRICE_FIELDS = ("limit", "stop", "sl_price", "tp_price")
_POSITIVE_FIELDS = ("size", "sl_dist", "tp_dist", "trail_dist")


def order_arrays(orders: Orders | None, n: int, config: SimConfig) -> OrderArrays:
    """The kernel's order arrays for `orders`, checked; all empty for None.

    Raises StrategyError naming the field and the first bar with a value the rules do not allow."""
    if orders is None:
        return _NO_ORDERS
    if orders.size_type not in ORDER_SIZE_TYPES:
        raise StrategyError(f"orders: size_type {orders.size_type!r} is not one of {', '.join(ORDER_SIZE_TYPES)}")
    fields = {name: _order_field(orders, name, n) for name in _FIELDS}
    for name in _PRICE_FIELDS + _POSITIVE_FIELDS:
        _check(fields[name], RULE_POSITIVE, name, "must be a finite number > 0")
    _check(fields["exit_portion"], RULE_FRACTION, "exit_portion", "must be a fraction in (0, 1]")
    _check(fields["valid"], RULE_WHOLE, "valid", "must be a whole number of bars >= 0")
    limit, stop = fields["limit"], fields["stop"]
    if len(limit) and len(stop):
        both = ~np.isnan(_per_bar(limit, n)) & ~np.isnan(_per_bar(stop, n))
        if both.any():
            raise StrategyError(f"orders: bar {int(np.argmax(both))} sets both limit and stop: an entry is one "
                                "or the other")
    if orders.size_type == "equity":
        _check(fields["size"], RULE_AT_MOST_ONE, "size", "must be a fraction of equity <= 1 with size_type 'equity'")
    if orders.size_type == "risk" and not config.sl and len(fields["size"]):
        no_stop = ~np.isnan(_per_bar(fields["size"], n))
        for name in ("sl_price", "sl_dist"):
            if len(fields[name]):
                no_stop &= np.isnan(_per_bar(fields[name], n))
        if no_stop.any():
            raise StrategyError(f"orders: bar {int(np.argmax(no_stop))} sizes by risk but sets no stop-loss "
                                "(sl_price or sl_dist, or the run's --sl)")
    code = np.array([ORDER_SIZE_TYPES.index(orders.size_type)], dtype=np.int64)
    return OrderArrays(**fields, size_type=code)


def _check_preset_orders(orders: OrderArrays, compat: str) -> None:
    """Under a preset, only the orders the peer has and the preset reproduces: backtesting.py's
    `buy(size=..., limit=..., stop=..., sl=..., tp=...)`: a fraction of the cash below 1 (size_type "equity")
    or whole units, limit and stop entries (good till filled), stop-loss / take-profit prices, and
    `position.close(portion)` (exit_portion) (docs/compat.md)."""
    others = [f for f in _FIELDS if f not in ("size", "limit", "stop", "sl_price", "tp_price", "exit_portion")
              and len(getattr(orders, f))]
    size_type = ORDER_SIZE_TYPES[int(orders.size_type[0])]
    sizes = orders.size[~np.isnan(orders.size)]
    ok = compat == "backtesting" and not others and (
        (size_type == "equity" and bool((sizes < 1.0).all()))
        or (size_type == "units" and bool((sizes == np.floor(sizes)).all())))
    if not ok:
        raise StrategyError(f"orders cannot be combined with compat={compat!r} except backtesting.py's "
                            "buy(size=..., limit=..., stop=..., sl=..., tp=...) and position.close(portion): a per-bar "
                            "size as a fraction of the cash below 1 (size_type 'equity') or whole units, limit and "
                            "stop prices (no valid: they work until filled), stop-loss and take-profit prices, "
                            "exit_portion; distances and trailing "
                            "stops are not reproduced yet (docs/compat.md)")


def _order_field(orders: Orders, name: str, n: int) -> np.ndarray:
    """A field as the kernel reads it: empty (None), one value (a number) or n values (an array)."""
    value = getattr(orders, name)
    if value is None:
        return _EMPTY
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyError(f"orders: {name} must be a number or an array of numbers") from None
    if arr.ndim == 0:
        return arr.reshape(1).copy()
    arr = np.ascontiguousarray(arr)
    if arr.shape != (n,):
        raise StrategyError(f"orders: {name} has shape {arr.shape}, expected ({n},)")
    # one compiled kernel for every run: numba types a read-only array (a view of the bars) apart
    return arr if arr.flags.writeable else arr.copy()


def _any_set(a: np.ndarray) -> bool:
    """Whether an order field sets a value on some bar."""
    return bool(len(a)) and not bool(np.isnan(a).all())


def _per_bar(a: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(a, (n,)) if len(a) == 1 else a


def _check(values: np.ndarray, rule_code: int, name: str, rule: str) -> None:
    """StrategyError at the first set (non-NaN) value that breaks the rule (engine/kernels/checks.py)."""
    k = int(first_bad_nb(values, rule_code)) if len(values) else -1
    if k >= 0:
        raise StrategyError(f"orders: {name}[{k}] = {float(values[k])!r} {rule}")


def sim_params(config: SimConfig) -> np.ndarray:
    """The kernel's options record (SIM_PARAMS_DTYPE, shape (1,)) for `config`: the one place a SimConfig
    becomes the kernel's numbers, field by name (`direction` is applied to the signals, `_directional`)."""
    values: dict[str, Any] = {
        "init_cash": float(config.init_cash),
        "fee_rate": float(config.commission),
        "fixed_fee": float(config.fixed_fee),
        "slippage": float(config.slippage),
        "size_value": float(config.size),
        "sl": float(config.sl or 0.0),
        "tp": float(config.tp or 0.0),
        "trail": float(config.trail or 0.0),
        "fill_mode": _FILL_CODES[config.fill],
        "sizing": _SIZING_CODES[config.sizing],
        "warmup": int(config.warmup_bars),
        "reenter": config.on_entry_while_long == "reenter",
        "entry_wins": config.same_bar_conflict == "entry_wins",
        "close_at_end": config.at_end == "close" and config.compat != "backtesting",
        "long_wins": config.compat == "backtesting",
        "finalize": config.at_end == "close" and config.compat == "backtesting",
        "bt_trade_on_close": config.fill == "close" and config.compat == "backtesting",
        "stop_first": config.compat is not None,
        "stop_bar_quiet": config.compat == "vectorbt",
        "partial_fills": config.compat == "vectorbt",
        "bt_orders": config.compat == "backtesting",
        "leverage": 1.0 / float(config.margin),
        "maintenance": float(config.maintenance),
        "ruin_zero": config.compat == "backtesting",
        "trade_on_ruin": config.compat == "vectorbt",
        "accumulate": config.accumulate,
        "opposite": _OPPOSITE_CODES[config.on_opposite_entry],
        "merge_exits": config.compat == "vectorbt",
        "exit_by_size": config.compat == "vectorbt" and config.accumulate and config.sizing in ("fixed", "value",
                                                                                               "percent"),
        "min_units": 1e-8 if config.compat == "vectorbt" else 0.0,
        "extra_records": 0,
        "log_orders": keeps_order_log(config),
    }
    if values.keys() != _SIM_FIELDS:  # a field added to one side only
        raise AssertionError(f"sim_params: fields {sorted(values.keys() ^ _SIM_FIELDS)} "
                             "are set here or in SIM_PARAMS_DTYPE, not both")
    params = np.zeros(1, dtype=SIM_PARAMS_RECORD)  # (fields as attributes when the kernel runs as Python)
    for name, value in values.items():
        params[name] = value
    return params


def compute_stats(bars: Bars, equity: np.ndarray, trades: np.ndarray, init_cash: float,
                  risk_free_rate: float = 0.0) -> dict[str, Any]:
    """Stats dict (engine/kernels/stats.py defines every figure; risk_free_rate: annual, a fraction)."""
    return stats_and_drawdown(bars, equity, trades, init_cash, risk_free_rate, drawdown=False)[0]


def stats_and_drawdown(bars: Bars, equity: np.ndarray, trades: np.ndarray, init_cash: float,
                       risk_free_rate: float = 0.0, *, drawdown: bool = True
                       ) -> tuple[dict[str, Any], np.ndarray | None]:
    """compute_stats, and if asked the drawdown curve in % of the running peak (<= 0; drawdown_nb * 100),
    from one pass of the stats kernel over the equity curve."""
    args = (equity, bars.ts, bars.close, trades["entry_bar"], trades["exit_bar"], trades["pnl"],
            trades["return_pct"], trades["entry_fee"], trades["exit_fee"], trades["is_open"], float(init_cash),
            float(risk_free_rate))
    drawdown_pct = None
    if drawdown:
        values, drawdown_pct = stats_drawdown_nb(*args)
    else:
        values = stats_nb(*args)
    times = bars.times()
    stats: dict[str, Any] = {
        "start": str(np.datetime_as_string(times[0], unit="s")) + "Z" if len(bars) else None,
        "end": str(np.datetime_as_string(times[-1], unit="s")) + "Z" if len(bars) else None,
    }
    for key, v in zip(STAT_KEYS, values.tolist(), strict=True):
        stats[key] = int(v) if key in _INT_STATS else v
    return stats, drawdown_pct


def _directional(signals: SignalArrays | Signals, direction: str, n: int):
    """Long/short signal arrays for the kernel from a strategy's Signals and the config direction."""
    entries = _bool_array(signals.entries, n, "entries")
    exits = _bool_array(signals.exits, n, "exits")
    none = np.zeros(n, dtype=np.bool_)
    if direction == "long":
        return entries, exits, none, none
    if direction == "short":
        return none, none, entries, exits
    se = signals.short_entries
    sx = signals.short_exits
    short_entries = exits if se is None else _bool_array(se, n, "short_entries")
    short_exits = entries if sx is None else _bool_array(sx, n, "short_exits")
    return entries, exits, short_entries, short_exits


def _bool_array(a, n: int, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=np.bool_)
    if arr.shape != (n,):
        raise DataError(f"signals: {name} has shape {arr.shape}, expected ({n},)")
    return arr
