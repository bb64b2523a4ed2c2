"""Deterministic synthetic bars: regime-switching GBM with GARCH-like volatility clustering.

The model, per bar t (dt = one bar in years):
- a hidden regime k_t (bull / calm / bear) follows a 3-state Markov chain; each regime has its own
  annual drift mu_k and volatility sigma_k, and regimes last about half a year on average;
- a variance multiplier v_t (mean 1) follows GARCH(1,1): v_t = (1-a-b) + a v_{t-1} z_{t-1}^2 + b v_{t-1},
  so large moves cluster;
- log return r_t = (mu_k - sigma_k^2 v_t / 2) dt + sigma_k sqrt(v_t dt) z_t with fat-tailed z
  (Student t, 5 dof, scaled to unit variance).

OHLC: the open is the previous close moved by a small gap, the close is the previous close moved by
r_t, high/low extend beyond max/min(open, close) by a half-normal amount of the bar's volatility.
Volume is log-normal and rises with |r_t| / sigma_t. Everything is a pure function of the seed,
which defaults to a blake2b hash of symbol and timeframe (stable across processes and machines).

Timestamps: daily ("1d") bars fall on weekdays only (no holidays), at 00:00 UTC; intraday bars
("1m", "5m", "1h", ...) are on consecutive periods, 24 hours a day, 7 days a week.
"""

from __future__ import annotations

import hashlib

import numpy as np

from engine.bars import Bars
from engine.data.timeframes import split_timeframe, timeframe_ns
from engine.kernels.demo_paths import regimes_garch_nb

# The default demo dataset: symbol -> (timeframe, number of bars).
DEMO_SYMBOLS: dict[str, tuple[str, int]] = {
    "ACME": ("1d", 5040),
    "GLOBEX": ("1d", 5040),
    "INITECH": ("1d", 5040),
    "UMBRELLA": ("1d", 5040),
    "WAYNE": ("1d", 5040),
    "BTCX": ("1m", 1_000_000),
    "ETHX": ("1m", 1_000_000),
}

# Regimes: annual drift, annual volatility.
_MU = np.array([0.18, 0.05, -0.25])
_SIGMA = np.array([0.14, 0.20, 0.38])
# Transition weights to the *other* regimes when a regime ends (rows: from, cols: to).
_JUMP = np.array([[0.0, 0.7, 0.3], [0.6, 0.0, 0.4], [0.5, 0.5, 0.0]])
_MEAN_REGIME_YEARS = 0.5
_GARCH_A, _GARCH_B = 0.08, 0.90


def symbol_seed(symbol: str, timeframe: str = "1d") -> int:
    """Stable 63-bit seed from the symbol and timeframe (not Python's salted hash())."""
    digest = hashlib.blake2b(f"{symbol}|{timeframe}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _bars_per_year(timeframe: str) -> float:
    count, unit = split_timeframe(timeframe)
    if unit == "d":
        return 252.0 / count
    if unit == "w":
        return 52.0 / count
    if unit == "mo":
        return 12.0 / count
    return 365.0 * 86_400e9 / timeframe_ns(timeframe)  # intraday: trades around the clock


def _timestamps(n: int, timeframe: str, start: str) -> np.ndarray:
    count, unit = split_timeframe(timeframe)
    if unit == "d":
        day0 = np.busday_offset(np.datetime64(start, "D"), 0, roll="forward")
        days = np.busday_offset(day0, np.arange(n, dtype=np.int64) * count, roll="forward")
        return days.astype("datetime64[ns]").astype(np.int64)
    if unit == "mo":
        months = np.datetime64(start, "M") + np.arange(n) * count
        return months.astype("datetime64[ns]").astype(np.int64)
    t0 = np.datetime64(start, "ns").astype(np.int64)
    return t0 + np.arange(n, dtype=np.int64) * timeframe_ns(timeframe)


def generate_bars(
    symbol: str, n: int, timeframe: str = "1d", seed: int | None = None, start: str = "2005-01-03"
) -> Bars:
    """`n` synthetic bars for `symbol`; the same arguments always give the same bars."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(symbol_seed(symbol, timeframe) if seed is None else seed)
    dt = 1.0 / _bars_per_year(timeframe)
    # A regime lasts ~_MEAN_REGIME_YEARS on average, but at least ~60 bars.
    p_stay = 1.0 - 1.0 / max(60.0, _MEAN_REGIME_YEARS / dt)
    jump_cdf = np.cumsum(_JUMP / _JUMP.sum(axis=1, keepdims=True), axis=1)

    dof = 5.0
    z = rng.standard_t(dof, n) * np.sqrt((dof - 2.0) / dof)
    u_stay = rng.random(n)
    u_next = rng.random(n)
    k0 = int(rng.integers(0, 3))
    regime, var = regimes_garch_nb(u_stay, u_next, z, p_stay, jump_cdf, k0, _GARCH_A, _GARCH_B)

    sig_bar = _SIGMA[regime] * np.sqrt(var * dt)  # per-bar volatility of the log return
    r = (_MU[regime] - 0.5 * _SIGMA[regime] ** 2 * var) * dt + sig_bar * z
    p0 = float(np.exp(rng.uniform(np.log(15.0), np.log(250.0))))
    log_close = np.log(p0) + np.cumsum(r)
    close = np.exp(log_close)
    prev_log = np.empty(n)
    if n:
        prev_log[0] = np.log(p0)
        prev_log[1:] = log_close[:-1]
    # The gap is a small fraction of the bar's move, so the open sits near the previous close.
    gap_frac = 0.25 if split_timeframe(timeframe)[1] in ("d", "w", "mo") else 0.05
    open_ = np.exp(prev_log + gap_frac * sig_bar * rng.standard_normal(n))
    wick = 0.5 * sig_bar
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(n)) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(n)) * wick)

    base_volume = 1_000_000.0 * dt * 252.0 if dt * 252.0 < 1 else 1_000_000.0
    shock = np.abs(r) / np.maximum(sig_bar, 1e-12)
    volume = np.round(base_volume * np.exp(0.6 * shock + 0.35 * rng.standard_normal(n)))
    volume = np.maximum(volume, 1.0)
    return Bars(_timestamps(n, timeframe, start), open_, high, low, close, volume, symbol, timeframe)


def demo_bars(symbol: str = "ACME", timeframe: str | None = None) -> Bars:
    """The default demo dataset for a symbol of DEMO_SYMBOLS (its own timeframe unless given)."""
    tf, n = DEMO_SYMBOLS.get(symbol, ("1d", 5040))
    if timeframe is not None and timeframe != tf:
        n = 5040 if split_timeframe(timeframe)[1] in ("d", "w", "mo") else 1_000_000
        tf = timeframe
    return generate_bars(symbol, n, tf)
