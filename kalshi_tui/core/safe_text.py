"""The one rule for showing text that came from a file, a folder name or a setting.

A model folder named "\\x1b[2J" can clear an operator's screen, one with a newline can fake
a line of output, and a name that is not valid UTF-8 reaches Python as lone surrogates
that crash a strict stream. `printable` shows all of these as escapes (\\x1b, \\n, \\udcff),
so what reaches the terminal is exactly one line of inert text. `clip` keeps a message
short whatever a file holds: a 50 MB path in a pointer is shown as its first 200
characters and a count of the rest.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TextIO

CLIP_CHARS = 200
# Linux's PATH_MAX: a path is cut only past this, so a real one is always shown whole.
PATH_CLIP_CHARS = 4096


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


def safe_lines(lines: Iterable[str]) -> str:
    """Lines joined for the terminal, each made printable: a newline inside a value stays `\\n`."""
    return "\n".join(printable(line) for line in lines)


class TerminalGuard(io.TextIOBase):
    """A text stream that passes every line through `printable` before it reaches `stream`.

    The CLI's stdout and stderr are wrapped in it for the length of a command, so a file
    name printed anywhere (a plan, a warning, an error) cannot move the cursor, ring the
    bell or crash the stream with a surrogate. Newlines the program writes pass through.
    The colours of `list` and the progress bar of `validate` are written to `raw`.
    """

    def __init__(self, stream: TextIO):
        super().__init__()
        self.raw = stream

    def write(self, text: str) -> int:
        self.raw.write("\n".join(printable(part) for part in text.split("\n")))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a TerminalGuard, for output whose control sequences are ours."""
    return stream.raw if isinstance(stream, TerminalGuard) else stream
