"""The report's first screen as data: current model, the choice and its deciding facts, what
is not recommended and why, the action items as ready commands, and the seed's checklist.

Every figure is a `{"text", "source"}` pair: the Markdown puts the text in prose and the
source in a column or a footnote, so no sentence carries a JSON key path.
"""

from __future__ import annotations

import shlex
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
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.report.evidence import StoredEvidence
from kalshi_tui.core.sb3.layout_evidence import layout_words
from kalshi_tui.core.world.session_ids import session_ranges

NO_SOURCE = "-"
# Current-model states in which it cannot run here, so no A/B against it can exist.
CANNOT_RUN = ("NO POINTER", "UNREADABLE POINTER", "NO MODEL", "MISSING", "UNREADABLE", "UNSAFE",
              "OUTDATED", "INCOMPATIBLE")


def fact(label: str, text: str, source: str = NO_SOURCE) -> dict[str, str]:
    return {"label": label, "text": text, "source": source}


def cli(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in ("kalshi-tui",) + words)


def current_model(status: Any, env: EnvironmentSpec, evidence: StoredEvidence) -> dict[str, Any]:
    """The pointer's model and the one-word verdict on it (OK, OUTDATED, COLLAPSED, ...)."""
    if status is None:
        return {"state": "UNKNOWN", "alarm": True, "alarms": ["pointer status not read"],
                "model": None, "health": None}
    record = status.record
    alarms = list(status.alarms)
    health = evidence.healths.get(record.path) if record is not None else None
    if not status.exists:
        state = "NO POINTER"
    elif status.relation == "unreadable":
        state = "UNREADABLE POINTER"
    elif status.full_path is None:
        state = "NO MODEL"
    elif not status.model_exists:
        state = "MISSING"
    elif record is not None and record.verdict in (UNREADABLE, UNSAFE):
        state = record.verdict.upper()
    elif record is not None and record.verdict == INCOMPATIBLE:
        # The seed's word: a model of the old action layout was trained before the change.
        legacy = record.n_actions == env.legacy_n_actions and record.n_actions != env.n_actions
        state = "OUTDATED" if legacy else "INCOMPATIBLE"
    elif health is not None and health.state == "COLLAPSED":
        state = "COLLAPSED"
        line = f"current model is {health.state_line}"
        if line not in alarms:
            alarms.append(line)
    elif alarms:
        state = "CHANGED"
    else:
        state = "OK"
    return {
        "state": state, "alarm": bool(alarms), "alarms": alarms, "notes": list(status.notes),
        "pointer_file": status.pointer_file, "revision": status.revision,
        "relation": status.relation, "full_path": status.full_path,
        "resolved_path": status.resolved_path,
        "model": record.path if record else None,
        "verdict": record.verdict if record else None,
        "reasons": list(record.reasons) if record else [],
        "trained_at": record.trained_at if record else None,
        "action_space": action_space_text(record) if record else None,
        "n_actions": record.n_actions if record else None,
        "obs_layout_evidence": layout_words(record) if record else None,
        "health": health.state_line if health is not None else None,
        "last_updated": status.last_updated, "selected_reason": status.selected_reason,
    }


def _health_fact(path: str, evidence: StoredEvidence) -> dict[str, str]:
    health = evidence.healths.get(path)
    if health is not None:
        when = " (checked for this report)" if path in evidence.health_checked_now else ""
        return fact("Policy health", f"{health.state_line}{when}", health_source(health))
    if path in evidence.unrunnable:
        return fact("Policy health", f"could not be run safely: {evidence.unrunnable[path]}")
    return fact("Policy health", "not checked: how it acts in the trader's mode is unknown")


def _validation_fact(path: str, evidence: StoredEvidence, sessions: str) -> dict[str, str]:
    validation = evidence.validations.get(path)
    if validation is None:
        return fact("Validation", f"not validated on sessions {sessions}")
    text = validation.headline() if hasattr(validation, "headline") else (
        f"win rate {fmt_pct(validation.win_rate, fraction=True)}")
    note = evidence.fill_model_notes.get(path)
    return fact("Validation", text + (f"; {note}" if note else ""), validation_source(validation))


def ab_fact(path: str, current: dict[str, Any], evidence: StoredEvidence) -> dict[str, str]:
    """The stored A/B against the current model, or why there is none, in words."""
    if current.get("model") == path:
        return fact("Against the current model", "it is the current model")
    line = evidence.ab_lines.get(path)
    if line:
        return fact("Against the current model", line, evidence.ab_sources.get(path, NO_SOURCE))
    if current["state"] in CANNOT_RUN:
        why = (current.get("reasons") or current.get("alarms") or [current["state"]])[0]
        return fact("Against the current model", "no A/B against the current model: it cannot "
                    f"run in this environment ({current['state']}: {why})")
    return fact("Against the current model", "no A/B against the current model (not run)")


def _training_fact(record: ModelRecord) -> dict[str, str] | None:
    m = record.metrics
    if m is None or not m.episodes:
        return None
    parts = [f"{fmt_int(m.episodes)} episodes"]
    if m.unique_markets is not None:
        parts[0] += f" over {fmt_int(m.unique_markets)} markets"
    if m.session_ids:
        parts.insert(0, f"session {session_ranges(m.session_ids)}")
    if m.trading_pct is not None:
        parts.append(f"orders on {fmt_pct(m.trading_pct)} of steps")
    if m.win_rate is not None:
        parts.append(f"win rate {fmt_pct(m.win_rate, fraction=True)}")
    return fact("Training summary", ", ".join(parts) + " (counted while the policy sampled)",
                metric_source(record, "episodes"))


def choice(ranked: RankedModel | None, record: ModelRecord | None, *, evidence: StoredEvidence,
           current: dict[str, Any], sessions: str, candidates: int, weights_source: str,
           primary: bool) -> dict[str, Any] | None:
    """The recommended (or alternative) model with the 3-5 facts that decide it."""
    if ranked is None or record is None:
        return None
    facts = [_health_fact(ranked.path, evidence), _validation_fact(ranked.path, evidence, sessions)]
    if primary:
        facts.append(ab_fact(ranked.path, current, evidence))
    training = _training_fact(record)
    if training is not None:
        facts.append(training)
    top = next((f for f in ranked.facts if f["points"] > 0), None)
    strongest = f"; strongest: {top['text']}" if top else ""
    facts.append(fact("Ranking", f"rank {ranked.rank} of {candidates} candidates, score "
                      f"{ranked.score:.3f}{strongest}", weights_source))
    return {"path": ranked.path, "abs_path": record.abs_path, "name": ranked.name,
            "rank": ranked.rank, "score": ranked.score, "evidence_level": ranked.evidence,
            "copies": list(ranked.copies), "deciding_facts": facts,
            "reasons": list(ranked.reasons), "scoring": [dict(f) for f in ranked.facts],
            "components": dict(ranked.components), "tied_with": list(ranked.tied_with)}


def not_recommended(ranked: list[RankedModel], by_path: dict[str, ModelRecord],
                    evidence: StoredEvidence) -> list[dict[str, Any]]:
    """Compatible models the evidence refutes, one entry per distinct model, with why."""
    out = []
    for r in ranked:
        record = by_path[r.path]
        if r.eligible or r.copy_of is not None or record.verdict != COMPATIBLE:
            continue
        facts = []
        health, validation = evidence.healths.get(r.path), evidence.validations.get(r.path)
        if r.path in evidence.unrunnable:
            facts.append(fact("Run", f"cannot be run safely: {evidence.unrunnable[r.path]}"))
        if health is not None and health.state == "COLLAPSED":
            facts.append(fact("Policy health", health.state_line, health_source(health)))
        if validation is not None and validation.fills == 0:
            facts.append(fact("Validation", validation.fill_line(), validation_source(validation)))
        if r.path in evidence.fill_model_notes:
            facts.append(fact("Fill models", evidence.fill_model_notes[r.path],
                              validation_source(validation) if validation else NO_SOURCE))
        m = record.metrics
        if m is not None and m.trading_pct is not None and facts:
            won = (f" and a win rate of {fmt_pct(m.win_rate, fraction=True)}"
                   if m.win_rate is not None else "")
            facts.append(fact("Training summary", f"its training summary, counted while the "
                              f"policy sampled, showed orders on {fmt_pct(m.trading_pct)} of "
                              f"steps{won}: it hid this", metric_source(record, "trading_pct")))
        if not facts:
            facts.append(fact("Rule", r.reasons[0] if r.reasons else "barred by the evidence"))
        out.append({"path": r.path, "name": r.name, "verdict": "not recommended",
                    "copies": list(r.copies), "checkpoints": [], "facts": facts,
                    "reasons": list(r.reasons), "kind": record.kind, "run_dir": record.run_dir})
    return _fold_checkpoints(out)


def _fold_checkpoints(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A checkpoint barred for the very reason its run's model is goes under that model's
    line ("its checkpoints ... likewise"); run models and flat files come first."""
    leads = {e["run_dir"]: e for e in entries if e["kind"] != "checkpoint" and e["run_dir"]}
    out = []
    for entry in entries:
        lead = leads.get(entry["run_dir"]) if entry["kind"] == "checkpoint" else None
        if lead is not None and _why(lead) == _why(entry):
            lead["checkpoints"].append(entry["path"])
        else:
            out.append(entry)
    return sorted(out, key=lambda e: (e["kind"] == "checkpoint", e["path"]))


def _why(entry: dict[str, Any]) -> str:
    """The first reason in words, without its figures' dates: what a folded line shares."""
    return entry["reasons"][0].split(" (", 1)[0] if entry["reasons"] else ""


def action_items(primary: dict[str, Any] | None, alternative: dict[str, Any] | None,
                 current: dict[str, Any], evidence: StoredEvidence, n_actions: int
                 ) -> list[dict[str, str]]:
    """What to do next, each with the command that does it."""
    items: list[dict[str, str]] = []
    if primary is None:
        items.append({"text": f"Train a model for the {n_actions}-action environment: no "
                      "compatible model can be recommended",
                      "command": cli("train", "--session", "N")})
        return items
    path = primary["path"]
    if path not in evidence.healths:
        items.append({"text": f"Check {path} in the trader's mode before anything else",
                      "command": cli("health", path)})
    if path not in evidence.validations:
        items.append({"text": f"Validate {path} on the target sessions",
                      "command": cli("validate", path)})
    if evidence.ab_runnable.get(path):
        items.append({"text": f"A/B {path} against the current model",
                      "command": cli("abtest", path)})
    if current.get("model") != path:
        why = ("replace the " + current["state"] + " current model") if current.get("alarm") \
            else "switch to the recommended model"
        items.append({"text": f"Point CURRENT_MODEL.json at {path} ({why})",
                      "command": cli("promote", path, "--reason",
                                     "recommended by kalshi-tui report")})
    if alternative is not None:
        items.append({"text": "Look at the recommendation and the alternative side by side",
                      "command": cli("compare", path, alternative["path"])})
    return items


def checklist(primary: dict[str, Any] | None, record: ModelRecord | None, *,
              env: EnvironmentSpec, current: dict[str, Any], evidence: StoredEvidence,
              counts: dict[str, int], sessions: str, smoke: Any, config_source: str
              ) -> list[dict[str, Any]]:
    """The seed analysis's checklist, each line ticked only when it was done, with its result."""
    def item(done: bool, text: str, result: str, source: str = NO_SOURCE) -> dict[str, Any]:
        return {"done": done, "item": text, "result": result, "source": source}

    sizes = ", ".join(str(s) for s in env.position_sizes)
    out = [item(True, f"Confirmed current environment uses {env.n_actions}-action space",
                f"Discrete({env.n_actions}), sizes {sizes}, profile {env.profile.name}",
                config_source),
           item(counts["compatible"] > 0, "Found models trained after action space expansion",
                f"{counts['compatible']} compatible ({counts['candidates']} distinct), "
                f"{counts['incompatible']} incompatible", "catalog of the models folder")]
    if primary is None or record is None:
        return out + [item(False, "Verified a recommended model", "nothing to recommend")]
    path = primary["path"]
    out.append(item(True, f"Verified {path} exists and is valid",
                    f"readable SB3 zip, {record.size_bytes:,} bytes, sha256 "
                    f"{(record.sha256 or '-')[:12]}, nothing the trader would execute",
                    "model zip"))
    m = record.metrics
    trained = m is not None and m.trading_pct is not None
    health = evidence.healths.get(path)
    result = (f"orders on {fmt_pct(m.trading_pct)} of steps while sampling" if trained and m
              else "no training summary beside the model")
    if health is not None:
        result += f"; in the trader's mode: {health.state}"
    out.append(item(trained, "Analyzed training summaries for action distribution", result,
                    metric_source(record, "trading_pct") if trained else NO_SOURCE))
    pointed = current.get("model") in [path] + primary["copies"]
    out.append(item(pointed, "Update CURRENT_MODEL.json",
                    "the pointer names it" if pointed else
                    f"not done: the pointer names {current.get('model') or 'no model'}"))
    if health is not None:
        steps = health.source("recorded").observations if health.source("recorded") else 0
        out.append(item(True, "Test model loading and inference",
                        f"loaded safely and ran {fmt_int(steps)} recorded steps",
                        health_source(health)))
    elif smoke is not None and getattr(smoke, "ok", False):
        out.append(item(True, "Test model loading and inference",
                        f"smoke test passed: {getattr(smoke, 'steps_run', 0):,} steps"))
    else:
        out.append(item(False, "Test model loading and inference", "not done"))
    validation = evidence.validations.get(path)
    out.append(item(validation is not None, f"Validate on target sessions ({sessions})",
                    validation.headline() if validation is not None else "not done",
                    validation_source(validation) if validation is not None else NO_SOURCE))
    return out
