"""A market's replayed book as numpy arrays: what every step of every episode reads.

The book and the 36 market/temporal features do not depend on the agent, so they are
computed once per market; a step then only does fill and portfolio arithmetic. This is
what lets validation step many markets at once (see `simulator.BatchSimulator`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kalshi_tui.env.features import market_features
from kalshi_tui.env.orderbook import COMPLEMENT, BookState
from kalshi_tui.env.store import ReplayStats, SessionStore, StoreError

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
    features: np.ndarray  # (T, 36) float32 market + temporal features
    fee_rate: float = FEE_RATE

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


def _marks(bid_px, bid_sz, ask_px, ask_sz) -> np.ndarray:
    """YES mid; one side's price when the other is empty; the last mark when both are."""
    has_bid, has_ask = bid_sz[:, 0] > 0, ask_sz[:, 0] > 0
    mark = np.where(has_bid & has_ask, (bid_px[:, 0] + ask_px[:, 0]) / 2.0,
                    np.where(has_bid, bid_px[:, 0], np.where(has_ask, ask_px[:, 0], np.nan)))
    mark = mark.astype(np.float64)
    if np.isnan(mark[0]):
        mark[0] = COMPLEMENT / 2.0
    # carry the last known mark forward over empty books
    valid = ~np.isnan(mark)
    last = np.maximum.accumulate(np.where(valid, np.arange(len(mark)), 0))
    return mark[last]


def build_tape(session_id: int, ticker: str, states: Iterable[BookState],
               fee_rate: float = FEE_RATE) -> MarketTape:
    """Turn replayed book states into a tape (prices and features for every step).

    `states` may yield one live book mutated between items (`SessionStore.walk`): each is
    read as it arrives, never kept.
    """
    bid_px, bid_sz, ask_px, ask_sz, timestamps = [], [], [], [], []
    for book in states:
        timestamps.append(book.timestamp_ms)
        prices, sizes = _padded(sorted(book.yes_bids.items(), reverse=True))
        bid_px.append(prices)
        bid_sz.append(sizes)
        # YES asks are the NO bids seen from the other side: best NO bid = best YES ask.
        prices, sizes = _padded(sorted(book.no_bids.items(), reverse=True))
        ask_px.append([COMPLEMENT - p if p else 0 for p in prices])
        ask_sz.append(sizes)
    arrays = [np.array(rows, np.int32).reshape(-1, LADDER_LEVELS)
              for rows in (bid_px, bid_sz, ask_px, ask_sz)]
    timestamps = np.array(timestamps, np.int64)
    mark = _marks(*arrays) if len(timestamps) else np.zeros(0)
    feats = (market_features(*arrays, timestamps, mark, fee_rate) if len(timestamps)
             else np.zeros((0, 36), np.float32))
    for array in (timestamps, *arrays, mark, feats):
        array.setflags(write=False)  # tapes are shared between envs; nobody may edit one
    return MarketTape(session_id, ticker, timestamps, *arrays, mark, feats, fee_rate)


def load_tapes(store: SessionStore, session_ids: list[int], *,
               fee_rate: float = FEE_RATE) -> tuple[list[MarketTape], list[str]]:
    """A tape for every usable market of the sessions, and one line per market skipped.

    A market that cannot be replayed (no snapshot, out-of-order deltas, a crossed book,
    a price outside 1-99, too short) is skipped and its reason returned, so one bad market
    costs that market, not a training run. A missing session is an error: the caller
    named it.
    """
    tapes: list[MarketTape] = []
    skips: list[str] = []
    for session_id in session_ids:
        for ticker in store.markets(session_id):
            try:
                tape = build_tape(session_id, ticker, store.walk(session_id, ticker, ReplayStats()),
                                  fee_rate)
            except StoreError as exc:
                skips.append(f"skipped {exc}")
                continue
            if tape.length < MIN_STEPS:
                skips.append(f"skipped {store.path}: session {session_id} market {ticker}: "
                             f"only {tape.length} book state(s), an episode needs {MIN_STEPS}")
                continue
            tapes.append(tape)
    return tapes, skips
