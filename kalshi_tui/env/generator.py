"""Synthetic recorded sessions, deterministic by seed, shaped like the original recordings.

Each market follows a hidden fair price that trends, reverts to an anchor, jumps now and
then, and (for most markets) runs to 0 or 100 as it settles. Around it the book's spread
switches between tight, normal and wide regimes, depth grows and thins, and activity comes
in bursts. What gets stored is what a recorder would have seen: one snapshot per market,
then deltas (one changed level each), with a fresh snapshot every few hundred deltas as a
reconnecting recorder wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_tui.env.orderbook import COMPLEMENT, BookState
from kalshi_tui.env.store import SessionInfo, SessionStore

SERIES = ("KXBTCD", "KXETHD", "KXHIGHNY", "KXHIGHCHI", "KXNBAGAME", "KXNFLGAME", "KXNHLGAME",
          "INXD", "KXCPI", "KXFEDDECISION", "KXEPLGAME", "KXGASPRICE", "KXTSAW", "KXRAINNYC")
SPREAD_REGIMES = ((1, 2), (2, 4), (5, 9))  # cents: tight, normal, wide
SNAPSHOT_EVERY = 300  # deltas between a market's resync snapshots
MAX_LEVELS = 8
EPOCH = datetime(2025, 12, 1, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class GeneratorSettings:
    """Knobs of the synthetic market; the defaults make the bundled store."""

    markets: tuple[int, int] = (5, 7)  # markets per session, inclusive range
    steps: tuple[int, int] = (300, 1400)  # book states per market, roughly
    session_hours: tuple[float, float] = (1.5, 4.0)
    settle_fraction: float = 0.7  # markets that run to 0 or 100 before the session ends


def _ticker(rng: np.random.Generator, session_id: int, used: set[str]) -> str:
    day = EPOCH + timedelta(days=session_id)
    while True:
        series = SERIES[int(rng.integers(len(SERIES)))]
        strike = int(rng.integers(10, 99)) * (5 if series in ("KXBTCD", "KXETHD", "INXD") else 1)
        ticker = f"{series}-{day:%y%b%d}".upper() + f"-T{strike}"
        if ticker not in used:
            used.add(ticker)
            return ticker


class _Market:
    """One market's hidden state and the book a recorder saw, evolved tick by tick."""

    def __init__(self, rng: np.random.Generator, settle: bool):
        self.rng = rng
        self.fair = float(rng.uniform(12, 88))
        self.anchor = self.fair
        self.trend = 0.0
        self.regime = 1
        self.depth = float(rng.uniform(0.5, 2.0))
        self.settle_to = (100.0 if rng.random() < self.fair / 100 else 0.0) if settle else None
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}

    def _size(self, distance: int) -> int:
        base = 15 + 25 * distance
        return max(1, int(self.rng.lognormal(np.log(base * self.depth), 0.6)))

    def evolve(self, progress: float) -> None:
        rng = self.rng
        if rng.random() < 0.02:
            self.trend = float(rng.normal(0, 0.25))
        if rng.random() < 0.03:
            self.regime = int(rng.choice(3, p=(0.35, 0.45, 0.2)))
        self.depth = float(np.clip(self.depth * np.exp(rng.normal(0, 0.05)), 0.3, 3.0))
        if self.settle_to is not None and progress > 0.75:
            # The outcome becomes known: the price runs to where it settles.
            self.anchor, self.trend = self.settle_to, 0.0
            pull = 0.06 * (self.anchor - self.fair)
        else:
            pull = 0.02 * (self.anchor - self.fair)
        jump = rng.normal(0, 6) if rng.random() < 0.004 else 0.0
        self.fair += self.trend + pull + rng.normal(0, 0.6) + jump
        self.fair = float(np.clip(self.fair, 0.5, 99.5))

    def target_quotes(self) -> tuple[int, int]:
        low, high = SPREAD_REGIMES[self.regime]
        spread = int(self.rng.integers(low, high + 1))
        bid = int(np.clip(round(self.fair - spread / 2), 1, 97))
        ask = int(np.clip(bid + spread, bid + 1, 98))
        return bid, ask

    def tick(self) -> list[tuple[str, str, int, int, int]]:
        """The level changes of one tick: (side, action, price, old, new); removals first,
        so no intermediate book is crossed."""
        bid, ask = self.target_quotes()
        no_top = COMPLEMENT - ask  # the NO bid that makes this YES ask
        changes: list[tuple[str, str, int, int, int]] = []
        for side, book, top in (("yes", self.yes, bid), ("no", self.no, no_top)):
            for price in sorted(p for p in book if p > top or p <= top - MAX_LEVELS):
                changes.append((side, "remove", price, book.pop(price), 0))
        for side, book, top in (("yes", self.yes, bid), ("no", self.no, no_top)):
            if top not in book and top >= 1:
                book[top] = self._size(0)
                changes.append((side, "add", top, 0, book[top]))
            # Depth comes and goes a level at a time.
            levels = sorted(book, reverse=True)
            wanted = int(np.clip(round(3 + 3 * self.depth), 2, MAX_LEVELS))
            if len(levels) < wanted and self.rng.random() < 0.5:
                candidates = [p for p in range(max(1, top - MAX_LEVELS + 1), top) if p not in book]
                if candidates:
                    price = int(self.rng.choice(candidates))
                    book[price] = self._size(top - price)
                    changes.append((side, "add", price, 0, book[price]))
            elif len(levels) > wanted and self.rng.random() < 0.5:
                price = levels[-1]
                changes.append((side, "remove", price, book.pop(price), 0))
        for _ in range(int(self.rng.integers(0, 3))):
            side = "yes" if self.rng.random() < 0.5 else "no"
            book = self.yes if side == "yes" else self.no
            if book:
                price = int(self.rng.choice(sorted(book)))
                new = max(1, int(book[price] * np.exp(self.rng.normal(0, 0.4))))
                if new != book[price]:
                    changes.append((side, "update", price, book[price], new))
                    book[price] = new
        # removals first, then adds and updates: every prefix stays uncrossed
        return sorted(changes, key=lambda c: c[1] != "remove")


def _market_events(rng, settle: bool, steps: int, start_ms: int, span_ms: int):
    """Snapshot and delta events of one market: (time_ms, kind, payload), in time order."""
    market = _Market(rng, settle)
    # Warm the book up so the first snapshot already has depth.
    for _ in range(6):
        market.tick()
    # (seconds, "snapshot" and a BookState | "delta" and a change tuple)
    events: list[tuple[float, str, Any]] = [
        (0.0, "snapshot", BookState(0, 0, dict(market.yes), dict(market.no)))]
    clock, burst, since_snapshot, count = 0.0, False, 0, 0
    while count < steps:
        if rng.random() < (0.05 if not burst else 0.1):
            burst = not burst
        market.evolve(count / steps)
        for change in market.tick():
            clock += rng.exponential(0.15 if burst else 2.0)
            events.append((clock, "delta", change))
            count += 1
            since_snapshot += 1
        if since_snapshot >= SNAPSHOT_EVERY:
            events.append((clock, "snapshot", BookState(0, 0, dict(market.yes), dict(market.no))))
            since_snapshot = 0
    scale = span_ms / max(clock, 1e-9)
    return [(start_ms + int(t * scale), kind, payload) for t, kind, payload in events]


def generate_session(session_id: int, seed: int = 0, settings: GeneratorSettings | None = None,
                     markets: int | None = None) -> dict:
    """One session's rows, ready for `SessionStore.write_session`."""
    settings = settings or GeneratorSettings()
    rng = np.random.default_rng([seed, session_id])
    n_markets = markets or int(rng.integers(settings.markets[0], settings.markets[1] + 1))
    start = EPOCH + timedelta(days=session_id, minutes=int(rng.integers(0, 240)))
    hours = float(rng.uniform(*settings.session_hours))
    start_ms = int(start.timestamp() * 1000)
    span_ms = int(hours * 3_600_000)
    used: set[str] = set()
    tickers = [_ticker(rng, session_id, used) for _ in range(n_markets)]
    merged = []
    for order in range(len(tickers)):
        steps = int(rng.integers(settings.steps[0], settings.steps[1] + 1))
        offset = int(rng.uniform(0, 0.2) * span_ms)  # markets open at different times
        for ts, kind, payload in _market_events(
                rng, bool(rng.random() < settings.settle_fraction), steps,
                start_ms + offset, span_ms - offset):
            merged.append((ts, order, kind, payload))
    # One sequence counter for the whole session, as the recorder's subscription had.
    merged.sort(key=lambda e: (e[0], e[1]))
    snapshots, deltas = [], []
    for seq, (ts, order, kind, payload) in enumerate(merged, start=1):
        if kind == "snapshot":
            payload.timestamp_ms, payload.sequence_number = ts, seq
            snapshots.append((tickers[order], payload))
        else:
            side, action, price, old, new = payload
            deltas.append((tickers[order], ts, seq, side, action, price, old, new))
    end = datetime.fromtimestamp(max(e[0] for e in merged) / 1000, UTC)
    return {"session_id": session_id, "tickers": tickers,
            "started_at": start.isoformat().replace("+00:00", "Z"),
            "ended_at": end.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "snapshots": snapshots, "deltas": deltas}


def generate_sessions(path: Path, session_ids: list[int], *, seed: int = 0,
                      markets: int | None = None,
                      settings: GeneratorSettings | None = None) -> list[SessionInfo]:
    """Write synthetic sessions into a store (created if missing); same seed, same rows."""
    with SessionStore(Path(path), writable=True) as store:
        for session_id in session_ids:
            rows = generate_session(session_id, seed, settings, markets)
            store.write_session(rows["session_id"], rows["tickers"], rows["started_at"],
                                rows["ended_at"], rows["snapshots"], rows["deltas"])
        store.compact()
        infos = [i for i in store.list_sessions() if i.id in set(session_ids)]
    return infos
