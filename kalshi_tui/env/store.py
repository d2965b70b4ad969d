"""The recorded sessions: an embedded SQLite copy of the original PostgreSQL tables.

Same three tables and columns as the original (ORIGINAL_ENV.md section 5); the
{price_cents: size} maps are JSON text, the ticker list a JSON list, times ISO 8601 UTC.
`pg_store.PostgresSessionStore` reads the original tables themselves through the same
replay, so both give the same tapes. Replay (the original loader's rules): a market's
snapshots and deltas merged by sequence_number, snapshot first on ties; a snapshot clears
the book and loads the bids (stored asks are ignored: asks derive from the other side's
bids); a delta applies only after the last applied sequence, its new_size absolute.
Only closed sessions are read, as the original's loader listed only those.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalshi_tui.core.world.session_ids import parse_session_list, session_ranges  # noqa: F401 (re-exported)
from kalshi_tui.env.orderbook import BookError, BookState, book_from_maps
from kalshi_tui.env.store_schema import FINGERPRINT_QUERIES, SCHEMA, SESSION_COLUMNS, TABLES
from kalshi_tui.env.store_values import (
    MAX_INT64,
    MAX_SIZE,
    BadValue,
    canonical,
    iso_utc,
    json_value,
    price_map,
    shown_value,
    whole_number,
)


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

    placeholder = "?"
    # What every message names: the SQLite file, or (PostgresSessionStore) its URL without
    # the password.
    path: Path | str
    # A DB-API connection: sqlite3's here, psycopg's in PostgresSessionStore.
    _db: Any

    def __init__(self, path: Path, *, writable: bool = False):
        file = Path(path)
        self.path = file
        if writable:
            file.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = sqlite3.connect(file)
                self._db.executescript(SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{self.path}: cannot write a session store here ({exc})"
                ) from None
        else:
            if not file.is_file():
                raise StoreError(f"{self.path}: session store not found")
            try:
                # Read-only, so a store in a read-only package folder opens, and a reader can
                # never damage the recordings; as_uri() escapes '?' and '#' in odd paths.
                # check_same_thread off: the TUI opens a store in one worker and reads in another.
                self._db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True,
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

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        try:
            self._db.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def _transaction(self):
        return self._db

    def _json_param(self, value: Any) -> Any:
        return None if value is None else json.dumps(value)

    def _tickers_param(self, tickers: list[str]) -> Any:
        return json.dumps(list(tickers))

    def identity(self) -> str:
        """Which store, as it is now: a re-recorded or replaced store reads as different."""
        path = Path(self.path).resolve()
        st = path.stat()
        return f"{path}|{st.st_size}|{st.st_mtime_ns}"

    def write_session(self, session_id: int, tickers: list[str], started_at: str, ended_at: str,
                      snapshots: list[tuple[str, BookState]], deltas: list[tuple], *,
                      status: str = "closed", environment: str = "test") -> None:
        """Store one whole session, replacing any session with that id, in one transaction.

        `deltas` rows are (ticker, timestamp_ms, sequence_number, side, action, price,
        old_size, new_size), written in the order given. `environment` must be one the
        original's CHECK allows (local, production, paper, test): synthetic sessions are "test".
        """
        session = {"session_id": session_id, "market_tickers": tickers, "started_at": started_at,
                   "ended_at": ended_at, "status": status, "environment": environment,
                   "snapshots_count": len(snapshots), "deltas_count": len(deltas)}
        snapshot_rows = [(ticker, b.timestamp_ms, b.sequence_number, b.yes_bids, b.yes_asks,
                          b.no_bids, b.no_asks, _spread(b), _spread(b),
                          sum(b.yes_bids.values()) + sum(b.no_bids.values()))
                         for ticker, b in snapshots]
        self.write_raw_session(session, snapshot_rows, deltas)

    def write_raw_session(self, session: dict[str, Any], snapshots: list[tuple],
                          deltas: list[tuple]) -> None:
        """Store rows as given, replacing any session with that id, in one transaction.

        session: column -> value of rl_orderbook_sessions; snapshots: (ticker, timestamp_ms,
        sequence_number, yes_bids, yes_asks, no_bids, no_asks, yes_spread, no_spread,
        total_volume) with the maps as dicts; deltas: (ticker, timestamp_ms, sequence_number,
        side, action, price, old_size, new_size).
        """
        session_id = session["session_id"]
        p = self.placeholder
        columns = [c for c in SESSION_COLUMNS if c in session]
        values = [self._tickers_param(session[c]) if c == "market_tickers"
                  else self._json_param(session[c]) if c == "connection_metadata"
                  else session[c] for c in columns]
        with self._transaction():
            for table in reversed(TABLES):
                self._execute_many(f"DELETE FROM {table} WHERE session_id={p}", [(session_id,)])
            self._execute_many(f"INSERT INTO rl_orderbook_sessions ({', '.join(columns)}) "
                               f"VALUES ({', '.join([p] * len(columns))})", [tuple(values)])
            self._execute_many(
                "INSERT INTO rl_orderbook_snapshots (session_id, market_ticker, timestamp_ms, "
                "sequence_number, yes_bids, yes_asks, no_bids, no_asks, yes_spread, no_spread, "
                f"total_volume) VALUES ({', '.join([p] * 11)})",
                [
                    (
                        session_id,
                        ticker,
                        ts,
                        seq,
                        self._json_param(yes_bids),
                        self._json_param(yes_asks),
                        self._json_param(no_bids),
                        self._json_param(no_asks),
                        *rest,
                    )
                    for ticker, ts, seq, yes_bids, yes_asks, no_bids, no_asks, *rest in snapshots
                ],
            )
            self._execute_many(
                "INSERT INTO rl_orderbook_deltas (session_id, market_ticker, timestamp_ms, "
                "sequence_number, side, action, price, old_size, new_size) "
                f"VALUES ({', '.join([p] * 9)})",
                [(session_id, *row) for row in deltas])

    def read_raw_session(self, session_id: int) -> tuple[dict[str, Any], list[tuple], list[tuple]]:
        """One session's rows as stored, in the shapes `write_raw_session` takes."""
        p = self.placeholder
        present = self._session_columns()
        rows = self._query(f"SELECT {', '.join(present)} FROM rl_orderbook_sessions "
                           f"WHERE session_id={p}", (session_id,))
        if not rows:
            raise StoreError(f"{self.path}: no session {session_id}")
        session = dict(zip(present, rows[0], strict=True))
        session["market_tickers"] = self._tickers(session_id, session["market_tickers"])
        for key in ("started_at", "ended_at", "last_message_at", "created_at"):
            if key in session:
                session[key] = iso_utc(session[key])
        if isinstance(session.get("connection_metadata"), str):
            session["connection_metadata"] = json_value(session["connection_metadata"])
        snapshots = [
            (
                ticker,
                ts,
                seq,
                json_value(yb),
                json_value(ya),
                json_value(nb),
                json_value(na),
                ys,
                ns,
                tv,
            )
            for ticker, ts, seq, yb, ya, nb, na, ys, ns, tv in self._query(
                "SELECT market_ticker, timestamp_ms, sequence_number, yes_bids, yes_asks, "
                "no_bids, no_asks, yes_spread, no_spread, total_volume "
                f"FROM rl_orderbook_snapshots WHERE session_id={p} ORDER BY id",
                (session_id,),
            )
        ]
        deltas = self._query(
            "SELECT market_ticker, timestamp_ms, sequence_number, side, action, price, old_size, "
            f"new_size FROM rl_orderbook_deltas WHERE session_id={p} ORDER BY id", (session_id,))
        return session, snapshots, [tuple(d) for d in deltas]

    def _session_columns(self) -> list[str]:
        """The known session columns this store has (an older SQLite store has fewer)."""
        names = {row[1] for row in self._query("PRAGMA table_info(rl_orderbook_sessions)")}
        return [c for c in SESSION_COLUMNS if c in names]

    def compact(self) -> None:
        """Rewrite the file without free pages (after replacing sessions), as it is bundled."""
        self._db.execute("VACUUM")

    def session_ids(self) -> list[int]:
        return [int(row[0]) for row in self._query(
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
                                     int(snaps.get(sid, 0)), int(deltas.get(sid, 0)),
                                     iso_utc(start), iso_utc(end)))
        return infos

    def _tickers(self, session_id: int, raw: Any) -> list[str]:
        if isinstance(raw, list):  # PostgreSQL's TEXT[]
            return [str(t) for t in raw]
        try:
            tickers = json.loads(raw or "[]")
        except ValueError:
            raise StoreError(f"{self.path}: session {session_id}: market_tickers is not a "
                             f"JSON list") from None
        if not isinstance(tickers, list):
            raise StoreError(
                f"{self.path}: session {session_id}: market_tickers is not a JSON list"
            )
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
            for sql in FINGERPRINT_QUERIES:
                for row in self._query(sql.format(p=self.placeholder), (session_id,)):
                    digest.update(repr(tuple(map(canonical, row))).encode())
                digest.update(b"\n")
        return digest.hexdigest()

    def markets(self, session_id: int) -> list[str]:
        """The session's markets; only a closed session (status closed, ended_at set) is read."""
        rows = self._query("SELECT market_tickers, status, ended_at FROM rl_orderbook_sessions "
                           f"WHERE session_id={self.placeholder}", (session_id,))
        if not rows:
            raise StoreError(f"{self.path}: no session {session_id}")
        tickers, status, ended_at = rows[0]
        if status != "closed" or ended_at is None:
            raise StoreError(
                f"{self.path}: session {session_id} is not closed (status {status!r}, "
                f"ended_at {iso_utc(ended_at) or 'missing'}): a session still recording "
                "or failed is not replayed"
            )
        return self._tickers(session_id, tickers)

    def snapshots(self, session_id: int, ticker: str) -> list[BookState]:
        """Every stored snapshot of one market, by sequence number."""
        where = f"{self.path}: session {session_id} market {ticker}"
        books = []
        p = self.placeholder
        for ts, seq, yes_bids, no_bids in self._query(
            "SELECT timestamp_ms, sequence_number, yes_bids, no_bids FROM rl_orderbook_snapshots "
            f"WHERE session_id={p} AND market_ticker={p} ORDER BY sequence_number, id",
            (session_id, ticker),
        ):
            try:
                books.append(book_from_maps(whole_number(ts, "timestamp_ms", 0, MAX_INT64),
                                            whole_number(seq, "sequence_number", 0, MAX_INT64),
                                            price_map(yes_bids, "yes_bids"),
                                            price_map(no_bids, "no_bids")))
            except BadValue as exc:
                raise StoreError(f"{where}: snapshot seq {shown_value(seq)}: {exc}") from None
            except (ValueError, TypeError, AttributeError, OverflowError, RecursionError):
                raise StoreError(
                    f"{where}: snapshot seq {shown_value(seq)} has a price map that is not "
                    f"JSON {{price_cents: size}}"
                ) from None
        return books

    def deltas(self, session_id: int, ticker: str) -> list[tuple]:
        """(timestamp_ms, sequence_number, side, action, price, old_size, new_size) rows, stored
        order."""
        return self._query(
            "SELECT timestamp_ms, sequence_number, side, action, price, old_size, new_size "
            f"FROM rl_orderbook_deltas WHERE session_id={self.placeholder} "
            f"AND market_ticker={self.placeholder} ORDER BY id",
            (session_id, ticker))

    def replay(
        self, session_id: int, ticker: str, stats: ReplayStats | None = None
    ) -> list[BookState]:
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
        # (sequence number, 1 and a delta row | 0 and a snapshot BookState)
        events: list[tuple[int, int, Any]] = [
            (seq, 1, row) for row in rows if (seq := row[1]) > first.sequence_number]
        events += [(s.sequence_number, 0, s) for s in snapshots[1:]]
        events.sort(key=lambda e: (e[0], e[1]))
        book = _checked(first.copy(), where)
        last_applied = first.sequence_number
        yield book
        for seq, is_delta, item in events:
            if not is_delta:
                # Every snapshot clears the book and is a state of its own, as in the original.
                if not item.same_book(book):
                    stats.resyncs += 1
                book = _checked(item.copy(), where)
                last_applied = seq
                yield book
                continue
            if seq <= last_applied:
                continue  # already inside the snapshot of the same sequence
            last_applied = seq
            ts, _, side, action, price, old_size, new_size = item
            try:
                price = whole_number(price, "price", -MAX_SIZE, MAX_SIZE)
                if not book.apply_delta(
                    side,
                    action,
                    price,
                    whole_number(old_size or 0, "old_size", -MAX_SIZE, MAX_SIZE),
                    whole_number(new_size or 0, "new_size", -MAX_SIZE, MAX_SIZE),
                    whole_number(ts, "timestamp_ms", 0, MAX_INT64),
                    seq,
                ):
                    stats.stale_old_sizes += 1
                book.check_change(side, price)
            except (BookError, BadValue) as exc:
                raise StoreError(f"{where} after delta seq {shown_value(seq)}: {exc}") from None
            yield book


def _is_locked(exc: sqlite3.DatabaseError) -> bool:
    """Another connection holds a lock the read waited 5 s for: busy, not broken."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _locked_message(path: Path | str, exc: sqlite3.DatabaseError) -> str:
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


def _check_sequence(rows: list[tuple], where: str) -> None:
    """Refuse deltas stored out of sequence order: a replay cannot know which change won."""
    previous = None
    for row in rows:
        seq = row[1]
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_INT64:
            raise StoreError(f"{where}: delta sequence_number {shown_value(seq)} is not a whole "
                             f"number from 0 to {MAX_INT64:,}")
        if previous is not None and seq <= previous:
            raise StoreError(f"{where}: out-of-order sequence numbers "
                             f"(delta seq {seq} stored after seq {previous})")
        previous = seq
