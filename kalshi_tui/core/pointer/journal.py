"""The append-only history beside the pointer: `CURRENT_MODEL.history.jsonl`.

One JSON object per line, one line per revision. Each record is the write-ahead log
entry of its change: it carries the complete pointer document the change publishes and
the sha256 of the pointer bytes it replaces, so whoever finds the pointer one step behind
the journal can finish the change (see `state.py`).

A crash mid-append leaves a last line without its newline: readers ignore it, and the
next writer (under the lock) cuts it off before appending, since its change never reached
the pointer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kalshi_tui.core.pointer.atomic import fault_point, fsync_dir
from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.pointer.schema import json_bytes
from kalshi_tui.core.pointer.side_files import open_nofollow, read_nofollow

_WHAT = "journal"

_TAIL_CHUNK = 64 * 1024


def journal_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.history.jsonl")


def pointer_files(pointer: Path) -> tuple[Path, Path]:
    """The files a promote or rollback writes: the pointer and its journal (what a live view
    watches to see another operator's change)."""
    return pointer, journal_path_for(pointer)


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete record, oldest first; a torn last line is skipped, a bad middle one is an
    error."""
    try:
        data = read_nofollow(path, _WHAT)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PointerError(f"{path}: cannot read the journal: {exc.strerror}") from None
    lines = data.split(b"\n")
    # Everything after the last newline is an append a crash cut short.
    complete = lines[:-1]
    records = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        records.append(_parse(line, path, number))
    return records


def _parse(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        # json.loads decodes bytes itself; its decode error has no JSON position to quote.
        raise PointerError(f"{path}: line {number} is not UTF-8 text; "
                           "the journal was edited or damaged") from None
    except json.JSONDecodeError as exc:
        raise PointerError(f"{path}: line {number} is not valid JSON ({exc.msg}); "
                           "the journal was edited or damaged") from None
    if not isinstance(record, dict) or not isinstance(record.get("revision"), int):
        raise PointerError(f"{path}: line {number} is not a journal record (no integer revision)")
    return record


def last_record(path: Path) -> dict[str, Any] | None:
    """The newest complete record, reading only the file's tail (journals grow for years)."""
    try:
        fd = open_nofollow(path, os.O_RDONLY, _WHAT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PointerError(f"{path}: cannot read the journal: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            end = size
            tail = b""
            while end > 0:
                start = max(0, end - _TAIL_CHUNK)
                handle.seek(start)
                tail = handle.read(end - start) + tail
                end = start
                complete = tail[: tail.rfind(b"\n") + 1] if b"\n" in tail else b""
                lines = [ln for ln in complete.split(b"\n") if ln.strip()]
                # Need one whole line: it must start at the file start or after a newline.
                if lines and (start == 0 or complete.count(b"\n") >= 2):
                    return _parse(lines[-1], path, -1)
            return None
    except OSError as exc:
        raise PointerError(f"{path}: cannot read the journal: {exc.strerror}") from None


def append_record(path: Path, record: dict[str, Any]) -> int:
    """Append one record durably; returns the journal's length before it, for undo.

    Call under the pointer lock only. A torn line left by a crashed writer is cut off
    first: its change was never published, so it never happened.
    """
    line = json_bytes(record, separators=(",", ":")) + b"\n"
    if b"\n" in line[:-1]:
        raise PointerError(f"{path}: refusing to write a record with a raw newline")
    existed = os.path.lexists(path)
    try:
        keep = _append(path, line)
        if not existed:
            fsync_dir(path.parent, "journal.dirsync")
    except BaseException:
        if not existed:
            # A journal this call created and could not complete is no journal at all.
            try:
                path.unlink()
            except OSError:
                pass
        raise
    return keep


def _append(path: Path, line: bytes) -> int:
    fault_point("journal.open")
    fd = open_nofollow(path, os.O_RDWR | os.O_CREAT, _WHAT)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        keep = _complete_length(fd, size)
        if keep != size:
            os.ftruncate(fd, keep)
        os.lseek(fd, keep, os.SEEK_SET)
        try:
            fault_point("journal.write")
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            fault_point("journal.fsync")
            os.fsync(fd)
        except BaseException:
            _truncate_quietly(fd, keep)
            raise
    finally:
        os.close(fd)
    return keep


def complete_length(path: Path) -> int:
    """Where the next append writes: the journal's length up to its last complete record
    (a torn tail is cut by that append); 0 when there is no journal."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        return _complete_length(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _complete_length(fd: int, size: int) -> int:
    """Length of the file up to and including its last newline."""
    pos = size
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        chunk = os.pread(fd, pos - start, start)
        index = chunk.rfind(b"\n")
        if index >= 0:
            return start + index + 1
        pos = start
    return 0


def _truncate_quietly(fd: int, length: int) -> None:
    try:
        os.ftruncate(fd, length)
        os.fsync(fd)
    except OSError:
        pass


def undo_append(path: Path, length: int) -> bool:
    """Cut the journal back to `length` after the pointer could not be published.

    Returns False when even that failed: the record then stays and the next locked
    operation rolls the change forward, which the caller must say. A journal cut back to
    nothing is removed, as if the change had never started one.
    """
    if length == 0:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            pass
    try:
        fd = open_nofollow(path, os.O_RDWR, _WHAT)
    except (OSError, PointerError):
        return False
    try:
        os.ftruncate(fd, length)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
