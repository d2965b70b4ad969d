"""Times as the tool shows and compares them: aware UTC, whatever the file wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An ISO time (or datetime) from a record or journal as aware UTC; None when absent or
    unreadable.

    A time with no zone is taken as UTC: kalshi-tui writes only UTC, and the artifacts
    reader has already converted the original system's zoneless local times.
    """
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
