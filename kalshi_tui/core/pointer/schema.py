"""CURRENT_MODEL.json in the original system's schema: read any version, write one launch scripts
accept.

Reading survives the hand-written files' defects (a path base that moved, a model that was
not there yet, `Z` stamps that were local time); writing does not copy them: paths are
relative to the configured base folder, `last_updated` is true UTC, and the metadata comes
from the model's own zip and training artifacts, never from earlier prose.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.pointer import retire
from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.safe_text import PATH_CLIP_CHARS, shown

TOOL_KEY = "kalshi_tui"
# `session32_final`, `session12_ppo_20251217_095541`, `curriculum_session9_...` -> the session.
_SESSION_NAME = re.compile(r"^(?:curriculum_)?session(\d+)(?=_|\.|$)")
# A `full_path` longer than PATH_MAX cannot name a file, whatever it holds.
MAX_PATH_CHARS = PATH_CLIP_CHARS
# Blocks this tool rewrites on every change; every other top-level key is kept as it was.
MANAGED_KEYS = ("current_model", "model_metadata", "diagnostics_files", TOOL_KEY)
# Artifact names the catalog uses -> the keys the original `diagnostics_files` used.
DIAGNOSTICS_KEYS = {
    "training_summary": "training_summary",
    "training_summary.json": "training_summary",
    "diagnostics_log": "detailed_log",
    "diagnostics.log": "detailed_log",
    "detailed_log": "detailed_log",
    "diagnostics_jsonl": "structured_log",
    "diagnostics.jsonl": "structured_log",
    "structured_log": "structured_log",
    "training_results": "training_results",
    "training_results.json": "training_results",
}


def serialize(doc: dict[str, Any]) -> bytes:
    """The exact bytes published for a document; deterministic, so a journal replay matches."""
    return json_bytes(doc, indent=2) + b"\n"


def json_bytes(value: Any, **options: Any) -> bytes:
    """`value` as UTF-8 JSON; escaped to ASCII when a text holds a lone surrogate (a model's
    `data` may: json reads "\\ud800"), which UTF-8 cannot encode but JSON reads back the same."""
    try:
        return json.dumps(value, ensure_ascii=False, **options).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options).encode("ascii")


def parse_pointer_bytes(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PointerError(f"{path}: not UTF-8 text; it is not a pointer file") from None
    except json.JSONDecodeError as exc:
        raise PointerError(f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: "
                           f"{exc.msg}); nothing was changed") from None
    if not isinstance(doc, dict):
        raise PointerError(f"{path}: the top level is {type(doc).__name__}, not an object")
    current = doc.get("current_model")
    if current is not None and not isinstance(current, dict):
        raise PointerError(f"{path}: 'current_model' is {type(current).__name__}, not an object")
    return doc


def read_pointer(path: Path) -> tuple[dict[str, Any] | None, bytes | None]:
    """(document, raw bytes), or (None, None) when there is no pointer file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        raise PointerError(f"{path}: is a folder, not a pointer file") from None
    except OSError as exc:
        raise PointerError(f"{path}: cannot read the pointer: {exc.strerror}") from None
    return parse_pointer_bytes(raw, path), raw


def full_path_of(doc: dict[str, Any] | None) -> str | None:
    """What the trader's launch script exports: `current_model.full_path`, if usable."""
    if not doc:
        return None
    current = doc.get("current_model") or {}
    value = current.get("full_path")
    if isinstance(value, str) and value.strip():
        return value
    # Older hand edits set only folder + file; the launcher would refuse, we can still show it.
    folder, name = current.get("model_path"), current.get("model_file")
    if isinstance(folder, str) and isinstance(name, str) and name:
        return folder.rstrip("/") + "/" + name if folder else name
    return None


def tool_block(doc: dict[str, Any] | None) -> dict[str, Any]:
    block = (doc or {}).get(TOOL_KEY)
    return block if isinstance(block, dict) else {}


@dataclass
class Resolution:
    """Where a pointer's `full_path` leads, as the trader (cwd = base_dir) would follow it."""

    as_written: str
    path: Path  # absolute, as the trader resolves it
    exists: bool
    # A file the pointer probably meant, found by dropping leading folders (the path base
    # moved between versions of the original system); the trader would NOT find it.
    found_elsewhere: Path | None = None
    notes: list[str] = field(default_factory=list)


def unusable_path(full_path: str) -> str | None:
    """Why a pointer's `full_path` cannot name a file at all (checked before it reaches the OS)."""
    if len(full_path) > MAX_PATH_CHARS:
        return f"is {len(full_path):,} characters long (a path is at most {MAX_PATH_CHARS:,})"
    if "\0" in full_path:
        return "holds a NUL character"
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, say
        return False


def resolve_target(full_path: str, config: Config) -> Resolution:
    """Resolve `full_path` against config.base_dir, and say where a stray base points."""
    return resolve_written_path(full_path, config, _is_file, label="full_path")


def resolve_written_path(written_path: str, config: Config,
                         accept: Callable[[Path], bool], *, label: str = "path") -> Resolution:
    """The one rule for a path a pointer wrote: relative to the trader's base folder; when
    nothing `accept`able is there, the same path with leading folders dropped, under the base
    folder and then the models folder (the original system moved its path base between
    versions: repo-root-relative, later backend-relative)."""
    why = unusable_path(written_path)
    if why is not None:
        # Kept short: this value is echoed in alarms and plans, never the whole of it.
        resolution = Resolution(shown(written_path), Path(shown(written_path)), False)
        resolution.notes.append(f"{config.pointer_file.name}: {label} {why}; "
                                "the trader cannot open it")
        return resolution
    written = Path(written_path).expanduser()
    path = written if written.is_absolute() else config.base_dir / written
    path = Path(os.path.normpath(path))
    resolution = Resolution(written_path, path, _accepts(accept, path))
    if resolution.exists or written.is_absolute():
        return resolution
    parts = written.parts
    for drop in range(1, len(parts)):
        tail = Path(*parts[drop:])
        for root in (config.base_dir, config.models_dir):
            candidate = Path(os.path.normpath(root / tail))
            if _accepts(accept, candidate):
                resolution.found_elsewhere = candidate
                resolution.notes.append(
                    f"{label} '{written_path}' does not exist under the base folder "
                    f"{config.base_dir}; a {'file' if _is_file(candidate) else 'folder'} "
                    f"matches at {candidate} (the pointer's path base is wrong, and the "
                    "trader will not find the model)")
                return resolution
    return resolution


def _accepts(accept: Callable[[Path], bool], path: Path) -> bool:
    try:
        return accept(path)
    except (OSError, ValueError):  # a name too long for the file system, say
        return False


def pointer_paths(model: Path, base_dir: Path) -> tuple[str, str, str]:
    """(full_path, model_path with trailing '/', model_file) as the launch scripts expect.

    Relative to base_dir when the model is inside it (the trader runs there), absolute
    otherwise, so the pointer never depends on where kalshi-tui was started.
    """
    model = Path(os.path.abspath(model))
    base = Path(os.path.abspath(base_dir))
    try:
        relative = model.relative_to(base)
        full = relative.as_posix()
        folder = relative.parent.as_posix()
        folder = "" if folder == "." else folder + "/"
    except ValueError:
        full = model.as_posix()
        folder = model.parent.as_posix().rstrip("/") + "/"
    return full, folder, model.name


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != {} and v != []}


def action_words(record: ModelRecord, config: Config) -> tuple[str | None, list[int] | None]:
    """The action space in the pointer's words and its position sizes, via the shared layout."""
    if record.n_actions is None:
        return None, None
    layout = config.environment.layout_for(record.n_actions)
    if layout is None:
        kind = record.action_space_type or "Discrete"
        return f"{record.n_actions} actions ({kind}; no configured layout matches)", None
    return layout.describe(), list(layout.sizes)


def _distribution(record: ModelRecord, config: Config) -> dict[str, Any]:
    metrics = record.metrics
    out: dict[str, Any] = {}
    if metrics is None:
        return out
    histogram = metrics.action_histogram or {}
    counts = {int(k): int(v) for k, v in histogram.items() if str(k).lstrip("-").isdigit()}
    total = sum(counts.values())
    layout = config.environment.layout_for(record.n_actions) if record.n_actions else None
    if total > 0:
        used = sorted(a for a, c in counts.items() if c > 0)
        n = record.n_actions or (max(used) + 1 if used else 0)
        span = f"{used[0]}-{used[-1]}" if used else "none"
        out["actions_used"] = (f"{span} (all {n} actions)" if len(used) == n
                               else f"{len(used)} of {n} actions")
        parts = []
        for action_id in sorted(counts):
            label = (
                layout.label(action_id) if layout and 0 <= action_id < layout.n else str(action_id)
            )
            parts.append(f"{label}: {100.0 * counts[action_id] / total:.1f}%")
        out["distribution"] = ", ".join(parts)
    out["entropy"] = _round(metrics.entropy, 3)
    return _drop_none(out)


def _session_from_name(record: ModelRecord) -> int | None:
    """The session a file or run folder is named for (`session32_final`, `session12_ppo_...`)."""
    match = _SESSION_NAME.match(Path(record.run_dir or record.path).name)
    return int(match.group(1)) if match else None


def training_facts(record: ModelRecord) -> tuple[dict[str, Any], dict[str, str]]:
    """`training_session` from the model file first, its artifacts next, its name last; and
    where each figure came from."""
    metrics = record.metrics
    sources = dict(metrics.sources) if metrics else {}
    facts: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def offer(key: str, value: Any, source: str | None) -> None:
        if value is not None and key not in facts:
            facts[key] = value
            origin[key] = source or "training artifacts"

    sessions = metrics.session_ids if metrics else None
    offer("session_id", sessions[0] if sessions and len(sessions) == 1 else (sessions or None),
          sources.get("session_ids"))
    offer(
        "session_id",
        _session_from_name(record),
        f"the name {Path(record.run_dir or record.path).name}",
    )
    offer("algorithm", record.algorithm, "model zip")
    offer("total_timesteps", record.num_timesteps, "model zip: data num_timesteps")
    if metrics is not None:
        offer("total_timesteps", metrics.total_timesteps, sources.get("total_timesteps"))
        offer("total_episodes", metrics.episodes, sources.get("episodes"))
        offer("unique_markets", metrics.unique_markets, sources.get("unique_markets"))
        offer("training_duration_seconds", _round(metrics.training_duration_seconds, 2),
              sources.get("training_duration_seconds"))
    offer("training_start", record.trained_at, "model zip: data start_time (UTC)")
    if metrics is not None:
        offer("training_start", metrics.training_start, sources.get("training_start"))
        offer(
            "training_completion", metrics.training_completion, sources.get("training_completion")
        )
    return facts, origin


def build_metadata(record: ModelRecord, config: Config) -> dict[str, Any]:
    """`model_metadata` from the zip and the run's artifacts, never from earlier prose."""
    metrics = record.metrics
    training, origin = training_facts(record)
    model_file = _drop_none({
        "sha256": record.sha256, "size_bytes": record.size_bytes or None,
        "sb3_version": (record.versions or {}).get("sb3"),
        "start_time": record.trained_at, "num_timesteps": record.num_timesteps,
        "n_actions": record.n_actions, "observation_shape": record.obs_shape,
    })
    words, sizes = action_words(record, config)
    trading = {}
    if metrics is not None:
        hold = _round(metrics.hold_pct, 2)
        trade = _round(metrics.trading_pct, 2)
        if trade is None and hold is not None:
            trade = round(100.0 - hold, 2)
        trading = _drop_none({"hold_percentage": hold, "trading_percentage": trade,
                              "exploration_ratio": _round(metrics.exploration_ratio, 3),
                              "win_rate": _round(metrics.win_rate, 4)})
    performance = _drop_none({
        "action_space": words,
        "position_sizes": sizes,
        "trading_activity": trading,
        "action_distribution": _distribution(record, config),
    })
    return _drop_none({
        "training_session": training,
        "performance_metrics": performance,
        "hyperparameters": record.plain("hyperparameters"),
        "model_file": model_file,
        "sources": origin,
    })


def build_diagnostics(record: ModelRecord, config: Config) -> dict[str, str]:
    """`diagnostics_files`: the run's artifacts, as paths relative to the base folder."""
    out: dict[str, str] = {}
    for name, relative in sorted((record.artifacts or {}).items()):
        key = DIAGNOSTICS_KEYS.get(name, name)
        absolute = Path(relative) if Path(relative).is_absolute() else config.models_dir / relative
        out.setdefault(key, pointer_paths(absolute, config.base_dir)[0])
    return out


def describe_model(record: ModelRecord, config: Config) -> str:
    words, _ = action_words(record, config)
    parts = [record.algorithm or "unknown algorithm", words or "unknown action space"]
    if record.num_timesteps is not None:
        parts.append(f"{record.num_timesteps:,} timesteps")
    return f"{record.name}: " + ", ".join(parts)


def build_document(base_doc: dict[str, Any] | None, record: ModelRecord, config: Config, *,
                   reason: str, now: str, status: str, description: str | None,
                   tool: dict[str, Any], previous_sha256: str | None = None) -> dict[str, Any]:
    """The next pointer document: the blocks about the model rebuilt from its own facts, the
    replaced model's words moved under `previous_model`, a version_history entry put first,
    every other key kept in place (see retire.py)."""
    full, folder, name = pointer_paths(Path(record.abs_path), config.base_dir)
    description = description or describe_model(record, config)
    current = {
        "model_path": folder,
        "model_file": name,
        "full_path": full,
        "status": status,
        "description": description,
        "last_updated": now,
        "selected_reason": reason,
    }
    entry = retire.version_entry(revision=int(tool.get("revision") or 0), now=now, full_path=full,
                                 action=str(tool.get("action") or "promote"), reason=reason,
                                 description=description,
                                 target_revision=tool.get("target_revision"))
    fresh: dict[str, Any] = {
        "current_model": current,
        "model_metadata": build_metadata(record, config),
        "diagnostics_files": build_diagnostics(record, config),
        retire.HISTORY_KEY: retire.next_history(base_doc, entry),
    }
    previous = retire.previous_model(
        base_doc,
        now=now,
        revision=int(tool.get("revision") or 0),
        sha256=previous_sha256 or tool_block(base_doc).get("model_sha256"),
    )
    if previous is not None:
        fresh[retire.PREVIOUS_KEY] = previous
    fresh[TOOL_KEY] = tool
    doc: dict[str, Any] = {}
    # Keep the original key order so diffs of the pointer stay readable.
    for key, value in (base_doc or {}).items():
        if key in fresh:
            doc[key] = fresh.pop(key)
        elif key not in retire.MOVED_ONLY and key != retire.PREVIOUS_KEY:
            doc[key] = value
    doc.update(fresh)
    return doc
