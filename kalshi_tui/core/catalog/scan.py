"""The model catalog: every model zip under the models folder, read safely and judged.

Finding is a single os.scandir walk (walk.py) that survives symlink loops, unreadable
folders and odd names, and whose listings also say where each run's training artifacts
are; reading goes through sb3.model_zip (JSON and opcodes, never a pickle run, never
torch); a cache keyed by size, mtime and the artifacts' stats means a re-scan reads only
what changed. Many new files are read in worker processes (workers.py).
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.catalog import cache as catalog_cache
from kalshi_tui.core.catalog.read import (
    Job,
    artifacts_key,
    hash_unchanged_files,
    name_and_kind,
    read_record,
    relative,
    sha256_file,
)
from kalshi_tui.core.catalog.walk import (
    CACHE_DIR_NAME,
    ArtifactIndex,
    FoundFile,
    open_walk,
    stat_failure,
    walk_models,
)
from kalshi_tui.core.catalog.workers import Reader, start_helpers
from kalshi_tui.core.config import Config
from kalshi_tui.core.evidence.compat import judge
from kalshi_tui.core.model_record import RECORD_FIELDS, UNREADABLE, ModelRecord
from kalshi_tui.core.safe_text import clip

__all__ = [
    "CACHE_DIR_NAME",
    "AmbiguousModel",
    "Catalog",
    "FoundFile",
    "ModelNotFound",
    "artifacts_key",
    "discover_model_files",
    "inspect_model",
    "name_and_kind",
    "scan_catalog",
    "sha256_file",
    "start_helpers",
]


class ModelNotFound(LookupError):
    """No model in the catalog matches what the operator typed."""


class AmbiguousModel(LookupError):
    """Several models match; the message lists them so the operator can pick one."""


@dataclass
class Catalog:
    """Every model record under `models_dir`, plus folders the walk could not enter."""

    models_dir: Path
    records: list[ModelRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    from_cache: int = 0  # how many records the cache answered
    read: int = 0  # how many files were read this time
    # The scan's cache and each file's key in it: where hashes made later are kept.
    _cache: Any = field(default=None, repr=False, compare=False)
    _keys: dict[str, list[Any]] = field(default_factory=dict, repr=False, compare=False)
    # The TUI hashes in one thread while a promotion may hash in another: one cache writer.
    _hash_lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def ensure_sha256(self, records: list[ModelRecord] | None = None) -> int:
        """Hash the readable models that have no sha256 yet (all, or `records`); how many were.

        A listing scan (`hashes=False`) leaves hashing to whoever needs the hash. The cache
        keeps each hash with the file's size and mtime, so a file is hashed once while it
        stays as it is. A file that changed since the scan read it keeps None: its hash
        would not be the hash of the file the record describes.
        """
        wanted = [
            r
            for r in (self.records if records is None else records)
            if r.sha256 is None and r.verdict != UNREADABLE
        ]
        hashed = hash_unchanged_files(wanted)
        done = 0
        with self._hash_lock:
            for record, digest in zip(wanted, hashed, strict=True):
                if digest is None:
                    continue
                record.sha256 = digest
                done += 1
                if self._cache is not None:
                    self._cache.set_sha256(record.path, self._keys.get(record.path), digest)
            if done and self._cache is not None:
                self._cache.save(keep=set(self._keys))
        return done

    def by_path(self, rel: str) -> ModelRecord | None:
        rel = rel.replace("\\", "/").removeprefix("./")
        return next((r for r in self.records if r.path == rel), None)

    def find(self, ref: str) -> ModelRecord:
        """The one model `ref` names: relative path, absolute path, name, or unique fragment."""
        text = ref.strip()
        exact = self.by_path(text)
        if exact is not None:
            return exact
        if os.path.isabs(os.path.expanduser(text)):
            target = os.path.realpath(os.path.expanduser(text))
            for record in self.records:
                if record.abs_path == text or os.path.realpath(record.abs_path) == target:
                    return record
        named = [r for r in self.records if r.name == text]
        if len(named) == 1:
            return named[0]
        for fold in (False, True):
            needle = text.lower() if fold else text
            hits = [
                r
                for r in self.records
                if needle in (r.path.lower() if fold else r.path)
                or needle in (r.name.lower() if fold else r.name)
            ]
            if len(hits) == 1:
                return hits[0]
            if hits:
                shown = ", ".join(sorted(r.path for r in hits)[:6])
                more = f" and {len(hits) - 6} more" if len(hits) > 6 else ""
                raise AmbiguousModel(
                    f"{clip(ref)}: matches {len(hits)} models: {shown}{more} "
                    "(give more of the path)"
                )
        raise ModelNotFound(
            f"{clip(ref)}: no model matches in {self.models_dir} ({len(self.records)} models)"
        )


# ---- finding and reading one file ----------------------------------------------------------


def discover_model_files(models_dir: Path) -> list[Path]:
    """Every *.zip under `models_dir` at any depth (the cache folder skipped), sorted."""
    return [Path(f.path) for f in walk_models(Path(models_dir)).found]


def inspect_model(path: Path, config: Config, *, models_dir: Path | None = None) -> ModelRecord:
    """One file's complete record, judged; a bad file gives an unreadable record, never raises."""
    models_dir = Path(models_dir or config.models_dir)
    path = Path(path)
    st: os.stat_result | None
    try:
        st = os.stat(path)
        error = "is a directory" if stat.S_ISDIR(st.st_mode) else None
    except OSError as exc:
        st, error = None, stat_failure(exc, os.path.islink(path))
    record, metrics = read_record(
        path,
        relative(path, models_dir),
        models_dir,
        config.max_data_bytes,
        config.max_members,
        st,
        error,
        max_member_bytes=config.environment.max_member_bytes,
    )
    record = catalog_cache.record_from_row(catalog_cache.record_row(record, metrics))
    judge(record, config.environment)
    return record


# ---- scanning the folder --------------------------------------------------------------------


def scan_catalog(config: Config, *, use_cache: bool = True, hashes: bool = True) -> Catalog:
    """Every model under the models folder, judged against the configured environment.

    With the cache, an unchanged file (same size, mtime and artifacts) costs one stat.
    `hashes=False` is a listing: verdicts and facts without every file's sha256, which
    costs more than all the rest (it reads every byte; the facts need a ninth of them).
    Records the cache has no hash for keep None; `Catalog.ensure_sha256` adds them later.
    Raises FileNotFoundError / NotADirectoryError (one-line messages) when the models
    folder itself is missing.
    """
    return _scan(config, use_cache, hashes)


_PATH_POS = RECORD_FIELDS.index("path")


def _job(f: FoundFile, artifacts: dict[str, Path] | None, stats: list[list[Any]] | None) -> Job:
    """What a worker needs to read one file (plain values: a batch pickles thousands)."""
    text = {k: os.fspath(v) for k, v in artifacts.items()} if artifacts else {}
    st = f.stat
    if st is None:
        return (f.path, f.rel, None, None, text, stats)
    return (f.path, f.rel, st.st_size, st.st_mtime, text, stats)


def _scan(config: Config, use_cache: bool, hashes: bool = True) -> Catalog:
    models_dir = Path(config.models_dir)
    walk = open_walk(models_dir)
    cache = catalog_cache.load(config) if use_cache else catalog_cache.empty(config)
    # Artifacts come from the walk's own listings, once per run folder (not per model).
    index = ArtifactIndex(walk, cache.same_bytes)
    records: list[ModelRecord | None] = []
    keys: dict[str, list[Any]] = {}
    catalog = Catalog(models_dir=models_dir, problems=walk.problems, _cache=cache, _keys=keys)
    reader = Reader(config, hashes)
    try:
        # The walk is streamed: files are looked up, and read by the workers, while it is
        # still listing the rest of the folder.
        for item in walk.stream():
            artifacts: list[list[Any]] = []
            found_artifacts = None
            if item.error is None:
                found_artifacts, artifacts = index.for_found(item)
            key = catalog_cache.file_key(item.stat, item.error, artifacts)
            keys[item.rel] = key
            record = cache.get(item.rel, key)
            if record is not None:
                catalog.from_cache += 1
            elif item.error is not None:  # nothing to read: its reason is the record
                record, _none = read_record(
                    item.path,
                    item.rel,
                    models_dir,
                    config.max_data_bytes,
                    config.max_members,
                    item.stat,
                    item.error,
                )
                judge(record, config.environment)
                cache.put(item.rel, key, record)
                catalog.read += 1
            else:
                reader.unseen = walk.remaining_estimate()
                reader.add(_job(item, found_artifacts, artifacts or None))
            records.append(record)
        reader.unseen = 0
        cache.set_same_bytes(index.used_comparisons, changed=index.new_comparisons > 0)
        fresh = reader.rows()
    except BaseException:
        reader.close()
        raise
    try:
        for position, record in enumerate(records):
            if record is None:
                row = next(fresh)
                rel = row[_PATH_POS]
                record = cache.put_row(rel, keys[rel], row)
                records[position] = record
                catalog.read += 1
    finally:
        fresh.close()  # the workers stop here, not whenever the generator is collected
    done = [r for r in records if r is not None]  # every slot is filled above
    done.sort(key=_record_path)  # the walk's order is its own; a catalog is sorted by path
    catalog.records = done
    if use_cache or catalog.read:
        cache.save(keep=set(keys))
    if hashes:
        catalog.ensure_sha256()  # cached records from a listing scan (none after a full one)
    return catalog


def _record_path(record: ModelRecord) -> str:
    return record.path
