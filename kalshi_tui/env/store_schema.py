"""The session store's tables: the original system's three, as SQLite holds them.

The same tables and columns as the original PostgreSQL recorder (`pg_store.ORIGINAL_DDL`),
so one reader serves both; what a stored result's key hashes is read by the same queries.
"""

TABLES = ("rl_orderbook_sessions", "rl_orderbook_snapshots", "rl_orderbook_deltas")
# The session columns both stores hold and `sessions copy` carries.
SESSION_COLUMNS = ("session_id", "market_tickers", "started_at", "ended_at", "status",
                   "environment", "snapshots_count", "deltas_count", "websocket_url",
                   "connection_metadata", "messages_received", "last_message_at",
                   "error_message", "created_at")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rl_orderbook_sessions (
    session_id INTEGER PRIMARY KEY,
    market_tickers TEXT NOT NULL,          -- JSON list of tickers
    started_at TEXT,                       -- ISO 8601 UTC
    ended_at TEXT,
    status TEXT,
    environment TEXT,
    snapshots_count INTEGER,
    deltas_count INTEGER,
    websocket_url TEXT,
    connection_metadata TEXT,              -- JSON
    messages_received INTEGER DEFAULT 0,
    last_message_at TEXT,
    error_message TEXT,
    created_at TEXT
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
    total_volume INTEGER,
    yes_mid_price REAL,
    no_mid_price REAL,
    created_at TEXT
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
    new_size INTEGER,
    created_at TEXT
);
CREATE INDEX IF NOT EXISTS ix_snapshots_market
    ON rl_orderbook_snapshots (session_id, market_ticker, sequence_number);
CREATE INDEX IF NOT EXISTS ix_deltas_market
    ON rl_orderbook_deltas (session_id, market_ticker, sequence_number);
"""


# Every column but the row id, in replay order: what a validation's figures depend on.
# ({p} is the store's placeholder: ? for SQLite, %s for PostgreSQL.)
FINGERPRINT_QUERIES = (
    ("SELECT market_tickers, started_at, ended_at, status, environment "
     "FROM rl_orderbook_sessions WHERE session_id={p}"),
    ("SELECT market_ticker, timestamp_ms, sequence_number, yes_bids, yes_asks, no_bids, no_asks, "
     "yes_spread, no_spread, total_volume FROM rl_orderbook_snapshots WHERE session_id={p} "
     "ORDER BY market_ticker, sequence_number, id"),
    ("SELECT market_ticker, timestamp_ms, sequence_number, side, action, price, old_size, new_size "
     "FROM rl_orderbook_deltas WHERE session_id={p} ORDER BY market_ticker, id"),
)
