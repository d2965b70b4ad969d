"""The ways a pointer change can fail, each mapped to one CLI exit code.

The TUI catches these from worker threads and shows `str(exc)`, so every message is one
line that says what happened and what the operator can do about it.
"""

from __future__ import annotations

from typing import Any


class PointerError(Exception):
    """A pointer or journal problem (bad JSON, I/O failure): exit 1, nothing changed."""


class Refused(PointerError):
    """A guard rail said no (incompatible model, changed since listed, already current): exit 3."""


class StaleRevision(PointerError):
    """The pointer is not at the revision the caller saw: exit 4, naming who moved it."""

    def __init__(self, message: str, *, expected: int, actual: int,
                 who: str | None = None, when: str | None = None, what: str | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual
        self.who = who
        self.when = when
        self.what = what


class LockTimeout(PointerError):
    """Another process held the pointer lock for longer than the timeout: exit 5."""

    def __init__(self, message: str, *, holder: dict[str, Any] | None = None):
        super().__init__(message)
        self.holder = holder or {}
