"""The pointer lock: one writer at a time, and a timeout that names who holds it.

The lock is `CURRENT_MODEL.lock` beside the pointer (core/lock_file.py): flock'ed, so the
kernel drops it when the holder dies, and present only while a change holds it, so an
operation, refused or not, leaves no file behind. It lives beside the pointer because that
folder is the one place every writer shares: each must write there to publish, where a
cache folder may be per user (its fallback) and /tmp per host. The holder writes who it is
into the lock file right after acquiring, so the operator who times out reads "held by
alice@trader1 pid 4242 since 14:03:07Z (promote)".
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.lock_file import HeldFileLock, LockBusy, read_record
from kalshi_tui.core.pointer.errors import LockTimeout, PointerError
from kalshi_tui.core.pointer.side_files import symlink_refusal


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER") or f"uid{os.getuid()}"


def utc_now_text() -> str:
    """True UTC with a `Z`, microseconds: the only timestamp form this package writes."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lock_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.lock")


def legacy_holder_path_for(pointer: Path) -> Path:
    """Where versions before the lock held its own record kept the holder; removed on sight."""
    return pointer.with_name(f"{pointer.stem}.lock.holder.json")


def read_holder(pointer: Path) -> dict[str, Any]:
    """Who holds the lock (or held it when killed); empty when unknown."""
    try:
        data = json.loads(read_record(lock_path_for(pointer)).decode("utf-8"))
    except ValueError:  # empty (being written, or no holder) or torn
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict[str, Any]) -> str:
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
        # A fresh lock object (and file descriptor) per change: two threads of the TUI
        # exclude each other as two processes do.
        self._lock = HeldFileLock(lock_path_for(pointer), timeout)

    def __enter__(self) -> PointerLock:
        self._lock.record = json.dumps(
            {"user": current_user(), "host": socket.gethostname(), "pid": os.getpid(),
             "since": utc_now_text(), "operation": self.operation}).encode()
        try:
            self._lock.acquire()
        except LockBusy:
            holder = read_holder(self.pointer)
            raise LockTimeout(
                f"{self.pointer}: locked by {describe_holder(holder)}; "
                f"gave up after {self.timeout:g} s (lock file {lock_path_for(self.pointer).name})",
                holder=holder) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # opened with O_NOFOLLOW: a link planted as the lock
                raise PointerError(symlink_refusal(lock_path_for(self.pointer), "lock")) from None
            raise PointerError(f"{lock_path_for(self.pointer)}: cannot lock: "
                               f"{exc.strerror or exc}") from None
        try:
            legacy_holder_path_for(self.pointer).unlink()
        except OSError:
            pass
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()
