"""The pointer lock: one writer at a time, and a timeout that names who holds it.

The lock itself is `filelock` (flock on a separate `CURRENT_MODEL.lock` file): the kernel
drops it when the holder dies, even by SIGKILL, so a crash never leaves it stuck. Who holds
it is written to a sidecar `CURRENT_MODEL.lock.holder.json` right after acquiring, so the
operator who times out reads "held by alice@trader1 pid 4242 since 14:03:07Z (promote)".
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from kalshi_tui.core.pointer.errors import LockTimeout, PointerError
from kalshi_tui.core.pointer.side_files import open_nofollow, read_nofollow

_HOLDER = "lock holder record"
# A holder record is a few hundred bytes; more is not ours and is not read.
_HOLDER_MAX_BYTES = 4096


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER") or f"uid{os.getuid()}"


def utc_now_text() -> str:
    """True UTC with a `Z`, microseconds: the only timestamp form this package writes."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lock_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.lock")


def holder_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.lock.holder.json")


def read_holder(pointer: Path) -> dict:
    """Who holds (or last held) the lock; empty when unknown."""
    try:
        raw = read_nofollow(holder_path_for(pointer), _HOLDER)
        if len(raw) > _HOLDER_MAX_BYTES:
            return {}
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, PointerError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "an unknown process (no holder record)"
    who = f"{holder.get('user', '?')}@{holder.get('host', '?')} pid {holder.get('pid', '?')}"
    since = holder.get("since")
    doing = holder.get("operation")
    return who + (f" since {since}" if since else "") + (f" ({doing})" if doing else "")


class PointerLock:
    """Context manager: hold the pointer's lock for one change, or raise LockTimeout."""

    def __init__(self, pointer: Path, timeout: float, operation: str):
        self.pointer = pointer
        self.timeout = timeout
        self.operation = operation
        # Imported here: status and history only need it to repair, and it costs ~30 ms.
        import filelock

        self._timeout_error = filelock.Timeout
        # thread_local=False: the TUI may acquire in one worker thread; a fresh object per
        # change keeps two threads of one process from sharing a reentrant count.
        self._lock = filelock.FileLock(lock_path_for(pointer), timeout=timeout,
                                       thread_local=False, poll_interval=0.01)

    def __enter__(self) -> PointerLock:
        try:
            self._lock.acquire()
        except self._timeout_error:
            holder = read_holder(self.pointer)
            raise LockTimeout(
                f"{self.pointer}: locked by {describe_holder(holder)}; "
                f"gave up after {self.timeout:g} s (lock file {lock_path_for(self.pointer).name})",
                holder=holder) from None
        except OSError as exc:
            raise PointerError(f"{lock_path_for(self.pointer)}: cannot lock: "
                               f"{exc.strerror or exc}") from None
        try:
            self._write_holder()
        except PointerError:
            self._lock.release()
            raise
        return self

    def _write_holder(self) -> None:
        # Best effort and not fsync'd: it is a courtesy for the next operator's message,
        # and the flock, not this file, is what excludes writers. A symlink planted under
        # its name is refused (PointerError), never written through.
        record = {"user": current_user(), "host": socket.gethostname(), "pid": os.getpid(),
                  "since": utc_now_text(), "operation": self.operation}
        try:
            fd = open_nofollow(holder_path_for(self.pointer), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                               _HOLDER)
        except OSError:
            return
        try:
            os.write(fd, json.dumps(record).encode("utf-8", "backslashreplace"))
        except OSError:
            pass
        finally:
            os.close(fd)

    def __exit__(self, *exc_info) -> None:
        # The holder file is left as "last holder": removing it would race the next
        # holder's write; a timeout message only reads it while the lock is held.
        self._lock.release()
