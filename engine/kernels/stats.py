"""Stats kernel: performance figures of one run from its equity curve and trades.

Definitions (docs/stats.md has them with formulas and examples). Let e[0..n-1] be equity at each
bar's close, c the initial cash, r[i] = e[i]/e[i-1] - 1 with e[-1] = c, A = bars per year
(measured from the timestamps: (n-1) / span in years of 365.25 days; 252 without timestamps),
Y = that span in years, rf the annual risk-free rate (a fraction) and rf_bar = (1+rf)^(1/A) - 1.
- return_pct = (e[n-1]/c - 1)*100; buy_hold_return_pct = (close[n-1]/close[0] - 1)*100
- commissions = every fee paid: entry and exit fees of every trade (the open trade's entry fee included)
- g = geometric mean of r (0 if any 1+r <= 0); return_ann_pct = ((1+g)^A - 1)*100
- volatility_ann_pct = sqrt((var(r, ddof=1) + (1+g)^2)^A - (1+g)^(2A))*100 (backtesting.py's form,
  computed as (1+g)^A * sqrt(expm1(A*log1p(var/(1+g)^2))) to avoid cancellation)
- cagr_pct = ((e[n-1]/c)^(1/Y) - 1)*100 (-100 if e[n-1] <= 0; NaN without a time span)
- sharpe_ratio = (return_ann - rf) / volatility_ann
- sortino_ratio = (return_ann - rf) / (sqrt(mean(min(r, 0)^2)) * sqrt(A))
- beta, alpha: on the bars i = 1..n-1, with b[i] = close[i]/close[i-1] - 1 (buy and hold):
  beta = cov(r, b) / var(b); alpha per bar a = mean(r - rf_bar) - beta * mean(b - rf_bar) (the
  intercept of the least-squares line of r - rf_bar on b - rf_bar); alpha_pct = ((1+a)^A - 1)*100
- drawdown dd[i] = e[i]/max(e[0..i]) - 1; max_drawdown_pct = min(dd)*100 (<= 0);
  avg_drawdown_pct = mean over drawdown periods of each period's deepest dd; a period runs from a
  peak to the bar where equity regains it (or the end); max_drawdown_duration is the longest one
- calmar_ratio = return_ann / |max drawdown|
- trade figures use closed trades only: n_trades, win_rate (pnl > 0), best/worst/avg trade (avg is
  geometric), profit_factor = sum of positive returns / |sum of negative returns|, expectancy = mean
  return, sqn = sqrt(N) * mean(pnl) / std(pnl, ddof=1), kelly = W - (1-W)/R with W the win rate (a
  fraction) and R = mean pnl of winning trades / |mean pnl of losing trades| (pnl < 0)
- exposure_time_pct: share of bars with a position (open trade included), entry to exit bar inclusive
Durations are in days (float). Undefined figures are NaN.

stats_nb reads the equity curve once (stats_drawdown_nb also writes the drawdown curve in the same pass):
the returns' moments are exact two-pass sums per block of MOMENTS_BLOCK bars, merged block by block.
"""

import numpy as np

from engine.kernels.jit import njit

NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_YEAR = 365.25 * NS_PER_DAY

# Order of the values stats_nb returns (backtesting.py's order, where it has the figure).
STAT_KEYS = (
    "duration",
    "exposure_time_pct",
    "equity_final",
    "equity_peak",
    "commissions",
    "return_pct",
    "buy_hold_return_pct",
    "return_ann_pct",
    "volatility_ann_pct",
    "cagr_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "alpha_pct",
    "beta",
    "max_drawdown_pct",
    "avg_drawdown_pct",
    "max_drawdown_duration",
    "n_trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "max_trade_duration",
    "avg_trade_duration",
    "profit_factor",
    "expectancy_pct",
    "sqn",
    "kelly",
)
# Where each figure goes in stats_nb's output (module constants: numba compiles them in).
I_DURATION = STAT_KEYS.index("duration")
I_EXPOSURE = STAT_KEYS.index("exposure_time_pct")
I_EQUITY_FINAL = STAT_KEYS.index("equity_final")
I_EQUITY_PEAK = STAT_KEYS.index("equity_peak")
I_COMMISSIONS = STAT_KEYS.index("commissions")
I_RETURN = STAT_KEYS.index("return_pct")
I_BUY_HOLD = STAT_KEYS.index("buy_hold_return_pct")
I_RETURN_ANN = STAT_KEYS.index("return_ann_pct")
I_VOLATILITY_ANN = STAT_KEYS.index("volatility_ann_pct")
I_CAGR = STAT_KEYS.index("cagr_pct")
I_SHARPE = STAT_KEYS.index("sharpe_ratio")
I_SORTINO = STAT_KEYS.index("sortino_ratio")
I_CALMAR = STAT_KEYS.index("calmar_ratio")
I_ALPHA = STAT_KEYS.index("alpha_pct")
I_BETA = STAT_KEYS.index("beta")
I_MAX_DD = STAT_KEYS.index("max_drawdown_pct")
I_AVG_DD = STAT_KEYS.index("avg_drawdown_pct")
I_MAX_DD_DURATION = STAT_KEYS.index("max_drawdown_duration")
I_N_TRADES = STAT_KEYS.index("n_trades")
I_WIN_RATE = STAT_KEYS.index("win_rate_pct")
I_BEST = STAT_KEYS.index("best_trade_pct")
I_WORST = STAT_KEYS.index("worst_trade_pct")
I_AVG_TRADE = STAT_KEYS.index("avg_trade_pct")
I_MAX_TRADE_DURATION = STAT_KEYS.index("max_trade_duration")
I_AVG_TRADE_DURATION = STAT_KEYS.index("avg_trade_duration")
I_PROFIT_FACTOR = STAT_KEYS.index("profit_factor")
I_EXPECTANCY = STAT_KEYS.index("expectancy_pct")
I_SQN = STAT_KEYS.index("sqn")
I_KELLY = STAT_KEYS.index("kelly")


@njit(cache=True, nogil=True)
def drawdown_nb(equity):
    """dd[i] = equity[i] / running peak - 1 (a fraction <= 0)."""
    n = equity.shape[0]
    dd = np.empty(n)
    peak = -np.inf
    for i in range(n):
        if equity[i] > peak:
            peak = equity[i]
        dd[i] = equity[i] / peak - 1.0 if peak > 0.0 else 0.0
    return dd


@njit(cache=True, nogil=True)
def periods_per_year_nb(ts):
    n = ts.shape[0]
    if n < 2 or ts[n - 1] <= ts[0]:
        return 252.0
    return (n - 1) / ((ts[n - 1] - ts[0]) / NS_PER_YEAR)


@njit(cache=True, nogil=True)
def held_bars_nb(entry_bar, exit_bar, n):
    """Bars covered by a trade, entry..exit inclusive (the union of the trades' spans).

    Trades come from the simulate kernel in entry order; then the spans are merged in one pass with no
    n-sized array (8 MB per million bars per combo). Otherwise a difference array counts them."""
    m = entry_bar.shape[0]
    ordered = True
    for k in range(m):
        if exit_bar[k] < entry_bar[k] or (k > 0 and entry_bar[k] < entry_bar[k - 1]):
            ordered = False
            break
    if ordered:
        held = 0
        start = -1
        end = -2
        for k in range(m):
            if entry_bar[k] > end:
                held += end - start + 1 if end >= start else 0
                start = entry_bar[k]
                end = exit_bar[k]
            elif exit_bar[k] > end:
                end = exit_bar[k]
        if end >= start:
            held += end - start + 1
        return held
    cover = np.zeros(n + 1, dtype=np.int64)
    for k in range(m):
        cover[entry_bar[k]] += 1
        cover[exit_bar[k] + 1] -= 1
    run = 0
    held = 0
    for i in range(n):
        run += cover[i]
        if run > 0:
            held += 1
    return held


@njit(cache=True, nogil=True)
def bar_return_nb(e, prev):
    """r = e/prev - 1; -1 (all lost) when the previous equity is zero or below."""
    return e / prev - 1.0 if prev > 0.0 else -1.0


# The equity curve is read in blocks of this many bars. Per block: the bar returns, buy and hold's returns
# and the drawdown go into buffers by loops that vectorise (no branch, no division check: divisions are
# most of the work); then short sequential loops over the buffers (in L1 cache) follow the peaks and the
# drawdown periods; the returns' moments are exact two-pass sums over the block, merged into the running
# ones with Chan et al.'s update: as accurate as two passes over the whole curve, in one pass over it.
MOMENTS_BLOCK = 256


@njit(cache=True, nogil=True, error_model="numpy")
def _returns_block_nb(equity, close, rbuf, bbuf):
    """rbuf[j] = bar_return_nb(equity[j+1], equity[j]) and bbuf[j] = close[j+1] / close[j] - 1 (0 after a
    close <= 0) for j < len(equity) - 1. Returns False if a previous close was <= 0 (or NaN).

    Callers pass slices, so indices start at 0: numba then needs no negative-index check and the loop
    vectorises (no branch, no division check), which is most of the speed of the stats."""
    ok = True
    for j in range(equity.shape[0] - 1):
        p = equity[j]
        rbuf[j] = equity[j + 1] / p - 1.0 if p > 0.0 else -1.0
        cp = close[j]
        bbuf[j] = close[j + 1] / cp - 1.0 if cp > 0.0 else 0.0
        ok &= cp > 0.0
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def _drawdown_block_nb(equity, peaks, ddbuf):
    """ddbuf[j] = equity[j] / peaks[j] - 1 (0 while the peak is <= 0): drawdown_nb's, vectorised."""
    for j in range(equity.shape[0]):
        p = peaks[j]
        ddbuf[j] = equity[j] / p - 1.0 if p > 0.0 else 0.0


@njit(cache=True, nogil=True)
def _downside_nb(rbuf, k):
    """(sum of min(r, 0)^2, any r <= -1) over rbuf[:k]; four partial sums, so the additions overlap."""
    s0 = s1 = s2 = s3 = 0.0
    bad = False
    k4 = k - k % 4
    for j in range(0, k4, 4):
        r0 = rbuf[j]
        r1 = rbuf[j + 1]
        r2 = rbuf[j + 2]
        r3 = rbuf[j + 3]
        bad |= (r0 <= -1.0) | (r1 <= -1.0) | (r2 <= -1.0) | (r3 <= -1.0)
        r0 = r0 if r0 < 0.0 else 0.0
        r1 = r1 if r1 < 0.0 else 0.0
        r2 = r2 if r2 < 0.0 else 0.0
        r3 = r3 if r3 < 0.0 else 0.0
        s0 += r0 * r0
        s1 += r1 * r1
        s2 += r2 * r2
        s3 += r3 * r3
    for j in range(k4, k):
        r0 = rbuf[j]
        bad |= r0 <= -1.0
        r0 = r0 if r0 < 0.0 else 0.0
        s0 += r0 * r0
    return (s0 + s1) + (s2 + s3), bad


@njit(cache=True, nogil=True)
def _block_min_nb(ddbuf, k):
    """(min of ddbuf[:k], whether any of them is 0); four partial minima, so the comparisons overlap."""
    m0 = m1 = m2 = m3 = 0.0
    zero = False
    k4 = k - k % 4
    for j in range(0, k4, 4):
        d0 = ddbuf[j]
        d1 = ddbuf[j + 1]
        d2 = ddbuf[j + 2]
        d3 = ddbuf[j + 3]
        zero |= (d0 == 0.0) | (d1 == 0.0) | (d2 == 0.0) | (d3 == 0.0)
        m0 = d0 if d0 < m0 else m0
        m1 = d1 if d1 < m1 else m1
        m2 = d2 if d2 < m2 else m2
        m3 = d3 if d3 < m3 else m3
    for j in range(k4, k):
        d0 = ddbuf[j]
        zero |= d0 == 0.0
        m0 = d0 if d0 < m0 else m0
    m0 = m1 if m1 < m0 else m0
    m2 = m3 if m3 < m2 else m2
    return (m2 if m2 < m0 else m0), zero


@njit(cache=True, nogil=True)
def _block_range_nb(eq):
    """(min, max, any NaN) of eq; four partial minima and maxima, so the comparisons overlap (a NaN is
    never taken as either)."""
    k = eq.shape[0]
    lo0 = lo1 = lo2 = lo3 = np.inf
    hi0 = hi1 = hi2 = hi3 = -np.inf
    nan = False
    k4 = k - k % 4
    for j in range(0, k4, 4):
        e0 = eq[j]
        e1 = eq[j + 1]
        e2 = eq[j + 2]
        e3 = eq[j + 3]
        nan |= (e0 != e0) | (e1 != e1) | (e2 != e2) | (e3 != e3)
        lo0 = e0 if e0 < lo0 else lo0
        lo1 = e1 if e1 < lo1 else lo1
        lo2 = e2 if e2 < lo2 else lo2
        lo3 = e3 if e3 < lo3 else lo3
        hi0 = e0 if e0 > hi0 else hi0
        hi1 = e1 if e1 > hi1 else hi1
        hi2 = e2 if e2 > hi2 else hi2
        hi3 = e3 if e3 > hi3 else hi3
    for j in range(k4, k):
        e0 = eq[j]
        nan |= e0 != e0
        lo0 = e0 if e0 < lo0 else lo0
        hi0 = e0 if e0 > hi0 else hi0
    lo0 = lo1 if lo1 < lo0 else lo0
    lo2 = lo3 if lo3 < lo2 else lo2
    hi0 = hi1 if hi1 > hi0 else hi0
    hi2 = hi3 if hi3 > hi2 else hi2
    return (lo2 if lo2 < lo0 else lo0), (hi2 if hi2 > hi0 else hi0), nan


@njit(cache=True, nogil=True)
def _block_moments_nb(rbuf, bbuf, lo, k):
    """(mean r, mean b, sum (r - mean r)^2, sum (b - mean b)^2, sum (r - mean r)(b - mean b)) of the pairs
    lo..k-1. Four partial sums of every figure, added at the end: each sum is a chain of dependent
    additions, and four chains run side by side (as accurate: each partial sum adds fewer terms)."""
    m = k - lo
    sr0 = sr1 = sr2 = sr3 = 0.0
    sb0 = sb1 = sb2 = sb3 = 0.0
    k4 = lo + (m - m % 4)
    for j in range(lo, k4, 4):
        sr0 += rbuf[j]
        sr1 += rbuf[j + 1]
        sr2 += rbuf[j + 2]
        sr3 += rbuf[j + 3]
        sb0 += bbuf[j]
        sb1 += bbuf[j + 1]
        sb2 += bbuf[j + 2]
        sb3 += bbuf[j + 3]
    for j in range(k4, k):
        sr0 += rbuf[j]
        sb0 += bbuf[j]
    mean_r = ((sr0 + sr1) + (sr2 + sr3)) / m
    mean_b = ((sb0 + sb1) + (sb2 + sb3)) / m
    vr0 = vr1 = vr2 = vr3 = 0.0
    vb0 = vb1 = vb2 = vb3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for j in range(lo, k4, 4):
        dr0 = rbuf[j] - mean_r
        dr1 = rbuf[j + 1] - mean_r
        dr2 = rbuf[j + 2] - mean_r
        dr3 = rbuf[j + 3] - mean_r
        db0 = bbuf[j] - mean_b
        db1 = bbuf[j + 1] - mean_b
        db2 = bbuf[j + 2] - mean_b
        db3 = bbuf[j + 3] - mean_b
        vr0 += dr0 * dr0
        vr1 += dr1 * dr1
        vr2 += dr2 * dr2
        vr3 += dr3 * dr3
        vb0 += db0 * db0
        vb1 += db1 * db1
        vb2 += db2 * db2
        vb3 += db3 * db3
        c0 += dr0 * db0
        c1 += dr1 * db1
        c2 += dr2 * db2
        c3 += dr3 * db3
    for j in range(k4, k):
        dr0 = rbuf[j] - mean_r
        db0 = bbuf[j] - mean_b
        vr0 += dr0 * dr0
        vb0 += db0 * db0
        c0 += dr0 * db0
    return (mean_r, mean_b, (vr0 + vr1) + (vr2 + vr3), (vb0 + vb1) + (vb2 + vb3), (c0 + c1) + (c2 + c3))


@njit(cache=True, nogil=True, inline="always")
def _merge_moments_nb(n_a, mr_a, mb_a, m2r_a, m2b_a, co_a, n_b, mr_b, mb_b, m2r_b, m2b_b, co_b):
    """The moments of two sets of pairs joined (Chan, Golub & LeVeque's pairwise update)."""
    if n_a == 0:
        return n_b, mr_b, mb_b, m2r_b, m2b_b, co_b
    n = n_a + n_b
    dr = mr_b - mr_a
    db = mb_b - mb_a
    w = n_a * n_b / n
    return (n, mr_a + dr * (n_b / n), mb_a + db * (n_b / n), m2r_a + m2r_b + dr * dr * w,
            m2b_a + m2b_b + db * db * w, co_a + co_b + dr * db * w)


@njit(cache=True, nogil=True)
def stats_nb(equity, ts, close, entry_bar, exit_bar, pnl, return_pct, entry_fee, exit_fee, is_open, init_cash,
             risk_free_rate):
    """The figures of STAT_KEYS, in that order (the module docstring defines them)."""
    return _stats_nb(equity, ts, close, entry_bar, exit_bar, pnl, return_pct, entry_fee, exit_fee, is_open,
                     init_cash, risk_free_rate, np.empty(0))


@njit(cache=True, nogil=True)
def stats_drawdown_nb(equity, ts, close, entry_bar, exit_bar, pnl, return_pct, entry_fee, exit_fee, is_open,
                      init_cash, risk_free_rate):
    """(stats_nb(...), drawdown_nb(equity) * 100): the figures and the drawdown curve in % from the same pass
    over the equity curve."""
    dd_pct = np.empty(equity.shape[0])
    out = _stats_nb(equity, ts, close, entry_bar, exit_bar, pnl, return_pct, entry_fee, exit_fee, is_open,
                    init_cash, risk_free_rate, dd_pct)
    return out, dd_pct


@njit(cache=True, nogil=True)
def _stats_nb(equity, ts, close, entry_bar, exit_bar, pnl, return_pct, entry_fee, exit_fee, is_open, init_cash,
              risk_free_rate, dd_pct):
    """stats_nb, and the drawdown curve in % written into dd_pct when it has a slot per bar (else untouched)."""
    n = equity.shape[0]
    out = np.full(len(STAT_KEYS), np.nan)
    fees = 0.0
    for k in range(pnl.shape[0]):
        fees += entry_fee[k] + exit_fee[k]
    out[I_COMMISSIONS] = fees
    if n == 0:
        return out
    A = periods_per_year_nb(ts)
    rf = risk_free_rate
    rf_bar = np.expm1(np.log1p(rf) / A)
    span = ts[n - 1] - ts[0]
    out[I_DURATION] = span / NS_PER_DAY

    out[I_EXPOSURE] = held_bars_nb(entry_bar, exit_bar, n) / n * 100.0

    out[I_EQUITY_FINAL] = equity[n - 1]
    out[I_RETURN] = (equity[n - 1] / init_cash - 1.0) * 100.0
    out[I_BUY_HOLD] = (close[n - 1] / close[0] - 1.0) * 100.0
    if span > 0:
        years = span / NS_PER_YEAR
        out[I_CAGR] = np.expm1(np.log(equity[n - 1] / init_cash) / years) * 100.0 if equity[n - 1] > 0.0 else -100.0

    want_dd = dd_pct.shape[0] == n
    rbuf = np.empty(MOMENTS_BLOCK)
    bbuf = np.empty(MOMENTS_BLOCK)
    peaks = np.empty(MOMENTS_BLOCK)
    ddbuf = np.empty(MOMENTS_BLOCK)
    # moments of the pairs (r[i], b[i]), i = 1..n-1, for the variance of r and for beta and alpha
    m = 0
    mean_r = 0.0
    mean_b = 0.0
    m2_r = 0.0
    m2_b = 0.0
    co = 0.0
    close_ok = True
    r0 = bar_return_nb(equity[0], init_cash)
    bad = init_cash <= 0.0
    sum_down2 = 0.0
    # the curve's running peak (drawdown_nb's: NaN never becomes the peak) and np.max(equity)'s NaN
    curve_peak = -np.inf
    saw_nan = False
    # drawdown periods: a period runs from a peak to the bar that regains it
    peak = equity[0]
    peak_i = 0
    max_dd = 0.0
    in_dd = False
    period_min = 0.0
    sum_periods = 0.0
    n_periods = 0
    max_dur = 0.0
    for start in range(0, n, MOMENTS_BLOCK):
        stop = min(start + MOMENTS_BLOCK, n)
        k = stop - start
        lo = 1 if start == 0 else 0  # bar 0's return is against the initial cash and has no pair
        if lo:
            rbuf[0] = r0
            bbuf[0] = 0.0
        close_ok &= _returns_block_nb(equity[start + lo - 1:stop], close[start + lo - 1:stop], rbuf[lo:], bbuf[lo:])
        s2, any_bad = _downside_nb(rbuf, k)
        sum_down2 += s2
        bad |= any_bad
        if k > lo:
            mr, mb, vr, vb, cv = _block_moments_nb(rbuf, bbuf, lo, k)
            m, mean_r, mean_b, m2_r, m2_b, co = _merge_moments_nb(m, mean_r, mean_b, m2_r, m2_b, co,
                                                                  k - lo, mr, mb, vr, vb, cv)
        # the curve: drawdown_nb's e / running peak - 1 (0 while the peak is <= 0)
        eq = equity[start:stop]
        tracks = 0.0 < peak < np.inf and peak == curve_peak
        if tracks and not want_dd:
            # No curve to write, and most blocks lie wholly below the peak: then the peak is the same at every
            # bar, and dividing by it keeps the order (rounding is monotonic), so the block's lowest drawdown is
            # its lowest equity's, bit for bit: one division instead of one per bar (docs/performance.md,
            # "Stats without a division per bar").
            low_e, high_e, any_nan = _block_range_nb(eq)
            if not any_nan and high_e < curve_peak:
                lowest = low_e / curve_peak - 1.0
                in_dd = True
                period_min = lowest if lowest < period_min else period_min
                max_dd = lowest if lowest < max_dd else max_dd
                continue
        block_nan = False
        for j in range(k):
            e = eq[j]
            curve_peak = e if e > curve_peak else curve_peak
            block_nan |= e != e
            peaks[j] = curve_peak
        saw_nan |= block_nan
        _drawdown_block_nb(eq, peaks, ddbuf)
        if want_dd:
            dd_out = dd_pct[start:stop]
            for j in range(k):
                dd_out[j] = ddbuf[j] * 100.0
        # Drawdown periods. Data-dependent choices are selects (x if c else y), not branches: an equity curve
        # in the market goes up and down at random, and mispredicted branches would cost more than the rest.
        if tracks and not block_nan and curve_peak < np.inf:
            # The usual block: the periods' peak is the curve's at every bar (finite, > 0, no NaN), so the
            # drawdown is ddbuf's, and a bar is at the peak exactly when it is 0 (e < peak gives e/peak < 1).
            lowest, touches = _block_min_nb(ddbuf, k)
            if not touches:
                # Every bar below the peak (most blocks: a curve spends most of its time under its peak):
                # one period runs on (or starts) through the block, and only its minimum matters.
                in_dd = True
                period_min = lowest if lowest < period_min else period_min
                max_dd = lowest if lowest < max_dd else max_dd
                continue
            for j in range(k):
                d = ddbuf[j]
                at_peak = d == 0.0
                if at_peak and in_dd:  # a period ends: once per period
                    sum_periods += period_min
                    n_periods += 1
                    dur = (ts[start + j] - ts[peak_i]) / NS_PER_DAY
                    max_dur = dur if dur > max_dur else max_dur
                    period_min = 0.0
                peak_i = start + j if at_peak else peak_i
                in_dd = not at_peak
                period_min = d if d < period_min else period_min
                max_dd = d if d < max_dd else max_dd
            peak = curve_peak
            continue
        for j in range(k):
            e = eq[j]
            if peak > 0.0:
                # below the peak, the periods' peak is the curve's, so is the division
                d = ddbuf[j] if peak == peaks[j] else e / peak - 1.0
            else:
                d = -1.0
            at_peak = e >= peak
            if at_peak and in_dd:  # a period ends: once per period
                sum_periods += period_min
                n_periods += 1
                dur = (ts[start + j] - ts[peak_i]) / NS_PER_DAY
                max_dur = dur if dur > max_dur else max_dur
                period_min = 0.0
            peak = e if at_peak else peak
            peak_i = start + j if at_peak else peak_i
            in_dd = not at_peak
            d = 0.0 if at_peak else d
            period_min = d if d < period_min else period_min
            max_dd = d if d < max_dd else max_dd
    if in_dd:
        sum_periods += period_min
        n_periods += 1
        dur = (ts[n - 1] - ts[peak_i]) / NS_PER_DAY
        if dur > max_dur:
            max_dur = dur
    out[I_EQUITY_PEAK] = np.nan if saw_nan else curve_peak

    # the product of (1 + r) telescopes to e[n-1]/c, so the geometric mean needs no logs; the variance is
    # as exact as a two-pass one: annualising raises it to the power A, which magnifies any error
    g = 0.0 if bad else (equity[n - 1] / init_cash) ** (1.0 / n) - 1.0
    var = 0.0
    if n > 1:  # r[0] joins the pairs' r: a set of one with no spread
        delta = mean_r - r0
        var = (m2_r + delta * delta * (m / n)) / (n - 1)
    # (var + (1+g)^2)^A - (1+g)^(2A), rewritten so it does not cancel catastrophically:
    # (1+g)^(2A) * expm1(A * log1p(var / (1+g)^2))
    ann_ret = np.expm1(A * np.log1p(g)) if g > -1.0 else -1.0
    ann_vol = np.nan
    if n > 1:
        ann_vol = 0.0 if g <= -1.0 else (1.0 + g) ** A * np.sqrt(np.expm1(A * np.log1p(var / (1.0 + g) ** 2)))
    out[I_RETURN_ANN] = ann_ret * 100.0
    out[I_VOLATILITY_ANN] = ann_vol * 100.0
    if ann_vol > 0.0:
        out[I_SHARPE] = (ann_ret - rf) / ann_vol
    down = np.sqrt(sum_down2 / n) * np.sqrt(A)
    if down > 0.0:
        out[I_SORTINO] = (ann_ret - rf) / down
    # beta = cov(r, b) / var(b), alpha the least-squares intercept of r - rf_bar on b - rf_bar (per bar);
    # undefined with fewer than two pairs, a close <= 0 or b without variance
    if m >= 2 and close_ok and m2_b > 0.0:
        beta = co / m2_b
        alpha = (mean_r - rf_bar) - beta * (mean_b - rf_bar)
        out[I_BETA] = beta
        if alpha > -1.0:
            out[I_ALPHA] = np.expm1(A * np.log1p(alpha)) * 100.0

    out[I_MAX_DD] = max_dd * 100.0
    out[I_AVG_DD] = sum_periods / n_periods * 100.0 if n_periods > 0 else 0.0
    out[I_MAX_DD_DURATION] = max_dur
    if max_dd < 0.0:
        out[I_CALMAR] = ann_ret / -max_dd

    _trade_stats_nb(out, ts, entry_bar, exit_bar, pnl, return_pct, is_open)
    return out


@njit(cache=True, nogil=True)
def _trade_stats_nb(out, ts, entry_bar, exit_bar, pnl, return_pct, is_open):
    """The closed trades' figures, written into `out`."""
    nc = 0
    wins = 0
    losses = 0
    win_pnl = 0.0
    loss_pnl = 0.0
    best = -np.inf
    worst = np.inf
    sum_log_tr = 0.0
    bad_tr = False
    max_tdur = 0.0
    sum_tdur = 0.0
    pos_sum = 0.0
    neg_sum = 0.0
    sum_ret = 0.0
    sum_pnl = 0.0
    for k in range(pnl.shape[0]):
        if is_open[k]:
            continue
        nc += 1
        rt = return_pct[k]
        if pnl[k] > 0.0:
            wins += 1
            win_pnl += pnl[k]
        elif pnl[k] < 0.0:
            losses += 1
            loss_pnl += pnl[k]
        best = max(best, rt)
        worst = min(worst, rt)
        if 1.0 + rt / 100.0 <= 0.0:
            bad_tr = True
        else:
            sum_log_tr += np.log1p(rt / 100.0)
        d = (ts[exit_bar[k]] - ts[entry_bar[k]]) / NS_PER_DAY
        max_tdur = max(max_tdur, d)
        sum_tdur += d
        if rt > 0.0:
            pos_sum += rt
        elif rt < 0.0:
            neg_sum += rt
        sum_ret += rt
        sum_pnl += pnl[k]
    out[I_N_TRADES] = nc
    if nc == 0:
        return
    out[I_WIN_RATE] = wins / nc * 100.0
    out[I_BEST] = best
    out[I_WORST] = worst
    out[I_AVG_TRADE] = -100.0 if bad_tr else np.expm1(sum_log_tr / nc) * 100.0
    out[I_MAX_TRADE_DURATION] = max_tdur
    out[I_AVG_TRADE_DURATION] = sum_tdur / nc
    if neg_sum < 0.0:
        out[I_PROFIT_FACTOR] = pos_sum / -neg_sum
    out[I_EXPECTANCY] = sum_ret / nc
    if nc > 1:
        mean_pnl = sum_pnl / nc
        v = 0.0
        for k in range(pnl.shape[0]):
            if not is_open[k]:
                v += (pnl[k] - mean_pnl) ** 2
        sd = np.sqrt(v / (nc - 1))
        if sd > 0.0:
            out[I_SQN] = np.sqrt(nc) * mean_pnl / sd
    if wins > 0 and losses > 0:
        w = wins / nc
        out[I_KELLY] = w - (1.0 - w) / ((win_pnl / wins) / (-loss_pnl / losses))
