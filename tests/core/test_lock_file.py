"""The lock whose file exists only while held: real processes race on it, and it still excludes."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kalshi_tui.core.lock_file import HeldFileLock, LockBusy, read_record

REPO = Path(__file__).resolve().parents[2]

# Read-modify-write of a counter with a pause inside: two holders at once lose an increment.
# Every release removes the lock file, so waiters constantly meet a file removed under them.
COUNTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kalshi_tui.core.lock_file import HeldFileLock
    lock, counter, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    for _ in range(rounds):
        with HeldFileLock(lock, 60, b"racer", poll_interval=0.0005):
            value = int(counter.read_text())
            time.sleep(0.0005)
            counter.write_text(str(value + 1))
""")


def test_racing_processes_never_hold_it_together_and_leave_no_file(tmp_path):
    lock, counter = tmp_path / "CURRENT_MODEL.lock", tmp_path / "counter"
    counter.write_text("0")
    racers = [subprocess.Popen([sys.executable, "-c", COUNTER, str(lock), str(counter), "60"],
                               cwd=REPO) for _ in range(6)]
    for racer in racers:
        assert racer.wait(timeout=300) == 0
    assert int(counter.read_text()) == 6 * 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter"]


def test_a_killed_holder_leaves_its_record_and_the_next_holder_clears_it(tmp_path):
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from kalshi_tui.core.lock_file import HeldFileLock
            with HeldFileLock(Path({str(lock)!r}), 5, b'{{"pid": "dead soon"}}'):
                print("locked", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert json.loads(read_record(lock)) == {"pid": "dead soon"}
        with pytest.raises(LockBusy):
            HeldFileLock(lock, 0.1).acquire()
    finally:
        holder.kill()
        holder.wait()
    assert lock.exists()  # SIGKILL: no chance to remove it, but the kernel dropped the flock
    with HeldFileLock(lock, 1, b"next"):
        assert read_record(lock) == b"next"
    assert not lock.exists()


def test_a_waiter_whose_file_was_removed_under_it_does_not_hold_the_lock(tmp_path, monkeypatch):
    """The race itself, made to happen: B opens the file, then before B's flock, A removes
    it and releases, and C creates a new one and locks it. B's flock on the old file then
    succeeds; B must see that file is gone from the path and find C holding the lock."""
    lock = tmp_path / "x.lock"
    holder, newcomer = HeldFileLock(lock, 0, b"A"), HeldFileLock(lock, 0, b"C")
    holder.acquire()
    real_flock = fcntl.flock
    handed_over: list[int] = []

    def flock_after_a_handover(fd, operation):
        if not handed_over:
            handed_over.append(fd)
            holder.release()
            newcomer.acquire()
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_a_handover)
    try:
        with pytest.raises(LockBusy):
            HeldFileLock(lock, 0, b"B").acquire()
        assert handed_over and read_record(lock) == b"C"
    finally:
        monkeypatch.setattr(fcntl, "flock", real_flock)
        newcomer.release()
    assert not lock.exists()


def test_a_leftover_file_this_user_cannot_write_is_still_locked_and_removed(tmp_path, monkeypatch):
    """Another operator's process died holding the lock; its file is read-only to us. The
    permission check is the kernel's for a non-root user; as root the tests make it here."""
    import os

    from kalshi_tui.core import lock_file

    lock = tmp_path / "x.lock"
    lock.write_bytes(b'{"user": "alice", "pid": 4242}')
    lock.chmod(0o444)
    real_open = os.open

    def open_as_another_user(path, flags, *mode):
        if Path(path) == lock and flags & os.O_RDWR and lock.exists():
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *mode)

    monkeypatch.setattr(lock_file.os, "open", open_as_another_user)
    with HeldFileLock(lock, 1, b"bob"):
        with pytest.raises(LockBusy):
            HeldFileLock(lock, 0).acquire()  # it really is held, through the read descriptor
    assert not lock.exists()
