"""Database URLs for the session store: recognised, and shown without their password.

`paths.sessions_db` (and `--sessions-db`, `--db`) take a SQLite file or a
`postgresql://` URL. A URL may carry a password; it is never printed, logged or stored
in a result: everything shows `redacted(url)` instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(source: Any) -> bool:
    return isinstance(source, str) and source.startswith(URL_SCHEMES)


def redacted(url: str) -> str:
    """The URL with any password removed (from the authority or a password= parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, "***" if k.lower() == "password" else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def password_of(url: str) -> str | None:
    parts = urlsplit(url)
    return parts.password or dict(parse_qsl(parts.query)).get("password")


def source_name(source: Any) -> str:
    """How a session source is named in messages and results."""
    return redacted(source) if is_database_url(source) else str(source)
