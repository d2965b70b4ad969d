"""The stored evidence of a set of models: their current validation and health results.

What the report, the ranking and both faces show as "validated": JSON reads and a stat, no
torch. It lives here, beside the stores it reads, and the core's report receives it as
`stored_evidence` (the core never imports eval: the session fingerprint a key needs comes
from the env's session store, a layer above the core).
"""

from __future__ import annotations

from typing import Any

from kalshi_tui.core.catalog import COMPATIBLE, ModelRecord
from kalshi_tui.core.config import Config
from kalshi_tui.core.report import StoredEvidence
from kalshi_tui.eval.health_result import HealthResult
from kalshi_tui.eval.health_store import load_health
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import (
    VALIDATION,
    cache_folders,
    current_key,
    default_session_ids,
    fill_model_disagreement_line,
    find_validation,
    stored_names,
)


def stored_evidence(records: list[ModelRecord], config: Config) -> StoredEvidence:
    """Everything stored about these records that is current for this config."""
    validations = stored_validations(records, config)
    return StoredEvidence(validations=validations, healths=stored_healths(records, config),
                          fill_model_notes=fill_model_disagreements(validations, config))


def stored_validations(records: list[ModelRecord], config: Config) -> dict[str, ValidationResult]:
    """Current stored validation results of compatible records, by path (JSON reads, no torch).

    The same lookup as `load_validation`, with the key computed once and the cache folders
    listed once, so a folder of 1,000 models with a few validated costs a few file reads.
    """
    stored = stored_names(VALIDATION, config.cache_dir)
    if not any(r.sha256 in stored for r in records if r.verdict == COMPATIBLE and r.sha256):
        # Nothing validated: skip the session store (its import costs more than the report).
        return {}
    sessions = default_session_ids(config)
    if sessions is None:
        return {}
    key = current_key(config, sessions, config.validation_deterministic, 0)
    found: dict[str, ValidationResult] = {}
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


def any_health_stored(config: Config) -> bool:
    """Whether any health result is stored for this config's cache (a stat or two, no reads):
    a listing hashes its models for the health column only then."""
    from kalshi_tui.eval.results_cache import HEALTH

    return any(folder.is_dir() and any(folder.glob("*.json"))
               for folder in cache_folders(config.cache_dir, HEALTH))


def stored_healths(records: list[ModelRecord], config: Config) -> dict[str, HealthResult]:
    """Current stored health results of compatible records, by path (JSON reads, no torch)."""
    found: dict[str, HealthResult] = {}
    for record in records:
        if record.verdict == COMPATIBLE and record.sha256:
            health = load_health(record.sha256, config)
            if health is not None:
                found[record.path] = health
    return found


def fill_model_disagreements(validations: dict[str, Any], config: Config) -> dict[str, str]:
    """By path, the line saying a model's two fill models disagree sharply (both stored)."""
    found = {}
    for path, result in validations.items():
        line = fill_model_disagreement_line(config, result)
        if line:
            found[path] = line
    return found
