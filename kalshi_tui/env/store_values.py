"""What one stored value may be, read alike from both stores.

A recording's numbers are bounded (inf, 1e999, fractions and text are bad rows, never an
OverflowError later), price maps are parsed only within a size a real book fits in, and
SQLite's JSON text and PostgreSQL's JSONB, text times and TIMESTAMPTZ, read the same, so
the same rows replay and fingerprint alike from either store.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

# A size or volume past this is not a recording (Kalshi books hold thousands of contracts),
# and would overflow the float32 features; timestamps and sequence numbers fit in 64 bits.
MAX_SIZE = 10 ** 9
MAX_INT64 = 2 ** 63 - 1
# The longest JSON text a price map may be: 99 levels of "price": size fit in a few KB.
MAX_MAP_CHARS = 64 * 1024


class BadValue(ValueError):
    """One number or map in a row that cannot be a recording (said in words, for StoreError)."""


def shown_value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text) - 40} more characters)"


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """A stored whole number within [low, high]: inf, nan, 1e999, text and fractions are bad
    rows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"{name} {shown_value(value)} is not a number")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadValue(f"{name} {shown_value(value)} is not a finite whole number")
    if not low <= value <= high:
        raise BadValue(f"{name} {shown_value(value)} is outside {low:,}..{high:,}")
    return int(value)


def price_map(raw: object, name: str) -> dict:
    """A stored {price_cents: size} map, bounded before it is parsed (a 100k-deep JSON is a bad
    row)."""
    if isinstance(raw, dict):
        levels = raw  # PostgreSQL's JSONB, decoded by the driver (the server bounds its depth)
    elif not isinstance(raw, str) or len(raw) > MAX_MAP_CHARS:
        size = len(raw) if isinstance(raw, (str, bytes)) else 0
        raise BadValue(f"{name} is not a JSON price map of at most {MAX_MAP_CHARS:,} characters "
                        f"({size:,})")
    else:
        try:
            levels = json.loads(raw)
        except RecursionError:
            raise BadValue(f"{name} is JSON nested too deeply to be a price map") from None
        except ValueError:
            raise BadValue(
                f"{name} is not JSON {{price_cents: size}} (invalid JSON text)"
            ) from None
    if not isinstance(levels, dict):
        raise BadValue(f"{name} is {type(levels).__name__}, not a JSON {{price_cents: size}} map")
    out = {}
    for price, size in levels.items():
        try:
            cents = int(price)
        except ValueError:
            raise BadValue(f"{name} price {shown_value(price)} is not a whole number") from None
        cents = whole_number(cents, f"{name} price", -MAX_SIZE, MAX_SIZE)
        out[cents] = whole_number(size, f"{name} size", -MAX_SIZE, MAX_SIZE)
    return out


def json_value(value: Any) -> Any:
    """A JSON column's value: text in SQLite, already decoded from PostgreSQL's JSONB."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def canonical(value: Any) -> Any:
    """A column's value as both stores give it: JSON text and JSONB, text and TIMESTAMPTZ,
    a JSON list and TEXT[] read alike, so the same rows have one fingerprint."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime) or (isinstance(value, str) and value[:2] in ("19", "20")):
        return iso_utc(value)
    return value


def iso_utc(value: Any) -> str | None:
    """A time as ISO 8601 UTC text, the same from both stores (SQLite text, PostgreSQL
    datetimes)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # not ours to fix: shown as stored
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z").replace(".000Z", "Z")
    return value
