"""Stored validation results, keyed so a stale one is never shown as current.

Where: `<cache_dir>/validation/<model sha256>.json` (cache_dir defaults to
`.kalshi_tui_cache` inside the models folder, so results travel with the folder). Keyed
by the model's content hash rather than its path, so a renamed or copied model keeps its
results and a model overwritten in place loses them; the trader's models folder itself
gets no extra files. When the cache folder cannot be written (a read-only models folder),
results go to the user's cache ($XDG_CACHE_HOME/kalshi-tui/validation) instead; reading
looks in both.

Inside a file, each result is keyed by everything its figures depend on: the environment
fingerprint, the session ids, deterministic or not (and the seed), the fingerprint of
those sessions' rows and the result format. A result whose key differs from the one asked for is
simply not found. Cheap to read: JSON and a stat, no torch, no environment.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from kalshi_tui.core.lock_file import HeldFileLock, LockBusy
from kalshi_tui.eval.results import RESULT_FORMAT, ValidationResult

LOCK_SECONDS = 10.0


def store_identity(sessions_db) -> str:
    """Which session store, as it is now: only a key for this process's memos, never stored.

    For a PostgreSQL source: its password-free URL and the row counts and last ids of the
    three tables (one short query); "unreachable" when it cannot be asked.
    """
    from kalshi_tui.core.db_url import is_database_url, redacted

    if is_database_url(sessions_db):
        from kalshi_tui.env import StoreError, open_session_store

        try:
            with open_session_store(sessions_db) as store:
                return store.identity()
        except StoreError:
            return f"{redacted(sessions_db)}|unreachable"
    path = Path(sessions_db).resolve()
    try:
        st = path.stat()
    except OSError:
        return f"{path}|missing"
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


def session_source(sessions_db) -> str:
    """Where the sessions came from, as shown with every figure (never a password)."""
    from kalshi_tui.core.db_url import is_database_url, redacted

    return (
        redacted(sessions_db) if is_database_url(sessions_db) else str(Path(sessions_db).resolve())
    )


def sessions_fingerprint(sessions_db, session_ids: list[int]) -> str:
    """What stored results are keyed by: the content of the sessions a run replays.

    A fingerprint of the rows (SessionStore.fingerprint), so the same sessions in a copied,
    reinstalled or touched store find their results, and a re-recorded one does not. The
    same rows in SQLite and PostgreSQL fingerprint alike: they replay to identical tapes.
    """
    from kalshi_tui.env.store import StoreError

    try:
        return _fingerprint_of(store_identity(sessions_db), str(sessions_db),
                               tuple(sorted({int(s) for s in session_ids})))
    except StoreError:
        # Missing, damaged or locked by a writer: no result is found under this, and it is
        # not memoised, so the next ask after the writer is done hashes the rows.
        return "unreadable"


@functools.lru_cache(maxsize=32)
def _fingerprint_of(identity: str, sessions_db: str, session_ids: tuple[int, ...]) -> str:
    """Memoised per file state: hashing sessions 5-10 reads 35,000 rows (~80 ms), and the
    TUI asks on every refresh; a changed file has another identity and is hashed again."""
    del identity  # part of the memo key only
    from kalshi_tui.env import open_session_store

    with open_session_store(sessions_db) as store:
        return "sessions-sha256:" + store.fingerprint(list(session_ids))


def result_key(environment_fingerprint: str, session_ids: list[int], deterministic: bool,
               store: str, seed: int | None) -> str:
    """The one string a stored result must match to count as current."""
    return json.dumps({"format": RESULT_FORMAT, "environment": environment_fingerprint,
                       "sessions": sorted(set(int(s) for s in session_ids)),
                       "deterministic": bool(deterministic),
                       "seed": None if deterministic else seed, "store": store},
                      sort_keys=True)


def key_of(result: ValidationResult) -> str:
    return result_key(result.environment_fingerprint, result.session_ids, result.deterministic,
                      result.sessions_fingerprint, result.seed)


def current_key(config, session_ids: list[int], deterministic: bool, seed: int | None) -> str:
    """The key a result of this config's environment and sessions is stored and found under."""
    return result_key(config.environment.fingerprint(), session_ids, deterministic,
                      sessions_fingerprint(config.sessions_db, session_ids), seed)


def other_fill_model_result(config, result: ValidationResult) -> ValidationResult | None:
    """The stored result of the same run under the other fill model, when there is one.

    Same model, sessions, rows, mode and seed; only the fill model differs. How the
    fill-model disagreement is known: by comparing the stored results of both (`validate
    --fill-model both` stores the two at once).
    """
    import dataclasses

    from kalshi_tui.core.world.profiles import ORIGINAL_TRAINING, REALISTIC

    env = config.environment
    if (
        result.fill_model not in (REALISTIC, ORIGINAL_TRAINING)
        or env.profile.training_rules is None
    ):
        return None
    other = ORIGINAL_TRAINING if result.fill_model == REALISTIC else REALISTIC
    other_env = dataclasses.replace(env, fill_model=other)
    key = result_key(other_env.fingerprint(), result.session_ids, result.deterministic,
                     result.sessions_fingerprint, result.seed)
    return find_validation(result.sha256, config.cache_dir, key)


def fill_model_disagreement_line(config, result: ValidationResult) -> str | None:
    """The one line saying the two fill models differ sharply for this model, if they do."""
    from kalshi_tui.core.world.profiles import REALISTIC
    from kalshi_tui.eval.results import fill_model_disagreement

    other = other_fill_model_result(config, result)
    if other is None:
        return None
    pair = (result, other) if result.fill_model == REALISTIC else (other, result)
    return fill_model_disagreement(*pair)


VALIDATION, HEALTH = "validation", "health"  # the kinds of stored result, one folder each


def cache_folders(cache_dir: Path, kind: str = VALIDATION) -> list[Path]:
    """Where results of a kind may live, in the order they are written to."""
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [Path(cache_dir) / kind, user_cache / "kalshi-tui" / kind]


def _read_entries(file: Path) -> dict[str, Any]:
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # absent or damaged: nothing stored here counts
    entries = payload.get("results") if isinstance(payload, dict) else None
    return entries if isinstance(entries, dict) else {}


def save_entry(kind: str, sha256: str, key: str, entry: dict[str, Any],
               cache_dir: Path) -> tuple[Path | None, str | None]:
    """Store one finished result of a kind; returns (file, None) or (None, why not stored)."""
    problems: list[str] = []
    for folder in cache_folders(cache_dir, kind):
        file = folder / f"{sha256}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Two runs on one model may finish together; each keeps the other's entry.
            # The lock file is there only while one of them writes.
            with HeldFileLock(file.with_name(file.name + ".lock"), LOCK_SECONDS):
                entries = _read_entries(file)
                entries[key] = entry
                tmp = file.with_name(f".{file.name}.tmp{os.getpid()}")
                try:
                    tmp.write_text(json.dumps({"sha256": sha256, "results": entries},
                                              indent=1), encoding="utf-8")
                    os.replace(tmp, file)
                finally:
                    tmp.unlink(missing_ok=True)  # a failed write leaves no half file
            return file, None
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
        except LockBusy:
            problems.append(f"{folder}: {file.name} stayed locked for {LOCK_SECONDS:g} s")
    return None, f"{kind} result not stored (" + "; ".join(problems) + ")"


def stored_names(kind: str, cache_dir: Path) -> set[str]:
    """The sha256 of every model with something of this kind stored (a listing per folder)."""
    names: set[str] = set()
    for folder in cache_folders(cache_dir, kind):
        try:
            names.update(name[:-5] for name in os.listdir(folder) if name.endswith(".json"))
        except OSError:
            continue  # nothing stored there
    return names


def has_stored(kind: str, sha256: str, cache_dir: Path) -> bool:
    """Whether anything of this kind is stored for the model (a stat per folder): a load
    asks the session store for its key only then."""
    return any((folder / f"{sha256}.json").is_file() for folder in cache_folders(cache_dir, kind))


def stored_entries(kind: str, sha256: str, cache_dir: Path, key: str) -> list[dict[str, Any]]:
    """Every stored entry of this kind for exactly this key, across the cache folders."""
    found = []
    for folder in cache_folders(cache_dir, kind):
        entry = _read_entries(folder / f"{sha256}.json").get(key)
        if isinstance(entry, dict):
            found.append(entry)
    return found


def save_validation(result: ValidationResult, cache_dir: Path) -> tuple[Path | None, str | None]:
    """Store a finished result; returns (file, None) or (None, why it could not be stored)."""
    return save_entry(VALIDATION, result.sha256, key_of(result), result.to_dict(), cache_dir)


def find_validation(sha256: str, cache_dir: Path, key: str) -> ValidationResult | None:
    """The stored result for exactly this key, newest first across the cache folders."""
    found: list[ValidationResult] = []
    for entry in stored_entries(VALIDATION, sha256, cache_dir, key):
        try:
            result = ValidationResult.from_dict(entry)
        except TypeError:
            continue  # written by a version with other fields: not current
        if result.sha256 == sha256 and key_of(result) == key:
            found.append(result)
    return max(found, key=lambda r: r.created_at) if found else None


def load_validation(path: Path, sha256: str, config, session_ids: list[int] | None = None,
                    *, deterministic: bool | None = None, seed: int | None = 0
                    ) -> ValidationResult | None:
    """The current stored result for this model and config, or None when absent or stale.

    `path` is the model file (kept for callers' symmetry; results are keyed by `sha256`,
    which the caller has from the catalog). Without `session_ids` the config's validation
    sessions are meant. Never imports torch; "all" costs one small SQLite query.
    """
    del path  # results follow the content, not the file name
    if not has_stored(VALIDATION, sha256, config.cache_dir):
        return None  # never validated: no need to open and fingerprint the session store
    if session_ids is None:
        session_ids = default_session_ids(config)
        if session_ids is None:
            return None
    if deterministic is None:
        deterministic = config.validation_deterministic
    return find_validation(sha256, config.cache_dir,
                           current_key(config, session_ids, deterministic, seed))


def default_session_ids(config) -> list[int] | None:
    """The config's validation sessions as ids; None when the store cannot say."""
    from kalshi_tui.env.store import StoreError

    try:
        ids = _session_ids_of(store_identity(config.sessions_db), str(config.sessions_db),
                              config.validation_sessions)
    except StoreError:
        return None  # not memoised: a store locked by a writer answers once it is done
    return list(ids) if ids is not None else None


@functools.lru_cache(maxsize=32)
def _session_ids_of(identity: str, sessions_db: str, spec: str) -> tuple[int, ...] | None:
    """Cached per store identity: the TUI asks once per listed model, the answer is the same."""
    del identity  # part of the cache key only: a changed store is asked again
    from kalshi_tui.env import open_session_store, parse_session_list

    with open_session_store(sessions_db) as store:
        available = store.session_ids()
    try:
        return tuple(parse_session_list(spec, available))
    except ValueError:
        return None
