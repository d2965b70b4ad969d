"""The words inside the promote, force and rollback dialogs, built from the engine's plans.

Kept apart from the dialogs so each dialog shows exactly what the engine planned (from,
to, revision numbers, skipped revisions) and tests can read the text without a screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.backend import PointerView

PLANNING = Text("checking the change with the pointer engine… (type the reason meanwhile)",
                style="dim")
HEALTH_STYLES = {"HEALTHY": "green", "NARROW": "yellow", "COLLAPSED": "bold white on red"}
_ACTION_VERBS = {"promote": "promoted", "rollback": "rolled back to", "adopt": "adopted",
                 "import": "imported"}


def _label(text: str) -> Text:
    return Text(f"{text:<10}", style="bold")


def badge_words(record: ModelRecord) -> str:
    """A record's badge when the listing has none for it (a rollback target not listed)."""
    return record.verdict.upper()


def health_lines(health: Any) -> list[Text]:
    """The stored policy health in one line, or that it is unknown and how to learn it."""
    if health is None:
        return [_label("health") + Text("unknown: not checked (K checks it)", style="dim")]
    style = HEALTH_STYLES.get(health.state, "")
    return [_label("health") + fmt.file_text(health.state_line or "unknown", style=style)]


def outside_change_words(pointer: PointerView) -> str:
    """`alice@vm promoted session5/model.zip (rev 7): why`: another operator's change, in words."""
    model = pointer.model_path or "no model"
    if not pointer.last_who:
        return f"the pointer changed outside kalshi-tui: now {model} (rev {pointer.revision})"
    verb = _ACTION_VERBS.get(pointer.last_action or "", pointer.last_action or "changed")
    words = f"{pointer.last_who} {verb} {model} (rev {pointer.revision})"
    return f"{words}: {pointer.last_why}" if pointer.last_why else words


def key_metric_lines(record: ModelRecord, validation: Any) -> list[Text]:
    """The few figures an operator checks before saying yes."""
    m = record.metrics
    line = Text("training  ", style="bold")
    line.append(fmt.file_text(f"{record.algorithm or '?'}, {fmt.actions_text(record)} actions, "
                              f"{fmt.fmt_int(record.num_timesteps)} steps"))
    lines = [line]
    if m is not None:
        lines.append(Text(f"          win {fmt.fmt_pct(m.win_rate, fraction=True)}, trading "
                          f"{fmt.fmt_pct(m.trading_pct)}, {fmt.fmt_int(m.episodes)} episodes, "
                          f"{fmt.fmt_int(m.unique_markets)} markets"))
    if validation is None:
        lines.append(_label("validated") + Text("no (V validates it first)", style="yellow"))
    else:
        lines.append(_label("validated") + Text(
            f"sessions {fmt.session_ranges(validation.session_ids)}: {validation.headline()}"))
    return lines


def shown_before(plan: Any, pointer: PointerView | None) -> str:
    """The model the change leaves, as the header names it (the plan's path before the
    pointer was first read)."""
    if pointer and pointer.model_path:
        return pointer.model_path
    return plan.from_.path or "(nothing)"


def ab_lines(ab_line: str) -> list[Text]:
    """The stored A/B against the current model (`kalshi-tui abtest` runs it), when known."""
    return [_label("A/B") + fmt.file_text(ab_line)] if ab_line else []


def promote_body(plan: Any, pointer: PointerView | None, badge: str, validation: Any,
                 health: Any = None, ab_line: str = "") -> list[Text]:
    record: ModelRecord = plan.record
    before = shown_before(plan, pointer)
    lines = [
        _label("from") + fmt.file_text(before),
        _label("to") + fmt.file_text(record.path, style="bold") + Text("  ")
        + fmt.badge_text(record, badge),
        _label("revision") + Text(f"{plan.revision_before} -> {plan.revision_after}",
                                  style="bold cyan"),
    ]
    lines += adopt_lines(plan)
    lines += key_metric_lines(record, validation)
    lines += health_lines(health)
    lines += ab_lines(ab_line)
    lines += [Text("! ", style="bold yellow") + fmt.file_text(w) for w in plan.warnings]
    lines += [Text("! ", style="bold yellow") + fmt.file_text(w) for w in record.warnings]
    return lines


def adopt_lines(plan: Any) -> list[Text]:
    """What a change journals before itself: the pointer's version_history, the pointer as found."""
    lines = []
    if plan.imported:
        which = "revision 1" if plan.imported == 1 else f"revisions 1-{plan.imported}"
        lines.append(Text(f"the pointer's version_history is first journalled as {which} "
                          "(imported)", style="dim"))
    if plan.adopt:
        lines.append(Text("the hand-written pointer is first journalled as it is (adopt)",
                          style="dim"))
    return lines


def refused_body(message: str, record: ModelRecord, badge: str) -> list[Text]:
    lines = [fmt.file_text(message)]
    lines.append(_label("model") + fmt.file_text(record.path) + Text("  ")
                 + fmt.badge_text(record, badge))
    lines += [Text("✗ ", style="bold red") + fmt.file_text(r) for r in record.reasons]
    return lines


def rollback_body(plan: Any, pointer: PointerView | None, badge: str, validation: Any = None,
                  health: Any = None, ab_line: str = "") -> list[Text]:
    """From, to (with the target's badge), the revisions, every revision passed over, and the
    target's key figures and health, as the promote dialog shows them."""
    record: ModelRecord = plan.record
    before = shown_before(plan, pointer)
    lines = [
        _label("from") + fmt.file_text(before),
        _label("to") + Text(f"revision {plan.target_revision}: ", style="bold cyan")
        + fmt.file_text(record.path, style="bold") + Text("  ") + fmt.badge_text(record, badge),
        _label("revision") + Text(f"{plan.revision_before} -> {plan.revision_after} "
                                  "(a rollback is a new revision)"),
    ]
    if plan.forced:
        lines.append(Text("FORCED: recorded as forced in the journal and the pointer",
                          style="bold red"))
    lines += adopt_lines(plan)
    if plan.skipped:
        shown = ", ".join(str(s.revision) for s in sorted(plan.skipped, key=lambda s: s.revision))
        lines.append(_label("skips") + Text(f"revisions {shown}", style="yellow"))
        lines += [Text(f"  rev {s.revision} ", style="yellow") + fmt.file_text(s.path or "-")
                  + fmt.file_text(f": {s.reason}", style="dim") for s in plan.skipped]
    else:
        lines.append(_label("skips")
                     + Text("nothing: the target is the revision before", style="dim"))
    lines += key_metric_lines(record, validation)
    lines += health_lines(health)
    lines += ab_lines(ab_line)
    lines += [Text("! ", style="bold yellow") + fmt.file_text(w) for w in plan.warnings]
    return lines
