"""The evidence a report stands on, and the rule for what it must check before recommending.

The core never runs a model and never imports the evaluation layer: a face (the CLI, the
TUI) passes an `EvidenceSource` that reads stored results and, when asked, checks a
model's health. `gather_evidence` is the one rule for which models need a health check: a
recommendation may not stand on training summaries alone, so the primary and the
alternative are checked until both are known (a collapsed one drops out and the next is
checked), within a budget of checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kalshi_tui.core.catalog.record import ModelRecord
from kalshi_tui.core.evidence.ranking import RankedModel, rank_models

HEALTH_CHECK_BUDGET = 6  # health checks one report may run (~4 s each on the demo)


class HealthCheckFailed(Exception):
    """A model could not be run safely for its health check; the message says why."""


class HealthCheckUnavailable(Exception):
    """No health check can run here (no session store, no sessions): not the model's fault."""


@dataclass
class ReportEvidence:
    """What is known about the models beside their files, each keyed by record path."""

    validations: dict[str, Any] = field(default_factory=dict)  # ValidationResult
    healths: dict[str, Any] = field(default_factory=dict)  # HealthResult
    unrunnable: dict[str, str] = field(default_factory=dict)  # why running it failed
    fill_model_notes: dict[str, str] = field(default_factory=dict)  # the two fill models disagree
    ab_lines: dict[str, str] = field(default_factory=dict)  # stored A/B against the current model
    health_checked_now: list[str] = field(default_factory=list)  # checked for this report
    budget_note: str | None = None  # why candidates were left unchecked
    ab_supported: bool = False  # whether this tool can run an A/B (`kalshi-tui abtest`)


class EvidenceSource(Protocol):
    """Stored results for records, and the health check a face may run (torch, seconds)."""

    def stored(self, records: list[ModelRecord]) -> ReportEvidence:
        """Current stored validations, healths, fill-model notes and A/B lines by path."""
        ...

    def check_health(self, record: ModelRecord) -> Any:
        """Run the health check now: HealthCheckFailed when the model cannot run safely,
        HealthCheckUnavailable when nothing could be checked here."""
        ...


RankFunction = Callable[[ReportEvidence], list[RankedModel]]


def ranker(records: list[ModelRecord], weights: dict[str, float] | None,
           now: datetime) -> RankFunction:
    """The ranking of `records` under some evidence, weights and time fixed."""
    def rank(evidence: ReportEvidence) -> list[RankedModel]:
        return rank_models(records, validations=evidence.validations, weights=weights, now=now,
                           healths=evidence.healths, unrunnable=evidence.unrunnable)
    return rank


def _unchecked_choices(ranked: list[RankedModel], evidence: ReportEvidence,
                       by_path: dict[str, ModelRecord]) -> list[RankedModel]:
    """The primary and the alternative (another run) whose health nobody has checked."""
    candidates = [r for r in ranked if r.candidate]
    chosen = candidates[:1]
    if candidates:
        first = by_path[candidates[0].path]
        other = next((r for r in candidates[1:] if not same_run(by_path[r.path], first)), None)
        if other is not None:
            chosen.append(other)
    return [r for r in chosen if r.path not in evidence.healths]


def gather_evidence(records: list[ModelRecord], source: EvidenceSource, rank: RankFunction, *,
                    check: bool = True, budget: int = HEALTH_CHECK_BUDGET
                    ) -> tuple[ReportEvidence, list[RankedModel]]:
    """Stored evidence, then health checks of the choices until both are known; the ranking."""
    evidence = source.stored(records)
    by_path = {r.path: r for r in records}
    ranked = rank(evidence)
    while check:
        pending = _unchecked_choices(ranked, evidence, by_path)
        if not pending:
            break
        if len(evidence.health_checked_now) >= budget:
            evidence.budget_note = (
                f"health not checked for {', '.join(r.path for r in pending)}: this report ran "
                f"its {budget} health checks (kalshi-tui health MODEL checks one)")
            break
        record = by_path[pending[0].path]
        try:
            evidence.healths[record.path] = source.check_health(record)
        except HealthCheckFailed as exc:
            evidence.unrunnable[record.path] = str(exc)
        except HealthCheckUnavailable as exc:
            evidence.budget_note = f"no health check could run: {exc}"
            break
        evidence.health_checked_now.append(record.path)
        ranked = rank(evidence)
    return evidence, ranked


def same_run(a: ModelRecord, b: ModelRecord) -> bool:
    """The same bytes, or two files of one run folder (its model and its checkpoints)."""
    if a.path == b.path or (a.sha256 is not None and a.sha256 == b.sha256):
        return True
    return a.run_dir is not None and a.run_dir == b.run_dir
