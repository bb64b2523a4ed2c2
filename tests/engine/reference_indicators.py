"""Reference indicators: plain-Python loops written from the definitions in
engine/kernels/indicators.py and signals.py (no numpy vector tricks, no numba).

Each function takes and returns Python lists of floats (NaN = float("nan")) or bools.
They are slow and obvious on purpose: the kernels must equal them.
"""

from __future__ import annotations

import math

NAN = float("nan")


def _isnan(v: float) -> bool:
    return v != v


def sma(x: list[float], n: int) -> list[float]:
    out = []
    for i in range(len(x)):
        if i < n - 1:
            out.append(NAN)
            continue
        window = x[i - n + 1 : i + 1]
        if any(_isnan(v) for v in window):
            out.append(NAN)
        else:
            out.append(math.fsum(window) / n)
    return out


def ema(x: list[float], n: int) -> list[float]:
    alpha = 2.0 / (n + 1.0)
    out = [NAN] * len(x)
    seen = []
    prev = NAN
    for i, v in enumerate(x):
        if _isnan(v):
            continue
        if len(seen) < n:
            seen.append(v)
            if len(seen) == n:
                prev = sum(seen) / n
                out[i] = prev
        else:
            prev = alpha * v + (1.0 - alpha) * prev
            out[i] = prev
    return out


def rsi(x: list[float], n: int) -> list[float]:
    out = [NAN] * len(x)
    valid = [(i, v) for i, v in enumerate(x) if not _isnan(v)]
    gains = []
    losses = []
    ag = al = 0.0
    for j in range(1, len(valid)):
        i, v = valid[j]
        d = v - valid[j - 1][1]
        g = max(d, 0.0)
        lo = max(-d, 0.0)
        if len(gains) < n:
            gains.append(g)
            losses.append(lo)
            if len(gains) < n:
                continue
            ag = sum(gains) / n
            al = sum(losses) / n
        else:
            ag = (ag * (n - 1) + g) / n
            al = (al * (n - 1) + lo) / n
        if al == 0.0:
            out[i] = 100.0 if ag > 0.0 else 50.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + ag / al)
    return out


def bollinger(x: list[float], n: int, k: float) -> tuple[list[float], list[float], list[float]]:
    mid = sma(x, n)
    upper = [NAN] * len(x)
    lower = [NAN] * len(x)
    for i in range(len(x)):
        if _isnan(mid[i]):
            continue
        window = x[i - n + 1 : i + 1]
        mean = math.fsum(window) / n
        var = math.fsum((v - mean) ** 2 for v in window) / n
        std = math.sqrt(var)
        upper[i] = mid[i] + k * std
        lower[i] = mid[i] - k * std
    return mid, upper, lower


def _rolling(x: list[float], n: int, pick) -> list[float]:
    out = []
    for i in range(len(x)):
        window = x[max(0, i - n + 1) : i + 1]
        if i < n - 1 or any(_isnan(v) for v in window):
            out.append(NAN)
        else:
            out.append(pick(window))
    return out


def donchian(high: list[float], low: list[float], n: int) -> tuple[list[float], list[float]]:
    return _rolling(high, n, max), _rolling(low, n, min)


def macd(x: list[float], fast: int, slow: int, signal: int):
    ef = ema(x, fast)
    es = ema(x, slow)
    line = [a - b for a, b in zip(ef, es, strict=True)]
    sig = ema(line, signal)
    hist = [a - b for a, b in zip(line, sig, strict=True)]
    return line, sig, hist


def atr(high: list[float], low: list[float], close: list[float], n: int) -> list[float]:
    out = [NAN] * len(close)
    trs = []
    prev_close = None
    value = NAN
    for i in range(len(close)):
        h, lo, c = high[i], low[i], close[i]
        if _isnan(h) or _isnan(lo) or _isnan(c):
            continue
        if prev_close is None:
            tr = h - lo
        else:
            tr = max(h - lo, abs(h - prev_close), abs(lo - prev_close))
        prev_close = c
        trs.append(tr)
        if len(trs) < n:
            continue
        if len(trs) == n:
            value = sum(trs) / n
        else:
            value = (value * (n - 1) + tr) / n
        out[i] = value
    return out


def crossover(a: list[float], b: list[float]) -> list[bool]:
    out = [False] * len(a)
    for i in range(1, len(a)):
        vals = (a[i - 1], b[i - 1], a[i], b[i])
        if any(_isnan(v) for v in vals):
            continue
        out[i] = a[i - 1] < b[i - 1] and a[i] > b[i]
    return out


def crossunder(a: list[float], b: list[float]) -> list[bool]:
    return crossover(b, a)


def crossover_level(a: list[float], level: float) -> list[bool]:
    return crossover(a, [level] * len(a))


def crossunder_level(a: list[float], level: float) -> list[bool]:
    return crossunder(a, [level] * len(a))
