"""Which session store a config or flag names: a SQLite file or a PostgreSQL URL.

Its own module so the two stores do not import each other: the PostgreSQL store is a
SessionStore, and this is the one place that chooses between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kalshi_tui.core.db_url import is_database_url
from kalshi_tui.env.store import SessionStore


def open_session_store(source: Any, *, writable: bool = False) -> SessionStore:
    """The session store a config or flag names: a SQLite file or a postgresql:// URL."""
    if is_database_url(source):
        from kalshi_tui.env.pg_store import PostgresSessionStore

        return PostgresSessionStore(source, writable=writable)
    return SessionStore(Path(source), writable=writable)
