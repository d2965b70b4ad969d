"""The one rule for showing text that came from a file, a folder name or a setting.

A model folder named "\\x1b[2J" can clear an operator's screen, one with a newline can fake
a line of output, and a name that is not valid UTF-8 reaches Python as lone surrogates
that crash a strict stream. `printable` shows all of these as escapes (\\x1b, \\n, \\udcff),
so what reaches the terminal is exactly one line of inert text. `clip` keeps a message
short whatever a file holds: a 50 MB path in a pointer is shown as its first 200
characters and a count of the rest.
"""

from __future__ import annotations

import os

CLIP_CHARS = 200


def printable(text: object) -> str:
    """`text` as one safe line: control characters, line breaks and surrogates shown escaped."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else _escape(c) for c in value)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}")
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clip(text: object, limit: int = CLIP_CHARS) -> str:
    """At most `limit` characters of `text`, then how many more there were."""
    value = text if isinstance(text, str) else str(text)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}... ({len(value) - limit:,} more characters)"


def shown(text: object, limit: int = CLIP_CHARS) -> str:
    """A value quoted inside a message: clipped, then made printable."""
    return printable(clip(text, limit))


def path_text(path: os.PathLike | str | bytes) -> str:
    """A path as text, whatever its bytes: undecodable ones kept as surrogates (shown escaped)."""
    return os.fsdecode(path)
