"""One walk of the models folder that finds every model zip AND where its training artifacts are.

The walk lists every folder once with os.scandir. Listing a run folder already tells which
artifact files it holds, so looking them up again per model (find_artifacts: two listings
and a few stats for each of thousands of models) is wasted work; `ArtifactIndex` answers
the same question from the walk's listings, once per run folder. It follows
`artifacts.find_artifacts` rule for rule (tests compare the two on real trees) and falls
back to it for any folder the walk did not list (a second path to an already-seen folder).
"""

from __future__ import annotations

import bisect
import errno
import filecmp
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core import artifacts as artifacts_module
from kalshi_tui.core.artifacts import (ARTIFACT_KEYS, CHECKPOINTS_SUBDIR, DIAGNOSTICS_FILES,
                                       DIAGNOSTICS_SUBDIR, RESULTS_FILE, RUN_MODEL_FILES,
                                       TRAINING_RESULTS)

CACHE_DIR_NAME = ".kalshi_tui_cache"
_ARTIFACT_FILE_NAMES = frozenset(DIAGNOSTICS_FILES.values()) | {RESULTS_FILE}


@dataclass
class FoundFile:
    """One *.zip the walk found, with its stat (None when it could not be stat'ed)."""

    path: str
    rel: str
    stat: os.stat_result | None
    error: str | None = None
    folder: str | None = None  # the folder the walk listed it in (path is folder + "/" + name)


@dataclass
class Walk:
    """What one walk saw: the zips, skipped folders, and each listed folder's artifact entries."""

    root: str
    found: list[FoundFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # folder path -> {artifact file name or "diagnostics": its DirEntry}, for listed folders
    artifact_entries: dict[str, dict[str, os.DirEntry]] = field(default_factory=dict)
    # folder path -> names of the folders in it (symlinked ones included, as _subfolders does)
    subfolders: dict[str, list[str]] = field(default_factory=dict)


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
    root = os.fspath(models_dir)
    try:
        first = os.stat(root)
    except OSError as exc:
        raise FileNotFoundError(f"{models_dir}: models folder not found ({exc.strerror})") from None
    if not stat.S_ISDIR(first.st_mode):
        raise NotADirectoryError(f"{models_dir}: models folder is not a directory")
    walk = Walk(root=root)
    found, problems = walk.found, walk.problems
    seen = {(first.st_dev, first.st_ino)}
    pending = [(root, "")]
    while pending:
        folder, rel_folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listing = list(entries)
        except OSError as exc:
            problems.append(f"{rel_folder or '.'}: cannot list folder ({exc.strerror or exc})")
            continue
        artifact_entries: dict[str, os.DirEntry] = {}
        subfolders: list[str] = []
        walk.artifact_entries[folder] = artifact_entries
        walk.subfolders[folder] = subfolders
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
                    found.append(FoundFile(entry.path, rel, info, "is a directory"))
                    continue
                key = (info.st_dev, info.st_ino)
                if key in seen:
                    continue  # a symlink loop, or a second path to a folder already walked
                seen.add(key)
                pending.append((entry.path, rel))
            elif is_zip:
                try:
                    info = entry.stat()
                except OSError as exc:
                    found.append(FoundFile(entry.path, rel, None, stat_failure(exc, entry.is_symlink())))
                    continue
                found.append(FoundFile(entry.path, rel, info, None, folder))
            elif name in _ARTIFACT_FILE_NAMES:
                try:
                    if entry.is_file():
                        artifact_entries[name] = entry
                except OSError:
                    pass
    found.sort(key=lambda f: f.rel)
    return walk


class ArtifactIndex:
    """`find_artifacts` answered from a walk's listings, once per run folder, with cache keys.

    `same_bytes` is a persistent memo of byte comparisons (a flat final against a run's
    model), keyed by both paths and checked against both files' size and mtime: a warm scan
    then compares no bytes. `used_comparisons` is what this scan relied on, for saving.
    """

    def __init__(self, walk: Walk, same_bytes: dict[str, list[Any]] | None = None):
        self.walk = walk
        self._by_path = {f.path: f for f in walk.found}
        self._runs: dict[str, tuple[dict[str, Path], list[list[Any]]]] = {}
        self._stats: dict[str, list[Any]] = {}
        self._same_bytes = same_bytes if same_bytes is not None else {}
        self.used_comparisons: dict[str, list[Any]] = {}
        self._sorted_subfolders: dict[str, list[str]] = {}  # folder -> its subfolders, sorted
        # folder -> the answer every model listed in it gets (see for_found)
        self._folder_answers: dict[str, tuple[dict[str, Path], list[list[Any]]]] = {}
        self.new_comparisons = 0

    def for_found(self, item: FoundFile) -> tuple[dict[str, Path], list[list[Any]]]:
        """`for_model(item.path)`, answered once per folder where the folder alone decides:
        a checkpoints/ folder (its run's artifacts), or a run folder that has artifacts.
        Only a flat final, or a stray zip in a folder without artifacts, is looked at by name."""
        folder = item.folder
        known = self._folder_answers.get(folder) if folder is not None else None
        if known is not None:
            return known
        answer = self.for_model(item.path)
        if folder is not None and folder != self.walk.root and (
                answer[0] or os.path.basename(folder) == CHECKPOINTS_SUBDIR):
            self._folder_answers[folder] = answer
        return answer

    def for_model(self, path: str) -> tuple[dict[str, Path], list[list[Any]]]:
        """(artifact key -> file, the cache key of those files) for the model at `path`."""
        folder, name = os.path.split(path)
        if os.path.basename(folder) == CHECKPOINTS_SUBDIR:
            return self.artifacts_in(os.path.dirname(folder))
        is_run_model = name in RUN_MODEL_FILES
        if is_run_model or folder != self.walk.root:
            found = self.artifacts_in(folder)
            if found[0] or is_run_model:
                return found
        run = self._matching_run_folder(path)
        return self.artifacts_in(run) if run is not None else ({}, [])

    def artifacts_in(self, run_dir: str) -> tuple[dict[str, Path], list[list[Any]]]:
        """One run folder's artifacts (as artifacts.artifacts_in picks them) and their key."""
        known = self._runs.get(run_dir)
        if known is not None:
            return known
        beside = self.walk.artifact_entries.get(run_dir)
        if beside is None:
            found = artifacts_module.artifacts_in(Path(run_dir))
            known = self._runs[run_dir] = (found, self._key(found, {}))
            return known
        inside: dict[str, os.DirEntry] = {}
        if DIAGNOSTICS_SUBDIR in beside:
            sub = os.path.join(run_dir, DIAGNOSTICS_SUBDIR)
            listed = self.walk.artifact_entries.get(sub)
            inside = ({n: e for n, e in listed.items() if n in DIAGNOSTICS_FILES.values()}
                      if listed is not None else
                      artifacts_module._files_in(sub, artifacts_module._WANTED_INSIDE))
        base = Path(run_dir)
        chosen: dict[str, tuple[Path, os.DirEntry]] = {}
        if RESULTS_FILE in beside:
            chosen[TRAINING_RESULTS] = (base / RESULTS_FILE, beside[RESULTS_FILE])
        for key, name in DIAGNOSTICS_FILES.items():
            in_subdir, alongside = inside.get(name), beside.get(name)
            # The copy written last is the one the run finished with (see artifacts_in).
            if in_subdir is not None and (alongside is None or _mtime(in_subdir) >= _mtime(alongside)):
                chosen[key] = (base / DIAGNOSTICS_SUBDIR / name, in_subdir)
            elif alongside is not None:
                chosen[key] = (base / name, alongside)
        found = {key: chosen[key][0] for key in ARTIFACT_KEYS if key in chosen}
        entries = {os.fspath(path): entry for path, entry in chosen.values()}
        known = self._runs[run_dir] = (found, self._key(found, entries))
        return known

    def _key(self, found: dict[str, Path], entries: dict[str, os.DirEntry]) -> list[list[Any]]:
        """catalog.artifacts_key's value, from the walk's cached stats where it has them."""
        key = []
        for name, path in sorted(found.items()):
            text = os.fspath(path)
            entry = self._stats.get(text)
            if entry is None:
                try:
                    listed = entries.get(text)
                    st = listed.stat() if listed is not None else os.stat(text)
                    entry = [name, text, st.st_size, st.st_mtime_ns]
                except OSError:
                    entry = [name, text, None, None]
                self._stats[text] = entry
            key.append(entry)
        return key

    def _matching_run_folder(self, path: str) -> str | None:
        """artifacts.matching_run_folder, with sizes from the walk and remembered comparisons."""
        match = artifacts_module._SESSION_PREFIX.match(Path(path).stem)
        if not match:
            return None
        mine = self._by_path.get(path)
        if mine is None or mine.stat is None or mine.error is not None:
            return None
        size = mine.stat.st_size
        prefix = match.group(1) + "_"
        folder = os.path.dirname(path)
        names = self._sorted_subfolders.get(folder)
        if names is None:
            listed_names = self.walk.subfolders.get(folder)
            if listed_names is None:
                listed_names = list(artifacts_module._subfolders(Path(folder)))
            names = self._sorted_subfolders[folder] = sorted(listed_names)
        # The names starting with `prefix` are one slice of the sorted list: found by bisection,
        # not by testing every folder for every flat final (thousands of each, in big folders).
        first = bisect.bisect_left(names, prefix)
        last = bisect.bisect_left(names, prefix[:-1] + chr(ord(prefix[-1]) + 1), first)
        for name in reversed(names[first:last]):
            for model_file in RUN_MODEL_FILES:
                candidate = os.path.join(folder, name, model_file)
                listed = self._by_path.get(candidate)
                if listed is not None:
                    if listed.stat is None or listed.error is not None:
                        continue
                    other = listed.stat
                else:
                    try:
                        other = os.stat(candidate)
                    except OSError:
                        continue
                if other.st_size != size:
                    continue
                if self._same(path, mine.stat, candidate, other):
                    return os.path.join(folder, name)
        return None

    def _same(self, a: str, a_st: os.stat_result, b: str, b_st: os.stat_result) -> bool:
        """filecmp.cmp(a, b, shallow=False), remembered across scans by both files' size and mtime."""
        key = f"{a}\0{b}"
        signature = [a_st.st_size, a_st.st_mtime_ns, b_st.st_size, b_st.st_mtime_ns]
        known = self._same_bytes.get(key)
        if isinstance(known, list) and len(known) == 5 and known[:4] == signature:
            self.used_comparisons[key] = known
            return bool(known[4])
        try:
            same = filecmp.cmp(a, b, shallow=False)
        except OSError:
            return False
        self.used_comparisons[key] = signature + [same]
        self.new_comparisons += 1
        return same


def _mtime(entry: os.DirEntry) -> int:
    try:
        return entry.stat().st_mtime_ns
    except OSError:
        return -1
