"""The evidence a report stands on, and the rule for what it must check before recommending.

The core never runs a model and never imports the evaluation layer: a face passes an
`EvidenceReader` (`kalshi_tui.eval.stored_evidence`: stored validations, health results and
fill-model notes) and, when it may run models, a `HealthCheck` (`kalshi_tui.eval
.health_checker`). `gather_evidence` is the one rule for which models need a health check:
a recommendation may not stand on training summaries alone, so the primary and the
alternative are checked until both are known (a collapsed one drops out and the next is
checked), within a budget of checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from kalshi_tui.core.config import Config
from kalshi_tui.core.evidence.ranking import RankedModel, rank_models
from kalshi_tui.core.model_record import ModelRecord

HEALTH_CHECK_BUDGET = 6  # health checks one report may run (~4 s each on the demo)


class HealthCheckFailed(Exception):
    """A model could not be run safely for its health check; the message says why."""


class HealthCheckUnavailable(Exception):
    """No health check can run here (no session store, no sessions): not the model's fault."""


@dataclass
class StoredEvidence:
    """What is known about the models beside their files, each keyed by record path.

    Read by the eval layer (`kalshi_tui.eval.stored_evidence`), which owns the stores and
    their keys; `gather_evidence` adds what it checks for the report.
    """

    validations: dict[str, Any] = field(default_factory=dict)  # ValidationResult
    healths: dict[str, Any] = field(default_factory=dict)  # HealthResult
    fill_model_notes: dict[str, str] = field(default_factory=dict)  # the two fill models disagree
    unrunnable: dict[str, str] = field(default_factory=dict)  # why running it safely failed
    # The A/B against the current model, one line each (a face's `ABLookup` fills it for
    # the primary and the alternative), and its source
    ab_lines: dict[str, str] = field(default_factory=dict)
    ab_sources: dict[str, str] = field(default_factory=dict)
    ab_runnable: dict[str, bool] = field(default_factory=dict)  # `kalshi-tui abtest` could run
    health_checked_now: list[str] = field(default_factory=list)  # checked for this report
    unchecked_note: str | None = None  # why some choices were left unchecked


EvidenceReader = Callable[[list[ModelRecord], Config], StoredEvidence]
# Runs the health check of one model now (torch, seconds); raises HealthCheckFailed when the
# model cannot run safely, HealthCheckUnavailable when nothing can be checked here.
HealthCheck = Callable[[ModelRecord], Any]
RankFunction = Callable[[StoredEvidence], list[RankedModel]]


class ABFinding(NamedTuple):
    """What is known of a candidate against the current model, from the stored A/B tests."""

    line: str  # "vs current: +1.20 $/market, 95 % CI [...]", or why there is none
    source: str  # the stored A/B test it came from, "-" when none
    can_run: bool  # an A/B could run now (the current model runs here, none is stored)


ABLookup = Callable[[ModelRecord], ABFinding]


def add_ab_findings(evidence: StoredEvidence, chosen: list[ModelRecord],
                    lookup: ABLookup | None) -> None:
    """The A/B against the current model of each chosen model (reads only, runs nothing)."""
    if lookup is None:
        return
    for record in chosen:
        finding = lookup(record)
        evidence.ab_lines[record.path] = finding.line
        evidence.ab_sources[record.path] = finding.source
        evidence.ab_runnable[record.path] = finding.can_run


def ranker(records: list[ModelRecord], weights: dict[str, float] | None,
           now: datetime) -> RankFunction:
    """The ranking of `records` under some evidence, weights and time fixed."""
    def rank(evidence: StoredEvidence) -> list[RankedModel]:
        return rank_models(records, validations=evidence.validations, weights=weights, now=now,
                           healths=evidence.healths, unrunnable=evidence.unrunnable)
    return rank


def same_run(a: ModelRecord, b: ModelRecord) -> bool:
    """The same bytes, or two files of one run folder (its model and its checkpoints)."""
    if a.path == b.path or (a.sha256 is not None and a.sha256 == b.sha256):
        return True
    return a.run_dir is not None and a.run_dir == b.run_dir


def choices(ranked: list[RankedModel], by_path: dict[str, ModelRecord]
            ) -> tuple[RankedModel | None, RankedModel | None]:
    """The primary, and the alternative: the best candidate of another training run."""
    candidates = [r for r in ranked if r.candidate]
    if not candidates:
        return None, None
    first = by_path[candidates[0].path]
    other = next((r for r in candidates[1:] if not same_run(by_path[r.path], first)), None)
    return candidates[0], other


def gather_evidence(records: list[ModelRecord], evidence: StoredEvidence, rank: RankFunction,
                    check_health: HealthCheck | None, *, budget: int = HEALTH_CHECK_BUDGET
                    ) -> list[RankedModel]:
    """Health-check the choices until both are known, adding to `evidence`; the ranking."""
    by_path = {r.path: r for r in records}
    ranked = rank(evidence)
    while check_health is not None:
        pending = [r for r in choices(ranked, by_path)
                   if r is not None and r.path not in evidence.healths]
        if not pending:
            break
        if len(evidence.health_checked_now) >= budget:
            evidence.unchecked_note = (
                f"health not checked for {', '.join(r.path for r in pending)}: this report ran "
                f"its {budget} health checks (kalshi-tui health MODEL checks one)")
            break
        record = by_path[pending[0].path]
        # A result is the bytes': every identical file (a flat final, the pointer's file) has it.
        same = [r.path for r in records if r.path == record.path
                or (record.sha256 is not None and r.sha256 == record.sha256)]
        try:
            result = check_health(record)
            evidence.healths.update(dict.fromkeys(same, result))
        except HealthCheckFailed as exc:
            evidence.unrunnable.update(dict.fromkeys(same, str(exc)))
        except HealthCheckUnavailable as exc:
            evidence.unchecked_note = f"no health check could run: {exc}"
            break
        evidence.health_checked_now.append(record.path)
        ranked = rank(evidence)
    return ranked
