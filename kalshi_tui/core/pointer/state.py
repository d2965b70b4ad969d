"""Where the pointer stands against its journal, and how a half-done change is finished.

The rule that keeps the two from ever disagreeing (write-ahead): a change first appends
its journal record, carrying the complete new pointer document, the sha256 of the bytes
it will publish and the sha256 + inode + mtime of the pointer bytes it replaces, and
fsyncs it. Only then is the pointer replaced atomically. A change is committed the moment
its record is on disk. So after a crash at any point the pair is in one of three states:

- consistent: the pointer's bytes hash to the last record's `pointer_sha256`;
- pending: the pointer is still exactly the file the last record replaces (same sha256,
  same inode and mtime), so the writer died between the journal and the publish: the
  record is rolled forward by publishing its document (every locked operation does this
  first; readers report the rolled-forward state, so readers and writers agree);
- torn: the crash cut the record's append short; a line without its newline is not a
  record, so readers ignore it and the next writer cuts it off: the change never happened.

Anything else means someone edited the pointer by hand since the last record ("drifted"):
the next change first journals what is there as an `adopt` revision.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.pointer.atomic import atomic_write_bytes
from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.pointer.journal import journal_path_for, last_record
from kalshi_tui.core.pointer.schema import parse_pointer_bytes, serialize

EMPTY = "empty"  # no pointer, no journal
UNMANAGED = "unmanaged"  # a pointer with no journal: hand-written, never changed by this tool
CONSISTENT = "consistent"
PENDING = "pending"  # the journal is one committed change ahead: roll it forward
DRIFTED = "drifted"  # the pointer was changed outside this tool since the last record


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class PointerState:
    """The pointer file and the journal's newest record, read together."""

    pointer: Path
    journal: Path
    doc: dict[str, Any] | None  # as on disk
    raw_sha256: str | None
    stat: dict[str, int] | None  # inode and mtime of the bytes read
    last: dict[str, Any] | None  # newest complete journal record
    relation: str
    revision: int  # the revision a caller sees (and passes back as --expect-revision)
    notes: list[str] = field(default_factory=list)

    @property
    def effective_doc(self) -> dict[str, Any] | None:
        """The document readers should report: a pending record's, else the file's."""
        if self.relation == PENDING and self.last is not None:
            return self.last.get("pointer")
        return self.doc


def _read_with_stat(path: Path) -> tuple[bytes | None, dict[str, int] | None]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise PointerError(f"{path}: is a folder, not a pointer file") from None
    except OSError as exc:
        raise PointerError(f"{path}: cannot read the pointer: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks), {"ino": info.st_ino, "mtime_ns": info.st_mtime_ns}


def read_state(pointer: Path) -> PointerState:
    """Read pointer and journal and classify how they relate (no lock, no writes)."""
    journal = journal_path_for(pointer)
    raw, stat = _read_with_stat(pointer)
    last = last_record(journal)
    raw_sha = sha256_bytes(raw) if raw is not None else None
    doc = None
    if raw is not None:
        try:
            doc = parse_pointer_bytes(raw, pointer)
        except PointerError:
            # A bad pointer that a committed record is about to replace is not an error.
            if not _is_pending(last, raw_sha, stat):
                raise
    if last is None:
        relation = UNMANAGED if raw is not None else EMPTY
        state = PointerState(pointer, journal, doc, raw_sha, stat, None, relation, 0)
        if raw is not None and (doc or {}).get("kalshi_tui"):
            state.notes.append(f"{journal.name} is missing although the pointer carries a "
                               "kalshi_tui block: the history was lost or moved")
        return state
    revision = int(last["revision"])
    if raw_sha == last.get("pointer_sha256"):
        relation = CONSISTENT
    elif _is_pending(last, raw_sha, stat):
        relation = PENDING
    else:
        relation = DRIFTED
    state = PointerState(pointer, journal, doc, raw_sha, stat, last, relation, revision)
    if relation == PENDING:
        state.notes.append(
            f"revision {revision} is committed in {journal.name} but not yet published "
            f"(writer pid {last.get('pid')} on {last.get('host')} died or is still writing); "
            "the next locked operation publishes it")
    elif relation == DRIFTED:
        what = "deleted" if raw is None else "edited"
        state.notes.append(f"{pointer.name} was {what} outside kalshi-tui after revision "
                           f"{revision}; the next change records it as an adopt revision")
    return state


def _is_pending(last: dict[str, Any] | None, raw_sha: str | None,
                stat: dict[str, int] | None) -> bool:
    if last is None or "pointer" not in last or raw_sha != last.get("prev_pointer_sha256"):
        return False
    recorded = last.get("prev_pointer_stat")
    # Same bytes is not enough: a hand-restored backup of the old file has them too.
    # Untouched since the record was written means same inode and same mtime.
    return recorded is None or recorded == stat


def roll_forward(state: PointerState) -> int | None:
    """Publish a pending record's document (call under the lock); returns its revision."""
    if state.relation != PENDING or state.last is None:
        return None
    data = serialize(state.last["pointer"])
    if sha256_bytes(data) != state.last.get("pointer_sha256"):
        raise PointerError(f"{state.journal}: revision {state.last['revision']} does not "
                           "reproduce its recorded sha256; refusing to publish it")
    atomic_write_bytes(state.pointer, data)
    return int(state.last["revision"])
