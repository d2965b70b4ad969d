"""The recorded sessions: an embedded SQLite copy of the original PostgreSQL tables.

Same three tables and column names as the original (FORMATS.md section 4); the
{price_cents: size} maps are JSON text. Replaying a market = its first snapshot, then
its deltas by sequence_number; a later snapshot of the same market re-synchronises the
book, as a reconnecting recorder did.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

from kalshi_tui.env.orderbook import BookError, BookState, book_from_maps
from kalshi_tui.core.session_ids import parse_session_list, session_ranges  # noqa: F401 (re-exported)

TABLES = ("rl_orderbook_sessions", "rl_orderbook_snapshots", "rl_orderbook_deltas")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rl_orderbook_sessions (
    session_id INTEGER PRIMARY KEY,
    market_tickers TEXT NOT NULL,          -- JSON list of tickers
    started_at TEXT,                       -- ISO 8601 UTC
    ended_at TEXT,
    status TEXT,
    environment TEXT,
    snapshots_count INTEGER,
    deltas_count INTEGER
);
CREATE TABLE IF NOT EXISTS rl_orderbook_snapshots (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    market_ticker TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL,
    yes_bids TEXT NOT NULL,                -- JSON {price_cents: size}
    yes_asks TEXT NOT NULL,
    no_bids TEXT NOT NULL,
    no_asks TEXT NOT NULL,
    yes_spread INTEGER,
    no_spread INTEGER,
    total_volume INTEGER
);
CREATE TABLE IF NOT EXISTS rl_orderbook_deltas (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    market_ticker TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL,
    side TEXT NOT NULL,                    -- yes | no: the bid book it changes
    action TEXT NOT NULL,                  -- add | remove | update
    price INTEGER NOT NULL,
    old_size INTEGER,
    new_size INTEGER
);
CREATE INDEX IF NOT EXISTS ix_snapshots_market
    ON rl_orderbook_snapshots (session_id, market_ticker, sequence_number);
CREATE INDEX IF NOT EXISTS ix_deltas_market
    ON rl_orderbook_deltas (session_id, market_ticker, sequence_number);
"""


# Every column but the row id, in replay order: what a validation's figures depend on.
_FINGERPRINT_QUERIES = (
    ("SELECT market_tickers, started_at, ended_at, status, environment "
     "FROM rl_orderbook_sessions WHERE session_id=?"),
    ("SELECT market_ticker, timestamp_ms, sequence_number, yes_bids, yes_asks, no_bids, no_asks, "
     "yes_spread, no_spread, total_volume FROM rl_orderbook_snapshots WHERE session_id=? "
     "ORDER BY market_ticker, sequence_number, id"),
    ("SELECT market_ticker, timestamp_ms, sequence_number, side, action, price, old_size, new_size "
     "FROM rl_orderbook_deltas WHERE session_id=? ORDER BY market_ticker, id"),
)
# A size or volume past this is not a recording (Kalshi books hold thousands of contracts),
# and would overflow the float32 features; timestamps and sequence numbers fit in 64 bits.
MAX_SIZE = 10 ** 9
MAX_INT64 = 2 ** 63 - 1
# The longest JSON text a price map may be: 99 levels of "price": size fit in a few KB.
MAX_MAP_CHARS = 64 * 1024


class StoreError(Exception):
    """A store, session or market that cannot be replayed, said in one line naming it."""


@dataclass(frozen=True)
class SessionInfo:
    id: int
    markets: int
    snapshots: int
    deltas: int
    start: str | None  # ISO UTC
    end: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "markets": self.markets, "snapshots": self.snapshots,
                "deltas": self.deltas, "start": self.start, "end": self.end}


@dataclass
class ReplayStats:
    """What a replay tolerated rather than refused: reported, never hidden."""

    stale_old_sizes: int = 0  # deltas whose old_size disagreed with the book
    resyncs: int = 0  # later snapshots that differed from the replayed book


class SessionStore:
    """Read (or, with writable=True, create and fill) a SQLite session store."""

    def __init__(self, path: Path, *, writable: bool = False):
        self.path = Path(path)
        if writable:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = sqlite3.connect(self.path)
                self._db.executescript(SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: cannot write a session store here ({exc})") from None
        else:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: session store not found")
            try:
                # Read-only, so a store in a read-only package folder opens, and a reader can
                # never damage the recordings; as_uri() escapes '?' and '#' in odd paths.
                # check_same_thread off: the TUI opens a store in one worker and reads in another.
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                           check_same_thread=False)
                names = {row[0] for row in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
            except sqlite3.DatabaseError as exc:
                if _is_locked(exc):
                    raise StoreError(_locked_message(self.path, exc)) from None
                raise StoreError(f"{self.path}: not a SQLite session store ({exc})") from None
            missing = [t for t in TABLES if t not in names]
            if missing:
                self._db.close()
                raise StoreError(f"{self.path}: missing table {', '.join(missing)}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(_locked_message(self.path, exc) if _is_locked(exc)
                             else f"{self.path}: {exc}") from None

    def write_session(self, session_id: int, tickers: list[str], started_at: str, ended_at: str,
                      snapshots: list[tuple[str, BookState]], deltas: list[tuple], *,
                      status: str = "closed", environment: str = "synthetic") -> None:
        """Store one whole session, replacing any session with that id, in one transaction.

        `deltas` rows are (ticker, timestamp_ms, sequence_number, side, action, price,
        old_size, new_size), written in the order given.
        """
        with self._db:
            for table in TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE session_id=?", (session_id,))
            self._db.execute(
                "INSERT INTO rl_orderbook_sessions VALUES (?,?,?,?,?,?,?,?)",
                (session_id, json.dumps(tickers), started_at, ended_at, status, environment,
                 len(snapshots), len(deltas)))
            self._db.executemany(
                "INSERT INTO rl_orderbook_snapshots (session_id, market_ticker, timestamp_ms, "
                "sequence_number, yes_bids, yes_asks, no_bids, no_asks, yes_spread, no_spread, "
                "total_volume) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(session_id, ticker, b.timestamp_ms, b.sequence_number,
                  json.dumps(b.yes_bids), json.dumps(b.yes_asks), json.dumps(b.no_bids),
                  json.dumps(b.no_asks), _spread(b), _spread(b),
                  sum(b.yes_bids.values()) + sum(b.no_bids.values()))
                 for ticker, b in snapshots])
            self._db.executemany(
                "INSERT INTO rl_orderbook_deltas (session_id, market_ticker, timestamp_ms, "
                "sequence_number, side, action, price, old_size, new_size) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                [(session_id, *row) for row in deltas])

    def compact(self) -> None:
        """Rewrite the file without free pages (after replacing sessions), as it is bundled."""
        self._db.execute("VACUUM")

    def session_ids(self) -> list[int]:
        return [row[0] for row in self._query(
            "SELECT session_id FROM rl_orderbook_sessions ORDER BY session_id")]

    def list_sessions(self) -> list[SessionInfo]:
        """Every session with its counts, counted from the rows rather than trusted."""
        snaps = dict(self._query(
            "SELECT session_id, COUNT(*) FROM rl_orderbook_snapshots GROUP BY session_id"))
        deltas = dict(self._query(
            "SELECT session_id, COUNT(*) FROM rl_orderbook_deltas GROUP BY session_id"))
        infos = []
        for sid, tickers, start, end in self._query(
                "SELECT session_id, market_tickers, started_at, ended_at "
                "FROM rl_orderbook_sessions ORDER BY session_id"):
            infos.append(SessionInfo(int(sid), len(self._tickers(sid, tickers)),
                                     snaps.get(sid, 0), deltas.get(sid, 0), start, end))
        return infos

    def _tickers(self, session_id: int, raw: str | None) -> list[str]:
        try:
            tickers = json.loads(raw or "[]")
        except ValueError:
            raise StoreError(f"{self.path}: session {session_id}: market_tickers is not a "
                             f"JSON list") from None
        if not isinstance(tickers, list):
            raise StoreError(f"{self.path}: session {session_id}: market_tickers is not a JSON list")
        return [str(t) for t in tickers]

    def fingerprint(self, session_ids: list[int]) -> str:
        """sha256 of everything a replay of these sessions reads, in the order it reads it.

        The rows themselves, not the file: a copy, a reinstall or a VACUUM gives the same
        fingerprint, one changed delta another. Row ids are left out (only their order
        counts, as in a replay); a session that is absent hashes as absent.
        """
        digest = hashlib.sha256()
        for session_id in sorted(set(session_ids)):
            digest.update(f"session {session_id}\n".encode())
            for sql in _FINGERPRINT_QUERIES:
                for row in self._query(sql, (session_id,)):
                    digest.update(repr(row).encode())
                digest.update(b"\n")
        return digest.hexdigest()

    def markets(self, session_id: int) -> list[str]:
        rows = self._query("SELECT market_tickers FROM rl_orderbook_sessions WHERE session_id=?",
                           (session_id,))
        if not rows:
            raise StoreError(f"{self.path}: no session {session_id}")
        return self._tickers(session_id, rows[0][0])

    def snapshots(self, session_id: int, ticker: str) -> list[BookState]:
        """Every stored snapshot of one market, by sequence number."""
        where = f"{self.path}: session {session_id} market {ticker}"
        books = []
        for ts, seq, yes_bids, no_bids in self._query(
                "SELECT timestamp_ms, sequence_number, yes_bids, no_bids FROM rl_orderbook_snapshots "
                "WHERE session_id=? AND market_ticker=? ORDER BY sequence_number, id",
                (session_id, ticker)):
            try:
                books.append(book_from_maps(_whole(ts, "timestamp_ms", 0, MAX_INT64),
                                            _whole(seq, "sequence_number", 0, MAX_INT64),
                                            _price_map(yes_bids, "yes_bids"),
                                            _price_map(no_bids, "no_bids")))
            except _BadValue as exc:
                raise StoreError(f"{where}: snapshot seq {_shown(seq)}: {exc}") from None
            except (ValueError, TypeError, AttributeError, OverflowError, RecursionError):
                raise StoreError(f"{where}: snapshot seq {_shown(seq)} has a price map that is not "
                                 f"JSON {{price_cents: size}}") from None
        return books

    def deltas(self, session_id: int, ticker: str) -> list[tuple]:
        """(timestamp_ms, sequence_number, side, action, price, old_size, new_size) rows, stored order."""
        return self._query(
            "SELECT timestamp_ms, sequence_number, side, action, price, old_size, new_size "
            "FROM rl_orderbook_deltas WHERE session_id=? AND market_ticker=? ORDER BY id",
            (session_id, ticker))

    def replay(self, session_id: int, ticker: str, stats: ReplayStats | None = None) -> list[BookState]:
        """The market's book after its first snapshot and after every later change."""
        return [book.copy() for book in self.walk(session_id, ticker, stats)]

    def walk(self, session_id: int, ticker: str,
             stats: ReplayStats | None = None) -> Iterator[BookState]:
        """Replay a market, yielding the live book after each change (copy it to keep it).

        Every state is checked before it is yielded, so a bad market raises StoreError
        before a consumer has built anything from it.
        """
        where = f"{self.path}: session {session_id} market {ticker}"
        stats = stats if stats is not None else ReplayStats()
        snapshots = self.snapshots(session_id, ticker)
        if not snapshots:
            raise StoreError(f"{where}: no snapshot to start the replay from")
        rows = self.deltas(session_id, ticker)
        _check_sequence(rows, where)
        # Deltas recorded before the first snapshot are already inside it.
        first = snapshots[0]
        events = [(seq, 1, row) for row in rows if (seq := row[1]) > first.sequence_number]
        events += [(s.sequence_number, 0, s) for s in snapshots[1:]]
        events.sort(key=lambda e: (e[0], e[1]))
        book = _checked(first.copy(), where)
        yield book
        for seq, is_delta, item in events:
            if not is_delta:
                if not item.same_book(book):
                    stats.resyncs += 1
                    book = _checked(item.copy(), where)
                    yield book
                continue
            ts, _, side, action, price, old_size, new_size = item
            try:
                price = _whole(price, "price", -MAX_SIZE, MAX_SIZE)
                if not book.apply_delta(side, action, price,
                                        _whole(old_size or 0, "old_size", -MAX_SIZE, MAX_SIZE),
                                        _whole(new_size or 0, "new_size", -MAX_SIZE, MAX_SIZE),
                                        _whole(ts, "timestamp_ms", 0, MAX_INT64), seq):
                    stats.stale_old_sizes += 1
                book.check_change(side, price)
            except (BookError, _BadValue) as exc:
                raise StoreError(f"{where} after delta seq {_shown(seq)}: {exc}") from None
            yield book


def _is_locked(exc: sqlite3.DatabaseError) -> bool:
    """Another connection holds a lock the read waited 5 s for: busy, not broken."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _locked_message(path: Path, exc: sqlite3.DatabaseError) -> str:
    return (f"{path}: session store is locked by another process writing to it ({exc}); "
            "try again when it has finished")


def _spread(book: BookState) -> int | None:
    # With the 99 rule the NO spread equals the YES spread, so one figure serves both columns.
    bid, ask = book.best_yes_bid, book.best_yes_ask
    return None if bid is None or ask is None else ask - bid


def _checked(book: BookState, where: str) -> BookState:
    try:
        book.check()
    except BookError as exc:
        raise StoreError(f"{where} in snapshot seq {book.sequence_number}: {exc}") from None
    return book


class _BadValue(ValueError):
    """One number or map in a row that cannot be a recording (said in words, for StoreError)."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text) - 40} more characters)"


def _whole(value: object, name: str, low: int, high: int) -> int:
    """A stored whole number within [low, high]: inf, nan, 1e999, text and fractions are bad rows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadValue(f"{name} {_shown(value)} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _BadValue(f"{name} {_shown(value)} is not a finite whole number")
    if not low <= value <= high:
        raise _BadValue(f"{name} {_shown(value)} is outside {low:,}..{high:,}")
    return int(value)


def _price_map(raw: object, name: str) -> dict:
    """A stored {price_cents: size} map, bounded before it is parsed (a 100k-deep JSON is a bad row)."""
    if not isinstance(raw, str) or len(raw) > MAX_MAP_CHARS:
        size = len(raw) if isinstance(raw, (str, bytes)) else 0
        raise _BadValue(f"{name} is not a JSON price map of at most {MAX_MAP_CHARS:,} characters "
                        f"({size:,})")
    try:
        levels = json.loads(raw)
    except RecursionError:
        raise _BadValue(f"{name} is JSON nested too deeply to be a price map") from None
    except ValueError:
        raise _BadValue(f"{name} is not JSON {{price_cents: size}} (invalid JSON text)") from None
    if not isinstance(levels, dict):
        raise _BadValue(f"{name} is {type(levels).__name__}, not a JSON {{price_cents: size}} map")
    out = {}
    for price, size in levels.items():
        try:
            cents = int(price)
        except ValueError:
            raise _BadValue(f"{name} price {_shown(price)} is not a whole number") from None
        cents = _whole(cents, f"{name} price", -MAX_SIZE, MAX_SIZE)
        out[cents] = _whole(size, f"{name} size", -MAX_SIZE, MAX_SIZE)
    return out


def _check_sequence(rows: list[tuple], where: str) -> None:
    """Refuse deltas stored out of sequence order: a replay cannot know which change won."""
    previous = None
    for row in rows:
        seq = row[1]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_INT64:
            raise StoreError(f"{where}: delta sequence_number {_shown(seq)} is not a whole "
                             f"number from 0 to {MAX_INT64:,}")
        if previous is not None and seq <= previous:
            raise StoreError(f"{where}: out-of-order sequence numbers "
                             f"(delta seq {seq} stored after seq {previous})")
        previous = seq
