"""One model file read into a catalog record: the zip's facts, its run's artifacts, a verdict.

The same code reads a file in this process (a few new files, `inspect_model`) and in the
scan's worker processes (many new files); what crosses between processes is a row, the
record's values in field order as plain lists and dicts (cache.record_row), and the record
made from a row holds them frozen (cache.record_from_row, model_record.freeze).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kalshi_tui.core.artifacts.find import find_artifacts, read_training_metrics
from kalshi_tui.core.catalog import cache as catalog_cache
from kalshi_tui.core.evidence.compat import judge
from kalshi_tui.core.model_record import ModelRecord, freeze

_RUN_MODEL_STEMS = ("model", "trained_model", "final_model")
_HASH_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_HASH_CHUNK = 1 << 20
_HASH_THREADS_FROM = 16  # files: below this, a thread pool costs more than it saves
_HASH_THREADS = 2

# (path as text, rel, size, mtime, artifacts as text, their cache key)
Job = tuple[str, str, int | None, float | None, dict[str, str], list[list[Any]] | None]


def sha256_file(path: Path | str) -> str:
    """The file's sha256 in hex; streamed, so a large file costs no memory."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _sha256_if_unchanged(record: ModelRecord) -> str | None:
    """The sha256 of the record's file if it is still the file that was read (same size and
    mtime, a regular file), else None."""
    try:
        fd = os.open(record.abs_path, _HASH_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_size != record.size_bytes
            or st.st_mtime != record.mtime
        ):
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
    if len(records) < _HASH_THREADS_FROM:
        return [_sha256_if_unchanged(r) for r in records]
    with ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="kalshi-tui-hash") as pool:
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


def artifacts_key(artifacts: Mapping[str, Path | str]) -> list[list[Any]]:
    """What invalidates a cached record when an artifact changes: name, path, size, mtime."""
    key = []
    for name, path in sorted(artifacts.items()):
        text = os.fspath(path)
        try:
            st = os.stat(text)
            key.append([name, text, st.st_size, st.st_mtime_ns])
        except OSError:
            key.append([name, text, None, None])
    return key


def relative(path: Path | str, models_dir: Path | str) -> str:
    """`path` relative to the models folder, with forward slashes (as records name files)."""
    text, root = os.path.abspath(path), os.path.abspath(models_dir)
    if os.sep == "/" and text.startswith(root + "/"):
        return text[len(root) + 1 :]  # the common case, without building Path objects
    try:
        return Path(text).relative_to(root).as_posix()
    except ValueError:
        return Path(text).as_posix()


class RunFigures:
    """A run's training figures, read once for all the models of one batch that share them
    (a run's checkpoints share its artifacts): a memo that lives as long as the batch."""

    def __init__(self) -> None:
        self._known: dict[Any, tuple[dict[str, Any] | None, str | None]] = {}

    def of(
        self,
        artifacts: Mapping[str, Path | str],
        n_actions: int | None,
        stats: list[list[Any]] | None,
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(the figures as a dict, a warning) for the model's artifacts."""
        if not artifacts:
            return None, None
        key = (n_actions, repr(stats)) if stats else None
        known = self._known.get(key) if key is not None else None
        if known is None:
            warning = None
            try:
                metrics = read_training_metrics(
                    {k: Path(v) for k, v in artifacts.items()}, n_actions
                )
            except Exception as exc:  # noqa: BLE001 - a bad artifact must not lose the model
                metrics, warning = (
                    None,
                    (f"training artifacts unreadable: {type(exc).__name__}: {exc}".splitlines()[0]),
                )
            known = (None if metrics is None else metrics.to_dict(), warning)
            if key is not None:
                self._known[key] = known
        return known[0], known[1]  # rows are plain data that nothing changes


def read_record(
    path: Path | str,
    rel: str,
    models_dir: Path | str,
    max_data_bytes: int,
    max_members: int,
    st: os.stat_result | None = None,
    error: str | None = None,
    artifacts: Mapping[str, Path | str] | None = None,
    artifacts_stats: list[list[Any]] | None = None,
    *,
    hashes: bool = True,
    max_member_bytes: int | None = None,
    figures: RunFigures | None = None,
) -> tuple[ModelRecord, dict[str, Any] | None]:
    """(a record with every fact from the file and its artifacts, its run's figures as a dict).

    The verdict is left to `judge`. `artifacts` when the caller has already looked them up
    (the scan does, for its key); `hashes`: read the file whole and hash it, else only the
    members the facts come from are read and `sha256` stays None.
    """
    # Imported here: a warm listing reads no zip, so it need not load the zip readers.
    from kalshi_tui.core.sb3.model_zip import UnreadableModel, read_sb3_zip

    name, kind, run_dir = name_and_kind(rel)
    record = ModelRecord(
        path=rel, abs_path=os.path.abspath(path), name=name, kind=kind, run_dir=run_dir
    )
    if st is not None:
        record.size_bytes, record.mtime = st.st_size, st.st_mtime
    if error is not None:
        record.reasons = (error,)
        return record, None
    bound = {} if max_member_bytes is None else {"max_member_bytes": max_member_bytes}
    try:
        info = read_sb3_zip(
            path, max_data_bytes=max_data_bytes, max_members=max_members, whole=hashes, **bound
        )
        record.sha256 = (info.sha256 or sha256_file(path)) if hashes else None
    except UnreadableModel as exc:
        record.reasons = (exc.reason,)
        return record, None
    except (OSError, MemoryError, RecursionError) as exc:
        record.reasons = (f"cannot read: {getattr(exc, 'strerror', None) or type(exc).__name__}",)
        return record, None
    except Exception as exc:  # noqa: BLE001 - one damaged file must not take the listing down
        # The reader turns every damage found by fuzzing into UnreadableModel; this is the
        # net for one nobody has found yet: a reason on the badge, and the scan goes on.
        text = str(exc).splitlines()[0][:200] if str(exc) else "no message"
        record.reasons = (f"cannot read: {type(exc).__name__}: {text}",)
        return record, None
    for field_name in (
        "algorithm",
        "action_space_type",
        "n_actions",
        "obs_shape",
        "obs_dtype",
        "obs_low",
        "obs_high",
        "obs_layout",
        "obs_layout_evidence",
        "weights_n_actions",
        "weights_obs_dim",
        "versions",
        "num_timesteps",
        "hyperparameters",
        "policy_class",
        "pickle_globals",
    ):
        setattr(record, field_name, freeze(getattr(info, field_name)))
    record.trained_at = info.start_time_utc
    record.trader_findings = tuple(
        (where, why, tuple(names)) for where, why, names in info.trader_findings
    )
    if info.weights_error:
        if _unloadable_weights(info.weights_error):
            # SB3 cannot build a model without its weights, and torch refuses damaged ones
            # (a CRC mismatch, a pickle that does not parse): this file cannot trade at all.
            record.reasons = (info.weights_error,)
            return record, None
        record.warnings += (f"weights not checked: {info.weights_error}",)
    if artifacts is None:
        try:
            artifacts = find_artifacts(Path(path), Path(models_dir))
        except OSError:
            artifacts = {}
    record.artifacts = freeze({k: relative(v, models_dir) for k, v in artifacts.items()})
    metrics, warning = (figures or RunFigures()).of(artifacts, info.n_actions, artifacts_stats)
    if warning:
        record.warnings += (warning,)
    return record, metrics


def _unloadable_weights(error: str) -> bool:
    """Whether a weights error (weights.py's words) means no loader could build the model:
    no policy.pth, a damaged one (CRC mismatch, broken zip), or a pickle that does not parse.
    Any other (a legacy format, say) only leaves the shapes unchecked."""
    return (
        error.startswith("no policy.pth")
        or " is corrupt (" in error
        or error.endswith("(malformed pickle)")
    )


def read_rows(
    batch: list[Job],
    models_dir: str,
    max_data: int,
    max_members: int,
    environment: Any,
    hashes: bool = True,
) -> list[list[Any]]:
    """Read and judge files; each comes back as its record's values in field order.

    Worker-process side (and the in-process path for a few files).
    """
    figures = RunFigures()
    out = []
    for path, rel, size, mtime, artifacts, stats in batch:
        st = None if size is None else os.stat_result((0, 0, 0, 0, 0, 0, size, 0, mtime or 0, 0))
        record, metrics = read_record(
            path,
            rel,
            models_dir,
            max_data,
            max_members,
            st,
            None,
            artifacts,
            stats,
            hashes=hashes,
            max_member_bytes=environment.max_member_bytes,
            figures=figures,
        )
        judge(record, environment)
        out.append(catalog_cache.record_row(record, metrics))
    return out
