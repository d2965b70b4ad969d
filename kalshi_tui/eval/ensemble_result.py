"""What an ensemble validation found, beside each member and the current model; its storage.

Plain data read without torch. Stored like validations, in its own folder:
`<cache_dir>/ensemble/<ensemble id>.json`, the id being the sha256 of the members' sha256s
(sorted: the vote does not depend on their order) and the vote; each entry keyed by the
environment fingerprint (world, fill model), the sessions and their rows' fingerprint, the
mode and the current model's sha256 (the comparison beside it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui.core.world.session_ids import session_ranges
from kalshi_tui.eval.paired import PairedDifference
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import (
    cache_folders,
    default_session_ids,
    save_entry,
    sessions_fingerprint,
    stored_entries,
)

# How the members vote (kalshi_tui.eval.ensemble_vote runs it); here so the CLI offers the
# choices without importing numpy.
MAJORITY, MEAN_PROB = "majority", "mean-prob"
VOTES = (MAJORITY, MEAN_PROB)
TIE_RULE = {MAJORITY: "a tie for the most votes plays HOLD",
            MEAN_PROB: "an exact tie goes to the lowest action id"}

ENSEMBLE_SEED = 0  # the sampling seed when the trader samples
ENSEMBLE = "ensemble"  # the kind of stored result
ENSEMBLE_FORMAT = 1
EVIDENCE_NOTE = ("an ensemble is evidence, not a pointer target: the trader loads one zip, "
                 "so none of this can be promoted as it stands")


def ensemble_id(member_sha256s: list[str], vote: str) -> str:
    """The ensemble's identity: which models vote and how, whatever order they were named in."""
    text = json.dumps({"members": sorted(member_sha256s), "vote": vote}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def ensemble_key(config: Any, session_ids: list[int], sessions_fp: str, deterministic: bool,
                 seed: int | None, current_sha256: str | None) -> str:
    return json.dumps({"format": ENSEMBLE_FORMAT, "environment": config.environment.fingerprint(),
                       "sessions": sorted({int(s) for s in session_ids}),
                       "deterministic": bool(deterministic),
                       "seed": None if deterministic else seed, "store": sessions_fp,
                       "current": current_sha256}, sort_keys=True)


@dataclass
class EnsembleResult:
    """The ensemble's validation, each member's and the current model's, on the same markets."""

    ensemble_id: str
    vote: str
    ensemble: ValidationResult
    members: list[ValidationResult]
    best_member: int  # index into members: the highest mean P&L per market
    vs_best_member: PairedDifference  # ensemble minus best member, per market
    current: ValidationResult | None  # None when the current model could not run here
    current_note: str | None  # why not, or that it is one of the members
    vs_current: PairedDifference | None
    seconds: float
    created_at: str
    member_names: list[str] = field(default_factory=list)  # as shown: path in the models folder
    current_name: str | None = None
    format: int = ENSEMBLE_FORMAT
    note: str = EVIDENCE_NOTE
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.ensemble, dict):
            self.ensemble = ValidationResult.from_dict(self.ensemble)
        self.members = [m if isinstance(m, ValidationResult) else ValidationResult.from_dict(m)
                        for m in self.members]
        if isinstance(self.current, dict):
            self.current = ValidationResult.from_dict(self.current)
        if isinstance(self.vs_best_member, dict):
            self.vs_best_member = PairedDifference.from_dict(self.vs_best_member)
        if isinstance(self.vs_current, dict):
            self.vs_current = PairedDifference.from_dict(self.vs_current)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ensemble_id": self.ensemble_id, "vote": self.vote,
            "ensemble": self.ensemble.to_dict(), "members": [m.to_dict() for m in self.members],
            "best_member": self.best_member, "vs_best_member": self.vs_best_member.to_dict(),
            "current": self.current.to_dict() if self.current else None,
            "current_note": self.current_note,
            "vs_current": self.vs_current.to_dict() if self.vs_current else None,
            "seconds": self.seconds, "created_at": self.created_at,
            "member_names": self.member_names, "current_name": self.current_name,
            "format": self.format,
            "note": self.note, "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnsembleResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def name(self, index: int) -> str:
        if index < len(self.member_names):
            return self.member_names[index]
        return Path(self.members[index].model_path).name

    def summary_lines(self) -> list[str]:
        e = self.ensemble
        best_name = self.name(self.best_member)
        width = max([28] + [len(self.name(i)) + 18 for i in range(len(self.members))])
        mode = "deterministic" if e.deterministic else f"stochastic (seed {e.seed})"
        lines = [
            f"ensemble    {self.vote} vote of {len(self.members)} models "
            f"({TIE_RULE[self.vote]}), id {self.ensemble_id[:12]}",
            f"world       profile {e.profile}, layout {e.observation_layout}, "
            f"fill model {e.fill_model}, sessions from {e.session_source}",
            f"sessions    {session_ranges(e.session_ids)}  {mode}, "
            f"{e.episodes} markets, {e.steps:,} steps",
            "",
            f"{'':<4}{'':<{width}}P&L per market (95 % CI), fills",
            _row("ensemble", e, width),
        ]
        for index, member in enumerate(self.members):
            mark = " (best member)" if index == self.best_member else ""
            lines.append(_row(f"  {self.name(index)}{mark}", member, width))
        if self.current is not None:
            current = self.current_name or Path(self.current.model_path).name
            lines.append(_row(f"current {current}", self.current, width))
        if self.current_note:
            lines.append(f"current     {self.current_note}")
        lines += [
            "",
            f"vs best     {self.vs_best_member.figure_text()} against {best_name}: "
            f"{self.vs_best_member.verdict_text('the ensemble', best_name)}",
        ]
        if self.vs_current is not None:
            lines.append(f"vs current  {self.vs_current.figure_text()}: "
                         f"{self.vs_current.verdict_text('the ensemble', 'the current model')}")
        lines.append(f"note        {self.note}")
        return lines


def _row(name: str, result: ValidationResult, width: int) -> str:
    figures = result.fill_line() if result.never_traded else (
        f"{result.pnl_ci_text()}, {result.fills:,} fills")
    return f"    {name:<{width}}{figures}"


def save_ensemble(result: EnsembleResult, key: str, cache_dir) -> tuple[Any, str | None]:
    return save_entry(ENSEMBLE, result.ensemble_id, key, {**result.to_dict(), "key": key},
                      cache_dir)


def find_ensemble(identity: str, key: str, cache_dir) -> EnsembleResult | None:
    """The stored ensemble result for exactly this key, newest first."""
    found = []
    for entry in stored_entries(ENSEMBLE, identity, cache_dir, key):
        try:
            result = EnsembleResult.from_dict(entry)
        except (TypeError, KeyError, ValueError, AttributeError):
            continue
        if result.ensemble_id == identity and entry.get("key") == key:
            found.append(result)
    return max(found, key=lambda r: r.created_at) if found else None


def stored_ensembles(config: Any, current_sha256: str | None,
                     session_ids: list[int] | None = None,
                     deterministic: bool | None = None) -> list[EnsembleResult]:
    """Every stored ensemble result current for this config: the report's ensembles.

    `current_sha256`: the current model's (None when it cannot run), part of each key.
    Without `session_ids` the config's validation sessions; without `deterministic` the
    trader's mode. JSON only: no torch, no numpy; newest first.
    """
    files = sorted({file.stem for folder in cache_folders(config.cache_dir, ENSEMBLE)
                    if folder.is_dir() for file in folder.glob("*.json")})
    if not files:
        return []
    if session_ids is None:
        session_ids = default_session_ids(config)
        if session_ids is None:
            return []
    if deterministic is None:
        deterministic = config.trader_deterministic
    key = ensemble_key(config, session_ids, sessions_fingerprint(config.sessions_db, session_ids),
                       deterministic, ENSEMBLE_SEED, current_sha256)
    found = [result for identity in files
             if (result := find_ensemble(identity, key, config.cache_dir)) is not None]
    return sorted(found, key=lambda r: r.created_at, reverse=True)
