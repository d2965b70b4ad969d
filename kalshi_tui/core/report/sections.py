"""The report's sections, one function each: what a model, the environment and the pointer
show in the report, with every figure's source. Plain data in, plain JSON-able data out.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from typing import Any

from kalshi_tui.core.config import EnvironmentSpec
from kalshi_tui.core.evidence.ranking import RankedModel
from kalshi_tui.core.figures import (
    Figure,
    action_space_text,
    fmt_pct,
    fmt_time,
    histogram_rows,
    metric_source,
    record_figures,
    training_figures,
    validation_figures,
    validation_source,
)
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.sb3.layout_evidence import layout_words
from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.session_ids import session_ranges

_ARTIFACT_NAME = re.compile(r"[\w.-]+\.(?:jsonl|json|log)\b")
TOP_ACTIONS = 5  # histogram lines shown per model in the performance analysis


def _validation_headline(validation: Any) -> str:
    if hasattr(validation, "headline"):
        return str(validation.headline())
    return f"win rate {fmt_pct(validation.win_rate, fraction=True)}"


def environment_section(env: EnvironmentSpec, config_file: str | None) -> dict[str, Any]:
    def actions(layout: ActionLayout) -> list[dict[str, Any]]:
        return [{"id": a, "label": layout.label(a), "side": layout.decode(a).side,
                 "size": layout.decode(a).size} for a in range(layout.n)]

    return {
        "source": config_file or "built-in defaults (no config file)",
        # the world every model is judged in and every figure measured in
        **env.world(),
        "profile_summary": env.profile.summary,
        "action_space": f"Discrete({env.n_actions})",
        "n_actions": env.n_actions,
        "base_actions": list(env.base_actions),
        "position_sizes": list(env.position_sizes),
        "actions": actions(env.layout),
        "legacy": {"action_space": f"Discrete({env.legacy_n_actions})",
                   "position_sizes": list(env.legacy_position_sizes),
                   "actions": actions(env.legacy_layout)},
        "observation": {"shape": list(env.observation_shape), "dtype": env.observation_dtype,
                        "low": env.observation_low, "high": env.observation_high},
    }


def current_model_section(status: Any, env: EnvironmentSpec) -> dict[str, Any]:
    """The pointer's model and the seed's one-word verdict on it (OK, OUTDATED, ...)."""
    if status is None:
        return {"state": "UNKNOWN", "alarm": True, "alarms": ["pointer status not read"]}
    record = status.record
    if not status.exists:
        state = "NO POINTER"
    elif status.relation == "unreadable":
        state = "UNREADABLE POINTER"
    elif status.full_path is None:
        state = "NO MODEL"
    elif not status.model_exists:
        state = "MISSING"
    elif record is not None and record.verdict == UNREADABLE:
        state = "UNREADABLE"
    elif record is not None and record.verdict == UNSAFE:
        state = "UNSAFE"
    elif record is not None and record.verdict == INCOMPATIBLE:
        # The seed's word: a model of the old action layout was trained before the change.
        legacy = record.n_actions == env.legacy_n_actions and record.n_actions != env.n_actions
        state = "OUTDATED" if legacy else "INCOMPATIBLE"
    elif status.alarms:
        state = "CHANGED"
    else:
        state = "OK"
    return {
        "state": state,
        "alarm": bool(status.alarms),
        "alarms": list(status.alarms),
        "notes": list(status.notes),
        "pointer_file": status.pointer_file,
        "revision": status.revision,
        "relation": status.relation,
        "full_path": status.full_path,
        "resolved_path": status.resolved_path,
        "model": record.path if record else None,
        "verdict": record.verdict if record else None,
        "reasons": list(record.reasons) if record else [],
        "trained_at": record.trained_at if record else None,
        "action_space": action_space_text(record) if record else None,
        "n_actions": record.n_actions if record else None,
        "obs_layout_evidence": layout_words(record) if record else None,
        "last_updated": status.last_updated,
        "selected_reason": status.selected_reason,
    }


def model_basics(record: ModelRecord) -> dict[str, Any]:
    m = record.metrics
    return {
        "path": record.path,
        "abs_path": record.abs_path,
        "name": record.name,
        "size_bytes": record.size_bytes,
        "trained_at": record.trained_at,
        "algorithm": record.algorithm,
        "action_space": action_space_text(record),
        "n_actions": record.n_actions,
        "obs_layout": record.obs_layout,
        "obs_layout_evidence": layout_words(record),
        "sessions": m.session_ids if m else None,
        "timesteps": record.num_timesteps,  # what the zip says it was trained for
        "artifact_timesteps": m.total_timesteps if m else None,
        "episodes": m.episodes if m else None,
        "markets": m.unique_markets if m else None,
        "sha256": record.sha256,
    }


def same_run(a: ModelRecord, b: ModelRecord) -> bool:
    """The same bytes, or two files of one run folder (its model and its checkpoints)."""
    if a.path == b.path or (a.sha256 is not None and a.sha256 == b.sha256):
        return True
    return a.run_dir is not None and a.run_dir == b.run_dir


# Figures the compatible-models list shows on their own lines, each with its source.
HEADLINE_FIGURES = ("size_bytes", "trained_at", "action_space", "session_ids", "num_timesteps",
                    "total_timesteps", "episodes", "unique_markets")


def compatible_entry(record: ModelRecord, ranked: RankedModel, validation: Any,
                      copy_of: str | None) -> dict[str, Any]:
    own = record_figures(record) + training_figures(record)
    checked = validation_figures(validation) if validation is not None else []
    # The headline figures are the file's and the run's; a validation's episodes are its own.
    sources = {f.name: f.source for f in own if f.name in HEADLINE_FIGURES}
    evidence = [str(f) for f in own if f.name not in HEADLINE_FIGURES] + [str(f) for f in checked]
    if copy_of:
        sha = (record.sha256 or "")[:12]
        evidence.insert(0, f"identical copy of {copy_of} (same sha256 {sha})")
    return {**model_basics(record), "rank": ranked.rank, "score": ranked.score, "copy_of": copy_of,
            "evidence_level": ranked.evidence, "sources": sources, "evidence": evidence,
            "figures": [f.to_dict() for f in own + checked], "warnings": list(record.warnings)}


def rejected_entry(record: ModelRecord) -> dict[str, Any]:
    return {**model_basics(record), "verdict": record.verdict,
            "reasons": list(record.reasons) or ["no reason recorded"]}


def performance_entry(record: ModelRecord, validation: Any, env: EnvironmentSpec,
                       fill_model_note: str | None = None) -> dict[str, Any]:
    """The seed's per-model analysis: activity, distribution, exploration, performance, notes."""
    layout = env.layout_for(record.n_actions or 0) or env.layout
    m = record.metrics
    named = {f.name: f for f in training_figures(record)}
    checked = {f.name: f for f in validation_figures(validation)} if validation is not None else {}
    items: list[tuple[str, str]] = []  # (heading, text with sources)

    def join(*names: str, table: dict[str, Figure] = named) -> str:
        return "; ".join(str(table[n]) for n in names if n in table)

    if validation is not None:
        rows = histogram_rows(
            list(validation.histogram), list(validation.action_labels) or layout.labels
        )
        hist_source = validation_source(validation)
    elif m is not None and m.action_histogram:
        rows = histogram_rows(m.action_histogram, layout.labels)
        hist_source = metric_source(record, "action_histogram")
    else:
        rows, hist_source = [], None
    if join("trading_pct", "hold_pct"):
        items.append(("Trading Activity (training)", join("trading_pct", "hold_pct")))
    if rows:
        used = sum(1 for r in rows if r["count"] > 0)
        items.append(("Action Distribution", f"uses {used} of {layout.n} actions ({hist_source})"))
    if join("entropy", "exploration_ratio"):
        items.append(("Exploration", join("entropy", "exploration_ratio")))
    if "win_rate" in named:
        items.append(("Portfolio Performance (training)", str(named["win_rate"])))
    if checked:
        items.append(("Validation", join("episodes", "orders", "trading_pct", "histogram_entropy",
                                         table=checked)))
        items.append(
            (
                "Portfolio Performance (validation)",
                join(
                    "win_rate",
                    "total_pnl_cents",
                    "mean_pnl_cents",
                    "max_drawdown_cents",
                    "fills",
                    table=checked,
                ),
            )
        )
    if fill_model_note:
        items.append(("Fill models", fill_model_note))
    if join("episodes", "unique_markets"):
        items.append(("Episodes and Markets", join("episodes", "unique_markets")))
    if not items:
        items.append(
            (
                "Evidence",
                "no training figures beside the model and not validated: nothing to analyse",
            )
        )
    top = sorted(rows, key=lambda r: (-r["count"], r["action"]))[:TOP_ACTIONS]
    return {"path": record.path, "name": record.name,
            "items": [{"heading": h, "text": t} for h, t in items],
            "top_actions": top, "histogram_source": hist_source,
            "notes": list(m.notes) if m else []}


def recommendation_entry(
    ranked: RankedModel | None, by_path: dict[str, ModelRecord]
) -> dict[str, Any] | None:
    if ranked is None:
        return None
    record = by_path[ranked.path]
    return {
        "path": ranked.path,
        "abs_path": record.abs_path,
        "name": ranked.name,
        "rank": ranked.rank,
        "score": ranked.score,
        "evidence_level": ranked.evidence,
        "reasons": list(ranked.reasons),
        "components": dict(ranked.components),
        "tied_with": list(ranked.tied_with),
    }


def summary_section(records: list[ModelRecord], eligible: list[RankedModel],
                    primary: RankedModel | None, alternative: RankedModel | None,
                    current: dict[str, Any], n_actions: int, now: datetime) -> dict[str, Any]:
    counts = {"models": len(records),
              "compatible": sum(1 for r in records if r.verdict == COMPATIBLE),
              "incompatible": sum(1 for r in records if r.verdict == INCOMPATIBLE),
              "unreadable": sum(1 for r in records if r.verdict == UNREADABLE),
              "unsafe": sum(1 for r in records if r.verdict == UNSAFE)}
    lines = [f"Analysis generated {fmt_time(now.isoformat())} of {counts['models']} model files "
             f"against the {n_actions}-action environment: {counts['compatible']} compatible, "
             f"{counts['incompatible']} incompatible, {counts['unreadable']} unreadable"
             + (f", {counts['unsafe']} UNSAFE (never recommended: the trader would run code "
                "from them or refuse them)." if counts["unsafe"] else ".")]
    lines.append(f"The current model is {current['state']}" +
                 (f": {current['alarms'][0]}" if current.get("alarms") else "."))
    if primary is None:
        lines.append("No compatible model: nothing is recommended.")
    else:
        lines.append(
            f"Recommended: {primary.path} ({primary.evidence})"
            + (
                f"; alternative: {alternative.path} ({alternative.evidence})."
                if alternative
                else "."
            )
        )
        if current.get("model") == primary.path:
            lines.append("The pointer already names the recommended model.")
    return {"counts": counts, "lines": lines, "current_state": current["state"],
            "primary": primary.path if primary else None,
            "alternative": alternative.path if alternative else None}


def _cli(*words: str) -> str:
    return "`" + " ".join(shlex.quote(w) for w in ("kalshi-tui",) + words) + "`"


def action_items(primary: RankedModel | None, alternative: RankedModel | None,
                  by_path: dict[str, ModelRecord], current: dict[str, Any],
                  validations: dict[str, Any], smoke_results: dict[str, Any], sessions: str,
                  n_actions: int) -> list[str]:
    items: list[str] = []
    if current.get("alarm"):
        items.append(f"Resolve the current model alarm ({current['state']}): "
                     + "; ".join(current.get("alarms") or []))
    if primary is None:
        items.append(f"Train a model for the {n_actions}-action environment "
                     f"({_cli('train', '--session', 'N')}); no compatible model exists to promote.")
        return items
    path = primary.path
    if current.get("model") != path:
        items.append(f"Update CURRENT_MODEL.json to point to {path}: "
                     f"{_cli('promote', path, '--reason', 'recommended by kalshi-tui report')}")
    smoke = smoke_results.get(path)
    if smoke is None or not getattr(smoke, "ok", False):
        items.append(
            f"Test the model loads and infers in the current environment: {_cli('smoke', path)}"
        )
    if validations.get(path) is None:
        items.append(f"Validate performance on sessions {sessions}: {_cli('validate', path)}")
    if alternative is not None:
        items.append(f"A/B look before choosing: {_cli('compare', path, alternative.path)}")
        if validations.get(alternative.path) is None:
            items.append(f"Validate the alternative too: {_cli('validate', alternative.path)}")
    return items


def checklist_entry(
    record: ModelRecord,
    ranked: RankedModel,
    env: EnvironmentSpec,
    current: dict[str, Any],
    validation: Any,
    smoke: Any,
    sessions: str,
) -> dict[str, Any]:
    """What is done ([x]) and not ([ ]) before this model should trade."""
    weights_word = (f"; policy.pth has {record.weights_n_actions} action outputs"
                    if record.weights_n_actions is not None else "")
    space_ok = record.action_space_type == "Discrete" and record.n_actions == env.n_actions
    m = record.metrics
    sources = sorted({name for text in (m.sources or {}).values()
                      for name in _ARTIFACT_NAME.findall(text)}) if m else []
    items = [
        (
            space_ok,
            "action space confirmed",
            f"{action_space_text(record)} matches the environment's {env.n_actions} actions "
            f"(model zip: data action_space{weights_word})",
        ),
        (
            record.verdict == COMPATIBLE and bool(record.sha256),
            "file valid",
            f"readable SB3 zip, {record.size_bytes:,} bytes, sha256 {(record.sha256 or '-')[:12]}",
        ),
        (
            bool(sources),
            "training summary analysed",
            f"figures from {', '.join(sources)}"
            if sources
            else "no training artifacts found beside the model",
        ),
        (
            bool(smoke is not None and getattr(smoke, "ok", False)),
            "loads and infers (smoke)",
            _smoke_detail(smoke, record.path),
        ),
        (
            validation is not None,
            f"validated on sessions {sessions}",
            f"{_validation_headline(validation)} on sessions "
            f"{session_ranges(validation.session_ids)}"
            if validation is not None
            else f"no current stored result: {_cli('validate', record.path)}",
        ),
        (
            current.get("model") == record.path,
            "CURRENT_MODEL.json points to it",
            "the pointer names it"
            if current.get("model") == record.path
            else f"pointer names {current.get('model') or current.get('full_path') or 'nothing'}",
        ),
    ]
    return {
        "path": record.path,
        "rank": ranked.rank,
        "items": [{"done": done, "item": item, "detail": detail} for done, item, detail in items],
    }


def _smoke_detail(smoke: Any, path: str) -> str:
    """What the smoke test found, in a line: its figures when it passed, its problems when not."""
    if smoke is None:
        return f"not run here: {_cli('smoke', path)} (or `report --smoke`)"
    if not getattr(smoke, "ok", False):
        return "smoke test FAILED: " + "; ".join(
            getattr(smoke, "problems", []) or ["no reason given"]
        )
    parts = ["smoke test passed"]
    if getattr(smoke, "steps_run", 0):
        parts.append(
            f"{smoke.steps_run:,} steps over {len(smoke.markets_run)} markets, every action in "
            f"range"
        )
    if getattr(smoke, "predict_latency_ms", None) is not None:
        parts.append(f"predict {smoke.predict_latency_ms:.2f} ms")
    return ", ".join(parts)
