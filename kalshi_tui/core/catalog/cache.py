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
import operator
import os
import tempfile
from pathlib import Path
from typing import Any

from kalshi_tui.core.artifacts.find import METRICS_VERSION
from kalshi_tui.core.evidence.compat import installed_sb3_version, judge
from kalshi_tui.core.config import Config
from kalshi_tui.core.catalog.record import (ModelRecord, TrainingMetrics, metrics_from_fields,
                                          record_from_fields)

_RECORD_FIELDS = tuple(ModelRecord.__dataclass_fields__)


def record_row(record: ModelRecord, metrics: dict[str, Any] | None) -> list[Any]:
    """The record's values in field order, its figures (`metrics`, a dict) in place of an object.

    What a scan's workers send back and what the cache stores: values shared between
    records stay single objects (a batch pickles them once; the cache finds their slots by
    identity). Nothing is copied, so the row is as read-only as the record it came from.
    """
    values = list(record.__dict__.values())  # a dataclass sets its fields in field order
    if len(values) != len(_RECORD_FIELDS):  # someone added an attribute: go by name
        values = [getattr(record, name) for name in _RECORD_FIELDS]
    values[_METRICS_POS] = metrics
    return values


def record_from_row(row: list[Any]) -> ModelRecord:
    """A record that owns its values, from a row whose values may be shared with other rows."""
    values = list(row)
    # Only the fields that can hold a list or dict are copied (copying and keyword-matching
    # every field was a third of a cold scan's work in this process).
    for position in _MUTABLE_POSITIONS:
        value = values[position]
        if type(value) in (list, dict):
            values[position] = value.copy()
    metrics = values[_METRICS_POS]
    if metrics is not None:
        if metrics.keys() == _METRICS_KEYS:  # as metrics_dict makes it: every field, no other
            values[_METRICS_POS] = metrics_from_fields(copy_one_level(metrics))
        else:
            values[_METRICS_POS] = TrainingMetrics.from_dict(copy_one_level(metrics))
    return record_from_fields(dict(zip(_RECORD_FIELDS, values)))


def copy_one_level(data: dict[str, Any]) -> dict[str, Any]:
    """A copy whose lists and dicts are new too: enough for records, whose values are JSON-shaped."""
    return {k: v.copy() if type(v) in (list, dict) else v for k, v in data.items()}


_METRICS_FIELDS = tuple(TrainingMetrics.__dataclass_fields__)
_METRICS_KEYS = frozenset(_METRICS_FIELDS)


def metrics_dict(metrics: TrainingMetrics | None) -> dict[str, Any] | None:
    """`metrics.to_dict()` without asdict's recursive deep copy (its values are JSON-shaped)."""
    if metrics is None:
        return None
    return {name: (v.copy() if type(v := getattr(metrics, name)) in (list, dict) else v)
            for name in _METRICS_FIELDS}


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
    data["metrics"] = metrics_dict(record.metrics)
    return data

FORMAT = "kalshi-tui catalog cache"
# Records hold figures read by core.artifacts: a new reader must not be served old figures.
# 3: written by orjson where exact (a version-2 file, all json's, may hold an int past 64
# bits that orjson would read back as a float, so it is rebuilt once).
# 4: records carry trader_findings (the UNSAFE verdict); older files never judged them.
# 5: records carry obs_layout and its evidence (which layout a model was trained on).
VERSION = f"5/metrics-{METRICS_VERSION}"
CACHE_FILE_NAME = "catalog.json"
# Fields whose values repeat across the models of a folder: stored once, referenced by index.
# A run's checkpoints share its artifacts and their figures: stored once, not per model.
_SHARED_FIELDS = ("pickle_globals", "obs_low", "obs_high", "obs_layout_evidence", "hyperparameters", "versions",
                  "policy_class", "warnings", "reasons", "artifacts", "metrics")
# Shared values are handed out as they are (records that came from one cache load share
# them, read-only by convention); these lists are copied because code appends to them.
_COPIED_FIELDS = frozenset({"warnings", "reasons"})
# Dicts handed to TrainingMetrics / records are copied one level, as record_dict does.
_DICT_FIELDS = frozenset({"hyperparameters", "versions", "artifacts"})
# A record is stored as a list in field order (the doc names the fields once): a third of
# the JSON to parse compared with a dict per record, and built with one positional call.
_ABS_PATH_POS = _RECORD_FIELDS.index("abs_path")
# Fields whose values can be lists or dicts (read from the record's annotations, so a new
# list field is covered): the ones a record must own a copy of.
_MUTABLE_POSITIONS = tuple(i for i, f in enumerate(ModelRecord.__dataclass_fields__.values())
                           if str(f.type).startswith(("list", "dict")))
_METRICS_POS = _RECORD_FIELDS.index("metrics")
_SHA256_POS = _RECORD_FIELDS.index("sha256")
_PLAIN_JOIN = os.sep == "/"  # os.path.join(root, rel) is root + "/" + rel for a relative rel
_SHARED_POSITIONS = tuple(
    (_RECORD_FIELDS.index(name),
     1 if name in _COPIED_FIELDS else 2 if name in _DICT_FIELDS else 3 if name == "metrics" else 0)
    for name in _SHARED_FIELDS)


_SHARED_INDEXES = tuple(position for position, _kind in _SHARED_POSITIONS)
_shared_values = operator.itemgetter(*_SHARED_INDEXES)


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
        self._entries = entries or {}  # rel -> [key, record values in field order]
        self._shared = shared or []
        self._same_fingerprint = same_fingerprint
        self._dirty = not same_fingerprint
        # Whether a shared value may have lost its last user (an entry replaced or dropped):
        # only then does saving pay for a pass over every entry to drop unused ones.
        self._orphans = False
        self.path = path
        # "final\0run model" -> [sizes and mtimes of both, same?]: see catalog_walk.ArtifactIndex
        self.same_bytes: dict[str, list[Any]] = {}
        self._key_slots: dict[int, tuple[list[Any], int]] = {}  # id -> (the list, its slot)
        # ids of a row's shared values -> (those values, their slots): see _encode_record
        self._row_slots: dict[tuple[int, ...], tuple[tuple[Any, ...], list[int]]] = {}

    def set_same_bytes(self, used: dict[str, list[Any]], *, changed: bool) -> None:
        """Keep the byte comparisons this scan relied on (and only those)."""
        if changed or used.keys() != self.same_bytes.keys():
            self._dirty = True
        self.same_bytes = used

    def get(self, rel: str, key: list[Any]) -> ModelRecord | None:
        entry = self._entries.get(rel)
        if entry is None or not self._same_key(entry[0], key):
            return None
        try:
            record = self._decode(entry[1], rel)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return None
        if not self._same_fingerprint:
            judge(record, self.config.environment)  # the environment changed: re-judge
            entry[1] = self._encode_record(rel, record)
            self._orphans = True
        return record

    def set_sha256(self, rel: str, key: list[Any] | None, digest: str) -> None:
        """Add a hash made after the scan to `rel`'s record, if it is still stored under `key`."""
        entry = self._entries.get(rel)
        if entry is None or (key is not None and not self._same_key(entry[0], key)):
            return
        entry[1][_SHA256_POS] = digest
        self._dirty = True

    def _same_key(self, stored: Any, key: list[Any]) -> bool:
        """Size, mtime and error equal, and the artifacts' stats (stored once per run) too."""
        if type(stored) is not list or len(stored) != 4 or stored[:3] != key[:3]:
            return False
        artifacts = stored[3]
        if type(artifacts) is int:
            try:
                artifacts = self._shared[artifacts]
            except IndexError:
                return False
        return artifacts == key[3]

    def put(self, rel: str, key: list[Any], record: ModelRecord,
            row: list[Any] | None = None) -> None:
        """Remember `record` under `key`; `row` is its record_row when the caller has it."""
        stored_key = list(key)
        if stored_key[3]:
            # A run's models share one artifacts-key list (ArtifactIndex): look it up once.
            known = self._key_slots.get(id(key[3]))
            if known is None or known[0] is not key[3]:
                known = self._key_slots[id(key[3])] = (key[3], self._slot(key[3]))
            stored_key[3] = known[1]
        if rel in self._entries:
            self._orphans = True
        self._entries[rel] = [stored_key, self._encode_record(rel, record, row)]
        self._dirty = True

    def _encode_record(self, rel: str, record: ModelRecord,
                       row: list[Any] | None = None) -> list[Any]:
        if row is None:
            values = list(record_dict(record).values())  # the record's own fresh copies
        else:
            values = list(row)
        if values[_ABS_PATH_POS] == self._abs_path(rel):
            values[_ABS_PATH_POS] = None  # the models folder + path says it: restored on load
        if row is None:  # fresh copies: found by content
            for position, _kind in _SHARED_POSITIONS:
                values[position] = self._slot(values[position])
            return values
        # Rows share equal values as one object (see record_row), and a run's models share
        # all of them: the slots of one combination of objects are looked up once. The
        # entry keeps the objects, so their ids stay theirs while it is remembered.
        shared = _shared_values(values)
        combination = tuple(map(id, shared))
        known = self._row_slots.get(combination)
        if known is None:
            slots = []
            for value in shared:
                one = self._key_slots.get(id(value))
                if one is None or one[0] is not value:
                    one = self._key_slots[id(value)] = (value, self._slot(value))
                slots.append(one[1])
            known = self._row_slots[combination] = (shared, slots)
        for position, slot in zip(_SHARED_INDEXES, known[1]):
            values[position] = slot
        return values

    def _abs_path(self, rel: str) -> str:
        root = getattr(self, "_root", None)
        if root is None:
            root = self._root = os.path.abspath(self.config.models_dir)
        return f"{root}/{rel}" if _PLAIN_JOIN else os.path.join(root, rel)

    def _slot(self, value: Any) -> int:
        """The shared table's index of `value`, adding it when new."""
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = {_share_key(v): i for i, v in enumerate(self._shared)}
        text = _share_key(value)
        slot = index.get(text)
        if slot is None:
            slot = index[text] = len(self._shared)
            self._shared.append(value)
        return slot


    def _decode(self, stored: list[Any], rel: str) -> ModelRecord:
        values = list(stored)
        shared = self._shared
        for position, kind in _SHARED_POSITIONS:
            value = values[position]
            if type(value) is not int:
                raise ValueError("not a slot")
            value = shared[value]
            if value is not None:
                if kind == 1:  # judge() and the scan add to these: each record its own list
                    value = list(value)
                elif kind == 2:
                    value = dict(value)
                elif kind == 3:  # its lists and dicts become the record's own
                    value = TrainingMetrics.from_dict(
                        {k: v.copy() if type(v) in (list, dict) else v for k, v in value.items()})
            values[position] = value
        if values[_ABS_PATH_POS] is None:
            values[_ABS_PATH_POS] = self._abs_path(rel)
        return record_from_fields(dict(zip(_RECORD_FIELDS, values)))

    def save(self, keep: set[str]) -> Path | None:
        """Write the cache if anything changed, dropping files no longer there; never raises."""
        gone = set(self._entries) - keep
        if not self._dirty and not gone:
            return self.path
        for rel in gone:
            del self._entries[rel]
        used = self._compact() if self._orphans or gone else self._shared
        doc = {"format": FORMAT, "version": VERSION,
               "models_dir": os.path.abspath(self.config.models_dir),
               "fingerprint": fingerprint(self.config), "fields": list(_RECORD_FIELDS),
               # The bound the records' size findings were read under (a re-judge cannot
               # change them: the reader judged sizes before inflating anything).
               "max_member_bytes": self.config.environment.max_member_bytes,
               "shared": used, "entries": self._entries,
               "same_bytes": self.same_bytes}
        text = _dump(doc)
        for target in ([self.path] if self.path else []) + cache_locations(self.config):
            if _write_atomically(target, text):
                self.path, self._dirty = target, False
                return target
        return None

    def _compact(self) -> list[Any]:
        """Drop shared values no entry uses any more, renumbering the references."""
        used: dict[int, int] = {}
        table: list[Any] = []

        def renumber(slot: int) -> int:
            if slot not in used:
                used[slot] = len(table)
                table.append(self._shared[slot])
            return used[slot]

        for key, values in self._entries.values():
            if type(key) is list and len(key) == 4 and type(key[3]) is int:
                key[3] = renumber(key[3])
            for position, _kind in _SHARED_POSITIONS:
                slot = values[position]
                if type(slot) is int:
                    values[position] = renumber(slot)
        self._shared = table
        self.__dict__.pop("_index", None)
        self._key_slots.clear()
        self._row_slots.clear()
        self._orphans = False
        return table


def _share_key(value: Any) -> Any:
    """A hashable key equal only for equal values of equal types (1, 1.0 and True differ)."""
    kind = type(value)
    if value is None or kind is str:
        return ("s", value)
    if kind is list and all(type(v) is str for v in value):
        return ("l", tuple(value))
    if kind is dict and all(type(v) in _SCALARS for v in value.values()):
        # Flat dicts (versions, artifacts, most hyperparameters): no JSON text needed.
        return ("d", tuple((k, type(v), v) for k, v in value.items()))
    # Dicts from one reader keep one key order, so equal values give equal text (an
    # unequal order would only store a value twice). orjson writes it five times faster
    # (metrics, nested hyperparameters: a cold scan pays this per model) and tells 1, 1.0
    # and true apart as json does, but writes NaN and infinities as null: any null, and
    # anything orjson refuses (ints past 64 bits, non-str keys), takes json's text instead.
    # Imported here: a warm listing never gets this far, so it need not load orjson.
    import orjson

    try:
        text = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is one
        text = b"null"
    if b"null" not in text:
        return ("o", text)
    return ("j", json.dumps(value))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _dump(doc: dict[str, Any]) -> bytes:
    """The cache's bytes: orjson (a tenth of json's time for 10,000 records) where it is exact.

    orjson writes NaN and infinities as null and refuses ints past 64 bits; only the shared
    values (figures, settings) can hold such numbers, so they are checked, and a document
    that has one is written by json and marked so its reader uses json too.
    """
    import orjson

    if not _has_inexact(doc["shared"]):
        try:
            return orjson.dumps(doc)
        except TypeError:  # orjson.JSONEncodeError is one
            pass
    return json.dumps({**doc, "needs_json": True}, separators=(",", ":")).encode()


def _has_inexact(value: Any) -> bool:
    """True when `value` holds a float orjson would write as null, or an int it cannot write."""
    kind = type(value)
    if kind is float:
        return value != value or value in (float("inf"), float("-inf"))
    if kind is int:
        return not -(1 << 63) <= value < (1 << 64)
    if kind is list:
        return any(_has_inexact(v) for v in value)
    if kind is dict:
        return any(_has_inexact(v) for v in value.values())
    return False


def _parse(raw: bytes) -> Any:
    """The cache document: orjson first (a warm scan's biggest cost), json when it must."""
    import orjson

    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # written by an older version, with NaN, say
    if isinstance(doc, dict) and doc.get("needs_json"):
        return json.loads(raw)
    return doc


def _write_atomically(target: Path, text: bytes) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError:
        return False
    try:
        os.fchmod(fd, 0o644)  # other operators on the box read the same cache
        with os.fdopen(fd, "wb") as handle:
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
            with open(path, "rb") as handle:
                doc = _parse(handle.read())
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            continue
        if not (isinstance(doc, dict) and doc.get("format") == FORMAT
                and doc.get("version") == VERSION
                and doc.get("models_dir") == os.path.abspath(config.models_dir)
                and doc.get("fields") == list(_RECORD_FIELDS)
                and doc.get("max_member_bytes") == config.environment.max_member_bytes
                and isinstance(doc.get("entries"), dict) and isinstance(doc.get("shared"), list)):
            continue
        entries = {rel: entry for rel, entry in doc["entries"].items()
                   if type(entry) is list and len(entry) == 2 and type(entry[1]) is list
                   and len(entry[1]) == len(_RECORD_FIELDS)}
        cache = CatalogCache(config, entries, doc["shared"],
                             same_fingerprint=doc.get("fingerprint") == fingerprint(config),
                             path=path)
        same_bytes = doc.get("same_bytes")
        if isinstance(same_bytes, dict):
            cache.same_bytes = same_bytes
        return cache
    return empty(config)
