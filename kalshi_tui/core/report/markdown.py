"""Markdown for the compatibility report, rendered from `build_report`'s dict and nothing else.

Rendering only from the dict keeps `--format md` and `--format json` the same content. The
section titles follow the hand-written seed analysis, so an operator who knew that
document finds everything where it was.
"""

from __future__ import annotations

from typing import Any

from kalshi_tui.core.figures import fmt_int, fmt_time
from kalshi_tui.core.safe_text import printable, safe_lines
from kalshi_tui.core.world.session_ids import session_ranges


def _md(text: Any) -> str:
    """A value from a file as one line of text: a newline in it cannot break the layout."""
    return printable(text)


def _code(text: Any) -> str:
    """A path or name in backticks; a backtick inside it would end the span, so it is replaced."""
    return f"`{_md(text).replace('`', chr(39))}`"


def render_markdown(report: dict[str, Any]) -> str:
    out: list[str] = [f"# {report['title']}", ""]
    out += _summary(report)
    out += _environment(report["environment"])
    out += _current(report["current_model"])
    out += _compatible(report["compatible_models"], report["recommendations"])
    out += _rejected(report["incompatible_models"], report["unreadable_models"],
                     report.get("unsafe_models", []))
    out += _not_recommended(report.get("not_recommended_models", []))
    out += _performance(report["performance_analysis"], report["performance_omitted"])
    out += _recommendations(report["recommendations"])
    out += ["## Action Items", ""]
    out += [f"{i}. {item}" for i, item in enumerate(report["action_items"], start=1)] or ["None."]
    out += [""]
    out += _checklists(report["validation_checklists"])
    if report["notes"]:
        out += ["## Notes", ""] + [f"- {_md(n)}" for n in report["notes"]] + [""]
    out += [f"_Written by kalshi-tui report from {_md(report['models_dir'])}; every figure names "
            "the file it came from._", ""]
    return safe_lines(out)


def _summary(report: dict[str, Any]) -> list[str]:
    return ["## Summary", ""] + [_md(line) for line in report["summary"]["lines"]] + [""]


def _environment(env: dict[str, Any]) -> list[str]:
    out = [
        "## Current Environment Configuration",
        "",
        f"- **Profile**: {_code(env['profile'])} ({_md(env['profile_summary'])})",
        f"- **Observation layout**: {_md(env['observation_layout'])} (52 numbers whose meanings "
        f"depend on the layout: a model trained on another is incompatible)",
        f"- **Fill model**: {_md(env['fill_model'])} (every validation figure below names its own "
        f"world)",
        f"- **Action Space**: {env['n_actions']} actions ({env['action_space']}), from "
        f"{_md(env['source'])}",
        f"- **Base actions**: {', '.join(env['base_actions'])}",
        f"- **Position sizes**: {env['position_sizes']} contracts",
        f"- **Observation**: shape {tuple(env['observation']['shape'])}, "
        f"{env['observation']['dtype']}, "
        f"values in [{env['observation']['low']}, {env['observation']['high']}]",
        f"- **Legacy layout**: {env['legacy']['action_space']}, sizes "
        f"{env['legacy']['position_sizes']}",
        "",
        "| Action | Label | Side | Contracts |",
        "|---:|---|---|---:|",
    ]
    out += [f"| {a['id']} | {a['label']} | {a['side']} | {a['size']} |" for a in env["actions"]]
    return out + [""]


def _current(cur: dict[str, Any]) -> list[str]:
    out = ["## Current Model Status", ""]
    if cur.get("alarm"):
        out.append(f"**ALARM: the current model is {cur['state']}.** The pointer needs attention.")
    else:
        out.append(f"The current model is **{cur['state']}**.")
    out.append("")
    rows = [
        ("Pointer file", cur.get("pointer_file")),
        ("Revision", cur.get("revision")),
        ("Path", cur.get("full_path")),
        ("Resolved", cur.get("resolved_path")),
        ("Model", cur.get("model")),
        ("Verdict", cur.get("verdict")),
        (
            "Training date (model zip: data start_time)",
            fmt_time(cur.get("trained_at")) if cur.get("trained_at") else None,
        ),
        ("Action space (model zip: data action_space)", cur.get("action_space")),
        (
            "Observation layout (model zip: data _last_obs, start_time)",
            cur.get("obs_layout_evidence"),
        ),
        ("Last updated (as written)", cur.get("last_updated")),
        ("Selected reason", cur.get("selected_reason")),
    ]
    out += [f"- **{k}**: {_code(v)}" for k, v in rows if v not in (None, "")]
    for reason in cur.get("reasons") or []:
        out.append(f"- **Issue**: {_md(reason)}")
    for alarm in cur.get("alarms") or []:
        out.append(f"- **Alarm**: {_md(alarm)}")
    for note in cur.get("notes") or []:
        out.append(f"- Note: {_md(note)}")
    return out + [""]


def _compatible(models: list[dict[str, Any]], rec: dict[str, Any]) -> list[str]:
    out = ["## Available Compatible Models", ""]
    if not models:
        return out + ["No compatible model was found.", ""]
    for m in models:
        tag = {(rec["primary"] or {}).get("path"): " (RECOMMENDED)",
               (rec["alternative"] or {}).get("path"): " (ALTERNATIVE)"}.get(m["path"], "")
        src = m["sources"]

        def at(key: str, src: dict[str, Any] = src) -> str:
            return f" ({_md(src[key])})" if key in src else ""

        out += [
            f"### {m['rank']}. {_md(m['name'])}{tag}",
            "",
            f"- **Path**: {_code(m['path'])}",
            f"- **File Size**: {m['size_bytes']:,} bytes{at('size_bytes')}",
            f"- **Training Date**: {fmt_time(m['trained_at'])}{at('trained_at')}",
            f"- **Action Space**: {_md(m['action_space'])}{at('action_space')}",
            f"- **Session**: "
            f"{session_ranges(m['sessions']) if m['sessions'] else '-'}{at('session_ids')}",
            f"- **Training Steps**: {_steps(m)}",
            f"- **Episodes**: {fmt_int(m['episodes'])}{at('episodes')}",
            f"- **Markets**: {fmt_int(m['markets'])} unique markets{at('unique_markets')}",
            f"- **Observation layout**: {_md(m.get('obs_layout_evidence') or '-')} "
            f"(model zip: data _last_obs, start_time)",
            f"- **Score**: {m['score']:.3f} ({m['evidence_level']})",
            "- **Evidence**:",
        ]
        out += [f"  - {_md(e)}" for e in m["evidence"]]
        out += [f"- **Warning**: {_md(w)}" for w in m["warnings"]]
        out.append("")
    return out


def _not_recommended(models: list[dict[str, Any]]) -> list[str]:
    """Compatible models the evidence refutes (COLLAPSED, never traded), with why."""
    if not models:
        return []
    out = ["## Not Recommended", ""]
    for m in models:
        out.append(f"- {_code(m['path'])}: " + "; ".join(_md(r) for r in m["reasons"]))
    return out + [""]


def _steps(m: dict[str, Any]) -> str:
    """The zip's timesteps; the artifacts' figure too when it differs (trust the zip, show both)."""
    src = m["sources"]
    text = f"{fmt_int(m['timesteps'])} timesteps ({_md(src.get('num_timesteps', 'model zip'))})"
    if m.get("artifact_timesteps") is not None and m["artifact_timesteps"] != m["timesteps"]:
        text += (f"; {fmt_int(m['artifact_timesteps'])} according to "
                 f"{_md(src.get('total_timesteps', 'the training artifacts'))}")
    return text


def _rejected(incompatible: list[dict[str, Any]], unreadable: list[dict[str, Any]],
              unsafe: list[dict[str, Any]]) -> list[str]:
    out = ["## Incompatible Models", ""]
    if not incompatible:
        out.append("None.")
    for m in incompatible:
        out.append(
            f"- {_code(m['path'])} ({_md(m['action_space'])}, trained "
            f"{fmt_time(m['trained_at'])}): "
            + "; ".join(_md(r) for r in m["reasons"])
        )
    out += ["", "## Unreadable Models", ""]
    if not unreadable:
        out.append("None.")
    for m in unreadable:
        out.append(f"- {_code(m['path'])}: " + "; ".join(_md(r) for r in m["reasons"]))
    if unsafe:
        # Only when there are some: a report of a clean folder reads as it always did.
        out += ["", "## UNSAFE Models (never promote, never run)", ""]
        out += [f"- **UNSAFE** {_code(m['path'])}: " + "; ".join(_md(r) for r in m["reasons"])
                for m in unsafe]
    return out + [""]


def _performance(entries: list[dict[str, Any]], omitted: int) -> list[str]:
    out = ["## Performance Analysis", ""]
    if not entries:
        return out + ["No compatible model to analyse.", ""]
    for e in entries:
        out += [f"### {_md(e['name'])}", ""]
        out += [f"- **{item['heading']}**: {_md(item['text'])}" for item in e["items"]]
        if e["top_actions"]:
            out.append(f"- Most played actions ({_md(e['histogram_source'])}): " + ", ".join(
                f"{a['action']} {a['label']} {100 * a['share']:.1f} %" for a in e["top_actions"]))
        out += [f"- Note: {_md(n)}" for n in e["notes"]]
        out.append("")
    if omitted:
        out += [f"{omitted} more compatible model(s) are listed above with their figures; "
                "`--format json` has the same content structured.", ""]
    return out


def _recommendations(rec: dict[str, Any]) -> list[str]:
    out = ["## Recommendations", ""]
    if rec["primary"] is None:
        return out + [f"**No recommendation.** {_md(rec['none_reason'])}.", ""]
    shown = ", ".join(f"{k} {v:g}" + (" (config)" if k in rec["weights_set"] else "")
                      for k, v in rec["weights"].items())
    out += [f"Ranking weights: {shown}.", ""]
    for title, entry in (("Primary Recommendation", rec["primary"]),
                         ("Alternative Recommendation", rec["alternative"])):
        if entry is None:
            out += [f"### {title}", "", "None: only one compatible model.", ""]
            continue
        out += [
            f"### {title}: {_code(entry['path'])}",
            "",
            f"Score {entry['score']:.3f}, evidence: {entry['evidence_level']}.",
            "",
            "**Reasons:**",
        ]
        out += [f"{i}. {_md(r)}" for i, r in enumerate(entry["reasons"], start=1)]
        out.append("")
    return out


def _checklists(lists: list[dict[str, Any]]) -> list[str]:
    out = ["## Validation Checklist", ""]
    if not lists:
        return out + ["No recommended model, so nothing to check.", ""]
    for checklist in lists:
        out += [f"### {_code(checklist['path'])}", ""]
        out += [
            f"- [{'x' if i['done'] else ' '}] {_md(i['item'])}: {_md(i['detail'])}"
            for i in checklist["items"]
        ]
        out.append("")
    return out
