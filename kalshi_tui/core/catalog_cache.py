"""The catalog cache: one JSON file of records, keyed by each file's size, mtime and artifacts.

A warm scan is a walk, one stat per file and this one JSON load, so it must stay small:
values that repeat across models (pickle globals, bounds text, hyperparameters, versions)
are stored once in a shared table and referenced by index. The cache is a convenience,
never a source of truth: a corrupt, foreign or old-version file is ignored and rebuilt,
and it is written atomically (temp file + rename) so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kalshi_tui.core.artifacts import METRICS_VERSION
from kalshi_tui.core.compat import installed_sb3_version, judge
from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import ModelRecord, TrainingMetrics

_RECORD_FIELDS = tuple(ModelRecord.__dataclass_fields__)


def record_dict(record: ModelRecord) -> dict[str, Any]:
    """`record.to_dict()` at a fraction of the cost: its values are already JSON-shaped, so
    one level of copying does (dataclasses.asdict deep-copies recursively, a cold-scan hot spot)."""
    data: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        data[name] = value
    data["metrics"] = record.metrics.to_dict() if record.metrics is not None else None
    return data

FORMAT = "kalshi-tui catalog cache"
# Records hold figures read by core.artifacts: a new reader must not be served old figures.
VERSION = f"1/metrics-{METRICS_VERSION}"
CACHE_FILE_NAME = "catalog.json"
# Fields whose values repeat across the models of a folder: stored once, referenced by index.
_SHARED_FIELDS = ("pickle_globals", "obs_low", "obs_high", "hyperparameters", "versions",
                  "policy_class", "warnings", "reasons")
# Shared values are handed out as they are (records that came from one cache load share
# them, read-only by convention); these lists are copied because code appends to them.
_COPIED_FIELDS = frozenset({"warnings", "reasons"})


def cache_locations(config: Config) -> list[Path]:
    """Where the cache may live: the configured folder, then a per-user one for read-only models."""
    digest = hashlib.sha256(os.fsencode(os.path.abspath(config.models_dir))).hexdigest()[:16]
    user_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(config.cache_dir) / CACHE_FILE_NAME,
            user_root / "kalshi-tui" / digest / CACHE_FILE_NAME]


def fingerprint(config: Config) -> str:
    """Verdicts and warnings depend on the environment and the installed SB3 major version."""
    return f"{config.environment.fingerprint()}|sb3={installed_sb3_version()}"


def file_key(st: os.stat_result | None, error: str | None, artifacts: list[list[Any]]) -> list[Any]:
    """What must be unchanged for a cached record to stand."""
    if st is None:
        return [None, None, error, artifacts]
    return [st.st_size, st.st_mtime_ns, error, artifacts]


class CatalogCache:
    """The records of the last scan, and the ones this scan adds or changes."""

    def __init__(self, config: Config, entries: dict[str, list[Any]] | None = None,
                 shared: list[Any] | None = None, same_fingerprint: bool = True,
                 path: Path | None = None):
        self.config = config
        self._entries = entries or {}  # rel -> [key, encoded record]
        self._shared = shared or []
        self._same_fingerprint = same_fingerprint
        self._dirty = not same_fingerprint
        self.path = path
        # "final\0run model" -> [sizes and mtimes of both, same?]: see catalog_walk.ArtifactIndex
        self.same_bytes: dict[str, list[Any]] = {}

    def set_same_bytes(self, used: dict[str, list[Any]], *, changed: bool) -> None:
        """Keep the byte comparisons this scan relied on (and only those)."""
        if changed or used.keys() != self.same_bytes.keys():
            self._dirty = True
        self.same_bytes = used

    def get(self, rel: str, key: list[Any]) -> ModelRecord | None:
        entry = self._entries.get(rel)
        if entry is None or entry[0] != key:
            return None
        try:
            record = record_from_dict(self._decode(entry[1]))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return None
        if not self._same_fingerprint:
            judge(record, self.config.environment)  # the environment changed: re-judge
            entry[1] = self._encode(record_dict(record))
        return record

    def put(self, rel: str, key: list[Any], record: ModelRecord) -> None:
        self._entries[rel] = [key, self._encode(record_dict(record))]
        self._dirty = True

    def _encode(self, data: dict[str, Any]) -> dict[str, Any]:
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = {_share_key(v): i for i, v in enumerate(self._shared)}
        for name in _SHARED_FIELDS:
            if name in data:
                text = _share_key(data[name])
                slot = index.get(text)
                if slot is None:
                    slot = index[text] = len(self._shared)
                    self._shared.append(data[name])
                data[name] = slot
        return data

    def _decode(self, data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        for name in _SHARED_FIELDS:
            slot = out.get(name)
            if isinstance(slot, int):
                value = self._shared[slot]
                if name in _COPIED_FIELDS:
                    # judge() and the scan add to these: each record gets its own list.
                    value = list(value)
                out[name] = value
        return out

    def save(self, keep: set[str]) -> Path | None:
        """Write the cache if anything changed, dropping files no longer there; never raises."""
        gone = set(self._entries) - keep
        if not self._dirty and not gone:
            return self.path
        for rel in gone:
            del self._entries[rel]
        used = self._compact()
        doc = {"format": FORMAT, "version": VERSION,
               "models_dir": os.path.abspath(self.config.models_dir),
               "fingerprint": fingerprint(self.config), "shared": used, "entries": self._entries,
               "same_bytes": self.same_bytes}
        text = json.dumps(doc, separators=(",", ":"))
        for target in ([self.path] if self.path else []) + cache_locations(self.config):
            if _write_atomically(target, text):
                self.path, self._dirty = target, False
                return target
        return None

    def _compact(self) -> list[Any]:
        """Drop shared values no entry uses any more, renumbering the references."""
        used: dict[int, int] = {}
        table: list[Any] = []
        for _key, data in self._entries.values():
            for name in _SHARED_FIELDS:
                slot = data.get(name)
                if isinstance(slot, int):
                    if slot not in used:
                        used[slot] = len(table)
                        table.append(self._shared[slot])
                    data[name] = used[slot]
        self._shared = table
        self.__dict__.pop("_index", None)
        return table


def _share_key(value: Any) -> Any:
    """A hashable key equal for equal values: cheap for strings and lists of strings."""
    if value is None or isinstance(value, str):
        return ("s", value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ("l", tuple(value))
    return ("j", json.dumps(value, sort_keys=True))


def record_from_dict(data: dict[str, Any]) -> ModelRecord:
    """A record from its cached dict: directly when the fields are ours, else by name."""
    metrics = data.get("metrics")
    if metrics is not None:
        data["metrics"] = TrainingMetrics.from_dict(metrics)
    try:
        return ModelRecord(**data)
    except TypeError:  # written by another version of the record: keep what we know
        data["metrics"] = metrics
        return ModelRecord.from_dict(data)


def _write_atomically(target: Path, text: str) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError:
        return False
    try:
        os.fchmod(fd, 0o644)  # other operators on the box read the same cache
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False


def empty(config: Config) -> CatalogCache:
    """A cache with nothing in it (a `--no-cache` scan still writes what it read)."""
    return CatalogCache(config, same_fingerprint=True, path=None)


def load(config: Config) -> CatalogCache:
    """The cache for this models folder, or an empty one when none is usable."""
    for path in cache_locations(config):
        try:
            with open(path, encoding="utf-8") as handle:
                doc = json.load(handle)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            continue
        if not (isinstance(doc, dict) and doc.get("format") == FORMAT
                and doc.get("version") == VERSION
                and doc.get("models_dir") == os.path.abspath(config.models_dir)
                and isinstance(doc.get("entries"), dict) and isinstance(doc.get("shared"), list)):
            continue
        entries = {rel: entry for rel, entry in doc["entries"].items()
                   if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict)}
        cache = CatalogCache(config, entries, doc["shared"],
                             same_fingerprint=doc.get("fingerprint") == fingerprint(config),
                             path=path)
        same_bytes = doc.get("same_bytes")
        if isinstance(same_bytes, dict):
            cache.same_bytes = same_bytes
        return cache
    return empty(config)
