"""An exclusive lock whose file exists only while it is held.

The lock is `flock` on a file beside what it guards: the kernel drops it when the holder
dies, even by SIGKILL, and two opens in one process (two TUI worker threads) exclude each
other. The holder writes who it is into the file, and removes the file *before* it
unlocks, so an operation leaves nothing behind in the folder it guarded.

Removing a flock'ed file is the classic race: a waiter that opened the old file gets the
lock on an inode no longer at the path, while a newcomer creates a fresh file and locks
that one, and both believe they hold the lock. So an acquirer checks, once its flock
succeeds, that the inode it locked is still the one at the path, and otherwise starts
again. Only the holder ever removes the file, so while it holds the lock the path keeps
naming its inode: at most one process holds a lock on the inode at the path.

A holder killed before it removed its file leaves it (with its record); the next holder
takes it over (the kernel dropped the dead one's flock) and removes it when done.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time
from pathlib import Path

_BUSY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)


class LockBusy(Exception):
    """Another holder kept the lock for the whole timeout."""


class HeldFileLock:
    """`with HeldFileLock(path, timeout, record):` holds `path`'s lock, with `record` in it."""

    def __init__(self, path: Path, timeout: float, record: bytes = b"",
                 poll_interval: float = 0.01):
        self.path = Path(path)
        self.timeout = timeout
        self.record = record
        self.poll_interval = poll_interval
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockBusy after `timeout` seconds (0: one try)."""
        deadline = time.monotonic() + max(self.timeout, 0.0)
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in _BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise LockBusy(str(self.path)) from None
                time.sleep(self.poll_interval)
                continue
            except BaseException:
                os.close(fd)
                raise
            if self._still_at_path(fd):
                self._fd = fd
                break
            os.close(fd)  # the last holder removed this file while we waited: try the new one
        self._write_record(fd)

    def _open(self) -> int:
        flags = os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | flags, 0o666)
        except PermissionError:
            # Another operator's process died holding it and left its file, which this
            # user may not write: flock needs only a read descriptor (the record is skipped).
            return os.open(self.path, os.O_RDONLY | flags)

    def _still_at_path(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.lstat(self.path))
        except FileNotFoundError:
            return False

    def _write_record(self, fd: int) -> None:
        # Best effort: a courtesy for the message of whoever times out waiting; the flock,
        # not the record, is what excludes.
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.record, 0)
        except OSError:
            pass

    def release(self) -> None:
        """Remove the file, then unlock: a waiter on this inode then sees it is gone."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass  # removed by hand, or a read-only folder: the lock still goes below
        finally:
            # Unlocked explicitly, not only by the close: a process forked meanwhile (the
            # catalog's workers) shares this descriptor and would otherwise keep the lock.
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> HeldFileLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def read_record(path: Path) -> bytes:
    """What the current (or a crashed) holder wrote into the lock file; b"" when none."""
    # Never through a symlink planted under the lock's name: it is not ours to read.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, 64 * 1024)
    except OSError:
        return b""
    finally:
        os.close(fd)
