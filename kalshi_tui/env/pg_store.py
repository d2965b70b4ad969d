"""Sessions straight from the original PostgreSQL tables, read with psycopg 3.

The original DDL (ORIGINAL_ENV.md section 5: BIGSERIAL ids, TEXT[] tickers, JSONB books
with string keys, TIMESTAMPTZ, BIGINT sizes, CHECK constraints) is kept here verbatim in
spirit, so tests and `sessions copy` can create it. Reading needs only SELECT on the three
tables: a read-only role is enough. The replay is `SessionStore`'s, row for row, so a
session gives the same tape from PostgreSQL as from SQLite.

Every message names the database by its URL with the password removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kalshi_tui.core.db_url import password_of, redacted
from kalshi_tui.env.store import SessionStore, StoreError
from kalshi_tui.env.store_schema import SESSION_COLUMNS, TABLES

CONNECT_TIMEOUT_SECONDS = 5

# The original's DDL (RL/data/database.py with the 2025-12-16 environment migration).
# The (c) constraints were added by a helper that swallowed failures, so a real database
# may lack them; nothing here relies on them being present.
ORIGINAL_DDL = """
CREATE TABLE IF NOT EXISTS rl_orderbook_sessions (
    session_id BIGSERIAL PRIMARY KEY,
    market_tickers TEXT[] NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ended_at TIMESTAMPTZ,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    websocket_url TEXT,
    environment TEXT,
    connection_metadata JSONB,
    messages_received BIGINT DEFAULT 0,
    snapshots_count INTEGER DEFAULT 0,
    deltas_count INTEGER DEFAULT 0,
    last_message_at TIMESTAMPTZ,
    error_message TEXT,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_sessions_status CHECK (status IN ('active', 'closed', 'error')),
    CONSTRAINT chk_sessions_dates CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT chk_sessions_environment
        CHECK (environment IN ('local', 'production', 'paper', 'test'))
);
CREATE INDEX IF NOT EXISTS idx_sessions_status_started
    ON rl_orderbook_sessions (status, started_at DESC);
CREATE INDEX IF NOT EXISTS idx_sessions_active
    ON rl_orderbook_sessions (status) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS idx_sessions_tickers ON rl_orderbook_sessions USING GIN (market_tickers);
CREATE INDEX IF NOT EXISTS idx_sessions_environment
    ON rl_orderbook_sessions (environment, started_at DESC);

CREATE TABLE IF NOT EXISTS rl_orderbook_snapshots (
    id BIGSERIAL PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES rl_orderbook_sessions (session_id),
    market_ticker VARCHAR(100) NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    sequence_number BIGINT NOT NULL,
    yes_bids JSONB NOT NULL,
    yes_asks JSONB NOT NULL,
    no_bids JSONB NOT NULL,
    no_asks JSONB NOT NULL,
    yes_spread INTEGER,
    no_spread INTEGER,
    yes_mid_price DECIMAL(10, 4),
    no_mid_price DECIMAL(10, 4),
    total_volume BIGINT,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_snapshots_timestamp CHECK (timestamp_ms > 1577836800000),
    CONSTRAINT chk_snapshots_sequence CHECK (sequence_number >= 0),
    CONSTRAINT uq_snapshots_sequence UNIQUE (session_id, market_ticker, sequence_number)
);
CREATE INDEX IF NOT EXISTS idx_snapshots_session_market_seq
    ON rl_orderbook_snapshots (session_id, market_ticker, sequence_number);
CREATE INDEX IF NOT EXISTS idx_snapshots_market_time
    ON rl_orderbook_snapshots (market_ticker, timestamp_ms DESC);
CREATE INDEX IF NOT EXISTS idx_snapshots_session_time
    ON rl_orderbook_snapshots (session_id, timestamp_ms DESC);

CREATE TABLE IF NOT EXISTS rl_orderbook_deltas (
    id BIGSERIAL PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES rl_orderbook_sessions (session_id),
    market_ticker VARCHAR(100) NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    sequence_number BIGINT NOT NULL,
    side VARCHAR(10) NOT NULL,
    action VARCHAR(10) NOT NULL,
    price INTEGER NOT NULL,
    old_size BIGINT,
    new_size BIGINT,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT chk_deltas_side CHECK (side IN ('yes', 'no')),
    CONSTRAINT chk_deltas_action CHECK (action IN ('add', 'remove', 'update')),
    CONSTRAINT chk_deltas_price CHECK (price > 0),
    CONSTRAINT uq_deltas_sequence UNIQUE (session_id, market_ticker, sequence_number)
);
CREATE INDEX IF NOT EXISTS idx_deltas_session_market_seq
    ON rl_orderbook_deltas (session_id, market_ticker, sequence_number);
CREATE INDEX IF NOT EXISTS idx_deltas_session_time
    ON rl_orderbook_deltas (session_id, timestamp_ms DESC);
CREATE INDEX IF NOT EXISTS idx_deltas_market_time_side
    ON rl_orderbook_deltas (market_ticker, timestamp_ms DESC, side);
"""


def _one_line(exc: Exception, url: str, password: str | None) -> str:
    """psycopg's message as one line, with no trace of the password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if password:
        text = text.replace(password, "***")
    return text.replace(url, redacted(url))


class PostgresSessionStore(SessionStore):
    """Read (or, with writable=True, create and fill) the original PostgreSQL tables."""

    placeholder = "%s"

    def __init__(self, url: str, *, writable: bool = False):
        import psycopg

        self.url = url
        self.path = redacted(url)  # what every message names
        self._password = password_of(url)
        try:
            self._db = psycopg.connect(
                url, connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True
            )
        except psycopg.Error as exc:
            raise StoreError(f"{self.path}: cannot connect: {self._say(exc)}") from None
        try:
            if writable:
                self._db.execute(ORIGINAL_DDL)
            found = self._db.execute("SELECT " + ", ".join(f"to_regclass('{t}')" for t in TABLES)
                                     ).fetchone()
        except psycopg.Error as exc:
            self._db.close()
            raise StoreError(f"{self.path}: {self._say(exc)}") from None
        missing = [t for t, oid in zip(TABLES, found, strict=True) if oid is None]
        if missing:
            self._db.close()
            raise StoreError(f"{self.path}: missing table {', '.join(missing)}")

    def _say(self, exc: Exception) -> str:
        return _one_line(exc, self.url, self._password)

    @contextmanager
    def _errors_in_one_line(self) -> Iterator[None]:
        """A psycopg error inside becomes a StoreError naming the database, never its password."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.path}: {self._say(exc)}") from None

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._errors_in_one_line():
            return self._db.execute(sql, params).fetchall()

    def _execute_many(self, sql: str, rows: list[tuple]) -> None:
        with self._errors_in_one_line(), self._db.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _session_columns(self) -> list[str]:
        names = {row[0] for row in self._query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'rl_orderbook_sessions'")}
        return [c for c in SESSION_COLUMNS if c in names]

    def close(self) -> None:
        self._db.close()

    def _transaction(self):
        return self._db.transaction()

    def _json_param(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def _tickers_param(self, tickers: list[str]) -> Any:
        return list(tickers)

    def identity(self) -> str:
        """Which database, as it is now: the row counts and last ids of the three tables."""
        counts: list[Any] = []
        for table in TABLES:
            key = "session_id" if table == TABLES[0] else "id"
            counts.extend(self._query(f"SELECT COUNT(*), MAX({key}) FROM {table}")[0])
        return f"{self.path}|" + json.dumps(counts, default=str)
