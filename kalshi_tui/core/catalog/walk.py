"""One walk of the models folder that finds every model zip AND where its training artifacts are.

The walk lists every folder once with os.scandir. Listing a run folder already tells which
artifact files it holds, so looking them up again per model (two listings and a few stats
for each of thousands of models) is wasted work; `ArtifactIndex` runs
`artifacts.find_artifacts` itself with the walk's listings as its view of the disk (the
disk for any folder the walk did not list), once per run folder.
"""

from __future__ import annotations

import errno
import operator
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.artifacts.find import (
    ARTIFACT_FILE_NAMES,
    CHECKPOINTS_SUBDIR,
    DIAGNOSTICS_SUBDIR,
    Entry,
    FolderView,
    find_artifacts,
)

CACHE_DIR_NAME = ".kalshi_tui_cache"


@dataclass(slots=True)
class FoundFile:
    """One *.zip the walk found, with its stat (None when it could not be stat'ed)."""

    path: str
    rel: str
    stat: os.stat_result | None
    error: str | None = None
    folder: str | None = None  # the folder the walk listed it in (path is folder + "/" + name)


@dataclass
class Walk:
    """What one walk saw: the zips, skipped folders, and each listed folder's artifact entries.

    `stream()` walks and yields the zips as it goes (a scan reads the first files while the
    walk is still listing the rest); `walk_models` runs it to the end and sorts `found`.
    Every folder's listing is recorded before any zip inside it is yielded, so whoever
    consumes the stream can ask about a zip's folder, its run folder and its neighbours.
    """

    root: str
    found: list[FoundFile] = field(default_factory=list)  # filled by walk_models, sorted
    problems: list[str] = field(default_factory=list)
    # folder path -> {artifact file name or "diagnostics": its DirEntry}, for listed folders
    artifact_entries: dict[str, dict[str, os.DirEntry[str]]] = field(default_factory=dict)
    # folder path -> names of the folders in it (symlinked ones included, as _subfolders does)
    subfolders: dict[str, list[str]] = field(default_factory=dict)
    # path -> every zip in the folders listed so far (listed before it is yielded)
    by_path: dict[str, FoundFile] = field(default_factory=dict)
    root_stat: os.stat_result | None = field(default=None, repr=False)
    yielded: int = 0
    # Progress through the top folder's subfolders, for remaining_estimate.
    top_folders: int = 0
    top_folders_done: int = 0
    yielded_by_done_folders: int = 0

    def stream(self) -> Iterator[FoundFile]:
        """Every *.zip at any depth (files and directories so named), as the walk finds them.

        Folders are walked depth first and a folder's own zips come after its subfolders',
        so the top folder's flat finals come last, once every run folder they may belong
        to has been listed. Symlinked folders are walked after the real tree: a folder
        reached both ways is shown at its real path (each folder is walked once).
        """
        first = self.root_stat or os.stat(self.root)
        seen = {(first.st_dev, first.st_ino)}
        deferred: list[tuple[str, str]] = []  # symlinked folders, walked after the real tree
        yield from self._tree(self.root, "", seen, deferred, is_root=True)
        for path, rel in deferred:  # grows while it is walked: links inside linked folders
            try:
                info = os.stat(path)
            except OSError as exc:
                self.problems.append(f"{rel}: cannot read folder ({exc.strerror or exc})")
                continue
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue  # a symlink loop, or a second path to a folder already walked
            seen.add(key)
            yield from self._tree(path, rel, seen, deferred)

    def remaining_estimate(self) -> int | None:
        """About how many zips the stream has still to yield, from the share of the top
        folder's subfolders walked so far; None before the first is done."""
        if not self.top_folders_done:
            return None
        left = self.top_folders - self.top_folders_done
        in_done = self.yielded_by_done_folders
        return max(0, in_done * left // self.top_folders_done - (self.yielded - in_done))

    def _tree(
        self,
        top: str,
        top_rel: str,
        seen: set[tuple[int, int]],
        deferred: list[tuple[str, str]],
        is_root: bool = False,
    ) -> Iterator[FoundFile]:
        frames = [self._list(top, top_rel, seen, deferred)]
        if is_root:
            self.top_folders = len(frames[0][0])
        while frames:
            folders, zips = frames[-1]
            if folders:
                frames.append(self._list(*folders.pop(), seen, deferred))
                continue
            frames.pop()
            for item in zips:
                self.yielded += 1
                yield item
            if is_root and len(frames) == 1:
                self.top_folders_done += 1
                self.yielded_by_done_folders = self.yielded

    def _list(
        self,
        folder: str,
        rel_folder: str,
        seen: set[tuple[int, int]],
        deferred: list[tuple[str, str]],
    ) -> tuple[list[tuple[str, str]], list[FoundFile]]:
        """List one folder: (its real subfolders to walk, in the order to pop them; its zips)."""
        problems = self.problems
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
            listing.sort(key=_ENTRY_NAME)
        except OSError as exc:
            problems.append(f"{rel_folder or '.'}: cannot list folder ({exc.strerror or exc})")
            return [], []
        artifact_entries: dict[str, os.DirEntry[str]] = {}
        subfolders: list[str] = []
        self.artifact_entries[folder] = artifact_entries
        self.subfolders[folder] = subfolders
        walk_next: list[tuple[str, str]] = []
        diagnostics = None
        zips: list[FoundFile] = []
        by_path = self.by_path
        for entry in listing:
            name = entry.name
            rel = f"{rel_folder}/{name}" if rel_folder else name
            is_zip = name[-4:].lower() == ".zip"
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(name)
                if name == DIAGNOSTICS_SUBDIR:
                    artifact_entries[name] = entry
                if name == CACHE_DIR_NAME and not rel_folder:
                    continue
                try:
                    info = entry.stat()
                except OSError as exc:
                    problems.append(f"{rel}: cannot read folder ({exc.strerror or exc})")
                    continue
                if is_zip:
                    item = by_path[entry.path] = FoundFile(entry.path, rel, info, "is a directory")
                    zips.append(item)
                    continue
                if entry.is_symlink():
                    deferred.append((entry.path, rel))
                    continue
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue  # a second path to a folder already walked (a bind mount, say)
                seen.add(key)
                if name == DIAGNOSTICS_SUBDIR:
                    diagnostics = (entry.path, rel)
                else:
                    walk_next.append((entry.path, rel))
            elif is_zip:
                try:
                    info = entry.stat()
                except OSError as exc:
                    item = FoundFile(entry.path, rel, None, stat_failure(exc, entry.is_symlink()))
                else:
                    item = FoundFile(entry.path, rel, info, None, folder)
                by_path[item.path] = item
                zips.append(item)
            elif name in ARTIFACT_FILE_NAMES:
                try:
                    if entry.is_file():
                        artifact_entries[name] = entry
                except OSError:
                    pass
        # Popped from the end: subfolders in name order, and diagnostics/ first, so a run's
        # checkpoints find its artifacts in the walk's own listings.
        walk_next.reverse()
        if diagnostics is not None:
            walk_next.append(diagnostics)
        return walk_next, zips


_ENTRY_NAME = operator.attrgetter("name")


def require_models_folder(models_dir: Path) -> os.stat_result:
    """The folder's stat; FileNotFoundError or NotADirectoryError, one line naming it."""
    try:
        found = os.stat(os.fspath(models_dir))
    except OSError as exc:
        raise FileNotFoundError(f"{models_dir}: models folder not found ({exc.strerror})") from None
    if not stat.S_ISDIR(found.st_mode):
        raise NotADirectoryError(f"{models_dir}: models folder is not a directory")
    return found


def open_walk(models_dir: Path) -> Walk:
    """A walk of `models_dir`, not yet started; raises when the folder is missing or a file."""
    return Walk(root=os.fspath(models_dir), root_stat=require_models_folder(models_dir))


def stat_failure(exc: OSError, is_link: bool) -> str:
    """Why a path could not be stat'ed, in operator words."""
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if is_link and isinstance(exc, FileNotFoundError):
        return "broken symlink"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot stat ({exc.strerror or exc})"


def walk_models(models_dir: Path) -> Walk:
    """Every *.zip at any depth (files and directories so named), sorted by relative path."""
    walk = open_walk(models_dir)
    walk.found = sorted(walk.stream(), key=_relative_path)
    return walk


def _relative_path(item: FoundFile) -> str:
    return item.rel


class ArtifactIndex(FolderView):
    """`find_artifacts` answered from a walk's listings: the same rule (artifacts.find), with
    the walk's listings, sizes and a persistent record of byte comparisons as its view of
    the disk, once per run folder, with each answer's cache key.

    `same_bytes` (the cache's) remembers byte comparisons (a flat final against a run's
    model), keyed by both paths and checked against both files' size and mtime: a warm scan
    then compares no bytes. `used_comparisons` is what this scan relied on, for saving.
    """

    def __init__(self, walk: Walk, same_bytes: dict[str, list[Any]] | None = None):
        self.walk = walk
        self._remembered = same_bytes if same_bytes is not None else {}
        self.used_comparisons: dict[str, list[Any]] = {}
        self.new_comparisons = 0
        self._run_answers: dict[str, dict[str, Path]] = {}  # run folder -> its artifacts
        # folder -> the answer every model listed in it gets (see for_found): this scan's own
        self._folder_answers: dict[str, tuple[dict[str, Path], list[list[Any]]]] = {}

    def for_found(self, item: FoundFile) -> tuple[dict[str, Path], list[list[Any]]]:
        """`for_model(item.path)`, answered once per folder where the folder alone decides:
        a checkpoints/ folder (its run's artifacts), or a run folder that has artifacts.
        Only a flat final, or a stray zip in a folder without artifacts, is looked at by name."""
        folder = item.folder
        known = self._folder_answers.get(folder) if folder is not None else None
        if known is not None:
            return known
        answer = self.for_model(item.path)
        if (
            folder is not None
            and folder != self.walk.root
            and (answer[0] or os.path.basename(folder) == CHECKPOINTS_SUBDIR)
        ):
            self._folder_answers[folder] = answer
        return answer

    def for_model(self, path: str) -> tuple[dict[str, Path], list[list[Any]]]:
        """(artifact key -> file, the cache key of those files) for the model at `path`."""
        found = find_artifacts(path, self.walk.root, self)
        return found, self._key(found)

    # ---- the view of the disk, from the walk's listings ----------------------------------

    def files_in(self, folder: str, wanted: frozenset[str]) -> dict[str, Entry]:
        listed = self.walk.artifact_entries.get(folder)
        if listed is None:  # a folder the walk did not list (reached by a second path)
            return super().files_in(folder, wanted)
        return {name: entry for name, entry in listed.items() if name in wanted}

    def subfolders(self, folder: str) -> list[str]:
        listed = self.walk.subfolders.get(folder)
        return super().subfolders(folder) if listed is None else listed

    def size(self, path: str) -> int | None:
        found = self.walk.by_path.get(path)
        if found is not None:
            return None if found.stat is None or found.error is not None else found.stat.st_size
        if os.path.dirname(path) in self.walk.artifact_entries:
            return None  # the walk listed the folder and no such file was in it
        return super().size(path)

    def run_artifacts(self, run_dir: str) -> dict[str, Path]:
        """The rule's answer for one run folder, worked out once per scan (a copy each time)."""
        known = self._run_answers.get(run_dir)
        if known is None:
            known = self._run_answers[run_dir] = super().run_artifacts(run_dir)
        return dict(known)

    def same_bytes(self, a: str, b: str) -> bool:
        """filecmp's answer, remembered across scans by both files' size and mtime."""
        try:
            a_st, b_st = os.stat(a), os.stat(b)
        except OSError:
            return False
        key = f"{a}\0{b}"
        signature = [a_st.st_size, a_st.st_mtime_ns, b_st.st_size, b_st.st_mtime_ns]
        known = self._remembered.get(key)
        if isinstance(known, list) and len(known) == 5 and known[:4] == signature:
            self.used_comparisons[key] = known
            return bool(known[4])
        same = super().same_bytes(a, b)
        self.used_comparisons[key] = [*signature, same]
        self.new_comparisons += 1
        return same

    def _key(self, found: dict[str, Path]) -> list[list[Any]]:
        """read.artifacts_key's value: what invalidates a cached record when an artifact changes."""
        key = []
        for name, path in sorted(found.items()):
            try:
                st = os.stat(path)
                key.append([name, os.fspath(path), st.st_size, st.st_mtime_ns])
            except OSError:
                key.append([name, os.fspath(path), None, None])
        return key
