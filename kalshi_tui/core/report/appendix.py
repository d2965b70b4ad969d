"""The report's appendix as data: the environment, every model grouped under its run
(checkpoints and identical copies with it), what was refused and why, and each candidate's
scoring facts with their sources.
"""

from __future__ import annotations

from typing import Any

from kalshi_tui.core.config import EnvironmentSpec
from kalshi_tui.core.evidence.ranking import RankedModel
from kalshi_tui.core.evidence.ranking_score import health_source
from kalshi_tui.core.figures import (
    action_space_text,
    fmt_int,
    fmt_pct,
    metric_source,
    validation_source,
)
from kalshi_tui.core.model_record import COMPATIBLE, ModelRecord
from kalshi_tui.core.report.evidence import StoredEvidence
from kalshi_tui.core.sb3.layout_evidence import layout_words

FLAT = "(flat files in the models folder)"
DETAIL_LIMIT = 10  # candidates whose scoring is spelled out


def environment(env: EnvironmentSpec, config_file: str | None) -> dict[str, Any]:
    def actions(layout: Any) -> list[dict[str, Any]]:
        return [{"id": a, "label": layout.label(a), "side": layout.decode(a).side,
                 "size": layout.decode(a).size} for a in range(layout.n)]

    return {
        "source": config_file or "built-in defaults (no config file)",
        **env.world(),  # the world every model is judged in and every figure measured in
        "profile_summary": env.profile.summary,
        "action_space": f"Discrete({env.n_actions})",
        "n_actions": env.n_actions,
        "base_actions": list(env.base_actions),
        "position_sizes": list(env.position_sizes),
        "actions": actions(env.layout),
        "legacy": {"action_space": f"Discrete({env.legacy_n_actions})",
                   "position_sizes": list(env.legacy_position_sizes)},
        "observation": {"shape": list(env.observation_shape), "dtype": env.observation_dtype,
                        "low": env.observation_low, "high": env.observation_high},
    }


def basics(record: ModelRecord) -> dict[str, Any]:
    m = record.metrics
    return {
        "path": record.path, "abs_path": record.abs_path, "name": record.name,
        "size_bytes": record.size_bytes, "trained_at": record.trained_at,
        "algorithm": record.algorithm, "action_space": action_space_text(record),
        "n_actions": record.n_actions, "obs_layout": record.obs_layout,
        "obs_layout_evidence": layout_words(record),
        "sessions": m.session_ids if m else None, "timesteps": record.num_timesteps,
        "episodes": m.episodes if m else None, "markets": m.unique_markets if m else None,
        "sha256": record.sha256, "kind": record.kind, "run_dir": record.run_dir,
    }


def _figure(text: str, source: str) -> dict[str, str]:
    return {"text": text, "source": source}


def model_entry(record: ModelRecord, ranked: RankedModel | None,
                evidence: StoredEvidence) -> dict[str, Any]:
    """One model's line in the appendix: its role, standing and the figures behind it."""
    figures: list[dict[str, str]] = []
    health = evidence.healths.get(record.path)
    if health is not None:
        figures.append(_figure(health.state_line, health_source(health)))
    validation = evidence.validations.get(record.path)
    if validation is not None:
        figures.append(_figure(validation.headline(), validation_source(validation)))
    m = record.metrics
    if m is not None and m.trading_pct is not None:
        figures.append(_figure(f"training: orders on {fmt_pct(m.trading_pct)} of steps (sampled)",
                               metric_source(record, "trading_pct")))
    if m is not None and m.win_rate is not None:
        figures.append(_figure(f"training win rate {fmt_pct(m.win_rate, fraction=True)}",
                               metric_source(record, "win_rate")))
    if m is not None and m.unique_markets is not None:
        figures.append(_figure(f"{fmt_int(m.unique_markets)} training markets",
                               metric_source(record, "unique_markets")))
    if ranked is not None and ranked.copy_of:
        role = f"identical copy of {ranked.copy_of}"
    else:
        role = {"checkpoint": "checkpoint", "run": "run model"}.get(record.kind, "flat file")
    if record.verdict != COMPATIBLE:
        standing = f"{record.verdict}: " + ("; ".join(record.reasons) or "no reason recorded")
    elif ranked is None or not ranked.eligible:
        standing = (ranked.reasons[0] if ranked and ranked.reasons else "not ranked")
    else:
        standing = f"rank {ranked.rank}, score {ranked.score:.3f} ({ranked.evidence})"
    return {**basics(record), "verdict": record.verdict, "role": role, "standing": standing,
            "rank": ranked.rank if ranked else None, "score": ranked.score if ranked else None,
            "copy_of": ranked.copy_of if ranked else None, "figures": figures,
            "warnings": list(record.warnings)}


def models_by_run(records: list[ModelRecord], ranked: list[RankedModel],
                  evidence: StoredEvidence) -> list[dict[str, Any]]:
    """Every model under its run folder; a flat identical copy goes under its twin's run."""
    by_path = {r.path: r for r in ranked}
    run_of_sha = {r.sha256: r.run_dir for r in records if r.sha256 and r.run_dir}
    runs: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r.path):
        run = record.run_dir or (run_of_sha.get(record.sha256) if record.sha256 else None) or FLAT
        runs.setdefault(run, []).append(model_entry(record, by_path.get(record.path), evidence))
    order = {"run model": 0, "flat file": 1, "checkpoint": 2}
    out = []
    for run in sorted(runs, key=lambda name: (name == FLAT, name)):
        models = sorted(runs[run], key=lambda e: (order.get(e["role"], 1), e["path"]))
        out.append({"run": run, "models": models})
    return out


def rejected(records: list[ModelRecord], verdict: str) -> list[dict[str, Any]]:
    return [{**basics(r), "verdict": r.verdict,
             "reasons": list(r.reasons) or ["no reason recorded"]}
            for r in sorted(records, key=lambda r: r.path) if r.verdict == verdict]


def candidate_details(ranked: list[RankedModel]) -> list[dict[str, Any]]:
    """Each candidate's score, fact by fact, with the points it gave and the source."""
    return [{"path": r.path, "rank": r.rank, "score": r.score, "evidence_level": r.evidence,
             "copies": list(r.copies), "tied_with": list(r.tied_with),
             "notes": [x for x in r.reasons if not any(x.startswith(f["text"]) for f in r.facts)],
             "facts": [dict(f) for f in r.facts]}
            for r in ranked if r.candidate][:DETAIL_LIMIT]
