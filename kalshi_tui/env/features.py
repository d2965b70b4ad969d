"""kalshi-tui's own earlier 52-feature layout (profile `kalshi-tui-demo`): 26 market,
10 temporal, 11 portfolio, 5 order, after FORMATS.md section 4's outline but not the
original's formulas. Retired as the default (the original's layouts A and B are in
`layouts.py`); kept because models trained by earlier kalshi-tui versions saw it.

Market and temporal features depend only on the recorded book, so they are computed once
per market for every step at once (`market_features`); portfolio and order features depend
on the agent's trades and are computed per step for a whole batch (`portfolio_features`).
Every feature is scaled so ordinary values sit well inside [-2, 2]; the observation is then
NaN-cleaned and clipped, as the original's was.
"""

from __future__ import annotations

import numpy as np

from kalshi_tui.env.orderbook import COMPLEMENT

MARKET_FEATURES = (
    "yes_best_bid", "yes_best_ask", "no_best_bid", "no_best_ask", "yes_mid", "no_mid",
    "yes_spread_cents", "no_spread_cents", "yes_spread_pct", "no_spread_pct",
    "spread_regime", "breakeven_move", "total_volume", "bid_volume", "ask_volume",
    "top_level_imbalance", "depth_imbalance", "depth_ratio", "yes_no_consistency",
    "microprice", "microprice_offset", "bid_levels", "ask_levels",
    "bid_liquidity_concentration", "ask_liquidity_concentration", "book_width",
)
TEMPORAL_FEATURES = (
    "time_since_update", "time_of_day_sin", "time_of_day_cos", "activity_rate",
    "activity_burst", "momentum_short", "momentum_long", "volatility",
    "volatility_regime", "price_stability",
)
PORTFOLIO_FEATURES = (
    "cash_ratio", "position_ratio", "position_count", "yes_position_size",
    "no_position_size", "is_long_yes", "is_long_no", "net_bias", "position_concentration",
    "unrealized_pnl", "leverage",
)
ORDER_FEATURES = (
    # Orders are aggressive and their unfilled rest is cancelled, so nothing ever rests:
    # the first three stay 0, as the original's did when it had no resting orders.
    "resting_orders", "resting_buy_size", "resting_sell_size",
    "last_order_fill_ratio", "steps_since_fill",
)
FEATURE_NAMES: list[str] = [*MARKET_FEATURES, *TEMPORAL_FEATURES, *PORTFOLIO_FEATURES,
                            *ORDER_FEATURES]
N_MARKET = len(MARKET_FEATURES) + len(TEMPORAL_FEATURES)  # 36, precomputed per tape
N_FEATURES = len(FEATURE_NAMES)  # 52
assert N_FEATURES == 52 and N_MARKET == 36

MISSING_SPREAD_CENTS = 20.0  # a one-sided book reads as a very wide spread


def _safe_div(a, b, default=0.0):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.full(np.broadcast(a, b).shape, default, np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _lagged_change(x: np.ndarray, lag: int) -> np.ndarray:
    out = np.zeros_like(x)
    out[lag:] = x[lag:] - x[:-lag]
    out[1:lag] = x[1:lag] - x[0]
    return out


def _rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values (fewer at the start), without a Python loop."""
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    idx = np.arange(1, len(x) + 1)
    start = np.maximum(idx - window, 0)
    return (c[idx] - c[start]) / (idx - start)


def _rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    mean = _rolling_mean(x, window)
    return np.sqrt(np.maximum(_rolling_mean(x * x, window) - mean * mean, 0.0))


def fee_per_contract(price_cents, fee_rate: float) -> np.ndarray:
    """Kalshi's taker fee for one contract at a price, in cents, before rounding."""
    p = np.asarray(price_cents, np.float64)
    return fee_rate * p * (100.0 - p) / 100.0


def market_features(bid_px, bid_sz, ask_px, ask_sz, timestamps_ms, mark, fee_rate) -> np.ndarray:
    """The 36 market and temporal features of every step of one market: shape (T, 36)."""
    has_bid, has_ask = bid_sz[:, 0] > 0, ask_sz[:, 0] > 0
    best_bid = np.where(has_bid, bid_px[:, 0], np.nan).astype(np.float64)
    best_ask = np.where(has_ask, ask_px[:, 0], np.nan).astype(np.float64)
    spread = np.where(has_bid & has_ask, best_ask - best_bid, MISSING_SPREAD_CENTS)
    bid_top, ask_top = bid_sz[:, 0].astype(np.float64), ask_sz[:, 0].astype(np.float64)
    bid_depth = bid_sz.sum(axis=1).astype(np.float64)
    ask_depth = ask_sz.sum(axis=1).astype(np.float64)
    levels = bid_sz.shape[1]
    micro = np.where(
        has_bid & has_ask,
        _safe_div(
            np.nan_to_num(best_bid) * ask_top + np.nan_to_num(best_ask) * bid_top, bid_top + ask_top
        ),
        mark,
    )
    vwap_bid = _safe_div((bid_px * bid_sz).sum(axis=1), bid_depth, np.nan)
    vwap_ask = _safe_div((ask_px * ask_sz).sum(axis=1), ask_depth, np.nan)
    market = [
        np.nan_to_num(best_bid / 100.0, nan=0.0),
        np.nan_to_num(best_ask / 100.0, nan=1.0),
        np.nan_to_num((COMPLEMENT - best_ask) / 100.0, nan=0.0),
        np.nan_to_num((COMPLEMENT - best_bid) / 100.0, nan=1.0),
        mark / 100.0,
        (COMPLEMENT - mark) / 100.0,
        spread / 10.0,
        spread / 10.0,  # the 99 rule makes the NO spread equal the YES spread
        _safe_div(spread, mark),
        _safe_div(spread, COMPLEMENT - mark),
        np.select([spread <= 2, spread <= 5], [-1.0, 0.0], 1.0),
        (spread + 2 * fee_per_contract(mark, fee_rate)) / 10.0,
        np.log1p(bid_depth + ask_depth) / 10.0,
        np.log1p(bid_depth) / 10.0,
        np.log1p(ask_depth) / 10.0,
        _safe_div(bid_top - ask_top, bid_top + ask_top),
        _safe_div(bid_depth - ask_depth, bid_depth + ask_depth),
        (np.log1p(bid_depth) - np.log1p(ask_depth)) / 5.0,
        # YES mid + NO mid - 99: always 0 while NO derives from YES; kept for the layout.
        (mark + (COMPLEMENT - mark) - COMPLEMENT) / 10.0,
        micro / 100.0,
        (micro - mark) / 5.0,
        (bid_sz > 0).sum(axis=1) / levels,
        (ask_sz > 0).sum(axis=1) / levels,
        _safe_div(bid_top, bid_depth),
        _safe_div(ask_top, ask_depth),
        np.nan_to_num((vwap_ask - vwap_bid) / 20.0, nan=1.0),
    ]
    ts = np.asarray(timestamps_ms, np.int64)
    gap_s = np.concatenate([[0.0], np.diff(ts) / 1000.0])
    day_fraction = (ts % 86_400_000) / 86_400_000.0
    index = np.arange(len(ts))
    last_minute = index - np.searchsorted(ts, ts - 60_000) + 1
    last_ten_minutes = index - np.searchsorted(ts, ts - 600_000) + 1
    move = np.concatenate([[0.0], np.diff(mark)])
    vol_short, vol_long = _rolling_std(move, 20), _rolling_std(move, 100)
    temporal = [
        np.log1p(np.maximum(gap_s, 0.0)) / 5.0,
        np.sin(2 * np.pi * day_fraction),
        np.cos(2 * np.pi * day_fraction),
        np.log1p(last_minute) / 5.0,
        _safe_div(last_minute * 10.0, last_ten_minutes, 1.0) - 1.0,
        _lagged_change(mark, 10) / 10.0,
        _lagged_change(mark, 50) / 25.0,
        vol_short / 2.0,
        _safe_div(vol_short, vol_long, 1.0) - 1.0,
        _rolling_mean((move == 0).astype(np.float64), 20),
    ]
    out = np.stack(market + temporal, axis=1)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=2.0, neginf=-2.0), -2.0, 2.0).astype(
        np.float32
    )


def portfolio_features(cash, yes, no, yes_cost, no_cost, mark, initial_cash,
                       last_fill_ratio, steps_since_fill) -> np.ndarray:
    """The 16 portfolio and order features of a batch of portfolios: shape (N, 16)."""
    # Every denominator below is a non-negative amount whose numerator is 0 when it is 0,
    # so a tiny floor gives the 0 we want without the cost of masked division (hot path).
    value_yes = yes * mark
    value_no = no * (COMPLEMENT - mark)
    gross = value_yes + value_no
    held = yes + no
    out = np.zeros((len(cash), 16))
    out[:, 0] = cash / initial_cash
    out[:, 1] = gross / initial_cash
    long_yes, long_no = yes > 0, no > 0
    out[:, 2] = (long_yes * 0.5) + (long_no * 0.5)
    out[:, 3] = yes / 500.0
    out[:, 4] = no / 500.0
    out[:, 5] = long_yes
    out[:, 6] = long_no
    out[:, 7] = (yes - no) / np.maximum(held, 1e-9)
    out[:, 8] = np.maximum(value_yes, value_no) / np.maximum(gross, 1e-9)
    out[:, 9] = (gross - yes_cost - no_cost) * (10.0 / initial_cash)
    out[:, 10] = gross / np.maximum(cash + gross, 1.0)
    # columns 11-13: resting orders, always 0 (see ORDER_FEATURES)
    out[:, 14] = last_fill_ratio
    out[:, 15] = np.log1p(steps_since_fill) / 5.0
    return out
