"""Indicator kernels: numba functions of float64 numpy arrays, one output value per input bar.

Every output is causal (bar i uses inputs up to and including bar i only) and NaN until the
indicator is defined. Windows `n` must be >= 1; the strategy layer validates them, kernels do not.

Definitions (x is the input, N its length, "valid" means not NaN):

sma_nb(x, n)
    sma[i] = (x[i-n+1] + ... + x[i]) / n for i >= n-1, NaN if any value in that window is NaN,
    so leading NaNs give NaN until n valid bars have passed. O(N): a running sum with Neumaier
    compensation, re-added from scratch every max(n, 64) bars, so the result stays within a few
    ulps of the direct window mean on any length and across large swings in magnitude.
    +inf/-inf in the window give +inf/-inf (NaN if both), as the direct mean would.

ema_nb(x, n)
    alpha = 2 / (n + 1). NaN bars are skipped: the EMA runs on the valid values in order, and a
    NaN bar outputs NaN and leaves the state unchanged. The seed is the plain mean of the first n
    valid values, placed at the n-th valid value (index first_valid + n - 1 when there is no gap);
    after it ema = alpha * x[i] + (1 - alpha) * ema_prev.

rsi_nb(x, n)
    Wilder's RSI over the valid values (NaN bars output NaN and are skipped; a change is taken
    against the previous valid value). d = x[i] - x_prev, gain = max(d, 0), loss = max(-d, 0).
    The first averages are the plain means of the first n changes, defined at the bar of the n-th
    change (index first_valid + n without gaps); then avg = (avg * (n - 1) + cur) / n.
    rsi = 100 - 100 / (1 + avg_gain / avg_loss); if avg_loss == 0: 100 if avg_gain > 0 else 50.

bollinger_nb(x, n, k) -> (mid, upper, lower)
    mid = sma_nb(x, n); std = population std (ddof=0) of the same window, by a corrected two-pass
    sum over the window (O(N * n), exact to rounding even on flat stretches, where it is 0);
    upper = mid + k * std, lower = mid - k * std. NaN wherever mid is NaN.

donchian_nb(high, low, n) -> (upper, lower)
    upper[i] = max(high[i-n+1..i]), lower[i] = min(low[i-n+1..i]) (the current bar included),
    NaN while fewer than n bars exist or if any value in the window is NaN. O(N) monotonic deques.

macd_nb(x, fast, slow, signal) -> (macd, signal_line, hist)
    macd = ema_nb(x, fast) - ema_nb(x, slow) (NaN where either is NaN);
    signal_line = ema_nb(macd, signal) (macd's leading NaNs skipped); hist = macd - signal_line.

atr_nb(high, low, close, n)
    Wilder's ATR. A bar is valid when high, low and close are all valid; others output NaN and are
    skipped. TR at the first valid bar = high - low; later TR = max(high - low, |high - c_prev|,
    |low - c_prev|) with c_prev the previous valid close. ATR at the n-th valid bar (index n - 1
    without NaNs) = mean of the first n TRs; then atr = (atr_prev * (n - 1) + TR) / n, computed as
    atr_prev * ((n - 1) / n) + TR * (1 / n): within a few ulps of the division, and ~3x faster (a
    division on the loop's dependency chain took ~5 ms per 1M bars, docs/performance.md).
"""

from __future__ import annotations

import numpy as np

from engine.kernels.jit import njit


@njit(cache=True, nogil=True, inline="always")
def _neumaier_add_nb(s, c, v):
    """(s + v, c plus the rounding error of that sum): one step of Neumaier's compensated sum."""
    t = s + v
    if abs(s) >= abs(v):
        c += (s - t) + v
    else:
        c += (v - t) + s
    return t, c


@njit(cache=True, nogil=True, inline="always")
def _sma_step_nb(x, i, n, resum_every, s, c, n_nan, n_pinf, n_ninf, k):
    """Bar i of sma_nb's running window over x: x[i] joins, x[i-n] leaves.

    State: s + c is the compensated sum of the finite values in the window; n_nan, n_pinf, n_ninf count
    the others; k counts bars since the last re-add. Returns the new state and sma[i]. Shared by sma_nb
    and the fused sma_cross_nb (engine/kernels/signals.py), so both give the same bits."""
    v = x[i]
    if abs(v) < np.inf:  # one compare for the common case; NaN and +-inf are counted apart
        s, c = _neumaier_add_nb(s, c, v)
    elif np.isnan(v):
        n_nan += 1
    elif v > 0.0:
        n_pinf += 1
    else:
        n_ninf += 1
    if i >= n:
        old = x[i - n]
        if abs(old) < np.inf:
            s, c = _neumaier_add_nb(s, c, -old)
        elif np.isnan(old):
            n_nan -= 1
        elif old > 0.0:
            n_pinf -= 1
        else:
            n_ninf -= 1
    k += 1
    if k == resum_every:  # a counter, not (i + 1) % resum_every: an integer division per bar cost ~20 %
        # Re-add the window from scratch: drops error carried over from far-away magnitudes.
        k = 0
        s = 0.0
        c = 0.0
        for j in range(max(0, i - n + 1), i + 1):
            w = x[j]
            if np.isfinite(w):
                s, c = _neumaier_add_nb(s, c, w)
    value = np.nan
    if i >= n - 1 and n_nan == 0:
        if n_pinf == 0 and n_ninf == 0:
            value = (s + c) / n
        elif n_pinf > 0 and n_ninf > 0:
            value = np.nan
        elif n_pinf > 0:
            value = np.inf
        else:
            value = -np.inf
    return s, c, n_nan, n_pinf, n_ninf, k, value


@njit(cache=True, nogil=True, inline="always")
def _sma_finite_step_nb(x, i, n, resum_every, s, c, k):
    """`_sma_step_nb` where every value of x is finite (no NaN or inf to count): the same additions in the
    same order, so the same bits, without the per-value checks (~18 % of sma_cross_nb's time)."""
    s, c = _neumaier_add_nb(s, c, x[i])
    if i >= n:
        s, c = _neumaier_add_nb(s, c, -x[i - n])
    k += 1
    if k == resum_every:
        k = 0
        s = 0.0
        c = 0.0
        for j in range(max(0, i - n + 1), i + 1):
            s, c = _neumaier_add_nb(s, c, x[j])
    value = (s + c) / n if i >= n - 1 else np.nan
    return s, c, k, value


@njit(cache=True, nogil=True)
def all_finite_nb(x):
    """Whether every value of x is finite (neither NaN nor +-inf); one pass that vectorises."""
    ok = True
    for i in range(x.shape[0]):
        ok &= abs(x[i]) < np.inf
    return ok


@njit(cache=True, nogil=True)
def sma_finite_into_nb(x, n, out):
    """`sma_nb` of an all-finite x into `out`, bit for bit the loop of `_sma_finite_step_nb`, ~1.35x faster.

    That loop is one chain of dependent additions, but the re-add every R = max(n, 64) bars replaces the
    running sum, so each stretch of R bars (a segment) depends only on the re-added sum before it. Four
    segments run side by side here, as four independent chains the CPU overlaps, each doing the same
    additions in the same order as the loop: same bits (docs/performance.md, "SMA segments")."""
    size = x.shape[0]
    r = max(n, 64)
    s = 0.0
    c = 0.0
    k = 0
    for i in range(min(r, size)):  # segment 0: the window is still filling
        s, c, k, out[i] = _sma_finite_step_nb(x, i, n, r, s, c, k)
    if size <= r:
        return out
    whole = size // r
    j = 1  # segment j covers bars j*r .. j*r + r - 1; its last bar is a re-add, its start state the one before
    p_s, p_c = s, c  # segment 0 ended on its re-add (bar r - 1): segment 1's start state
    while j + 4 <= whole:
        b0 = j * r
        b1 = b0 + r
        b2 = b1 + r
        b3 = b2 + r
        e3 = b3 + r - 1
        # each segment's closing re-add (the next one's start state), four chains side by side
        f0s = f0c = f1s = f1c = f2s = f2c = f3s = f3c = 0.0
        for q in range(1 - n, 1):
            f0s, f0c = _neumaier_add_nb(f0s, f0c, x[b1 - 1 + q])
            f1s, f1c = _neumaier_add_nb(f1s, f1c, x[b2 - 1 + q])
            f2s, f2c = _neumaier_add_nb(f2s, f2c, x[b3 - 1 + q])
            f3s, f3c = _neumaier_add_nb(f3s, f3c, x[e3 + q])
        s0, c0, s1, c1, s2, c2, s3, c3 = p_s, p_c, f0s, f0c, f1s, f1c, f2s, f2c
        for t in range(r - 1):
            i0 = b0 + t
            i1 = b1 + t
            i2 = b2 + t
            i3 = b3 + t
            s0, c0 = _neumaier_add_nb(s0, c0, x[i0])
            s1, c1 = _neumaier_add_nb(s1, c1, x[i1])
            s2, c2 = _neumaier_add_nb(s2, c2, x[i2])
            s3, c3 = _neumaier_add_nb(s3, c3, x[i3])
            s0, c0 = _neumaier_add_nb(s0, c0, -x[i0 - n])
            s1, c1 = _neumaier_add_nb(s1, c1, -x[i1 - n])
            s2, c2 = _neumaier_add_nb(s2, c2, -x[i2 - n])
            s3, c3 = _neumaier_add_nb(s3, c3, -x[i3 - n])
            out[i0] = (s0 + c0) / n
            out[i1] = (s1 + c1) / n
            out[i2] = (s2 + c2) / n
            out[i3] = (s3 + c3) / n
        out[b1 - 1] = (f0s + f0c) / n
        out[b2 - 1] = (f1s + f1c) / n
        out[b3 - 1] = (f2s + f2c) / n
        out[e3] = (f3s + f3c) / n
        p_s, p_c = f3s, f3c
        j += 4
    s, c = p_s, p_c
    k = 0
    for i in range(j * r, size):  # the segments left over, one chain as in the loop
        s, c, k, out[i] = _sma_finite_step_nb(x, i, n, r, s, c, k)
    return out


@njit(cache=True, nogil=True)
def sma_nb(x, n):
    """Rolling mean of the last `n` values; NaN until defined or when the window holds a NaN."""
    size = x.shape[0]
    out = np.empty(size)
    if all_finite_nb(x):
        return sma_finite_into_nb(x, n, out)
    s = 0.0  # running sum of the finite values in the window
    c = 0.0  # Neumaier compensation: the rounding error lost from `s` so far
    n_nan = 0
    n_pinf = 0
    n_ninf = 0
    k = 0
    resum_every = max(n, 64)
    for i in range(size):
        s, c, n_nan, n_pinf, n_ninf, k, value = _sma_step_nb(x, i, n, resum_every, s, c, n_nan, n_pinf, n_ninf, k)
        out[i] = value
    return out


@njit(cache=True, nogil=True)
def ema_nb(x, n):
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first n valid values."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    alpha = 2.0 / (n + 1.0)
    count = 0
    seed_sum = 0.0
    prev = np.nan
    for i in range(size):
        v = x[i]
        if np.isnan(v):
            continue
        if count < n:
            seed_sum += v
            count += 1
            if count == n:
                prev = seed_sum / n
                out[i] = prev
        else:
            prev = alpha * v + (1.0 - alpha) * prev
            out[i] = prev
    return out


@njit(cache=True, nogil=True)
def rsi_nb(x, n):
    """Wilder's relative strength index (0..100) over `n` changes."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    last = np.nan  # previous valid value
    n_changes = 0
    avg_gain = 0.0
    avg_loss = 0.0
    for i in range(size):
        v = x[i]
        if np.isnan(v):
            continue
        if np.isnan(last):
            last = v
            continue
        d = v - last
        last = v
        gain = d if d > 0.0 else 0.0
        loss = -d if d < 0.0 else 0.0
        n_changes += 1
        if n_changes <= n:
            avg_gain += gain
            avg_loss += loss
            if n_changes < n:
                continue
            avg_gain /= n
            avg_loss /= n
        else:
            avg_gain = (avg_gain * (n - 1) + gain) / n
            avg_loss = (avg_loss * (n - 1) + loss) / n
        if avg_loss == 0.0:
            out[i] = 100.0 if avg_gain > 0.0 else 50.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


@njit(cache=True, nogil=True)
def bollinger_nb(x, n, k):
    """Bollinger bands: (mid, upper, lower) = SMA and SMA ± k · population std of the window."""
    size = x.shape[0]
    mid = sma_nb(x, n)
    upper = np.full(size, np.nan)
    lower = np.full(size, np.nan)
    for i in range(n - 1, size):
        m = mid[i]
        if not np.isfinite(m):
            continue
        # Corrected two-pass: sum of squared deviations minus the (tiny) bias of the mean.
        dev = 0.0
        sq = 0.0
        for j in range(i - n + 1, i + 1):
            d = x[j] - m
            dev += d
            sq += d * d
        var = (sq - dev * dev / n) / n
        std = np.sqrt(var) if var > 0.0 else 0.0
        upper[i] = m + k * std
        lower[i] = m - k * std
    return mid, upper, lower


@njit(cache=True, nogil=True)
def _rolling_extreme_nb(x, n, want_max):
    """Rolling max (or min) of the last n values via a monotonic deque of indices."""
    size = x.shape[0]
    out = np.full(size, np.nan)
    dq = np.empty(size, dtype=np.int64)  # ring not needed: head only moves forward
    head = 0
    tail = 0
    last_nan = -1
    for i in range(size):
        v = x[i]
        if np.isnan(v):
            last_nan = i
            head = 0
            tail = 0
            continue
        if want_max:
            while tail > head and x[dq[tail - 1]] <= v:
                tail -= 1
        else:
            while tail > head and x[dq[tail - 1]] >= v:
                tail -= 1
        dq[tail] = i
        tail += 1
        if dq[head] <= i - n:
            head += 1
        if i >= n - 1 and i - last_nan >= n:
            out[i] = x[dq[head]]
    return out


@njit(cache=True, nogil=True)
def donchian_nb(high, low, n):
    """Donchian channel: (upper, lower) = rolling max(high), min(low) over the last n bars."""
    return _rolling_extreme_nb(high, n, True), _rolling_extreme_nb(low, n, False)


@njit(cache=True, nogil=True)
def macd_nb(x, fast, slow, signal):
    """MACD: (macd, signal_line, hist) from EMAs of `fast` and `slow` bars and a `signal`-bar EMA."""
    macd = ema_nb(x, fast) - ema_nb(x, slow)
    signal_line = ema_nb(macd, signal)
    hist = macd - signal_line
    return macd, signal_line, hist


@njit(cache=True, nogil=True)
def atr_nb(high, low, close, n):
    """Wilder's average true range over `n` bars, in price units."""
    size = close.shape[0]
    out = np.full(size, np.nan)
    prev_close = np.nan
    count = 0
    atr = 0.0
    keep = (n - 1) / n
    inv_n = 1.0 / n
    for i in range(size):
        h = high[i]
        lo = low[i]
        c = close[i]
        if np.isnan(h) or np.isnan(lo) or np.isnan(c):
            continue
        tr = h - lo
        if not np.isnan(prev_close):
            tr = max(tr, abs(h - prev_close), abs(lo - prev_close))
        prev_close = c
        count += 1
        if count <= n:
            atr += tr
            if count < n:
                continue
            atr /= n
        else:
            atr = atr * keep + tr * inv_n
        out[i] = atr
    return out
