"""Parameter sweeps: grids (with constraints), seeded random search, many symbols at once.

    result = run_sweep(bars, "sma_cross", {"n1": range(5, 101, 5), "n2": range(10, 201, 10)},
                       where="n1 < n2", executor=LocalExecutor())
    result.rows  # polars DataFrame: symbol, params, stats; one row per combo and dataset

A sweep is cut into chunks of combos that return stats rows only (no equity arrays). Indicators are
memoised per worker and dataset, in a memo bounded by bytes, and combos run in an order that keeps what
they share inside it (engine/sweep/order.py), so each distinct indicator is computed about once and
memory stays flat. Rows come back sorted by (dataset, combo), so the table is identical whatever the
worker count, chunking or run order. Walk-forward lives in engine/sweep/walkforward.py.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.bars import Bars
from engine.cache.keys import NamedDataset
from engine.config import SimConfig
from engine.errors import StrategyError
from engine.runtime import profiling
from engine.strategies import Strategy, get_strategy, resolve_params
from engine.strategies.memo import memo_bound
from engine.strategies.shipping import ship
from engine.sweep.executors import SerialExecutor
from engine.sweep.order import band_width, execution_order
from engine.sweep.task import ChunkResult, ChunkTask

if TYPE_CHECKING:
    from engine.portfolio.config import PortfolioConfig


@dataclass(frozen=True)
class Progress:
    done: int  # combos finished (rows + errors)
    total: int
    elapsed_s: float
    combos_per_s: float
    eta_s: float


@dataclass
class SweepResult:
    rows: pl.DataFrame
    errors: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    computed: int = 0  # combos actually computed (not served from cache)
    total: int = 0

    def top(self, metric: str, k: int = 10, descending: bool = True) -> pl.DataFrame:
        if self.rows.is_empty():
            return self.rows
        return self.rows.sort(metric, descending=descending, nulls_last=True).head(k)


# ---------------------------------------------------------------- grid specification

def parse_values(spec: str, name: str = "param") -> list[float]:
    """'5:100:5' (inclusive range), '5:100' (step 1) or '5,10,20' (list) -> numbers."""
    spec = spec.strip()
    try:
        if ":" in spec:
            parts = [float(x) for x in spec.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) == 3 else 1.0
            if step <= 0 or stop < start:
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [start + i * step for i in range(count)]
        else:
            values = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise StrategyError(f"grid {name}={spec!r}: expected START:STOP[:STEP] with STEP > 0 or a list A,B,C"
                            ) from None
    if not values:
        raise StrategyError(f"grid {name}={spec!r}: no values")
    return [int(v) if float(v).is_integer() else v for v in values]


_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def compile_where(expr: str | None, names: Sequence[str]) -> Callable[[dict[str, Any]], bool]:
    """A safe predicate from 'n1<n2 and n2<=5*n1': comparisons of params and numbers with + - * /,
    joined by `and`. Parsed with `ast` and walked; never `eval`."""
    if not expr or not expr.strip():
        return lambda params: True
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as exc:
        raise StrategyError(f"--where {expr!r}: not a valid condition ({exc.msg})") from None
    known = set(names)

    def value(node: ast.AST, p: dict[str, Any]) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
                node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            return p[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](value(node.left, p), value(node.right, p))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand, p)
        raise AssertionError("checked above")

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            for v in node.values:
                check(v)
            return
        if isinstance(node, ast.Compare) and all(type(op) in _OPS for op in node.ops):
            for operand in (node.left, *node.comparators):
                check_value(operand)
            return
        raise StrategyError(f"--where {expr!r}: only comparisons (< <= > >= == !=) joined by 'and' are allowed")

    def check_value(node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
                node.value, bool):
            return
        if isinstance(node, ast.Name):
            if node.id not in known:
                raise StrategyError(f"--where {expr!r}: unknown parameter {node.id!r} (known: {', '.join(names)})")
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            check_value(node.left)
            check_value(node.right)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            check_value(node.operand)
            return
        raise StrategyError(f"--where {expr!r}: only parameters, numbers and + - * / may be compared")

    check(tree)

    def evaluate(node: ast.AST, p: dict[str, Any]) -> bool:
        if isinstance(node, ast.BoolOp):
            return all(evaluate(v, p) for v in node.values)
        assert isinstance(node, ast.Compare)
        left = value(node.left, p)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = value(right_node, p)
            try:
                if not _OPS[type(op)](left, right):
                    return False
            except ZeroDivisionError:
                return False
            left = right
        return True

    def predicate(params: dict[str, Any]) -> bool:
        try:
            return evaluate(tree, params)
        except ZeroDivisionError:
            return False

    return predicate


def expand_grid(strategy: Strategy, grid: Mapping[str, Sequence[Any]], where: str | None = None,
                random_n: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Every valid parameter set of the grid (params not in `grid` keep their defaults).

    Combos failing `where` or the strategy's own constraints are dropped; a value outside a
    parameter's bounds is an error. `random_n` samples that many combos (seeded, without replacement).
    """
    names = [p.name for p in strategy.params]
    unknown = sorted(set(grid) - set(names))
    if unknown:
        raise StrategyError(f"strategy {strategy.name!r}: unknown parameter {unknown[0]!r} in the grid "
                            f"(known: {', '.join(names)})")
    keys = list(grid)
    predicate = compile_where(where, names)
    combos: list[dict[str, Any]] = []
    for values in itertools.product(*(list(grid[k]) for k in keys)):
        given = dict(zip(keys, values, strict=True))
        full = {**strategy.defaults(), **given}
        if not predicate(full):
            continue
        if strategy.constraints(_typed(strategy, full)) is not None:
            continue
        combos.append(resolve_params(strategy, given))
    if random_n is not None and random_n < len(combos):
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(len(combos)), random_n))
        combos = [combos[i] for i in picked]
    return combos


def _typed(strategy: Strategy, params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for p in strategy.params:
        v = params[p.name]
        out[p.name] = p.type(v) if isinstance(v, (int, float)) else v
    return out


# ---------------------------------------------------------------- running

def run_sweep(
    bars: Bars | NamedDataset | Sequence[Bars | NamedDataset],
    strategy: str | Strategy,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    combos: list[dict[str, Any]] | None = None,
    where: str | None = None,
    random_n: int | None = None,
    seed: int = 0,
    config: SimConfig | None = None,
    executor: Any = None,
    chunk_size: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    strategies_dir: str | None = None,
    cache: Any = None,
    memo_bytes: int | None = None,
    portfolio: PortfolioConfig | None = None,
    score: str | None = None,
) -> SweepResult:
    """Run every combo of `grid` (or the given `combos`) on each dataset in `bars`.

    A dataset may be a `NamedDataset` (engine/cache/keys.py, a file read before): its bars are read only if a
    combo is not in `cache`.

    `portfolio`: run each combo as one portfolio of all the datasets (one per symbol) under this config,
    ranking entries by `score` (a spec such as "momentum:63"), one row per combo with symbol "portfolio"
    (engine/sweep/portfolio.py); `config` is then unused.

    `cache` (engine.cache.ResultCache) serves combos computed before; only misses are computed.
    `cancel` stops within one chunk and returns the rows finished so far (`cancelled=True`).
    `memo_bytes` bounds each worker's indicator memo (default: the executor's `memo_bytes`, else
    engine.strategies.memo.DEFAULT_MAX_BYTES);
    combos run in an order that keeps what they share inside it (engine/sweep/order.py).
    """
    t0 = time.perf_counter()
    config = config or SimConfig()
    if memo_bytes is None:  # the executor's (the sweep.memo_mb setting, app/workbench.py), else the default
        memo_bytes = getattr(executor, "memo_bytes", None)
    datasets: list[Any] = [bars] if isinstance(bars, (Bars, NamedDataset)) else list(bars)
    if portfolio is not None or cache is None:  # only the cache lookup can do without a file's bars
        datasets = [_loaded(ds) for ds in datasets]
    pf = None
    if portfolio is not None:
        from engine.sweep.portfolio import PortfolioSweep

        pf = PortfolioSweep(datasets, portfolio, score)
        datasets = [pf.stacked]
    strat = get_strategy(strategy, strategies_dir=strategies_dir) if isinstance(strategy, str) else strategy
    if combos is None:
        combos = expand_grid(strat, grid or {}, where, random_n, seed)
    else:
        combos = [resolve_params(strat, c) for c in combos]
    total = len(combos) * len(datasets)
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    keys: dict[tuple[int, int], str] = {}
    todo: list[tuple[int, list[tuple[int, dict[str, Any]]]]] = []
    for d, ds in enumerate(datasets):
        missing = list(enumerate(combos))
        if cache is not None:
            from engine.cache import backtest_keys

            found_keys = pf.keys(strat, combos) if pf else backtest_keys(ds, strat, combos, config, kind="stats")
            ds_keys = dict(zip(range(len(combos)), found_keys, strict=True))
            found = cache.get_many(list(ds_keys.values()))
            still = []
            for i, c in missing:
                hit = found.get(ds_keys[i])
                if isinstance(hit, dict):  # anything else (a damaged entry) is computed again
                    rows.append({"combo": i, "dataset": d, "symbol": ds.symbol, **hit})
                else:
                    still.append((i, c))
                    keys[(d, i)] = ds_keys[i]
            missing = still
        if missing and isinstance(ds, NamedDataset):  # a combo to compute: now the file is read
            with profiling.timer("sweep.load"):
                datasets[d] = ds = ds.load()
        tile = band_width(memo_bound(memo_bytes), len(ds))
        order = execution_order([c for _, c in missing], tile)
        todo.append((d, [missing[k] for k in order]))
    computed = sum(len(m) for _, m in todo)

    executor = executor or SerialExecutor()
    # What the chunks run: this very object in this process, or its code and attributes shipped to
    # workers (a strategy they could not load is refused here, before any work).
    shipped = strat if isinstance(executor, SerialExecutor) else ship(strat)
    workers = max(1, getattr(executor, "workers", 1))
    size = chunk_size or _auto_chunk(computed, workers)
    done = [len(rows)]
    gauges = _SweepGauges(workers, len(rows))

    def on_done(res: ChunkResult) -> None:
        rows.extend(res.rows)
        errors.extend(res.errors)
        if cache is not None and res.rows:
            cache.put_many({keys[(r["dataset"], r["combo"])]: _cacheable(r) for r in res.rows})
        _record_chunk(res)
        gauges.chunk_done()
        done[0] += len(res.rows) + len(res.errors)
        if progress is not None:
            elapsed = time.perf_counter() - t0
            rate = done[0] / elapsed if elapsed > 0 else 0.0
            progress(Progress(done[0], total, elapsed, rate, (total - done[0]) / rate if rate > 0 else math.inf))

    refs = []
    sweep_id = uuid.uuid4().hex
    try:
        tasks: list[ChunkTask] = []
        for d, missing in todo:
            if not missing:
                continue
            ref = executor.publish(datasets[d])
            refs.append(ref)
            start = 0
            for length in _chunk_lengths(len(missing), size, workers):
                chunk = tuple(missing[start:start + length])
                start += length
                tasks.append(ChunkTask(len(tasks), ref, shipped, None, config.to_dict(), chunk, d,
                                       memo_bytes, portfolio=pf.spec if pf else None, sweep_id=sweep_id))
        gauges.start(len(tasks))
        executor.map_chunks(tasks, on_done, cancel)
    finally:
        gauges.start(0)
        for ref in refs:
            executor.release(ref)
    if progress is not None and computed == 0:
        progress(Progress(total, total, time.perf_counter() - t0, 0.0, 0.0))
    rows.sort(key=lambda r: (r["dataset"], r["combo"]))
    errors.sort(key=lambda r: (r["dataset"], r["combo"]))
    cancelled = bool(cancel is not None and cancel.is_set() and done[0] < total)
    return SweepResult(_frame(rows), errors, cancelled, time.perf_counter() - t0, computed, total)


def _loaded(ds: Bars | NamedDataset) -> Bars:
    return ds.load() if isinstance(ds, NamedDataset) else ds


def _auto_chunk(n: int, workers: int) -> int:
    """About 8 chunks per worker (load balance, fine-grained progress and cancel), 1..64 combos each
    (the tail is cut finer: `_chunk_lengths`)."""
    return max(1, min(64, math.ceil(n / (workers * 8)) if n else 1))


def _chunk_lengths(n: int, size: int, workers: int) -> list[int]:
    """Chunk lengths for `n` combos: `size` each, then tapering (guided scheduling) so the last chunks
    are small and the workers finish together; a chunk of `size` near the end would leave the other
    workers idle for its whole length. At least `size // 4` combos each, so the tail stays cheap to
    dispatch; one worker needs no taper."""
    if workers <= 1:
        return [min(size, n - start) for start in range(0, n, size)]
    floor = max(1, size // 4)
    out: list[int] = []
    left = n
    while left > 0:
        length = min(size, left, max(floor, math.ceil(left / (2 * workers))))
        out.append(length)
        left -= length
    return out


def _cacheable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("combo", "dataset", "symbol")}


def _record_chunk(res: ChunkResult) -> None:
    """What a worker sent back with its chunk, into this process's registry (the dashboard, /metrics)."""
    reg = profiling.default_registry()
    if not reg.enabled:
        return
    reg.record_worker_report(res.worker or res.worker_pid, res.seconds, res.rss_bytes, res.bar_steps,
                             tasks=len(res.rows) + len(res.errors))
    reg.counter("sweep.chunks").inc()
    reg.counter("sweep.combos.computed").inc(len(res.rows))
    if res.errors:
        reg.counter("sweep.combos.failed").inc(len(res.errors))
        reg.counter("sweep.errors").inc(len(res.errors))
    for stage, seconds in res.stage_seconds.items():
        timer = reg.timer(f"sweep.{stage}")
        for s in seconds:
            timer.record(s)


class _SweepGauges:
    """sweep.workers and sweep.workers_busy (min(workers, chunks not finished): a worker is busy while a
    chunk is left for it), and sweep.combos.cached, in the default registry."""

    def __init__(self, workers: int, cached: int) -> None:
        self.reg = profiling.default_registry()
        self.workers = workers
        self.left = 0
        if self.reg.enabled and cached:
            self.reg.counter("sweep.combos.cached").inc(cached)

    def start(self, chunks: int) -> None:
        self.left = chunks
        self._set()

    def chunk_done(self) -> None:
        self.left = max(0, self.left - 1)
        self._set()

    def _set(self) -> None:
        if self.reg.enabled:
            self.reg.gauge("sweep.workers").set(float(self.workers if self.left else 0))
            self.reg.gauge("sweep.workers_busy").set(float(min(self.workers, self.left)))


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, infer_schema_length=None)
