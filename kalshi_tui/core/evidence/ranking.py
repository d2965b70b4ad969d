"""Rank compatible models for promotion, following the evidence, with the reasons.

Hard rules come before any weight. Never ranked, never recommended, listed with the reason:
an incompatible, unreadable or UNSAFE model; a compatible model whose policy health is
COLLAPSED (it sends one order forever in the trader's mode), whose validation filled no
order, or which could not be run safely when its health was checked.

The rest are scored: each criterion turns one piece of evidence into a component (0..1, or
-1..0 for a penalty); the score is the weighted sum. The trader's mode on recorded sessions
(a validation, a health check) replaces what the training summary says for the same
criterion, so a stored validation earns nothing by existing and a worse one lowers the
score. Byte-identical files (a flat final and its run's model.zip) are one candidate with
one score: the copies carry the candidate's rank and say whose copy they are. Ties are
broken by the name "final" (the only weight the name has), then by path, and said plainly.

Weight keys, `[ranking] weights = {...}` in the config (default in brackets):
- `win_rate` [3.0]: the validation's win rate over the episodes that traded; without one,
  the training win rate.
- `validated_pnl` [2.0]: validation mean P&L per market, tanh(mean / 1 $), so -1..1.
- `validated_drawdown` [1.0]: penalty, worst validation drawdown as a share of the 100 $ start.
- `health` [2.0]: penalty for a NARROW policy in the trader's mode (few distinct actions).
- `activity` [1.0]: tries to trade: 0 when all-HOLD (under 1 % of decisions) or degenerate
  (one action over 80 %), else non-HOLD % / 20, capped at 1.
- `balance` [1.0]: normalised entropy of the action histogram (1 = every action equally).
- `diversity` [1.0]: unique markets in training, log-scaled against the most of any candidate.
- `recency` [1.0]: 0.5 ** (days older than the newest candidate / 30), from start_time.
- `checkpoint` [0.5]: penalty for a mid-run checkpoint rather than the run's model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from kalshi_tui.core.evidence.ranking_score import (
    Fact,
    has_training_figures,
    markets_of,
    score_facts,
)
from kalshi_tui.core.model_record import COMPATIBLE, ModelRecord
from kalshi_tui.core.times import parse_time
from kalshi_tui.core.world.session_ids import session_ranges

DEFAULT_WEIGHTS: dict[str, float] = {
    "win_rate": 3.0,
    "validated_pnl": 2.0,
    "validated_drawdown": 1.0,
    "health": 2.0,
    "activity": 1.0,
    "balance": 1.0,
    "diversity": 1.0,
    "recency": 1.0,
    "checkpoint": 0.5,
}
# Keys earlier versions knew, and why they are gone: a config naming one gets this line.
REMOVED_WEIGHTS: dict[str, str] = {
    "validated": "a stored validation is not a bonus in itself; its figures replace the "
                 "training figures",
    "validated_win_rate": "the win rate is one criterion, 'win_rate', whatever its source",
    "training_win_rate": "the win rate is one criterion, 'win_rate', whatever its source",
    "final_name": 'the name "final" only breaks ties',
}
TIE_DIGITS = 9  # scores equal to this many decimals are a tie
COLLAPSED = "COLLAPSED"

EVIDENCE_VALIDATED = "validated"
EVIDENCE_HEALTH = "health checked"
EVIDENCE_TRAINING = "training figures"
EVIDENCE_FILE = "model file only"
EVIDENCE_NONE = "not eligible"

NOT_VALIDATED_TRAINING = "not validated: the performance figures are the training summary's"
NOT_VALIDATED_FILE = ("not validated and no training figures: recommendation rests on the "
                      "model file alone")


class RankingError(ValueError):
    """Bad ranking weights, phrased as one line naming the key."""


@dataclass
class RankedModel:
    """One model's place in the ranking: rank (None when not eligible), score and why."""

    path: str
    name: str
    rank: int | None
    score: float | None
    evidence: str
    reasons: list[str] = field(default_factory=list)
    # criterion -> weighted contribution to the score
    components: dict[str, float] = field(default_factory=dict)
    tied_with: list[str] = field(default_factory=list)
    # each scoring fact: criterion, weighted points, text (prose) and source (file, run)
    facts: list[dict[str, Any]] = field(default_factory=list)
    copy_of: str | None = None  # the candidate this byte-identical file is one with
    copies: list[str] = field(default_factory=list)  # identical files of this candidate

    @property
    def eligible(self) -> bool:
        return self.rank is not None

    @property
    def candidate(self) -> bool:
        """Eligible and not a copy of another eligible file: one per distinct model."""
        return self.rank is not None and self.copy_of is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["eligible"] = self.eligible
        return data


def effective_weights(weights: Mapping[str, Any] | None,
                      where: str = "ranking weights") -> dict[str, float]:
    """Defaults overlaid with the config's weights; an unknown or non-finite weight is refused."""
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key in REMOVED_WEIGHTS:
            raise RankingError(f"{where}: ranking weight '{key}' is gone: {REMOVED_WEIGHTS[key]}")
        if key not in DEFAULT_WEIGHTS:
            raise RankingError(f"{where}: unknown ranking weight '{key}' "
                               f"(known: {', '.join(DEFAULT_WEIGHTS)})")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RankingError(f"{where}: ranking weight '{key}' must be a number, "
                               f"not {value!r}") from None
        if not math.isfinite(number):
            raise RankingError(f"{where}: ranking weight '{key}' must be finite, not {value!r}")
        merged[key] = number
    return merged


def never_recommended(validation: Any, health: Any, unrunnable: str | None = None) -> str | None:
    """The hard rule before any weight: why evidence bars a compatible model, or None."""
    if unrunnable:
        return f"never recommended: cannot be run safely: {unrunnable}"
    if health is not None and getattr(health, "state", None) == COLLAPSED:
        return f"never recommended: {health.state_line}"
    if validation is not None and getattr(validation, "fills", None) == 0:
        line = validation.fill_line() if hasattr(validation, "fill_line") else "0 fills"
        return (f"never recommended: validation on sessions "
                f"{session_ranges(validation.session_ids)}: {line}")
    return None


def _is_final(record: ModelRecord) -> bool:
    return "final" in record.name.lower() or "final" in record.path.rsplit("/", 1)[-1].lower()


def _groups(records: list[ModelRecord]) -> list[list[ModelRecord]]:
    """Compatible records, byte-identical ones together; the group's first speaks for it.

    The speaker is the file with the run's training figures, then a run's model.zip rather
    than its flat copy, then not a checkpoint, then by path.
    """
    by_sha: dict[str, list[ModelRecord]] = {}
    groups: list[list[ModelRecord]] = []
    for record in sorted((r for r in records if r.verdict == COMPATIBLE), key=lambda r: r.path):
        if record.sha256 is None:
            groups.append([record])
            continue
        if record.sha256 not in by_sha:
            by_sha[record.sha256] = []
            groups.append(by_sha[record.sha256])
        by_sha[record.sha256].append(record)
    for group in groups:
        group.sort(key=lambda r: (not has_training_figures(r), r.kind != "run",
                                  r.kind == "checkpoint", r.path))
    return groups


def _first(group: list[ModelRecord], found: Mapping[str, Any]) -> Any:
    """The group's evidence: what any of its files has (they are the same bytes)."""
    return next((found[r.path] for r in group if found.get(r.path) is not None), None)


def rank_models(records: list[ModelRecord], *, validations: Mapping[str, Any] | None = None,
                weights: Mapping[str, Any] | None = None, now: datetime,
                healths: Mapping[str, Any] | None = None,
                unrunnable: Mapping[str, str] | None = None) -> list[RankedModel]:
    """Every record: candidates best first with their copies, then the barred, then the rest.

    `validations` maps record path -> current `ValidationResult`, `healths` path -> current
    `HealthResult`, `unrunnable` path -> why running it safely failed; `now` is injected so
    recency, and so the order, is reproducible.
    """
    w = effective_weights(weights)
    validations, healths, unrunnable = validations or {}, healths or {}, unrunnable or {}
    scored: list[tuple[RankedModel, list[ModelRecord]]] = []
    barred: list[tuple[str, list[ModelRecord]]] = []
    groups = _groups(records)
    open_groups = []
    for group in groups:
        why = never_recommended(_first(group, validations), _first(group, healths),
                                _first(group, unrunnable))
        if why:
            barred.append((why, group))
        else:
            open_groups.append(group)
    most_markets = max((markets_of(g[0]) or 0 for g in open_groups), default=0)
    times = [t for t in (parse_time(g[0].trained_at) for g in open_groups) if t is not None]
    newest = max(times) if times else None
    for group in open_groups:
        lead = group[0]
        validation, health = _first(group, validations), _first(group, healths)
        facts = score_facts(lead, validation, health, most_markets, newest, now)
        scored.append((_ranked(lead, validation, health, facts, w), group))
    scored.sort(key=lambda item: (-round(item[0].score or 0.0, TIE_DIGITS),
                                  not any(_is_final(r) for r in item[1]), item[0].path))
    _note_ties([ranked for ranked, _ in scored], {ranked.path: group for ranked, group in scored})
    out: list[RankedModel] = []
    for position, (ranked, group) in enumerate(scored, start=1):
        ranked.rank = position
        out.append(ranked)
        out.extend(_copies(ranked, group))
    for why, group in sorted(barred, key=lambda item: item[1][0].path):
        barred_lead = RankedModel(group[0].path, group[0].name, None, None, EVIDENCE_NONE, [why])
        out.append(barred_lead)
        out.extend(_copies(barred_lead, group))
    for record in sorted((r for r in records if r.verdict != COMPATIBLE), key=lambda r: r.path):
        why = "; ".join(record.reasons) or "no reason recorded"
        out.append(RankedModel(record.path, record.name, None, None, EVIDENCE_NONE,
                               [f"never recommended: {record.verdict} ({why})"]))
    return out


def _copies(lead: RankedModel, group: list[ModelRecord]) -> list[RankedModel]:
    """The other files of a group: the lead's rank, score and reasons, and whose copy they are."""
    out = []
    for record in group[1:]:
        lead.copies.append(record.path)
        note = f"identical copy of {lead.path} (same sha256): one candidate, the same evidence"
        out.append(RankedModel(record.path, record.name, lead.rank, lead.score, lead.evidence,
                               [note] + list(lead.reasons), dict(lead.components),
                               list(lead.tied_with), [dict(f) for f in lead.facts],
                               copy_of=lead.path))
    return out


def _ranked(record: ModelRecord, validation: Any, health: Any, facts: list[Fact],
            w: dict[str, float]) -> RankedModel:
    components: dict[str, float] = {}
    for fact in facts:
        components[fact.criterion] = round(components.get(fact.criterion, 0.0)
                                           + w[fact.criterion] * fact.value, 6)
    if validation is not None:
        evidence = EVIDENCE_VALIDATED
    elif health is not None:
        evidence = EVIDENCE_HEALTH
    else:
        evidence = EVIDENCE_TRAINING if has_training_figures(record) else EVIDENCE_FILE
    ranked = RankedModel(record.path, record.name, None, round(sum(components.values()), 6),
                         evidence, components=components)
    if validation is None:
        ranked.reasons.append(NOT_VALIDATED_TRAINING if has_training_figures(record)
                              else NOT_VALIDATED_FILE)
    if health is None:
        ranked.reasons.append("policy health not checked: how it acts in the trader's mode "
                              "is unknown (kalshi-tui health)")
    if record.metrics is not None and record.metrics.episodes == 0:
        ranked.reasons.append("training artifacts record no finished episode: their figures "
                              "are not evidence")
    # Strongest contributions first: that is the order an operator argues in.
    for fact in sorted(facts, key=lambda f: -w[f.criterion] * f.value):
        if w[fact.criterion] == 0:
            continue
        points = round(w[fact.criterion] * fact.value, 6)
        ranked.facts.append({"criterion": fact.criterion, "points": points, "text": fact.text,
                             "source": fact.source})
        ranked.reasons.append(fact.text if fact.source == "-" else f"{fact.text} ({fact.source})")
    return ranked


def _note_ties(scored: list[RankedModel], groups: dict[str, list[ModelRecord]]) -> None:
    by_score: dict[float, list[RankedModel]] = {}
    for ranked in scored:
        by_score.setdefault(round(ranked.score or 0.0, TIE_DIGITS), []).append(ranked)
    for tied in by_score.values():
        if len(tied) < 2:
            continue
        finals = [r.path for r in tied if any(_is_final(g) for g in groups[r.path])]
        order = ('the one named "final" first, then by path' if finals else "by path")
        for ranked in tied:
            ranked.tied_with = [other.path for other in tied if other is not ranked]
            ranked.reasons.insert(0, f"tied on score {ranked.score:.3f} with "
                                     f"{', '.join(ranked.tied_with)}: ordered {order}")


def rank_for_config(records: list[ModelRecord], config: Any, *,
                    validations: Mapping[str, Any] | None = None, now: datetime | None = None,
                    healths: Mapping[str, Any] | None = None) -> list[RankedModel]:
    """`rank_models` with the config's weights; a bad weight's error names the config file.

    What the TUI's ranking column calls (from a worker, with the stored evidence it has).
    """
    where = f"{config.file}: [ranking] weights" if config.file else "[ranking] weights"
    weights = effective_weights(config.ranking_weights, where=where)
    return rank_models(records, validations=validations, weights=weights, healths=healths,
                       now=now or datetime.now(UTC))


def ranking_by_path(ranked: list[RankedModel]) -> dict[str, RankedModel]:
    """Lookup for a models table: record path -> its rank, score and reasons."""
    return {r.path: r for r in ranked}
