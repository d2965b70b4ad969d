"""Markdown for the model report, rendered from `build_report`'s dict and nothing else.

Rendering only from the dict keeps `--format md` and `--format json` the same content. The
first screen (everything above "Appendix", at most 60 lines) is what an operator decides
on; the appendix holds every model under its run. Figures stay in prose and their sources
go to a Source column or a numbered footnote at the end, so no sentence carries a key path.
"""

from __future__ import annotations

from typing import Any

from kalshi_tui.core.evidence.ranking import EVIDENCE_FILE, EVIDENCE_TRAINING
from kalshi_tui.core.figures import fmt_time
from kalshi_tui.core.safe_text import printable, safe_lines

FIRST_SCREEN_LINES = 60
NOT_RECOMMENDED_SHOWN = 4  # distinct models listed on the first screen; the rest in the appendix
APPENDIX_HEADING = "# Appendix"


def _md(text: Any) -> str:
    """A value from a file as one line of text; a pipe cannot split a table cell."""
    return printable(text).replace("|", "\\|")


def _code(text: Any) -> str:
    """A path or name in backticks; a backtick inside it would end the span, so it is replaced."""
    return f"`{printable(text).replace('`', chr(39))}`"


class Footnotes:
    """Numbered sources: the same source gets the same number; listed once at the end."""

    def __init__(self) -> None:
        self.sources: list[str] = []

    def ref(self, source: str | None) -> str:
        if not source or source == "-":
            return ""
        if source not in self.sources:
            self.sources.append(source)
        return f"[^{self.sources.index(source) + 1}]"

    def lines(self) -> list[str]:
        if not self.sources:
            return []
        return ["## Sources", ""] + [f"[^{i}]: {_md(s)}" for i, s in enumerate(self.sources, 1)]


def _with_copies(path: str, copies: list[str]) -> str:
    if not copies:
        return _code(path)
    return f"{_code(path)} (one model with its identical " \
           f"cop{'y' if len(copies) == 1 else 'ies'} {', '.join(_code(c) for c in copies)})"


def render_markdown(report: dict[str, Any]) -> str:
    notes = Footnotes()
    out = first_screen(report, notes)
    out += ["---", "", APPENDIX_HEADING, ""]
    out += _appendix(report, notes)
    out += notes.lines()
    return safe_lines(out + [""])


def first_screen(report: dict[str, Any], notes: Footnotes) -> list[str]:
    summary = report["summary"]
    out = [f"# {_md(report['title'])}", "",
           f"Generated {fmt_time(report['generated_at'])} from {_code(report['models_dir'])}: "
           f"{_md(summary['lines'][0])}.", ""]
    out += _current(report["current_model"])
    rec = report["recommendations"]
    if rec["primary"] is None:
        out += ["## No recommendation", "", _md(rec["none_reason"]) + ".", ""]
    else:
        out += _choice("Recommendation", rec["primary"], notes)
        if rec["alternative"] is not None:
            out += _choice("Alternative", rec["alternative"], notes)
        else:
            out += ["## Alternative", "", "None: no other training run is eligible.", ""]
    out += _not_recommended(report, notes)
    out += ["## Action items", ""]
    out += [f"{i}. {_md(item['text'])}: {_code(item['command'])}"
            for i, item in enumerate(report["action_items"], start=1)] or ["None."]
    out += ["", "## Checklist", "",
            "The seed analysis's checklist, ticked only for what was done:", ""]
    out += [f"- [{'x' if c['done'] else ' '}] {_md(c['item'])}: {_md(c['result'])}"
            f"{notes.ref(c['source'])}" for c in report["checklist"]]
    return out + [""]


def _current(cur: dict[str, Any]) -> list[str]:
    out = ["## Current model", ""]
    model = _code(cur["model"] or cur.get("full_path") or "none")
    if cur.get("alarm"):
        why = "; ".join(_md(a) for a in cur.get("alarms") or []) or cur["state"]
        out.append(f"**ALARM: {model} is {cur['state']}**: {why}.")
    else:
        out.append(f"{model} is **{cur['state']}**.")
    if cur.get("health") and cur["state"] != "COLLAPSED":
        out.append(f"Its policy health: {_md(cur['health'])}.")
    return out + [""]


def _choice(title: str, entry: dict[str, Any], notes: Footnotes) -> list[str]:
    out = [f"## {title}: {_with_copies(entry['path'], entry['copies'])}", ""]
    if entry["evidence_level"] in (EVIDENCE_TRAINING, EVIDENCE_FILE):
        # `report --stored-only` with nothing checked: said before the table, not under it.
        out += [f"**Unchecked: this choice stands on {entry['evidence_level']} alone**; how it "
                "acts in the trader's mode is unknown until it is health-checked.", ""]
    out += ["| Deciding fact | Finding | Source |", "|---|---|---|"]
    for f in entry["deciding_facts"]:
        out.append(f"| {_md(f['label'])} | {_md(f['text'])} | {_md(f['source'])} |")
    return out + [""]


def _not_recommended(report: dict[str, Any], notes: Footnotes) -> list[str]:
    barred = report["not_recommended_models"]
    out = ["## Not recommended", ""]
    for entry in barred[:NOT_RECOMMENDED_SHOWN]:
        why = "; ".join(f"{_md(f['text'])}{notes.ref(f['source'])}" for f in entry["facts"])
        folded = ""
        if entry.get("checkpoints"):
            folded = (f"; its checkpoints {', '.join(_code(c) for c in entry['checkpoints'])}: "
                      "the same")
        out.append(f"- {_with_copies(entry['path'], entry['copies'])}: {why}{folded}.")
    if len(barred) > NOT_RECOMMENDED_SHOWN:
        out.append(f"- {len(barred) - NOT_RECOMMENDED_SHOWN} more barred by the evidence: "
                   "see the appendix.")
    counts = report["summary"]["counts"]
    refused = [f"{counts[k]} {word}" for k, word in (("unsafe", "UNSAFE (the trader would run "
               "code from them or refuse them)"), ("incompatible", "incompatible"),
               ("unreadable", "unreadable")) if counts[k]]
    if refused:
        out.append(f"- Never eligible: {', '.join(refused)}; each with why in the appendix.")
    if len(out) == 2:
        out.append("None.")
    return out + [""]


# ---- appendix -----------------------------------------------------------------------------

def _appendix(report: dict[str, Any], notes: Footnotes) -> list[str]:
    out = _environment(report["environment"])
    out += _ranking(report, notes)
    out += _runs(report["runs"], notes)
    out += _rejected(report)
    if report["notes"]:
        out += ["## Notes", ""] + [f"- {_md(n)}" for n in report["notes"]] + [""]
    return out


def _environment(env: dict[str, Any]) -> list[str]:
    obs = env["observation"]
    out = ["## Environment", "",
           f"- Profile {_code(env['profile'])}: {_md(env['profile_summary'])}",
           f"- Observation layout {_md(env['observation_layout'])}, shape "
           f"{tuple(obs['shape'])} {obs['dtype']} in [{obs['low']}, {obs['high']}]; "
           f"fill model {_md(env['fill_model'])}",
           f"- {env['n_actions']} actions ({env['action_space']}): "
           f"{', '.join(env['base_actions'])} in sizes {env['position_sizes']}; legacy "
           f"{env['legacy']['action_space']} in sizes {env['legacy']['position_sizes']}",
           f"- Read from {_md(env['source'])}", "",
           "| Action | Label | Side | Contracts |", "|---:|---|---|---:|"]
    out += [f"| {a['id']} | {_md(a['label'])} | {a['side']} | {a['size']} |"
            for a in env["actions"]]
    return out + [""]


def _ranking(report: dict[str, Any], notes: Footnotes) -> list[str]:
    rec = report["recommendations"]
    shown = ", ".join(f"{k} {v:g}" + (" (config)" if k in rec["weights_set"] else "")
                      for k, v in rec["weights"].items())
    out = ["## Ranking", "", "Hard rules first: never ranked are COLLAPSED models, models whose "
           "validation filled no order, models that could not be run safely, and every "
           "incompatible, unreadable or UNSAFE file. The rest are scored; the trader's mode on "
           "recorded sessions replaces the training summary's figure for the same criterion, "
           "and the name \"final\" only breaks ties.", "", f"Weights: {shown}.", ""]
    for c in report["candidates"]:
        out += [f"### {c['rank']}. {_with_copies(c['path'], c['copies'])}: score "
                f"{c['score']:.3f} ({_md(c['evidence_level'])})", ""]
        out += [f"- {_md(n)}" for n in c["notes"]]
        out += ["", "| Criterion | Points | Fact | Source |", "|---|---:|---|---|"]
        out += [f"| {f['criterion']} | {f['points']:+.3f} | {_md(f['text'])} | "
                f"{_md(f['source'])} |" for f in c["facts"]]
        out.append("")
    return out


def _runs(runs: list[dict[str, Any]], notes: Footnotes) -> list[str]:
    out = ["## Every model, by run", ""]
    for run in runs:
        out += [f"### {_code(run['run'])}", "", "| Model | Role | Standing | Evidence |",
                "|---|---|---|---|"]
        for m in run["models"]:
            figures = "; ".join(f"{_md(f['text'])}{notes.ref(f['source'])}" for f in m["figures"])
            out.append(f"| {_code(m['path'])} | {_md(m['role'])} | {_md(m['standing'])} | "
                       f"{figures or '-'} |")
        out.append("")
    return out


def _rejected(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for title, key in (("UNSAFE models (never promote, never run)", "unsafe_models"),
                       ("Incompatible models", "incompatible_models"),
                       ("Unreadable models", "unreadable_models")):
        if report[key]:
            out += [f"## {title}", ""]
            out += [f"- {_code(m['path'])} ({_md(m['action_space'])}): "
                    + "; ".join(_md(r) for r in m["reasons"]) for m in report[key]]
            out.append("")
    return out
