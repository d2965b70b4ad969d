"""Session points and the temporal features of layouts A and B (ORIGINAL_ENV.md section 1).

The original grouped every replayed state of a session by timestamp into session points
and precomputed three values on the whole multi-market session, then copied them into
each single-market view: the gap since the previous point (any market), the activity
score a_t and the cross-market momentum m_t. A market's view is the points that hold it.
The temporal features then read the view's history: the <=10 view points before now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

import numpy as np

from kalshi_tui.core.world.profiles import LAYOUT_A, LAYOUT_B
from kalshi_tui.env.layouts import MARKET_BUILDERS, TEMPORAL_A, TEMPORAL_B, BookNumbers, clean

HISTORY = 10


@dataclass(frozen=True)
class ViewPoint:
    """One point of one market's view: its book and the session's precomputed values."""

    timestamp_ms: int
    yes_bids: dict[int, int]
    no_bids: dict[int, int]
    gap_seconds: float = 0.0
    activity: float = 0.0  # a_t
    momentum: float = 0.0  # m_t
    # the book's numbers under the session's complement, computed once for both uses
    book: BookNumbers | None = field(default=None, compare=False, repr=False)


def session_views(states: Iterable[tuple[str, int, dict, dict]], complement: int
                  ) -> dict[str, list[ViewPoint]]:
    """Each market's view of a session from its replayed states.

    `states` yields (ticker, timestamp_ms, yes_bids, no_bids) in the original's order
    (market by market, each by sequence); they are sorted by timestamp (stable) and
    grouped into points, the later state of a market winning within a point.
    """
    ordered = sorted(states, key=lambda s: s[1])
    points: list[tuple[int, dict[str, tuple[dict, dict]]]] = []
    for ticker, ts, yes_bids, no_bids in ordered:
        if not points or points[-1][0] != ts:
            points.append((ts, {}))
        points[-1][1][ticker] = (yes_bids, no_bids)
    views: dict[str, list[ViewPoint]] = {}
    mids: dict[str, list[float]] = {}
    scores: dict[str, float] = {}  # each qualifying market's momentum term, kept current
    previous_ts = None
    for ts, markets in points:
        gap = 0.0 if previous_ts is None else (ts - previous_ts) / 1000
        previous_ts = ts
        books = {t: BookNumbers(yb, nb, complement) for t, (yb, nb) in markets.items()}
        total = sum(b.V for b in books.values())  # all four books, derived asks included
        activity = min(1.0, len(markets) * math.log(1 + total) / 1000)
        for ticker, book in books.items():
            if book.yes_mid_cents is not None:
                mids.setdefault(ticker, []).append(book.yes_mid_cents)
                term = _momentum_term(mids[ticker])
                if term is None:
                    scores.pop(ticker, None)
                else:
                    scores[ticker] = term
        momentum = sum(scores.values()) / len(scores) if scores else 0.0
        for ticker, (yb, nb) in markets.items():
            views.setdefault(ticker, []).append(
                ViewPoint(ts, yb, nb, gap, activity, momentum, books[ticker]))
    return views


def _momentum_term(values: list[float]) -> float | None:
    """One market's term of m_t from its last three YES mids; None when it does not qualify."""
    if len(values) < 3:
        return None
    p1, p2, p3 = values[-1], values[-2], values[-3]
    base = abs(p2 - p3)
    return math.tanh(((p1 - p2) - (p2 - p3)) / base) if base > 0.001 else None


# Plain Python on lists of at most 11 values: numpy's per-call overhead was 70% of the
# time of building a tape.
def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _std(values: list[float]) -> float:
    """Population standard deviation, as np.std."""
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _slope(values: list[float]) -> float:
    """Slope of the least-squares line through (0, v0), (1, v1), ..."""
    n = len(values)
    x_mean, y_mean = (n - 1) / 2, _mean(values)
    spread = sum((i - x_mean) ** 2 for i in range(n))
    return sum((i - x_mean) * (v - y_mean) for i, v in enumerate(values)) / spread


def _mid_changes(mids: list[float | None]) -> list[float]:
    return [abs(b - a) for a, b in pairwise(mids) if a is not None and b is not None]


def temporal_features(view: list[ViewPoint], books: list[BookNumbers], layout: str) -> np.ndarray:
    """The temporal block of every point of a market view: (T, 14) for A, (T, 10) for B."""
    rows = []
    mids = [b.yes_mid_cents for b in books]
    for t, point in enumerate(view):
        h = view[max(0, t - HISTORY):t]
        h_mids = mids[max(0, t - HISTORY):t]
        a_t = point.activity
        when = datetime.fromtimestamp(point.timestamp_ms / 1000, UTC)
        f: dict[str, float] = {
            "time_since_last_update": min(max(point.gap_seconds, 0.0) / 300, 1.0),
            "time_of_day_norm": (when.hour - 9) / 7 if 9 <= when.hour <= 16 else 0.0,
            "day_of_week_norm": when.weekday() / 6,
            "current_activity_score": a_t,
            "activity_change": math.tanh(a_t - h[-1].activity) if h else 0.0,
            "price_momentum": point.momentum,
        }
        recent = h[-5:]
        if len(recent) >= 2:
            dt = (point.timestamp_ms - recent[0].timestamp_ms) / 1000
            f["update_frequency"] = min(len(recent) / max(dt, 1) / 2, 1.0)
        else:
            f["update_frequency"] = 0.1
        window = [p.activity for p in h[-10:]] + [a_t]
        mean, std = _mean(window), _std(window)
        big = len(window) >= 3
        f["activity_burst_indicator"] = 1.0 if big and a_t > mean + 1.5 * std else 0.0
        f["quiet_period_indicator"] = 1.0 if big and a_t < mean - 1.0 * std else 0.0
        f["activity_trend"] = math.tanh(10 * _slope(window)) if len(window) >= 5 else 0.0
        f["volatility_regime"] = 0.1
        f["activity_consistency"] = 0.5
        if len(h) >= 5:
            changes = _mid_changes(h_mids[-5:] + [mids[t]])
            if changes:
                f["volatility_regime"] = min(_std(changes) / 5, 1.0)
            scores = [p.activity for p in h[-5:]] + [a_t]
            f["activity_consistency"] = max(0.0, 1 - _std(scores) / 0.3)
        f["price_stability"] = 0.5
        f["activity_persistence"] = 0.0
        if len(h) >= 3:
            pairs = [i for i in range(len(h) - 3, len(h)) if i > 0]
            changes = _mid_changes_at(h_mids, pairs)
            if changes:
                f["price_stability"] = max(0.0, 1 - (sum(changes) / len(changes)) / 5)
            run = 0
            for p in reversed(h[-9:]):
                if abs(p.activity - a_t) > 0.1:
                    break
                run += 1
            f["activity_persistence"] = min((1 + run) / 10, 1.0)
        rows.append([f[name] for name in _TEMPORAL_NAMES[layout]])
    return np.asarray(rows, np.float64).reshape(len(view), len(_TEMPORAL_NAMES[layout]))


def _mid_changes_at(mids: list[float | None], indices: list[int]) -> list[float]:
    pairs = ((mids[i - 1], mids[i]) for i in indices)
    return [abs(b - a) for a, b in pairs if a is not None and b is not None]


_TEMPORAL_NAMES = {LAYOUT_A: TEMPORAL_A, LAYOUT_B: TEMPORAL_B}


def view_features(view: list[ViewPoint], layout: str, complement: int) -> np.ndarray:
    """Market and temporal features of every point of a view, cleaned: (T, 35 or 36) float32."""
    books = [p.book if p.book is not None and p.book.complement == complement
             else BookNumbers(p.yes_bids, p.no_bids, complement) for p in view]
    market = np.asarray([MARKET_BUILDERS[layout](b) for b in books], np.float64)
    market = market.reshape(len(view), -1)
    return clean(np.concatenate([market, temporal_features(view, books, layout)], axis=1))
