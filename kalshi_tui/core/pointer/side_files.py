"""Opening the files beside the pointer without ever following a symbolic link.

The journal, the lock holder, the hooks log, the prune log and the temp files live in the
models folder, which other people and scripts can write to. A symlink planted under one of
those names would make a promote overwrite or append to whatever it points at, anywhere on
the machine. Every open here passes O_NOFOLLOW (the kernel refuses a final-component link
with ELOOP, with no window between a check and the open), and a refusal is one line.

The pointer itself is never written through a link either (see `refuse_symlinked_pointer`):
`os.replace` would swap the link for a plain file, leaving the file the link named stale
while an operator who made the link expects it to change.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from kalshi_tui.core.pointer.errors import PointerError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def symlink_refusal(path: Path, what: str) -> str:
    return (f"{path}: the {what} is a symbolic link; refusing to follow it "
            "(replace it with a plain file)")


def open_nofollow(path: Path, flags: int, what: str, mode: int = 0o644) -> int:
    """os.open without following a final symlink; a link is a PointerError naming `what`."""
    try:
        return os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EEXIST and path.is_symlink()):
            raise PointerError(symlink_refusal(path, what)) from None
        raise


def read_nofollow(path: Path, what: str) -> bytes:
    """The whole file, never through a link; FileNotFoundError when it does not exist."""
    fd = open_nofollow(path, os.O_RDONLY, what)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def append_line_nofollow(path: Path, line: str, what: str) -> None:
    """Append one line (created 0644 when missing), never through a link."""
    fd = open_nofollow(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, what)
    try:
        view = memoryview(line.encode("utf-8", "backslashreplace"))
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def refuse_symlinked_pointer(pointer: Path) -> None:
    """Raise before any write when the pointer file is a symbolic link."""
    if pointer.is_symlink():
        try:
            target = os.readlink(pointer)
        except OSError:
            target = "?"
        raise PointerError(f"{pointer}: the pointer is a symbolic link (to {target}); refusing to "
                           "write through it: set paths.pointer to the real file the trader reads")
