"""Has the models folder or the pointer changed since the last look? One stat-only fingerprint.

A face that refreshes live (the TUI's poller) compares two fingerprints instead of
rescanning every few seconds. The fingerprint comes from the catalog's own walk
(`catalog_walk.walk_models`), so it sees exactly the files a scan would read: every model
zip and every training artifact the walk recorded, plus the pointer file and its journal.
A model rewritten in place keeps its folder's mtime, so each file's size and mtime count,
not folder times.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kalshi_tui.core.catalog.walk import walk_models
from kalshi_tui.core.model_record import ModelRecord

# (path, size, mtime_ns) per file, sorted; (-1, -1) for a file that is missing or unreadable.
ChangeSignature = tuple[tuple[str, int, int], ...]


def change_signature(models_dir: Path, watched_files: Iterable[Path]) -> ChangeSignature:
    """The fingerprint of the models tree and `watched_files` (the pointer and its journal:
    `core.pointer.pointer_files`, passed in because the pointer layer sits above the catalog):
    stat calls only, no reads."""
    entries: list[tuple[str, int, int]] = []
    try:
        walk = walk_models(models_dir)
    except OSError:
        # A missing folder is a state too: when it comes back, the fingerprint changes.
        entries.append((os.fspath(models_dir), -1, -1))
    else:
        for found in walk.found:
            info = found.stat
            entries.append(
                (found.path, info.st_size, info.st_mtime_ns)
                if info is not None
                else (found.path, -1, -1)
            )
        for folder, listed in walk.artifact_entries.items():
            for name, entry in listed.items():
                entries.append(_stat_entry(os.path.join(folder, name), entry))
        # A folder that could not be listed and later can changes what a scan finds.
        entries.extend((problem, -1, -1) for problem in walk.problems)
    for path in watched_files:
        try:
            info = path.stat()
        except OSError:
            entries.append((str(path), -1, -1))
        else:
            entries.append((str(path), info.st_size, info.st_mtime_ns))
    entries.sort()
    return tuple(entries)


def _stat_entry(path: str, entry: os.DirEntry[str]) -> tuple[str, int, int]:
    try:
        info = entry.stat()
    except OSError:
        return (path, -1, -1)
    return (path, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class ModelFileChanges:
    """Model files that appeared, disappeared or were rewritten between two listings."""

    new: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.new or self.removed or self.changed)

    def summary(self) -> str:
        """"2 new, 1 removed, 1 changed model file(s)": the counts, nothing that is zero."""
        parts = [f"{len(paths)} {word}" for word, paths in
                 (("new", self.new), ("removed", self.removed), ("changed", self.changed)) if paths]
        return ", ".join(parts) + (" model file" if self.total == 1 else " model files")

    @property
    def total(self) -> int:
        return len(self.new) + len(self.removed) + len(self.changed)


def model_file_changes(before: Iterable[ModelRecord],
                       after: Iterable[ModelRecord]) -> ModelFileChanges:
    """What changed between two listings, by path; a file counts as changed when its size or
    mtime differs (what a rewrite in place changes), the same facts the fingerprint watches."""
    old = {r.path: (r.size_bytes, r.mtime) for r in before}
    new = {r.path: (r.size_bytes, r.mtime) for r in after}
    return ModelFileChanges(
        new=tuple(sorted(set(new) - set(old))),
        removed=tuple(sorted(set(old) - set(new))),
        changed=tuple(sorted(p for p in set(old) & set(new) if old[p] != new[p])))
