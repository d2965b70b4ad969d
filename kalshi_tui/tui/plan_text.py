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


def _label(text: str) -> Text:
    return Text(f"{text:<10}", style="bold")


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


def promote_body(plan: Any, pointer: PointerView | None, badge: str, validation: Any) -> list[Text]:
    record: ModelRecord = plan.record
    before = (
        pointer.model_path if pointer and pointer.model_path else (plan.from_.path or "(nothing)")
    )
    lines = [
        _label("from") + fmt.file_text(before),
        _label("to")
        + fmt.file_text(record.path, style="bold")
        + Text("  ")
        + fmt.badge_text(record, badge),
        _label("revision")
        + Text(f"{plan.revision_before} -> {plan.revision_after}", style="bold cyan"),
    ]
    lines += adopt_lines(plan)
    lines += key_metric_lines(record, validation)
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
        lines.append(
            Text("the hand-written pointer is first journalled as it is (adopt)", style="dim")
        )
    return lines


def refused_body(message: str, record: ModelRecord, badge: str) -> list[Text]:
    lines = [fmt.file_text(message)]
    lines.append(
        _label("model") + fmt.file_text(record.path) + Text("  ") + fmt.badge_text(record, badge)
    )
    lines += [Text("✗ ", style="bold red") + fmt.file_text(r) for r in record.reasons]
    return lines


def rollback_body(plan: Any, pointer: PointerView | None) -> list[Text]:
    record: ModelRecord = plan.record
    before = (
        pointer.model_path if pointer and pointer.model_path else (plan.from_.path or "(nothing)")
    )
    lines = [
        _label("from") + fmt.file_text(before),
        _label("to") + Text(f"revision {plan.target_revision}: ", style="bold cyan")
        + fmt.file_text(record.path, style="bold"),
        _label("revision") + Text(f"{plan.revision_before} -> {plan.revision_after} "
                                  "(a rollback is a new revision)"),
    ]
    lines += adopt_lines(plan)
    if plan.skipped:
        lines.append(Text("skips", style="bold"))
        lines += [Text(f"  rev {s.revision} ", style="yellow") + fmt.file_text(s.path or "-")
                  + fmt.file_text(f": {s.reason}", style="dim") for s in plan.skipped]
    else:
        lines.append(Text("skips nothing", style="dim"))
    lines += [Text("! ", style="bold yellow") + fmt.file_text(w) for w in plan.warnings]
    return lines
