"""A market's replayed book as numpy arrays: what every step of every episode reads.

The book and the market/temporal features do not depend on the agent, so they are
computed once per market; a step then only does fill and portfolio arithmetic. This is
what lets validation step many markets at once (see `simulator.BatchSimulator`).

A tape is built for one observation layout and one YES/NO complement (the profile's).
For layouts A and B a market's steps are its points in the session (states grouped by
timestamp, ORIGINAL_ENV.md section 5), and the session-level values (gap, activity,
momentum) are computed over every market of the session, as the original did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kalshi_tui.core.world.profiles import LAYOUT_A, LAYOUT_DEMO, OBSERVATION_LAYOUTS
from kalshi_tui.env.features import market_features
from kalshi_tui.env.orderbook import COMPLEMENT, BookState
from kalshi_tui.env.store import ReplayStats, SessionStore, StoreError
from kalshi_tui.env.temporal import ViewPoint, session_views, view_features

# Levels kept per side. Orders of up to 100 contracts rarely reach past the fifth level;
# a fill that would need an 11th level stops at the 10th (the rest is cancelled).
LADDER_LEVELS = 10
# Kalshi's general taker fee: ceil(0.07 x contracts x P x (1 - P)) dollars per order,
# P the price in dollars (1.75 cents a contract at 50 cents). Pass fee_rate to change it.
FEE_RATE = 0.07
MIN_STEPS = 2  # an episode needs a state to act on and one to be marked at


@dataclass(frozen=True, eq=False)
class MarketTape:
    """One market of one session, step by step: YES ladders best first, marks, features."""

    session_id: int
    ticker: str
    timestamps_ms: np.ndarray  # (T,) int64
    bid_px: np.ndarray  # (T, K) int32 YES bids, best (highest) first, 0 where no level
    bid_sz: np.ndarray  # (T, K) int32 contracts, 0 where no level
    ask_px: np.ndarray  # (T, K) int32 YES asks, best (lowest) first
    ask_sz: np.ndarray  # (T, K) int32
    mark: np.ndarray  # (T,) float64 YES mid in cents, what positions are marked at
    features: np.ndarray  # (T, 35 or 36) float32 market + temporal features
    fee_rate: float = FEE_RATE
    obs_layout: str = LAYOUT_A
    complement: int = COMPLEMENT  # YES ask = complement - NO bid

    @property
    def best_bid(self) -> np.ndarray:
        """(T,) best YES bid in cents, NaN where the side is empty."""
        return np.where(self.bid_sz[:, 0] > 0, self.bid_px[:, 0], np.nan)

    @property
    def best_ask(self) -> np.ndarray:
        """(T,) best YES ask in cents (derived with the tape's complement), NaN when empty."""
        return np.where(self.ask_sz[:, 0] > 0, self.ask_px[:, 0], np.nan)

    @property
    def clamped_mid(self) -> np.ndarray:
        """(T,) the clamped YES mid (0..1) the original valued positions at; 0.5 one-sided."""
        mid = (self.best_bid + self.best_ask) / 200
        return np.where(np.isnan(mid), 0.5, np.clip(mid, 0.01, 0.99))

    @property
    def length(self) -> int:
        return len(self.timestamps_ms)

    @property
    def name(self) -> str:
        return f"session {self.session_id} {self.ticker}"


def _padded(levels: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Prices and sizes of the best LADDER_LEVELS levels, padded with zeros."""
    levels = levels[:LADDER_LEVELS]
    pad = [0] * (LADDER_LEVELS - len(levels))
    return [p for p, _ in levels] + pad, [s for _, s in levels] + pad


def _marks(bid_px, bid_sz, ask_px, ask_sz, complement: int = COMPLEMENT) -> np.ndarray:
    """YES mid; one side's price when the other is empty; the last mark when both are."""
    has_bid, has_ask = bid_sz[:, 0] > 0, ask_sz[:, 0] > 0
    mark = np.where(has_bid & has_ask, (bid_px[:, 0] + ask_px[:, 0]) / 2.0,
                    np.where(has_bid, bid_px[:, 0], np.where(has_ask, ask_px[:, 0], np.nan)))
    mark = mark.astype(np.float64)
    if np.isnan(mark[0]):
        mark[0] = complement / 2.0
    # carry the last known mark forward over empty books
    valid = ~np.isnan(mark)
    last = np.maximum.accumulate(np.where(valid, np.arange(len(mark)), 0))
    return mark[last]


def build_tape(session_id: int, ticker: str, states: Iterable[BookState],
               fee_rate: float = FEE_RATE, *, obs_layout: str = LAYOUT_A,
               complement: int = COMPLEMENT) -> MarketTape:
    """Turn one market's replayed book states into a tape, as a one-market session.

    `states` may yield one live book mutated between items (`SessionStore.walk`): each is
    read as it arrives, never kept. `load_tapes` builds whole sessions instead, so the
    session-level values see every market.
    """
    if obs_layout not in OBSERVATION_LAYOUTS:
        raise ValueError(f"unknown observation layout {obs_layout!r}")
    if obs_layout == LAYOUT_DEMO:
        return _demo_tape(session_id, ticker, states, fee_rate, complement)
    rows = [(ticker, b.timestamp_ms, dict(b.yes_bids), dict(b.no_bids)) for b in states]
    view = session_views(rows, complement).get(ticker, [])
    return tape_from_view(session_id, ticker, view, fee_rate, obs_layout, complement)


# YES bid prices, bid sizes, ask prices, ask sizes: (T, K) each
Ladders = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _ladders(books: Iterable[tuple[dict, dict]], complement: int) -> Ladders:
    bid_px: list[list[int]] = []
    bid_sz: list[list[int]] = []
    ask_px: list[list[int]] = []
    ask_sz: list[list[int]] = []
    for yes_bids, no_bids in books:
        prices, sizes = _padded(sorted(yes_bids.items(), reverse=True))
        bid_px.append(prices)
        bid_sz.append(sizes)
        # YES asks are the NO bids seen from the other side: best NO bid = best YES ask.
        prices, sizes = _padded(sorted(no_bids.items(), reverse=True))
        ask_px.append([complement - p if p else 0 for p in prices])
        ask_sz.append(sizes)
    def ladder(rows: list[list[int]]) -> np.ndarray:
        return np.array(rows, np.int32).reshape(-1, LADDER_LEVELS)

    return ladder(bid_px), ladder(bid_sz), ladder(ask_px), ladder(ask_sz)


def _frozen(session_id: int, ticker: str, timestamps: np.ndarray, arrays: Ladders,
            mark: np.ndarray, feats: np.ndarray, fee_rate: float, layout: str,
            complement: int) -> MarketTape:
    for array in (timestamps, *arrays, mark, feats):
        array.setflags(write=False)  # tapes are shared between envs; nobody may edit one
    return MarketTape(session_id, ticker, timestamps, *arrays, mark, feats, fee_rate, layout,
                      complement)


def tape_from_view(session_id: int, ticker: str, view: list[ViewPoint], fee_rate: float,
                   obs_layout: str, complement: int) -> MarketTape:
    """A tape for layout A or B from a market's view of its session."""
    arrays = _ladders(((p.yes_bids, p.no_bids) for p in view), complement)
    timestamps = np.array([p.timestamp_ms for p in view], np.int64)
    mark = _marks(*arrays, complement) if len(view) else np.zeros(0)
    feats = view_features(view, obs_layout, complement) if view else np.zeros((0, 36), np.float32)
    return _frozen(session_id, ticker, timestamps, arrays, mark, feats, fee_rate, obs_layout,
                   complement)


def _demo_tape(session_id, ticker, states, fee_rate, complement) -> MarketTape:
    """kalshi-tui's own earlier layout: every state a step, its 36 vectorised features."""
    books, stamps = [], []
    for book in states:
        stamps.append(book.timestamp_ms)
        books.append((dict(book.yes_bids), dict(book.no_bids)))
    arrays = _ladders(books, complement)
    timestamps = np.array(stamps, np.int64)
    mark = _marks(*arrays, complement) if len(timestamps) else np.zeros(0)
    feats = (market_features(*arrays, timestamps, mark, fee_rate) if len(timestamps)
             else np.zeros((0, 36), np.float32))
    return _frozen(session_id, ticker, timestamps, arrays, mark, feats, fee_rate, LAYOUT_DEMO,
                   complement)


def load_tapes(store: SessionStore, session_ids: list[int], *,
               fee_rate: float = FEE_RATE, obs_layout: str = LAYOUT_A,
               complement: int = COMPLEMENT) -> tuple[list[MarketTape], list[str]]:
    """A tape for every usable market of the sessions, and one line per market skipped.

    A market that cannot be replayed (no snapshot, out-of-order deltas, a crossed book,
    a price outside 1-99, too short) is skipped and its reason returned, so one bad market
    costs that market, not a training run. A missing session is an error: the caller
    named it.
    """
    tapes: list[MarketTape] = []
    skips: list[str] = []
    for session_id in session_ids:
        rows: list[tuple[str, int, dict, dict]] = []
        tickers: list[tuple[str, MarketTape | None]] = []
        for ticker in store.markets(session_id):
            try:
                if obs_layout == LAYOUT_DEMO:
                    tape = build_tape(
                        session_id,
                        ticker,
                        store.walk(session_id, ticker, ReplayStats()),
                        fee_rate,
                        obs_layout=obs_layout,
                        complement=complement,
                    )
                    tickers.append((ticker, tape))
                    continue
                market_rows = [(ticker, b.timestamp_ms, dict(b.yes_bids), dict(b.no_bids))
                               for b in store.walk(session_id, ticker, ReplayStats())]
            except StoreError as exc:
                skips.append(f"skipped {exc}")
                continue
            rows.extend(market_rows)
            tickers.append((ticker, None))
        views = session_views(rows, complement) if rows else {}
        for ticker, cached in tickers:
            tape = cached if cached is not None else tape_from_view(
                session_id, ticker, views.get(ticker, []), fee_rate, obs_layout, complement)
            if tape.length < MIN_STEPS:
                skips.append(f"skipped {store.path}: session {session_id} market {ticker}: "
                             f"only {tape.length} book state(s), an episode needs {MIN_STEPS}")
                continue
            tapes.append(tape)
    return tapes, skips
