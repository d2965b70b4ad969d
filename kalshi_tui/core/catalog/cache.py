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

from kalshi_tui.core.artifacts.find import METRICS_VERSION
from kalshi_tui.core.config import Config
from kalshi_tui.core.evidence.compat import installed_sb3_version, judge
from kalshi_tui.core.model_record import (
    RECORD_FIELDS,
    ModelRecord,
    TrainingMetrics,
    freeze,
    thaw,
)

_RECORD_FIELDS = RECORD_FIELDS
_METRICS_POS = _RECORD_FIELDS.index("metrics")


def record_row(record: ModelRecord, metrics: dict[str, Any] | None) -> list[Any]:
    """The record's values in field order as plain JSON-shaped values, its figures
    (`metrics`, a dict) in place of an object: what a scan's workers send back (a read-only
    mapping does not pickle) and what the cache stores."""
    values = [thaw(getattr(record, name)) for name in _RECORD_FIELDS]
    values[_METRICS_POS] = metrics
    return values


def record_from_row(row: list[Any]) -> ModelRecord:
    """A record from a row (record_row's, or the cache's), its values frozen."""
    values = {name: freeze(value) for name, value in zip(_RECORD_FIELDS, row, strict=True)}
    metrics = values.pop("metrics")
    return ModelRecord(
        **values, metrics=None if metrics is None else TrainingMetrics.from_dict(metrics)
    )


FORMAT = "kalshi-tui catalog cache"
# Records hold figures read by core.artifacts: a new reader must not be served old figures.
# 3: written by orjson where exact (a version-2 file, all json's, may hold an int past 64
# bits that orjson would read back as a float, so it is rebuilt once).
# 4: records carry trader_findings (the UNSAFE verdict); older files never judged them.
# 5: records carry obs_layout and its evidence (which layout a model was trained on).
# 6: pickle globals, findings and weight shapes from the one opcode walk (sb3.pickle_facts).
# 7: a record's lists, dicts and repeated texts kept together as one JSON text.
VERSION = f"7/metrics-{METRICS_VERSION}"
CACHE_FILE_NAME = "catalog.json"
# The values a run's models have in common (every list and dict a record holds, and the
# texts that repeat): stored together as one JSON text in a shared table, once per distinct
# combination, the record's entry keeping its index in the first of these fields. The text
# is parsed and frozen once per cache, and the records that use it share those values
# (immutable: see model_record), so a warm scan makes one object a record.
_GROUP_FIELDS = (
    "pickle_globals",
    "obs_shape",
    "obs_low",
    "obs_high",
    "obs_layout_evidence",
    "hyperparameters",
    "versions",
    "policy_class",
    "warnings",
    "reasons",
    "trader_findings",
    "artifacts",
    "metrics",
)
_GROUP_POSITIONS = tuple(_RECORD_FIELDS.index(name) for name in _GROUP_FIELDS)
_GROUP_SLOT_POS = _GROUP_POSITIONS[0]
_ABS_PATH_POS = _RECORD_FIELDS.index("abs_path")
_SHA256_POS = _RECORD_FIELDS.index("sha256")


def cache_locations(config: Config) -> list[Path]:
    """Where the cache may live: the configured folder, then a per-user one for read-only models."""
    digest = hashlib.sha256(os.fsencode(os.path.abspath(config.models_dir))).hexdigest()[:16]
    user_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [
        Path(config.cache_dir) / CACHE_FILE_NAME,
        user_root / "kalshi-tui" / digest / CACHE_FILE_NAME,
    ]


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

    def __init__(
        self,
        config: Config,
        entries: dict[str, list[Any]] | None = None,
        shared: list[Any] | None = None,
        same_fingerprint: bool = True,
        path: Path | None = None,
    ):
        self.config = config
        self._entries = entries or {}  # rel -> [key, record values in field order]
        self._shared: list[str] = shared or []  # JSON texts
        self._slots = {text: i for i, text in enumerate(self._shared)}
        self._groups: dict[int, dict[str, Any]] = {}  # slot -> its values, parsed and frozen
        self._same_fingerprint = same_fingerprint
        self._dirty = not same_fingerprint
        self.path = path
        self._root = os.path.abspath(config.models_dir)
        # "final\0run model" -> [sizes and mtimes of both, same?]: see walk.ArtifactIndex
        self.same_bytes: dict[str, list[Any]] = {}

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
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, RecursionError):
            return None  # a damaged or hand-made entry: the file is read again
        if not self._same_fingerprint:
            judge(record, self.config.environment)  # the environment changed: re-judge
            entry[1] = self._encode(rel, record_row(record, _metrics_dict(record)))
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
            if not 0 <= artifacts < len(self._shared):
                return False
            artifacts = _from_text(self._shared[artifacts])
        return bool(artifacts == key[3])

    def put(self, rel: str, key: list[Any], record: ModelRecord) -> None:
        """Remember `record` under `key` (a run's models share one artifacts key: stored once)."""
        self._store(rel, key, record_row(record, _metrics_dict(record)))

    def put_row(self, rel: str, key: list[Any], row: list[Any]) -> ModelRecord:
        """Remember a worker's row under `key`, and give its record as a warm scan would: the
        values it shares with its run's other models decoded (and frozen) once, not per model."""
        stored = self._store(rel, key, row)
        return self._decode(stored, rel)

    def _store(self, rel: str, key: list[Any], row: list[Any]) -> list[Any]:
        stored_key = list(key)
        if stored_key[3]:
            stored_key[3] = self._slot(stored_key[3])
        values = self._encode(rel, row)
        self._entries[rel] = [stored_key, values]
        self._dirty = True
        return values

    def _encode(self, rel: str, row: list[Any]) -> list[Any]:
        values = list(row)
        if values[_ABS_PATH_POS] == self._abs_path(rel):
            values[_ABS_PATH_POS] = None  # the models folder + path says it: restored on load
        group = [values[position] for position in _GROUP_POSITIONS]
        for position in _GROUP_POSITIONS:
            values[position] = None
        values[_GROUP_SLOT_POS] = self._slot(group)
        return values

    def _abs_path(self, rel: str) -> str:
        return f"{self._root}/{rel}" if os.sep == "/" else os.path.join(self._root, rel)

    def _slot(self, value: Any) -> int:
        """The shared table's index of `value`, adding it when new."""
        text = _json_text(value)
        slot = self._slots.get(text)
        if slot is None:
            slot = self._slots[text] = len(self._shared)
            self._shared.append(text)
        return slot

    def _decode(self, stored: list[Any], rel: str) -> ModelRecord:
        """A record from its entry's values and its group's (shared, frozen) values."""
        slot = stored[_GROUP_SLOT_POS]
        if type(slot) is not int or not 0 <= slot < len(self._shared):
            raise ValueError("not a slot")
        group = self._groups.get(slot)
        if group is None:
            parsed = _from_text(self._shared[slot])
            if type(parsed) is not list or len(parsed) != len(_GROUP_FIELDS):
                raise ValueError("not a group")
            group = dict(zip(_GROUP_FIELDS, map(freeze, parsed), strict=True))
            metrics = group["metrics"]
            group["metrics"] = None if metrics is None else TrainingMetrics.from_dict(metrics)
            self._groups[slot] = group
        values = dict(zip(_RECORD_FIELDS, stored, strict=True))
        values.update(group)
        if values["abs_path"] is None:
            values["abs_path"] = self._abs_path(rel)
        return ModelRecord(**values)

    def save(self, keep: set[str]) -> Path | None:
        """Write the cache if anything changed, dropping files no longer there; never raises."""
        gone = set(self._entries) - keep
        if not self._dirty and not gone:
            return self.path
        for rel in gone:
            del self._entries[rel]
        used = self._compact()
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "models_dir": os.path.abspath(self.config.models_dir),
            "fingerprint": fingerprint(self.config),
            "fields": list(_RECORD_FIELDS),
            # The bound the records' size findings were read under (a re-judge cannot
            # change them: the reader judged sizes before inflating anything).
            "max_member_bytes": self.config.environment.max_member_bytes,
            "shared": used,
            "entries": self._entries,
            "same_bytes": self.same_bytes,
        }
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
            slot = values[_GROUP_SLOT_POS]
            if type(slot) is int:
                values[_GROUP_SLOT_POS] = renumber(slot)
        self._shared = table
        self._slots = {text: i for i, text in enumerate(table)}
        self._groups = {}
        return table


def _metrics_dict(record: ModelRecord) -> dict[str, Any] | None:
    return None if record.metrics is None else record.metrics.to_dict()


def _json_text(value: Any) -> str:
    """A shared value as JSON text: orjson's where it writes the value exactly, else json's
    marked with a leading "!" (orjson writes NaN and infinities as null, refuses ints past
    64 bits, and reads such an int back as a float). Equal values of equal types give equal
    text (1, 1.0 and true differ)."""
    import orjson  # imported here: a warm listing that writes nothing need not load it

    try:
        text = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is one: a key that is not a string, a big int
        return "!" + json.dumps(value)
    # Exact when orjson reads back what it was given (a NaN or an infinity comes back None);
    # a C comparison, cheaper than walking the value for such floats first.
    return text.decode() if orjson.loads(text) == value else "!" + json.dumps(value)


def _from_text(text: str) -> Any:
    """A shared value parsed from its text (_json_text's)."""
    import orjson

    if text.startswith("!"):
        return json.loads(text[1:])
    return orjson.loads(text)


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
        if not (
            isinstance(doc, dict)
            and doc.get("format") == FORMAT
            and doc.get("version") == VERSION
            and doc.get("models_dir") == os.path.abspath(config.models_dir)
            and doc.get("fields") == list(_RECORD_FIELDS)
            and doc.get("max_member_bytes") == config.environment.max_member_bytes
            and isinstance(doc.get("entries"), dict)
            and isinstance(doc.get("shared"), list)
            and all(type(text) is str for text in doc["shared"])
        ):
            continue
        entries = {
            rel: entry
            for rel, entry in doc["entries"].items()
            if type(entry) is list
            and len(entry) == 2
            and type(entry[1]) is list
            and len(entry[1]) == len(_RECORD_FIELDS)
        }
        cache = CatalogCache(
            config,
            entries,
            doc["shared"],
            same_fingerprint=doc.get("fingerprint") == fingerprint(config),
            path=path,
        )
        same_bytes = doc.get("same_bytes")
        if isinstance(same_bytes, dict):
            cache.same_bytes = same_bytes
        return cache
    return empty(config)
