"""The model catalog: every model zip under the models folder, read safely and judged.

Finding is a single os.scandir walk (catalog_walk) that survives symlink loops,
unreadable folders and odd names, and whose listings also say where each run's training
artifacts are; reading goes through sb3_zip (JSON and opcodes, never a pickle run, never
torch); a cache keyed by size, mtime and the artifacts' stats means a re-scan reads only
what changed. Many new files are read in a few worker processes: the work is JSON parsing,
which threads would serialise on the GIL.
"""

from __future__ import annotations

import gc
import hashlib
import os
import stat
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.catalog import cache as catalog_cache
from kalshi_tui.core.evidence.compat import judge
from kalshi_tui.core.config import Config
from kalshi_tui.core.catalog.walk import (CACHE_DIR_NAME, ArtifactIndex, FoundFile,
                                          open_walk, stat_failure, walk_models)
from kalshi_tui.core.catalog.record import UNREADABLE, ModelRecord, record_from_fields
from kalshi_tui.core.safe_text import clip

__all__ = ["CACHE_DIR_NAME", "AmbiguousModel", "Catalog", "FoundFile", "ModelNotFound",
           "discover_model_files", "inspect_model", "scan_catalog", "sha256_file"]

_RUN_MODEL_STEMS = ("model", "trained_model", "final_model")
_PARALLEL_FROM = 256  # below this many files to read, worker start-up costs more than it saves
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_BATCH_MAX = 512  # files per worker job
_FIRST_BATCH = 32  # files in each worker's first job


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
        wanted = [r for r in (self.records if records is None else records)
                  if r.sha256 is None and r.verdict != UNREADABLE]
        hashed = hash_unchanged_files(wanted)
        done = 0
        with self._hash_lock:
            for record, digest in zip(wanted, hashed):
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
            hits = [r for r in self.records
                    if needle in (r.path.lower() if fold else r.path)
                    or needle in (r.name.lower() if fold else r.name)]
            if len(hits) == 1:
                return hits[0]
            if hits:
                shown = ", ".join(sorted(r.path for r in hits)[:6])
                more = f" and {len(hits) - 6} more" if len(hits) > 6 else ""
                raise AmbiguousModel(f"{clip(ref)}: matches {len(hits)} models: {shown}{more} "
                                     "(give more of the path)")
        raise ModelNotFound(f"{clip(ref)}: no model matches in {self.models_dir} "
                            f"({len(self.records)} models)")


# ---- finding ------------------------------------------------------------------------------

def _walk(models_dir: Path) -> tuple[list[FoundFile], list[str]]:
    """Every *.zip at any depth (files and directories so named), and why folders were skipped."""
    walk = walk_models(models_dir)
    return walk.found, walk.problems


_stat_failure = stat_failure


def discover_model_files(models_dir: Path) -> list[Path]:
    """Every *.zip under `models_dir` at any depth (the cache folder skipped), sorted."""
    return [Path(f.path) for f in _walk(Path(models_dir))[0]]


# ---- reading one file ---------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    """The file's sha256 in hex; streamed, so a large file costs no memory."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


_HASH_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_HASH_CHUNK = 1 << 20
_HASH_THREADS_FROM = 16  # files: below this, a thread pool costs more than it saves


def _sha256_if_unchanged(record: ModelRecord) -> str | None:
    """The sha256 of the record's file if it is still the file that was read (same size and
    mtime, a regular file), else None."""
    try:
        fd = os.open(record.abs_path, _HASH_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_size != record.size_bytes
                or st.st_mtime != record.mtime):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, _HASH_CHUNK):
            digest.update(chunk)
        if os.fstat(fd).st_mtime != st.st_mtime:  # written to while being hashed
            return None
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def hash_unchanged_files(records: list[ModelRecord]) -> list[str | None]:
    """`_sha256_if_unchanged` for each record, in order. Threads, not processes: reading
    and hashing release the GIL, so two threads hash on two cores with no start-up cost."""
    if len(records) < _HASH_THREADS_FROM or _WORKERS < 2:
        return [_sha256_if_unchanged(r) for r in records]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="kalshi-tui-hash") as pool:
        return list(pool.map(_sha256_if_unchanged, records))


def name_and_kind(rel: str) -> tuple[str, str, str | None]:
    """(name, kind, run folder) for a path relative to the models folder.

    Operators call a run by its folder (`session32_ppo_20251215_001549`), a checkpoint by
    `<run>/<stem>`, a flat final by its stem.
    """
    parts = rel.split("/")
    stem = parts[-1][:-4] if parts[-1].lower().endswith(".zip") else parts[-1]
    if len(parts) == 1:
        return stem, "final", None
    if len(parts) >= 3 and parts[-2] == "checkpoints":
        return f"{parts[-3]}/{stem}", "checkpoint", "/".join(parts[:-2])
    folder = "/".join(parts[:-1])
    name = parts[-2] if stem in _RUN_MODEL_STEMS else f"{parts[-2]}/{stem}"
    return name, "run", folder


def _artifacts_module() -> Any | None:
    """The training-artifacts reader, when this checkout has it."""
    try:
        from kalshi_tui.core.artifacts import find as artifacts
    except ImportError:
        return None
    return artifacts


def artifact_paths(path: Path, models_dir: Path,
                   memo: dict[tuple[str, str], dict[str, Path]] | None = None) -> dict[str, Path]:
    """The training artifacts that belong with a model (stats only, nothing read).

    With `memo` (one scan's), a run's checkpoints and its model share one lookup: their
    artifacts depend only on the run folder.
    """
    module = _artifacts_module()
    if module is None:
        return {}
    key = None
    if memo is not None:
        folder, file_name = os.path.split(os.fspath(path))
        if os.path.basename(folder) == "checkpoints":
            key = (os.path.dirname(folder), "run")
        elif file_name in ("model.zip", "trained_model.zip"):
            key = (folder, "run")
        if key is not None and key in memo:
            return memo[key]
    try:
        found = dict(module.find_artifacts(Path(path), Path(models_dir)))
    except OSError:
        found = {}
    if key is not None:
        memo[key] = found  # type: ignore[index]
    return found


def artifacts_key(artifacts: dict[str, Path], memo: dict[str, list[Any]] | None = None) -> list[list[Any]]:
    """What invalidates a cached record when an artifact changes: name, path, size, mtime."""
    key = []
    for name, path in sorted(artifacts.items()):
        text = os.fspath(path)
        entry = memo.get(text) if memo is not None else None
        if entry is None:
            try:
                st = os.stat(text)
                entry = [name, text, st.st_size, st.st_mtime_ns]
            except OSError:
                entry = [name, text, None, None]
            if memo is not None:
                memo[text] = entry
        key.append(entry)
    return key


def _relative(path: Path | str, models_dir: Path | str) -> str:
    text, root = os.path.abspath(path), os.path.abspath(models_dir)
    if text.startswith(root + os.sep) and os.sep == "/":
        return text[len(root) + 1:]  # the common case, without building Path objects
    try:
        return Path(text).relative_to(root).as_posix()
    except ValueError:
        return Path(text).as_posix()


# (n_actions, the artifacts' names, paths, sizes and mtimes) -> (metrics as a dict, warning):
# a run's checkpoints share its artifacts, so its diagnostics are read once, not per model.
_METRICS_MEMO: dict[Any, tuple[dict[str, Any] | None, str | None]] = {}
_METRICS_MEMO_LIMIT = 4096


def _metrics_data(artifacts: dict[str, Path] | dict[str, str], n_actions: int | None,
                  stats_key: list[list[Any]] | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """(the run's figures as a dict, a warning): shared by every model of the run, read-only."""
    module = _artifacts_module()
    if module is None or not artifacts:
        return None, None
    last_stats, last_n, last_known = _LAST_METRICS
    if stats_key is not None and stats_key is last_stats and n_actions == last_n:
        return last_known  # the run's next model: the same key list, not just an equal one
    memo_key = (n_actions, tuple(tuple(entry) for entry in stats_key)) if stats_key else None
    known = _METRICS_MEMO.get(memo_key) if memo_key is not None else None
    if known is None:
        warning = None
        try:
            # Paths made only here, on a memo miss: workers pass the walk's strings.
            metrics = module.read_training_metrics({k: Path(v) for k, v in artifacts.items()},
                                                   n_actions)
        except Exception as exc:  # noqa: BLE001 - a bad artifact must not lose the model
            metrics, warning = None, (f"training artifacts unreadable: {type(exc).__name__}: {exc}"
                                      .splitlines()[0])
        known = (catalog_cache.metrics_dict(metrics), warning)
        if memo_key is not None:
            if len(_METRICS_MEMO) >= _METRICS_MEMO_LIMIT:
                _METRICS_MEMO.clear()
            _METRICS_MEMO[memo_key] = known
    if memo_key is not None:
        # Held, so its id cannot pass to another list while it is remembered here.
        _LAST_METRICS[:] = (stats_key, n_actions, known)
    return known


_LAST_METRICS: list[Any] = [None, None, None]  # [the last key list, n_actions, its answer]


def read_record(path: Path | str, rel: str, models_dir: Path | str, max_data_bytes: int,
                max_members: int, st: os.stat_result | None = None, error: str | None = None,
                artifacts: dict[str, Path] | dict[str, str] | None = None,
                artifacts_stats: list[list[Any]] | None = None,
                max_member_bytes: int | None = None) -> ModelRecord:
    """A record with every fact from the file and its artifacts; verdict left to `judge`.

    `artifacts` when the caller has already looked them up (the scan does, for its key),
    with `artifacts_stats` (that key) so models sharing a run read its artifacts once.
    The record owns all its values: change them freely.
    """
    size = mtime = None
    regular = False
    if st is not None:
        size, mtime, regular = st.st_size, st.st_mtime, stat.S_ISREG(st.st_mode)
    record, metrics = _read_shared(path, rel, models_dir, max_data_bytes, max_members, size,
                                   mtime, regular, error, artifacts, artifacts_stats,
                                   max_member_bytes=max_member_bytes)
    return catalog_cache.record_from_row(catalog_cache.record_row(record, metrics))


def _read_shared(path: Path | str, rel: str, models_dir: Path | str, max_data_bytes: int,
                 max_members: int, size: int | None, mtime: float | None, regular: bool,
                 error: str | None = None,
                 artifacts: dict[str, Path] | dict[str, str] | None = None,
                 artifacts_stats: list[list[Any]] | None = None,
                 relative_artifacts: dict[str, str] | None = None,
                 abs_path: str | None = None,
                 hashes: bool = True,
                 max_member_bytes: int | None = None) -> tuple[ModelRecord, dict[str, Any] | None]:
    """(a record whose lists and dicts may be shared with other records, the run's figures).

    Read-only: models of one run share their settings, globals, versions and figures as
    single objects, which is what lets a scan ship and cache thousands of them cheaply.
    `read_record` and `catalog_cache.record_from_row` give a record its own copies.
    `size`, `mtime`: from the caller's stat (None: none was made); `regular`: that stat
    found a regular file, so the reader can trust the size instead of stat'ing again.
    `hashes`: read the file whole and hash it; otherwise only the members the facts come
    from are read and `sha256` stays None.
    """
    # Imported here: a warm listing reads no zip, so it need not load the zip readers.
    from kalshi_tui.core.sb3.model_zip import UnreadableModel, read_sb3_zip

    name, kind, run_dir = name_and_kind(rel)
    abs_path = abs_path or os.path.abspath(path)

    def failed(reason: str) -> tuple[ModelRecord, None]:
        record = ModelRecord(path=rel, abs_path=abs_path, name=name, kind=kind, run_dir=run_dir,
                             reasons=[reason])
        if size is not None:
            record.size_bytes, record.mtime = size, mtime
        return record, None

    if error is not None:
        return failed(error)
    try:
        # The walk's stat spares the reader its own, for a regular file (anything else,
        # a fifo say, the reader looks at itself).
        info = read_sb3_zip(path, max_data_bytes=max_data_bytes, max_members=max_members,
                            known_size=size if regular else None, whole=hashes, full_data=False,
                            **({} if max_member_bytes is None else {"max_member_bytes": max_member_bytes}))
    except UnreadableModel as exc:
        return failed(exc.reason)
    except (OSError, MemoryError, RecursionError) as exc:
        return failed(f"cannot read: {getattr(exc, 'strerror', None) or type(exc).__name__}")
    except Exception as exc:  # noqa: BLE001 - one damaged file must not take the listing down
        # The readers turn every damage found by fuzzing into UnreadableModel; this is the
        # net for one nobody has found yet: a reason on the badge, and the scan goes on.
        text = str(exc).splitlines()[0][:200] if str(exc) else "no message"
        return failed(f"cannot read: {type(exc).__name__}: {text}")
    digest = None
    if hashes:
        try:
            digest = info.sha256 or sha256_file(path)
        except OSError as exc:
            return failed(f"cannot read: {exc.strerror or exc}")
    # Every field at once, in field order: one dict display (see record_from_fields).
    record = record_from_fields({
        "path": rel, "abs_path": abs_path, "name": name, "verdict": UNREADABLE, "reasons": [],
        "warnings": [], "algorithm": info.algorithm, "action_space_type": info.action_space_type,
        "n_actions": info.n_actions, "obs_shape": info.obs_shape, "obs_dtype": info.obs_dtype,
        "obs_low": info.obs_low, "obs_high": info.obs_high,
        "obs_layout": info.obs_layout, "obs_layout_evidence": info.obs_layout_evidence,
        "weights_n_actions": info.weights_n_actions, "weights_obs_dim": info.weights_obs_dim,
        "versions": info.versions, "num_timesteps": info.num_timesteps,
        "trained_at": info.start_time_utc, "hyperparameters": info.hyperparameters,
        "policy_class": info.policy_class, "pickle_globals": info.pickle_globals,
        "trader_findings": info.trader_findings,
        "size_bytes": 0 if size is None else size, "mtime": 0.0 if size is None else mtime,
        "sha256": digest, "kind": kind, "run_dir": run_dir, "artifacts": {}, "metrics": None})
    if info.weights_error:
        if _unloadable_weights(info.weights_error):
            # SB3 cannot build a model without its weights, and torch refuses damaged ones
            # (a CRC mismatch, a pickle that does not parse): this file cannot trade at all.
            record.verdict, record.reasons = UNREADABLE, [info.weights_error]
            return record, None
        record.warnings.append(f"weights not checked: {info.weights_error}")
    if artifacts is None:
        artifacts = artifact_paths(path, models_dir)
    # One shared empty dict for the many models without artifacts: a row's shared values
    # are cached by identity (catalog_cache), and a new {} per model defeated that.
    record.artifacts = (relative_artifacts if relative_artifacts is not None else
                        {k: _relative(v, models_dir) for k, v in artifacts.items()} if artifacts
                        else _NO_ARTIFACTS)
    metrics, warning = _metrics_data(artifacts, info.n_actions, artifacts_stats)
    if warning:
        record.warnings.append(warning)
    return record, metrics


def _unloadable_weights(error: str) -> bool:
    """Whether a weights error (weights.py's words) means no loader could build the model:
    no policy.pth, a damaged one (CRC mismatch, broken zip), or a pickle that does not parse.
    Any other (a legacy format, say) only leaves the shapes unchecked."""
    return (error.startswith("no policy.pth") or " is corrupt (" in error
            or error.endswith("(malformed pickle)"))


def _finish(record: ModelRecord, config: Config) -> ModelRecord:
    """Judge a freshly read record (a readable one has no reasons yet, so judge decides)."""
    judge(record, config.environment)
    return record


def inspect_model(path: Path, config: Config, *, models_dir: Path | None = None) -> ModelRecord:
    """One file's complete record, judged; a bad file gives an unreadable record, never raises."""
    models_dir = Path(models_dir or config.models_dir)
    path = Path(path)
    try:
        st = os.stat(path)
        error = "is a directory" if stat.S_ISDIR(st.st_mode) else None
    except OSError as exc:
        st, error = None, _stat_failure(exc, os.path.islink(path))
    record = read_record(path, _relative(path, models_dir), models_dir, config.max_data_bytes,
                         config.max_members, st, error,
                         max_member_bytes=config.environment.max_member_bytes)
    return _finish(record, config)


# ---- scanning the folder --------------------------------------------------------------------

def _read_rows(batch: list[tuple[Any, ...]], models_dir: str, max_data: int,
               max_members: int, environment: Any, hashes: bool = True) -> list[list[Any]]:
    """Read and judge files; each comes back as its record's values in field order.

    Worker-process side (and the in-process path for a few files). Values a run's models
    share stay single objects, so a batch pickles each once and the cache stores each once.
    """
    root = os.path.abspath(models_dir)
    plain_join = os.sep == "/"
    relative: dict[int, tuple[Any, dict[str, str]]] = {}  # id(artifacts) -> (it, relative)
    out = []
    for path, rel, size, mtime, regular, artifacts, stats in batch:
        shown = None
        if artifacts:
            known = relative.get(id(artifacts))
            if known is None or known[0] is not artifacts:
                known = relative[id(artifacts)] = (
                    artifacts, {k: _relative(v, models_dir) for k, v in artifacts.items()})
            shown = known[1]
        record, metrics = _read_shared(
            path, rel, models_dir, max_data, max_members, size, mtime, regular, None,
            artifacts, stats, relative_artifacts=shown,
            abs_path=f"{root}/{rel}" if plain_join else os.path.join(root, rel), hashes=hashes,
            max_member_bytes=environment.max_member_bytes)
        judge(record, environment, shared=True)
        out.append(catalog_cache.record_row(record, metrics))
    return out


# A job's, and a record's, artifacts when there are none: one shared, read-only dict.
_NO_ARTIFACTS: dict[str, str] = {}


def _job(f: FoundFile, artifacts: dict[str, Path] | None, stats: list[list[Any]] | None,
         as_text: dict[int, tuple[Any, dict[str, str]]]) -> tuple[Any, ...]:
    """(path, rel, size, mtime, is regular, artifacts as strings, their key) for one file.

    A run's models share one artifacts dict (and key), so a batch pickles it once: `as_text`
    (one scan's) turns each dict into strings once and hands the same one to every model.
    """
    text: dict[str, str] = _NO_ARTIFACTS  # looked up and none found (None would look again)
    if artifacts:
        known = as_text.get(id(artifacts))
        if known is None or known[0] is not artifacts:
            known = as_text[id(artifacts)] = (artifacts,
                                              {k: os.fspath(v) for k, v in artifacts.items()})
        text = known[1]
    st = f.stat
    # Three numbers, not the stat_result: a batch pickles thousands of these.
    return (f.path, f.rel, st.st_size, st.st_mtime, stat.S_ISREG(st.st_mode), text, stats)


def _start_method() -> str:
    """How worker processes start: fork is fast and safe while this process has one thread.

    With threads (the TUI's workers) a forked child could inherit a held lock. Then workers
    fork from a forkserver, a clean single-threaded process started once with the readers
    imported: 10,000 files cold in 1.25 s, where spawning fresh workers took 4.0 s.
    Spawn only where there is no forkserver (Windows).
    """
    import multiprocessing

    if sys.platform != "win32" and threading.active_count() == 1:
        return "fork"
    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.get_context("forkserver").set_forkserver_preload(_WORKER_MODULES)
        method = "forkserver"
    else:
        method = "spawn"
    _start_helpers(method)
    return method


# What a worker uses that a listing process may not have loaded yet.
_WORKER_MODULES = ["kalshi_tui.core.catalog.scan", "kalshi_tui.core.sb3.model_zip",
                   "kalshi_tui.core.artifacts.metrics", "zoneinfo"]


def _prepare_for_workers() -> None:
    """Load, before forking, what every worker would otherwise load for itself: the zip
    readers (~27 ms of CPU), the artifact readers and the US Eastern zone (~7 ms more);
    forked workers share it all."""
    import codecs
    import importlib

    from kalshi_tui.core.artifacts import values as artifacts_values

    for name in _WORKER_MODULES:
        importlib.import_module(name)
    artifacts_values.warm_up()
    codecs.lookup("cp437")  # zip member names without the UTF-8 flag are decoded as cp437


def _start_helpers(method: str) -> None:
    """Start multiprocessing's helper processes with a real stderr to hand them.

    The resource tracker is given sys.stderr's file descriptor; under the TUI sys.stderr is
    Textual's capture, whose fileno() is -1, and starting the helper fails with "bad
    value(s) in fds_to_keep". Started here first, with /dev/null as its stderr (what it
    would print must not land on the TUI's screen), later starts find them running.
    """
    if os.name != "posix":  # no resource tracker or forkserver to start there
        return
    from multiprocessing import forkserver, resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    saved = sys.stderr
    quiet = None if usable else open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    try:
        if quiet is not None:
            sys.stderr = quiet
        resource_tracker.ensure_running()
        if method == "forkserver":
            forkserver.ensure_running()
    finally:
        sys.stderr = saved
        if quiet is not None:
            quiet.close()


_LAST_POOL: list[Any] = []  # the last scan's workers and pool thread, not waited for


class _Reader:
    """Reads the files the cache could not answer, in the order they are added.

    Until `_PARALLEL_FROM` files wait (or the walk expects that many), nothing is read (few
    files are read here, in this process, by `rows`). From then on worker processes read
    them, each worker's first batch small so all start at once: each batch goes out as
    soon as it is full, while the scan is still walking the folder and working out cache
    keys, so the workers start on the first files at once instead of after the whole
    folder has been looked at (a fifth of a 10,000-model cold scan was spent before the
    first file was read). Consecutive files (a run's checkpoints) go to one worker so its
    memos hit; batches shrink as the folder's end nears (`unseen`, the walk's estimate of
    what is still to come), so both workers finish together.
    """

    def __init__(self, config: Config, hashes: bool):
        self.config, self.hashes = config, hashes
        # About how many files may still come (the walk's estimate); None: not known yet.
        self.unseen: int | None = None
        self.waiting: list[tuple[Any, ...]] = []
        self.pool: Any = None
        self.futures: list[Any] = []
        self.models_dir = os.fspath(config.models_dir)

    def add(self, job: tuple[Any, ...]) -> None:
        waiting = self.waiting
        waiting.append(job)
        if self.pool is None:
            # Workers start once `_PARALLEL_FROM` files wait, or sooner when the walk
            # expects that many in all (after its first run folder, on a big cold scan).
            expected = len(waiting) + (self.unseen or 0)
            if _WORKERS > 1 and (len(waiting) >= _PARALLEL_FROM or (
                    expected >= _PARALLEL_FROM and len(waiting) >= _FIRST_BATCH)):
                self._start()
                self._send(final=False)
        elif len(waiting) >= self._batch_size():
            self._send(final=False)

    def _batch_size(self) -> int:
        if len(self.futures) < _WORKERS:
            # Each worker's first batch is small, so every worker is reading a few
            # milliseconds after the pool starts instead of waiting for 512 files.
            return _FIRST_BATCH
        # Eight batches a worker for what is left: small enough that neither waits long
        # for the other at the end, large enough that a batch's overhead is nothing.
        if self.unseen is None:
            return _BATCH_MAX
        return max(16, min(_BATCH_MAX, (len(self.waiting) + self.unseen) // (_WORKERS * 8)))

    def _start(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # The last scan did not wait for its workers to exit; they have had the whole walk
        # since. Wait for them now, so neither they nor their pool's thread is left (a
        # live thread would make _start_method pick the slower forkserver).
        for waiting_for in _LAST_POOL:
            waiting_for.join()
        _LAST_POOL.clear()
        method = _start_method()
        if method == "fork":
            _prepare_for_workers()
        self.pool = ProcessPoolExecutor(_WORKERS, mp_context=multiprocessing.get_context(method))

    def _send(self, final: bool) -> None:
        while self.waiting:
            size = self._batch_size()
            if len(self.waiting) < size and not final:
                return
            batch, self.waiting = self.waiting[:size], self.waiting[size:]
            config = self.config
            self.futures.append(self.pool.submit(
                _read_rows, batch, self.models_dir, config.max_data_bytes, config.max_members,
                config.environment, self.hashes))

    def rows(self) -> Any:
        """Every added file's row (record_row), in the order added; shuts the workers down."""
        if self.pool is None:
            config = self.config
            yield from _read_rows(self.waiting, self.models_dir, config.max_data_bytes,
                                  config.max_members, config.environment, self.hashes)
            return
        finished = False
        try:
            self._send(final=True)
            last = len(self.futures) - 1
            for index, future in enumerate(self.futures):
                rows = future.result()
                if index == last:
                    # Every batch read: the workers only have to exit, which they do on
                    # their own (waiting for them cost the scan 5-15 ms); the next scan
                    # that needs workers makes sure they have.
                    # (The pool forgets its thread and processes on shutdown: kept here.)
                    _LAST_POOL.extend(getattr(self.pool, "_processes", {}).values())
                    thread = getattr(self.pool, "_executor_manager_thread", None)
                    self.pool.shutdown(wait=False)
                    if thread is not None:
                        _LAST_POOL.append(thread)
                    finished = True
                yield from rows
        finally:
            if not finished:  # stopped half-way: stop the workers and wait for them
                self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (a scan that failed half-way); rows() does this itself."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def scan_catalog(config: Config, *, use_cache: bool = True, hashes: bool = True) -> Catalog:
    """Every model under the models folder, judged against the configured environment.

    With the cache, an unchanged file (same size, mtime and artifacts) costs one stat.
    `hashes=False` is a listing: verdicts and facts without every file's sha256, which
    costs more than all the rest (it reads every byte; the facts need a ninth of them).
    Records the cache has no hash for keep None; `Catalog.ensure_sha256` adds them later.
    Raises FileNotFoundError / NotADirectoryError (one-line messages) when the models
    folder itself is missing.
    """
    # A scan allocates many small objects and makes no cycles: the cyclic collector would
    # only re-walk the caller's whole heap, again and again (a third of a warm scan in a
    # process that holds an earlier catalog), and in forked workers it would touch, and so
    # copy, every page they share with this process.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _scan(config, use_cache, hashes)
    finally:
        if enabled:
            # Everything the scan made is young to the collector, and a catalog lives long:
            # the first young collection after the scan would walk all of it (70-80 ms
            # after 10,000 models) to find nothing. freeze + unfreeze moves every tracked
            # object to the oldest generation in two list splices; a full collection, when
            # one comes, still looks at them. (Nothing here freezes objects otherwise.)
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _scan(config: Config, use_cache: bool, hashes: bool = True) -> Catalog:
    models_dir = Path(config.models_dir)
    walk = open_walk(models_dir)
    cache = catalog_cache.load(config) if use_cache else catalog_cache.empty(config)
    # Artifacts come from the walk's own listings, once per run folder (not per model).
    index = ArtifactIndex(walk, cache.same_bytes) if _artifacts_module() is not None else None
    records: list[ModelRecord | None] = []
    keys: dict[str, list[Any]] = {}
    as_text: dict[int, tuple[Any, dict[str, str]]] = {}
    catalog = Catalog(models_dir=models_dir, problems=walk.problems, _cache=cache, _keys=keys)
    reader = _Reader(config, hashes)
    try:
        # The walk is streamed: files are looked up, and read by the workers, while it is
        # still listing the rest of the folder (a 10,000-model walk is a tenth of a cold scan).
        for item in walk.stream():
            artifacts: list[list[Any]] = []
            found_artifacts = None
            if item.error is None and index is not None:
                found_artifacts, artifacts = index.for_found(item)
            key = catalog_cache.file_key(item.stat, item.error, artifacts)
            keys[item.rel] = key
            record = cache.get(item.rel, key)
            if record is not None:
                catalog.from_cache += 1
            elif item.error is not None:  # nothing to read: its reason is the record
                record = _finish(read_record(item.path, item.rel, models_dir,
                                             config.max_data_bytes, config.max_members,
                                             item.stat, item.error), config)
                cache.put(item.rel, key, record)
                catalog.read += 1
            else:
                reader.unseen = walk.remaining_estimate()
                reader.add(_job(item, found_artifacts, artifacts or None, as_text))
            records.append(record)
        reader.unseen = 0
        if index is not None:
            cache.set_same_bytes(index.used_comparisons, changed=index.new_comparisons > 0)
        fresh = reader.rows()
    except BaseException:
        reader.close()
        raise
    try:
        for position, record in enumerate(records):
            if record is None:
                row = next(fresh)
                record = catalog_cache.record_from_row(row)
                cache.put(record.path, keys[record.path], record, row)
                records[position] = record
                catalog.read += 1
    finally:
        fresh.close()  # the workers stop here, not whenever the generator is collected
    records.sort(key=_record_path)  # the walk's order is its own; a catalog is sorted by path
    catalog.records = records  # type: ignore[assignment]  # every slot filled above
    if use_cache or catalog.read:
        cache.save(keep=set(keys))
    if hashes:
        catalog.ensure_sha256()  # cached records from a listing scan (none after a full one)
    return catalog


def _record_path(record: ModelRecord) -> str:
    return record.path
