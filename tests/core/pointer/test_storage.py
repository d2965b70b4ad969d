"""Atomic publish, the journal's torn-line rules, temp clean-up and the lock's holder message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kalshi_tui.core.pointer import atomic, journal
from kalshi_tui.core.pointer.errors import LockTimeout, PointerError
from kalshi_tui.core.pointer.lock import PointerLock, legacy_holder_path_for, read_holder

REPO = Path(__file__).resolve().parents[3]


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "CURRENT_MODEL.json"
    target.write_text("old")
    atomic.atomic_write_bytes(target, b'{"new": 1}')
    assert json.loads(target.read_text()) == {"new": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT_MODEL.json"]


@pytest.mark.parametrize("step", ["tmp.create", "tmp.write", "tmp.fsync", "replace"])
def test_atomic_write_failure_keeps_old_bytes_and_removes_temp(tmp_path, monkeypatch, step):
    target = tmp_path / "CURRENT_MODEL.json"
    target.write_text("old")

    def fail(at):
        if at == step:
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(atomic, "FAULT_HOOK", fail)
    with pytest.raises(OSError):
        atomic.atomic_write_bytes(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["CURRENT_MODEL.json"]


def test_clean_stale_temps_removes_dead_writers_only(tmp_path):
    target = tmp_path / "CURRENT_MODEL.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    prefix = atomic.temp_prefix(target)
    stale = tmp_path / f"{prefix}{atomic._HOST}.{dead}.1"
    alive = tmp_path / f"{prefix}{atomic._HOST}.{os.getpid()}.2"
    remote = tmp_path / f"{prefix}other-host.example.com.123.3"
    old_remote = tmp_path / f"{prefix}other-host.example.com.124.4"
    unrelated = tmp_path / "notes.txt"
    for path in (stale, alive, remote, old_remote, unrelated):
        path.write_text("x")
    hour_ago = time.time() - 3600
    os.utime(old_remote, (hour_ago, hour_ago))
    removed = atomic.clean_stale_temps(target)
    assert sorted(p.name for p in removed) == sorted([stale.name, old_remote.name])
    assert alive.exists() and remote.exists() and unrelated.exists()


def test_journal_skips_torn_last_line_and_next_append_cuts_it(tmp_path):
    path = tmp_path / "CURRENT_MODEL.history.jsonl"
    journal.append_record(path, {"revision": 1, "action": "promote"})
    with open(path, "ab") as handle:
        handle.write(b'{"revision": 2, "act')  # a crash mid-append
    assert [r["revision"] for r in journal.read_records(path)] == [1]
    assert journal.last_record(path)["revision"] == 1
    journal.append_record(path, {"revision": 2, "action": "rollback"})
    assert [r["action"] for r in journal.read_records(path)] == ["promote", "rollback"]
    assert path.read_bytes().count(b"\n") == 2


def test_journal_bad_middle_line_is_a_one_line_error(tmp_path):
    path = tmp_path / "CURRENT_MODEL.history.jsonl"
    path.write_text('{"revision": 1}\nnot json\n{"revision": 3}\n')
    with pytest.raises(PointerError, match="line 2 is not valid JSON") as info:
        journal.read_records(path)
    assert "\n" not in str(info.value)


def test_journal_middle_line_not_utf8_is_a_one_line_error(tmp_path):
    """json.loads decodes bytes itself; its UnicodeDecodeError has no JSON position to quote."""
    path = tmp_path / "CURRENT_MODEL.history.jsonl"
    path.write_bytes(b'{"revision": 1}\n\x80{"revision": 2}\n{"revision": 3}\n')
    with pytest.raises(PointerError, match="line 2 is not UTF-8 text") as info:
        journal.read_records(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_last_record_reads_past_one_tail_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "_TAIL_CHUNK", 16)
    path = tmp_path / "j.jsonl"
    for revision in range(1, 6):
        journal.append_record(path, {"revision": revision, "pad": "x" * 40})
    assert journal.last_record(path)["revision"] == 5
    assert journal.last_record(tmp_path / "missing.jsonl") is None


def test_journal_append_failure_leaves_journal_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "j.jsonl"
    journal.append_record(path, {"revision": 1})
    before = path.read_bytes()

    def fail(step):
        if step == "journal.fsync":
            raise OSError(5, "Input/output error")
    monkeypatch.setattr(atomic, "FAULT_HOOK", fail)
    with pytest.raises(OSError):
        journal.append_record(path, {"revision": 2})
    assert path.read_bytes() == before


def test_lock_timeout_names_the_holder(tmp_path):
    pointer = tmp_path / "CURRENT_MODEL.json"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from pathlib import Path\n"
         "from kalshi_tui.core.pointer.lock import PointerLock\n"
         f"with PointerLock(Path({str(pointer)!r}), 5, 'promote'):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockTimeout) as info:
            with PointerLock(pointer, 0.2, "rollback"):
                pass
        message = str(info.value)
        assert f"pid {holder.pid}" in message and "(promote)" in message and "since" in message
        assert info.value.holder["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: no stale lock after a SIGKILL. Its file,
    # naming the dead pid, is taken over by the next holder and removed with its own lock,
    # as is the holder file versions before this one left beside it.
    assert read_holder(pointer)["pid"] == holder.pid
    legacy_holder_path_for(pointer).write_text('{"pid": 1}')
    with PointerLock(pointer, 1, "rollback"):
        assert read_holder(pointer)["operation"] == "rollback"
        assert read_holder(pointer)["pid"] == os.getpid()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_lock_excludes_another_thread_of_the_same_process(tmp_path):
    """The TUI changes the pointer from worker threads: they must exclude each other too."""
    import threading

    pointer = tmp_path / "CURRENT_MODEL.json"
    held, release = threading.Event(), threading.Event()

    def hold():
        with PointerLock(pointer, 1, "promote"):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(LockTimeout, match=r"\(promote\)"):
            with PointerLock(pointer, 0.2, "rollback"):
                pass
    finally:
        release.set()
        thread.join()


def test_atomic_write_keeps_the_file_mode(tmp_path):
    target = tmp_path / "CURRENT_MODEL.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic.atomic_write_bytes(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o640
