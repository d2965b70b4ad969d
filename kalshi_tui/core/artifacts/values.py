"""Lenient readers for the values the original training artifacts hold.

The original system wrote numbers as strings ("10000", "1e-4"), datetimes without a zone
("2025-12-11 17:34:19.012059"), session ids as ints, strings or lists, and sometimes left
keys out. Every reader here returns None for what it cannot read instead of raising, so
one odd value costs one figure, never the whole record.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from datetime import UTC, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

import orjson

# Training summaries and results are kilobytes to a few megabytes (a curriculum results
# file of 473 markets is 370 KB); anything far past that is not one of them, and reading
# it whole would cost memory the listing must not spend.
MAX_JSON_BYTES = 64 * 1024 * 1024

# The original machine's clock. Its run folder stamps (session9_ppo_20251211_221054) and
# the "Z" times in its pointer (training_start 2025-12-11T22:10:54Z) agree with each other,
# and FORMATS.md records that those "Z" times were US Eastern local time: the system wrote
# local wall-clock time throughout. A zone-less time is therefore read as US Eastern and
# converted to true UTC (DST handled by the zone database), so it sorts correctly against
# a zip's start_time, which is true UTC. A note always says this was done.
NAIVE_TIME_ZONE = "America/New_York"
# Epoch numbers outside these years are counters or garbage, not training times.
PLAUSIBLE_YEARS = (2000, 2100)


def load_json_file(path: Path | str, notes: list[str]) -> dict[str, Any] | None:
    """The JSON object in `path`, or None with a one-line note saying what was wrong."""
    name = os.path.basename(path)
    try:
        raw = read_small_file(path, MAX_JSON_BYTES)
    except FileTooLarge as exc:
        notes.append(
            f"{name}: {exc.size:,} bytes, over the {MAX_JSON_BYTES:,} a training file "
            f"can be; not read"
        )
        return None
    except OSError as exc:
        notes.append(f"{name}: cannot be read ({exc.strerror or exc})")
        return None
    value = _parsed_fast(raw)
    if value is None:
        try:
            # The original wrote NaN and Infinity; Python's json reads them, which is what
            # we want (orjson refuses them, so such files always come here).
            value = json.loads(raw.decode("utf-8", errors="replace"))
        except ValueError as exc:
            notes.append(f"{name}: not valid JSON ({str(exc).splitlines()[0]})")
            return None
    if not isinstance(value, dict):
        notes.append(f"{name}: holds a JSON {type(value).__name__}, not an object; not used")
        return None
    return value


class FileTooLarge(Exception):
    """A file over the size a reader allows (`size`: what was found, at least)."""

    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


def read_small_file(path: Path | str, limit: int) -> bytes:
    """A file's bytes; FileTooLarge past `limit` bytes, OSError when it cannot be read.

    One open, one fstat and a read of the size found (a catalog reads a run's artifacts for
    every run folder: no Path or buffered-file objects on the way).
    """
    fd = os.open(path, READ_FLAGS)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise FileTooLarge(size)
        chunks: list[bytes] = []
        total, want = 0, size + 1  # one byte more: a file that grew since the fstat shows it
        while True:
            chunk = os.read(fd, want)
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(total)
            chunks.append(chunk)
            if len(chunk) < want:  # a regular file's read comes up short only at its end
                break
            want = 1 << 16
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # artifact files, read whole or in blocks


def _parsed_fast(raw: bytes) -> Any:
    """`raw` parsed by orjson (a third of json's time) where json would read it the same,
    else None (json decides). orjson refuses what json alone reads (NaN, invalid UTF-8, a
    BOM, lone surrogates), and reads an integer past 64 bits as a float where json keeps
    it an int: text with a run of 19 digits or more goes to json."""
    if _LONG_DIGITS in raw.translate(_DIGITS_ONLY):
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


# A run of 19 ASCII digits, found by mapping every digit to "0" and anything else to a
# space, then one substring search: a tenth of what the regex [0-9]{19} cost, which tried
# a match at every position of a file full of 16-digit floats.
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_DIGITS = b"0" * 19


def dig(data: Any, *keys: str) -> Any:
    """The value at a path of keys in nested dicts, or None where any step is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def as_float(value: Any) -> float | None:
    """A finite float from a number or numeric string ("10000", "1e-4", "95.5%"), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        # No thousands separators: Python wrote these files, and "5,6" must not become 56.
        text = value.strip().rstrip("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_int(value: Any) -> int | None:
    """A whole number from an int, an integral float or a numeric string, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = as_float(value)
    if number is None or number != int(number):
        return None
    return int(number)


def as_session_ids(value: Any) -> list[int] | None:
    """Session ids from 9, "9", [5, 6, "7"] or "5,6,7" / "5_6_7"; None if none are readable."""
    if isinstance(value, list):
        found = [i for i in map(as_int, value) if i is not None]
        return found or None
    if isinstance(value, str) and re.search(r"\d[\s,;_/+-]+\d", value.strip()):
        ids = [int(part) for part in re.findall(r"\d+", value)]
        return ids or None
    single = as_int(value)
    if single is not None:
        return [single]
    if isinstance(value, str):
        ids = [int(part) for part in re.findall(r"\d+", value)]
        return ids or None
    return None


def as_utc_iso(value: Any) -> tuple[str | None, str | None]:
    """(ISO UTC text, note) for a datetime string or epoch number; (None, None) if unreadable.

    Precision is kept as written: a time with microseconds keeps them, one without gets
    none added. The note is set when the time had no zone and was read as US Eastern.
    """
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e17:  # nanoseconds, as SB3 writes start_time
            seconds /= 1e9
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None, None
        if not PLAUSIBLE_YEARS[0] <= moment.year <= PLAUSIBLE_YEARS[1]:
            return None, None  # a counter or garbage, not a time
        return _format(moment, with_fraction=seconds != int(seconds)), None
    if not isinstance(value, str):
        return None, None
    text = value.strip()
    if not text:
        return None, None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None, None
    with_fraction = "." in text.split("T")[-1].split(" ")[-1]
    note = None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_naive_zone())
        note = f"'{text}' has no time zone; read as US Eastern local time"
    return _format(moment, with_fraction), note


def _format(moment: datetime, with_fraction: bool) -> str:
    utc = moment.astimezone(UTC)
    if utc.year >= 1000:
        # isoformat is a C call, several times cheaper than strftime, and gives the same
        # text for every four-digit year; strftime keeps the odd ones as they always were.
        return utc.isoformat(timespec="microseconds" if with_fraction else "seconds")[:-6] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if with_fraction else "%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _naive_zone() -> tzinfo:
    """The original machine's zone, looked up once (zoneinfo reads the zone file)."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(NAIVE_TIME_ZONE)
    except Exception:  # no zone database on this machine: fixed EST is right for Nov-Mar
        from datetime import timedelta

        return timezone(timedelta(hours=-5), "EST")


def us_eastern_zone() -> tzinfo:
    """The zone the original system's wall-clock times were in (its machine's)."""
    return _naive_zone()


def warm_up() -> None:
    """Do now what the first zone-less time would do (import zoneinfo, read the zone file):
    a scan calls this before forking its workers, so they share it instead of each paying."""
    _naive_zone()
