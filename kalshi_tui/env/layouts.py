"""The original observation layouts A and B, index by index (ORIGINAL_ENV.md section 1).

Layout A (2025-12-11 and -15): 21 market + 14 temporal + 12 portfolio + 5 order features.
Layout B (2025-12-17): 26 market + 10 temporal + 11 portfolio + 5 order features.
Both are 52 float32 values, NaN->0, +inf->1, -inf->-1, clipped to [-2, 2]: a model fed the
wrong one gets 52 numbers of different meanings and nothing fails, which is why the
profile names its layout.

Book and temporal features depend only on the recorded session, so a tape computes them
once (`book_features`, `temporal.temporal_features`); portfolio features depend on the
agent and are computed per step for a batch (`portfolio_features`). Values are computed in
float64, as the original's Python floats were, and cast to float32 at the end.
"""

from __future__ import annotations

import math

import numpy as np

from kalshi_tui.core.world.layout_features import (  # noqa: F401
    LAYOUT_FEATURES,
    MARKET_A,
    MARKET_B,
    ORDER,
    PORTFOLIO_A,
    PORTFOLIO_B,
    TEMPORAL_A,
    TEMPORAL_B,
)
from kalshi_tui.core.world.profiles import LAYOUT_A, LAYOUT_B

# How many leading features a tape precomputes (market + temporal) per layout.
SESSION_FEATURES = {
    LAYOUT_A: len(MARKET_A) + len(TEMPORAL_A),
    LAYOUT_B: len(MARKET_B) + len(TEMPORAL_B),
}

LOG_VOLUME = math.log(10001)
CLIP = 2.0


def derived_asks(bids: dict[int, int], complement: int) -> dict[int, int]:
    """The other side's asks: ask[k - p] = bid size at p, kept only inside 1..99."""
    return {complement - p: s for p, s in bids.items() if 1 <= complement - p <= 99}


def clean(values: np.ndarray) -> np.ndarray:
    """The original's last stage: float32, NaN->0, +inf->1, -inf->-1, clip to [-2, 2]."""
    out = np.asarray(values, np.float32)
    out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(out, -CLIP, CLIP).astype(np.float32)


def _clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


class BookNumbers:
    """The quantities of one book both layouts are written in (notation of section 1)."""

    def __init__(self, yes_bids: dict[int, int], no_bids: dict[int, int], complement: int):
        self.complement = complement
        self.yb, self.nb = yes_bids, no_bids
        self.ya, self.na = derived_asks(no_bids, complement), derived_asks(yes_bids, complement)
        self.YB = max(self.yb) if self.yb else None
        self.YA = min(self.ya) if self.ya else None
        self.NB = max(self.nb) if self.nb else None
        self.NA = min(self.na) if self.na else None
        self.Vyb, self.Vya = sum(self.yb.values()), sum(self.ya.values())
        self.Vnb, self.Vna = sum(self.nb.values()), sum(self.na.values())
        self.Vy, self.Vn = self.Vyb + self.Vya, self.Vnb + self.Vna
        self.V = self.Vy + self.Vn
        self.ym = (self.YB + self.YA) / 200 if self.YB is not None and self.YA is not None else 0.5
        self.nm = (self.NB + self.NA) / 200 if self.NB is not None and self.NA is not None else 0.5

    @property
    def yes_mid_cents(self) -> float | None:
        """The stored `yes_mid_price`: None when a YES side is empty."""
        if self.YB is None or self.YA is None:
            return None
        return (self.YB + self.YA) / 2


def _norm(price: int | None) -> float:
    return price / 100 if price is not None else 0.5


def _volume(v: float) -> float:
    return min(math.log(1 + v) / LOG_VOLUME, 1.0)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _depth(bids: dict[int, int], asks: dict[int, int]) -> float:
    # A price present on both sides counts twice, as the original counted keys per dict.
    return min((len(bids) + sum(1 for s in asks.values() if s > 0)) / 20, 1.0)


def _concentration(bids: dict[int, int], asks: dict[int, int], volume: float) -> float:
    sizes = sorted([*bids.values(), *asks.values()], reverse=True)
    if not sizes:
        return 0.5
    return sum(sizes[:3]) / volume if volume else 0.0


def _common(b: BookNumbers) -> dict[str, float]:
    """Features A and B share (by value; their positions differ)."""
    return {
        "best_yes_bid_norm": _norm(b.YB),
        "best_yes_ask_norm": _norm(b.YA),
        "best_no_bid_norm": _norm(b.NB),
        "best_no_ask_norm": _norm(b.NA),
        "yes_mid_price_norm": _clamp(b.ym, 0.01, 0.99),
        "no_mid_price_norm": _clamp(b.nm, 0.01, 0.99),
        "total_volume_norm": _volume(b.V),
        "volume_imbalance": _ratio(b.Vy - b.Vn, b.V),
        "yes_side_imbalance": _ratio(b.Vyb - b.Vya, b.Vy),
        "no_side_imbalance": _ratio(b.Vnb - b.Vna, b.Vn),
        "yes_book_depth_norm": _depth(b.yb, b.ya),
        "no_book_depth_norm": _depth(b.nb, b.na),
        "yes_liquidity_concentration": _concentration(b.yb, b.ya, b.Vy),
        "no_liquidity_concentration": _concentration(b.nb, b.na, b.Vn),
    }


def market_features_a(b: BookNumbers) -> list[float]:
    f = _common(b)

    def spread(ask, bid):
        return (
            _clamp((ask - bid) / 100, 0.001, 0.99) if ask is not None and bid is not None else 0.1
        )

    f["yes_spread_norm"] = spread(b.YA, b.YB)
    f["no_spread_norm"] = spread(b.NA, b.NB)
    f["yes_volume_norm"], f["no_volume_norm"] = _volume(b.Vy), _volume(b.Vn)
    f6, f7 = f["yes_mid_price_norm"], f["no_mid_price_norm"]
    f["arbitrage_opportunity"] = abs(f6 + f7 - 1)
    f["market_efficiency"] = max(0.0, 1 - f["arbitrage_opportunity"])
    f["cross_side_efficiency"] = max(0.0, 1 - 5 * abs(f6 - (1 - f7)))
    return [f[name] for name in MARKET_A]


def _regime(spread: float) -> float:
    for limit, value in ((2, 0.0), (5, 0.25), (10, 0.5), (20, 0.75)):
        if spread < limit:
            return value
    return 1.0


def _microprice(bid, ask, bid_volume, ask_volume, mid) -> float:
    if bid is not None and ask is not None and bid_volume > 0 and ask_volume > 0:
        return (bid * ask_volume + ask * bid_volume) / (bid_volume + ask_volume) / 100
    return mid


def market_features_b(b: BookNumbers) -> list[float]:
    f = _common(b)
    yes_two_sided = b.YA is not None and b.YB is not None
    no_two_sided = b.NA is not None and b.NB is not None
    s_y = b.YA - b.YB if b.YA is not None and b.YB is not None else 10
    s_n = b.NA - b.NB if b.NA is not None and b.NB is not None else 10
    f["yes_spread_cents"], f["no_spread_cents"] = s_y / 100, s_n / 100
    f["yes_spread_pct"] = s_y / (b.ym * 100) if yes_two_sided else 0.2
    f["no_spread_pct"] = s_n / (b.nm * 100) if no_two_sided else 0.2
    f["yes_spread_regime"] = _regime(s_y) if yes_two_sided else 0.75
    f["no_spread_regime"] = _regime(s_n) if no_two_sided else 0.75
    f["yes_breakeven_move"], f["no_breakeven_move"] = s_y / 100, s_n / 100
    f["bid_ask_depth_ratio"] = math.tanh(0.5 * (math.log(1 + b.Vyb + b.Vnb)
                                                - math.log(1 + b.Vya + b.Vna)))
    f["yes_no_consistency"] = (abs(b.YB + b.NA - 100) / 100
                               if b.YB is not None and b.NA is not None else 0.5)
    f["yes_microprice_norm"] = _microprice(b.YB, b.YA, b.Vyb, b.Vya, b.ym)
    f["no_microprice_norm"] = _microprice(b.NB, b.NA, b.Vnb, b.Vna, b.nm)
    return [f[name] for name in MARKET_B]


MARKET_BUILDERS = {LAYOUT_A: market_features_a, LAYOUT_B: market_features_b}


def portfolio_features(layout: str, cash, pv, pos, cost_basis, mid) -> np.ndarray:
    """Portfolio features of a batch of one-market portfolios, all in cents: (N, 12 or 11).

    pos is the original's signed position (+YES / -NO) and mid the clamped YES mid of the
    current point; NO positions are valued at the YES mid too, as the original did.
    """
    cash, pv = np.asarray(cash, np.float64), np.asarray(pv, np.float64)
    pos, cost_basis = np.asarray(pos, np.float64), np.asarray(cost_basis, np.float64)
    n = len(cash)
    held = pos != 0
    valued = pv > 0.01  # pv <= 0.01 gives the defaults: cash_ratio 1, the rest 0
    safe_pv = np.where(valued, pv, 1.0)
    value = np.abs(pos) * 100 * np.asarray(mid, np.float64)
    columns = {
        "cash_ratio": np.where(valued, np.clip(cash / safe_pv, 0, 1), 1.0),
        "position_ratio": np.where(valued, np.clip((pv - cash) / safe_pv, 0, 1), 0.0),
        "position_count_norm": held * 0.1,
        "average_position_size_norm": np.minimum(np.abs(pos) / 1000, 1),
        "long_position_ratio": (pos > 0) * 1.0,
        "short_position_ratio": (pos < 0) * 1.0,
        "net_position_bias": np.tanh(np.sign(pos)),
        "position_concentration": np.minimum(value / safe_pv, 1),
        "largest_position_norm": np.minimum(pos / 1000, 1),  # signed, no lower bound
        "unrealized_pnl_ratio": np.tanh((value - cost_basis) / safe_pv),
        "position_diversity": held * 1.0,
        "leverage": np.minimum(value / safe_pv, 2) / 2,
    }
    names = PORTFOLIO_A if layout == LAYOUT_A else PORTFOLIO_B
    out = np.zeros((n, len(names)))
    for j, name in enumerate(names):
        out[:, j] = columns[name]
    # no position, or no value: everything after the two ratios is 0
    out[:, 2:] *= (held & valued)[:, None]
    return out
