"""What a pointer's metadata claims, checked against the model file it names.

The hand-written pointers copied figures from elsewhere: the last real one claims its model
was trained on 2025-12-17 for 1,003,520 steps, while the zip it names says 2025-12-11 and
970,752. The model file wins, and every figure it contradicts is named (`contradictions`).

Its `Z` times were sometimes US Eastern wall-clock time and sometimes real UTC, so a note
that a time is Eastern is given only with evidence, and names it (`zone_notes`): the
model zip's own start_time (true UTC, written by SB3) lies one Eastern offset after the
pointer's training_start, within minutes, while read as UTC they disagree. Times written
on the same clock (a training_completion one training duration later, a last_updated equal
to one of them) share the finding; any other `Z` time is left as written, unjudged.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kalshi_tui.core.artifacts.values import as_float, as_int, us_eastern_zone
from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.times import parse_time

ZIP = "the model zip"
# A trainer stamps its start a moment before SB3 stamps the zip's start_time.
SAME_MOMENT = timedelta(minutes=30)
SAME_DURATION_SECONDS = 120.0
# SB3's PPO defaults, what the pointers' "default" meant (unchanged from SB3 1.0 to 2.x).
PPO_DEFAULTS = {"learning_rate": 3e-4, "n_steps": 2048, "batch_size": 64, "ent_coef": 0.0}
# pointer hyperparameter name -> the zip's data key
HYPERPARAMETERS = {"learning_rate": "learning_rate", "n_steps": "n_steps",
                   "batch_size": "batch_size", "entropy_coefficient": "ent_coef",
                   "ent_coef": "ent_coef", "gamma": "gamma"}
_LEADING_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_ACTIONS = re.compile(r"^\s*(\d+)\s+actions?\b")


def _training(doc: dict[str, Any] | None) -> dict[str, Any]:
    meta = (doc or {}).get("model_metadata")
    block = meta.get("training_session") if isinstance(meta, dict) else None
    return block if isinstance(block, dict) else {}


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _as_eastern(written: datetime) -> datetime:
    """A time marked Z, re-read as the US Eastern wall-clock time it really was."""
    return written.replace(tzinfo=None).replace(tzinfo=us_eastern_zone()).astimezone(UTC)


def _claimed_number(value: Any, zip_key: str, algorithm: str | None) -> float | None:
    if isinstance(value, str) and value.strip().lower() == "default":
        return PPO_DEFAULTS.get(zip_key) if (algorithm or "").upper() == "PPO" else None
    if isinstance(value, str):
        match = _LEADING_NUMBER.match(value)
        return float(match.group(1)) if match else None
    return as_float(value)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1 else f"{value:g}"


def contradictions(doc: dict[str, Any] | None, record: ModelRecord) -> list[str]:
    """Every figure in the pointer's model_metadata that its model file (or the run's
    artifacts) contradicts, one line each: what the pointer says, what the file says."""
    training = _training(doc)
    where = "model_metadata.training_session"
    out: list[str] = []

    def differ(field: str, claimed: Any, actual: Any, source: str) -> None:
        out.append(f"{field}: the pointer says {claimed}, {source} says {actual}")

    steps = as_int(training.get("total_timesteps"))
    if steps is not None and record.num_timesteps is not None and steps != record.num_timesteps:
        differ(f"{where}.total_timesteps", f"{steps:,}", f"{record.num_timesteps:,}",
               f"{ZIP} (data num_timesteps)")
    claimed_start = parse_time(training.get("training_start"))
    zip_start = parse_time(record.trained_at)
    if claimed_start is not None and zip_start is not None and not (
            abs(claimed_start - zip_start) <= SAME_MOMENT
            or abs(_as_eastern(claimed_start) - zip_start) <= SAME_MOMENT):
        differ(f"{where}.training_start", f"{training['training_start']} "
               f"(trained on {claimed_start:%Y-%m-%d})", f"{_utc_text(zip_start)} "
               f"(trained on {zip_start:%Y-%m-%d})", f"{ZIP} (data start_time)")
    algorithm = training.get("algorithm")
    if (
        isinstance(algorithm, str)
        and record.algorithm
        and algorithm.upper() != record.algorithm.upper()
    ):
        differ(f"{where}.algorithm", algorithm, record.algorithm, ZIP)
    meta = (doc or {}).get("model_metadata") or {}
    performance = meta.get("performance_metrics") if isinstance(meta, dict) else None
    words = performance.get("action_space") if isinstance(performance, dict) else None
    match = _ACTIONS.match(words) if isinstance(words, str) else None
    if match and record.n_actions is not None and int(match.group(1)) != record.n_actions:
        differ("model_metadata.performance_metrics.action_space", repr(words),
               f"{record.action_space_type or 'Discrete'}({record.n_actions})", ZIP)
    hyper = meta.get("hyperparameters") if isinstance(meta, dict) else None
    for name, value in (hyper.items() if isinstance(hyper, dict) else ()):
        zip_key = HYPERPARAMETERS.get(name)
        actual = as_float((record.hyperparameters or {}).get(zip_key)) if zip_key else None
        claimed = _claimed_number(value, zip_key or "", record.algorithm) if zip_key else None
        if actual is None or claimed is None:
            continue
        if not math.isclose(claimed, actual, rel_tol=1e-6, abs_tol=1e-12):
            shown = f"{value!r}" + (" (PPO's default)" if str(value).lower() == "default" else "")
            differ(f"model_metadata.hyperparameters.{name}", shown, _number(actual),
                   f"{ZIP} (data {zip_key})")
    out += _artifact_contradictions(training, record, where)
    return out


def _artifact_contradictions(
    training: dict[str, Any], record: ModelRecord, where: str
) -> list[str]:
    metrics = record.metrics
    if metrics is None:
        return []
    out = []
    source = metrics.sources
    session = training.get("session_id")
    claimed_sessions = (
        [as_int(s) for s in session] if isinstance(session, list) else [as_int(session)]
    )
    if session is not None and metrics.session_ids and sorted(
            s for s in claimed_sessions if s is not None) != sorted(metrics.session_ids):
        out.append(f"{where}.session_id: the pointer says {session}, "
                   f"{source.get('session_ids', 'the training artifacts')} says "
                   f"{', '.join(map(str, metrics.session_ids))}")
    episodes = as_int(training.get("total_episodes"))
    if episodes is not None and metrics.episodes is not None and episodes != metrics.episodes:
        out.append(f"{where}.total_episodes: the pointer says {episodes:,}, "
                   f"{source.get('episodes', 'the training artifacts')} says {metrics.episodes:,}")
    duration = as_float(training.get("training_duration_seconds"))
    actual = metrics.training_duration_seconds
    if duration is not None and actual is not None and abs(duration - actual) > 1.0:
        out.append(f"{where}.training_duration_seconds: the pointer says {duration:g}, "
                   f"{source.get('training_duration_seconds', 'the training artifacts')} "
                   f"says {actual:g}")
    return out


def zone_notes(doc: dict[str, Any] | None, record: ModelRecord | None) -> list[str]:
    """The pointer's `Z` times shown to be US Eastern wall-clock time, each with its evidence."""
    training = _training(doc)
    written = training.get("training_start")
    claimed = parse_time(written)
    zip_start = parse_time(record.trained_at) if record is not None else None
    if claimed is None or zip_start is None or not isinstance(written, str) or "Z" not in written:
        return []
    eastern = _as_eastern(claimed)
    if abs(claimed - zip_start) <= SAME_MOMENT or abs(eastern - zip_start) > SAME_MOMENT:
        return []  # agrees as UTC, or matches neither reading: no evidence either way
    hours = (eastern - claimed).total_seconds() / 3600
    evidence = (f"the model zip's own start_time is {_utc_text(zip_start)}, {hours:g} h (the "
                f"US Eastern offset on that date) after it")
    notes = [f"model_metadata.training_session.training_start {written} is US Eastern local "
             f"time marked 'Z' (true UTC {_utc_text(eastern)}): {evidence}"]
    same_clock = [claimed]
    completion = training.get("training_completion")
    finished = parse_time(completion)
    duration = as_float(training.get("training_duration_seconds"))
    if finished is not None and duration is not None and abs(
            (finished - claimed).total_seconds() - duration) <= SAME_DURATION_SECONDS:
        same_clock.append(finished)
        notes.append(f"model_metadata.training_session.training_completion {completion} is on "
                     f"the same clock (training_start + training_duration_seconds): US Eastern, "
                     f"true UTC {_utc_text(_as_eastern(finished))}")
    current = (doc or {}).get("current_model")
    updated = current.get("last_updated") if isinstance(current, dict) else None
    updated_at = parse_time(updated)
    if updated_at is not None and any(
            abs((updated_at - moment).total_seconds()) < 1 for moment in same_clock):
        notes.append(f"current_model.last_updated {updated} equals a time shown above to be US "
                     f"Eastern: true UTC {_utc_text(_as_eastern(updated_at))}")
    return notes


def pointer_findings(config: Config, record: ModelRecord) -> tuple[list[str], list[str]]:
    """(contradictions, zone notes) of the pointer's metadata, when the pointer names `record`."""
    from kalshi_tui.core.pointer.schema import full_path_of, resolve_target
    from kalshi_tui.core.pointer.state import read_state

    try:
        doc = read_state(Path(config.pointer_file)).effective_doc
    except Exception:  # noqa: BLE001 - a bad pointer is status's to report, not show's
        return [], []
    full = full_path_of(doc)
    if full is None:
        return [], []
    target = resolve_target(full, config)
    where = target.path if target.exists else target.found_elsewhere
    try:
        if where is None or not where.samefile(record.abs_path):
            return [], []
    except OSError:
        return [], []
    return contradictions(doc, record), zone_notes(doc, record)
