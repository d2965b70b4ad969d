"""Durable file writes: atomic replace of the pointer, fsync'd appends, and a fault seam.

Every step that touches the disk calls `fault_point(step)` first. In production the hook
is None and costs one attribute read; tests install a function that raises ENOSPC, EACCES
or EROFS (or SIGKILLs the process) at exactly that step, to prove each failure leaves
the pointer and the journal in agreement.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from kalshi_tui.core.safe_text import PATH_CLIP_CHARS, shown

# Set by tests only: called with the step name before each disk operation.
FAULT_HOOK: Callable[[str], None] | None = None

# Steps, in the order a change performs them (the fault tests iterate over this).
JOURNAL_STEPS = ("journal.open", "journal.write", "journal.fsync", "journal.dirsync")
PUBLISH_STEPS = ("tmp.create", "tmp.write", "tmp.fsync", "replace", "dir.fsync")

# A temp file whose writer is on another host (shared folder) is only removed once it is
# this old: we cannot ask a remote kernel whether the pid lives.
STALE_TEMP_SECONDS = 600

_HOST = socket.gethostname()


def fault_point(step: str) -> None:
    """Give an installed test hook the chance to fail this step."""
    hook = FAULT_HOOK
    if hook is not None:
        hook(step)


def fsync_dir(folder: Path, step: str = "dir.fsync") -> None:
    """Make a rename or a new file in `folder` durable: the entry lives in the folder."""
    fault_point(step)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_prefix(target: Path) -> str:
    return f".{target.name}.tmp."


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace `target` with `data` so a reader sees the old bytes or the new, never a mix.

    Temp file in the same folder (rename is only atomic within one file system), written,
    fsync'd, renamed over the target, then the folder fsync'd so the rename survives a
    power cut. The temp name carries host and pid so a later writer can tell whether its
    author is dead.
    """
    folder = target.parent
    tmp = folder / f"{temp_prefix(target)}{_HOST}.{os.getpid()}.{time.time_ns()}"
    try:
        mode = target.lstat().st_mode & 0o7777  # keep the operator's permissions
    except FileNotFoundError:
        mode = 0o644
    fault_point("tmp.create")
    # O_EXCL never follows a link; O_NOFOLLOW says so for readers of this line.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            fault_point("tmp.write")
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            fault_point("tmp.fsync")
            os.fsync(fd)
        finally:
            os.close(fd)
        fault_point("replace")
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(folder)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_stale_temps(target: Path, *, now: float | None = None) -> list[Path]:
    """Remove temp files a crashed writer left beside `target`; returns what it removed.

    A temp file goes when its writer (same host) is dead, or when it is older than
    STALE_TEMP_SECONDS: a live writer on this host is never robbed of its file.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    prefix = temp_prefix(target)
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for path in entries:
        if not path.name.startswith(prefix):
            continue
        parts = path.name[len(prefix):].rsplit(".", 2)
        host, pid_text = (parts[0], parts[1]) if len(parts) == 3 else ("", "")
        try:
            # lstat: a link planted under a temp name is judged (and removed) as a link.
            age = now - path.lstat().st_mtime
        except FileNotFoundError:
            continue
        dead = host == _HOST and pid_text.isdigit() and not _pid_alive(int(pid_text))
        if dead or age > STALE_TEMP_SECONDS:
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
    return removed


def describe_os_error(exc: OSError, path: Path | None = None) -> str:
    """One line for an OSError: the file, then the system's words (no traceback)."""
    where = path or (exc.filename if exc.filename else None)
    words = exc.strerror or errno.errorcode.get(exc.errno or 0, shown(exc))
    return f"{shown(where, PATH_CLIP_CHARS)}: {words}" if where else words
