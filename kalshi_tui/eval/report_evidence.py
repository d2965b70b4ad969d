"""The report's evidence from the evaluation layer: stored results, and health checks.

`StoredEvidence(config)` is the `EvidenceSource` the faces hand to
`core.report.build.generate_report`: it reads stored validations, health results and
fill-model notes (JSON reads, no torch) and, when the report asks, runs the health check
of a model it is about to recommend (torch, a few seconds), saying so on a progress line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kalshi_tui.core.catalog.record import COMPATIBLE, ModelRecord
from kalshi_tui.core.config import Config
from kalshi_tui.core.report.evidence import (
    HealthCheckFailed,
    HealthCheckUnavailable,
    ReportEvidence,
)


class StoredEvidence:
    """Stored results of a config's models; `progress` hears one line per health check."""

    def __init__(self, config: Config, progress: Callable[[str], None] | None = None):
        self.config = config
        self.progress = progress

    def stored(self, records: list[ModelRecord]) -> ReportEvidence:
        validations = stored_validations(records, self.config)
        return ReportEvidence(validations=validations,
                              healths=stored_healths(records, self.config),
                              fill_model_notes=fill_model_disagreements(validations, self.config))

    def check_health(self, record: ModelRecord) -> Any:
        from kalshi_tui.eval.batched import ModelChanged, ValidationError
        from kalshi_tui.eval.health import check_health
        from kalshi_tui.eval.model_fit import IncompatibleModel
        from kalshi_tui.eval.results_cache import default_session_ids
        from kalshi_tui.eval.safe_load import PolicyLoadError

        sessions = default_session_ids(self.config)
        if not sessions:
            raise HealthCheckUnavailable(f"{self.config.sessions_db}: validation sessions "
                                         f"{self.config.validation_sessions} cannot be read")
        if self.progress is not None:
            self.progress(f"checking the health of {record.path} in the trader's mode "
                          f"(sessions {self.config.validation_sessions}) ...")
        try:
            return check_health(Path(record.abs_path), self.config, sessions)
        except (PolicyLoadError, IncompatibleModel, ModelChanged) as exc:
            raise HealthCheckFailed(str(exc)) from None
        except ValidationError as exc:
            raise HealthCheckUnavailable(str(exc)) from None


def stored_healths(records: list[ModelRecord], config: Config) -> dict[str, Any]:
    """Current stored health results of compatible records, by path (JSON reads, no torch)."""
    from kalshi_tui.eval.health_store import load_health

    found: dict[str, Any] = {}
    for record in records:
        if record.verdict == COMPATIBLE and record.sha256:
            health = load_health(record.sha256, config)
            if health is not None:
                found[record.path] = health
    return found


def fill_model_disagreements(validations: dict[str, Any], config: Config) -> dict[str, str]:
    """By path, the line saying a model's two fill models disagree sharply (both stored)."""
    from kalshi_tui.eval.results_cache import fill_model_disagreement_line

    found = {}
    for path, result in validations.items():
        line = fill_model_disagreement_line(config, result)
        if line:
            found[path] = line
    return found


def stored_validations(records: list[ModelRecord], config: Config) -> dict[str, Any]:
    """Current stored validation results of compatible records, by path (JSON reads, no torch).

    The same lookup as `load_validation`, with the key computed once and the cache folders
    listed once, so a folder of 1,000 models with a few validated costs a few file reads.
    """
    from kalshi_tui.eval.results_cache import (
        cache_folders,
        current_key,
        default_session_ids,
        find_validation,
    )

    stored: set[str] = set()
    for folder in cache_folders(config.cache_dir):
        try:
            stored.update(name[:-5] for name in os.listdir(folder) if name.endswith(".json"))
        except OSError:
            continue  # no results stored there
    if not any(r.sha256 in stored for r in records if r.verdict == COMPATIBLE and r.sha256):
        # Nothing validated: skip the session store (its import costs more than the report).
        return {}
    sessions = default_session_ids(config)
    if sessions is None:
        return {}
    key = current_key(config, sessions, config.validation_deterministic, 0)
    found: dict[str, Any] = {}
    for record in records:
        if record.verdict != COMPATIBLE or not record.sha256 or record.sha256 not in stored:
            continue
        try:
            result = find_validation(record.sha256, config.cache_dir, key)
        except (OSError, ValueError):
            result = None
        if result is not None:
            found[record.path] = result
    return found
