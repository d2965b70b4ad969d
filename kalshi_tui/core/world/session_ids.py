"""Session lists as operators write them ("5-10", "5,7,32", "all") and as messages show them."""

from __future__ import annotations

from collections.abc import Iterable


class SessionListSyntaxError(ValueError):
    """The list itself is malformed (a usage error), as opposed to naming an unknown session."""


def parse_session_list(spec: str, available: list[int] | None) -> list[int]:
    """Session ids from "5-10", "5,7,32", "5-7,32" or "all"; ValueError names an unknown one.

    `available=None` accepts any id (for generating or training on sessions that the store
    is asked about later).
    """
    spec = str(spec).strip()
    if spec.lower() == "all":
        if available is None:
            raise ValueError("session list 'all' needs a store to list the sessions of")
        return sorted(available)
    chosen: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
            else:
                low = high = int(part)
        except ValueError:
            raise SessionListSyntaxError(f"session list {spec!r}: {part!r} is not a number "
                                         "or a range a-b") from None
        if min(low, high) < 0:
            raise SessionListSyntaxError(f"session list {spec!r}: {part!r} is not a number "
                                         "or a range a-b")
        if low > high:
            raise SessionListSyntaxError(f"session list {spec!r}: range {part!r} is reversed "
                             f"(did you mean {high}-{low}?)")
        ids = list(range(low, high + 1))
        for sid in ids:
            if available is not None and sid not in available:
                raise ValueError(f"session {sid} is not in the store "
                                 f"(available: {session_ranges(available)})")
            if sid not in chosen:
                chosen.append(sid)
    if not chosen:
        raise SessionListSyntaxError(f"session list {spec!r} names no session")
    return chosen


def session_ranges(ids: Iterable[int] | None, empty: str = "none") -> str:
    """Compact "5-10,32" wording of a session list, sorted, each id once."""
    ordered = sorted({int(i) for i in ids or ()})
    if not ordered:
        return empty
    parts: list[str] = []
    start = prev = ordered[0]
    for sid in ordered[1:] + [None]:
        if sid is not None and sid == prev + 1:
            prev = sid
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if sid is not None:
            start = prev = sid
    return ",".join(parts)
