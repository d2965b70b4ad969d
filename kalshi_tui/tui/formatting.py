"""Pure helpers that turn records into short, escaped text for the screen.

No widgets here: everything takes plain data and returns strings or `rich.text.Text`, so the
main screen, the compare screen and the dialogs agree on how a figure looks, and the
helpers can be tested without running an app.

Every string that came from a file, a folder name, the journal, a setting or an exception
reaches the screen through `file_text` (or `printable` then `markup=False` for a toast):
the core's one rule (`core.safe_text.printable`) shows ESC, BEL, newlines, C1 controls,
bidi overrides and undecodable bytes as escapes, and a `Text` is never read as markup,
so `[@click=app.quit]` in a model name stays text. `screen_lines` joins a widget's lines
and passes each through the same rule once more, for a value a builder forgot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.style import StyleType
from rich.text import Span, Text

from kalshi_tui.core import (
    parse_time,  # noqa: F401 (screens import it from here)
    printable,
)
from kalshi_tui.core.catalog import COMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.report import fmt_dollars, fmt_float, fmt_int, fmt_pct as core_fmt_pct  # noqa: F401 (one rule, re-exported for the screens)
from kalshi_tui.core.world import ActionLayout, session_ranges as core_session_ranges

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def file_text(value: object, style: StyleType = "") -> Text:
    """`value` (a name, path, reason, journal field, exception) as inert text for the screen."""
    return Text(printable(value), style=style)


def escaped_line(line: Text) -> Text:
    """`line` with any character the terminal would act on shown escaped, its styles kept.

    The builders escape each value with `file_text`; this is the net under them. Rich has
    already dropped BEL and CR from a `Text` made of raw text, but ESC, C1 controls, bidi
    overrides and surrogates would pass: each styled run is escaped on its own, so a run's
    style covers exactly its escaped characters.
    """
    if line.plain.isprintable():
        return line
    cuts = sorted({offset for span in line.spans for offset in (span.start, span.end)})
    safe = Text(style=line.style, justify=line.justify, overflow=line.overflow,
                no_wrap=line.no_wrap, end=line.end)
    for run in line.divide(cuts):
        shown = printable(run.plain)
        # No cut falls inside a run, so every span left on it covers all of it.
        safe.append_text(Text(shown, spans=[Span(0, len(shown), span.style) for span in run.spans]))
    return safe


def screen_lines(lines: Iterable[Text]) -> Text:
    """A widget's lines as one Text: each escaped, joined by the only newlines that are ours."""
    return Text("\n").join(escaped_line(line) for line in lines)


def relative_time(value: Any, now: datetime) -> str:
    """'3m ago' style age, computed from the injected clock so snapshots stay stable."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in (
        (86400 * 365, "y"),
        (86400 * 30, "mo"),
        (86400, "d"),
        (3600, "h"),
        (60, "m"),
    ):
        if seconds >= size:
            amount = f"{int(seconds // size)}{unit}"
            break
    else:
        amount = f"{int(seconds)}s"
    return f"in {amount}" if future else f"{amount} ago"


def short_time(value: Any) -> str:
    moment = parse_time(value)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def fmt_pct(value: Any, *, fraction: bool = False) -> str:
    """The core's percentage in its compact form ("35.9%"): screen columns are narrow."""
    return core_fmt_pct(value, fraction=fraction, unit="%")


def session_ranges(ids: Any) -> str:
    """[5, 6, 7, 9] -> "5-7,9": session lists read like the config writes them."""
    return core_session_ranges(ids, empty="-")


_SOURCE_FILE = re.compile(r"[\w.-]+\.(?:jsonl|json|log|zip)")


def short_source(source: str | None) -> str | None:
    """The file a figure came from ("training_results.json"), without the derivation detail."""
    if not source:
        return None
    found = _SOURCE_FILE.search(source)
    return found.group(0) if found else source[:24]


def badge_for(record: ModelRecord, environment: Any) -> str:
    """The catalog's badge ("OK", "LEGACY 5-ACT", ...) so the TUI and `list` say the same."""
    from kalshi_tui.core.evidence import badge

    return badge(record, environment)


def badge_style(record: ModelRecord) -> str:
    if record.verdict == COMPATIBLE:
        return "bold green"
    if record.verdict in (UNREADABLE, UNSAFE):
        return "bold white on red"
    return "bold yellow"


def badge_text(record: ModelRecord, badge: str) -> Text:
    return file_text(badge, style=badge_style(record))


def trading_pct(record: ModelRecord) -> float | None:
    return record.metrics.trading_pct if record.metrics else None


def win_rate(record: ModelRecord) -> float | None:
    return record.metrics.win_rate if record.metrics else None


def episodes(record: ModelRecord) -> int | None:
    return record.metrics.episodes if record.metrics else None


def actions_text(record: ModelRecord) -> str:
    if record.n_actions is None:
        return record.action_space_type or "-"
    if record.action_space_type and record.action_space_type != "Discrete":
        return f"{record.action_space_type}({record.n_actions})"
    return str(record.n_actions)


def layout_for_record(
    record: ModelRecord, environment: Any, n: int | None = None
) -> ActionLayout | None:
    """The layout that names this model's actions; None when the count fits no known layout."""
    count = n if n is not None else record.n_actions
    if count is None:
        return None
    return environment.layout_for(count)


def _action_counts(histogram: Mapping[Any, Any]) -> dict[int, int]:
    """Count by action id from a stored histogram (ids as JSON text keys); an entry whose id
    or count is not a number is skipped (the catalog notes the damage)."""
    counts: dict[int, int] = {}
    for key, value in histogram.items():
        try:
            counts[int(key)] = counts.get(int(key), 0) + int(value)
        except (TypeError, ValueError):
            continue
    return counts


def histogram_table(histogram: Mapping[Any, Any] | None, layout: ActionLayout | None) -> list[Text]:
    """Action counts as a grid: one row per side, one column per size, shares of the total
    (the report's compact form; the TUI's histogram tab draws `histogram_columns`)."""
    if not histogram:
        return [Text("no action histogram", style="dim")]
    counts = _action_counts(histogram)
    total = sum(counts.values())
    if total <= 0:
        return [Text("histogram is empty (no actions counted)", style="dim")]
    share = {a: 100.0 * c / total for a, c in counts.items()}
    if layout is None or max(counts) >= layout.n:
        # Unknown layout: ids only, never a guessed label.
        return [Text(f"action {a:>3}  {share[a]:5.1f}%  {counts[a]:,}") for a in sorted(counts)]
    # Side and size names come from the environment's profile in the config file.
    base_actions = [printable(name) for name in layout.base_actions]
    sides = [printable(side) for side in layout.sides]
    sizes = layout.sizes
    name_width = max(len(s) for s in base_actions) + 1
    header = Text(" " * name_width)
    for size in sizes:
        header.append(f"{'x' + str(size):>7}")
    header.append(f"{'side':>8}", style="bold")
    lines = [header]
    hold = share.get(0, 0.0)
    lines.append(Text(f"{base_actions[0]:<{name_width}}" + " " * (7 * len(sizes))
                      + f"{hold:7.1f}%", style="bold" if hold >= 50 else ""))
    size_totals = [0.0] * len(sizes)
    for side, shown_side in zip(layout.sides, sides, strict=True):
        row = Text(f"{shown_side:<{name_width}}")
        side_total = 0.0
        for size_index, size in enumerate(sizes):
            pct = share.get(layout.encode(side, size), 0.0)
            side_total += pct
            size_totals[size_index] += pct
            row.append(f"{pct:6.1f}%", style="dim" if pct == 0 else "")
        row.append(f"{side_total:7.1f}%", style="bold")
        lines.append(row)
    footer = Text(f"{'size':<{name_width}}", style="bold")
    for value in size_totals:
        footer.append(f"{value:6.1f}%", style="bold")
    lines.append(footer)
    lines.append(Text(f"{total:,} actions counted", style="dim"))
    return lines


def histogram_bars(
    histogram: dict[Any, Any] | None, layout: ActionLayout | None, width: int = 24
) -> list[Text]:
    """One labelled bar per action, for the compare screen where grids would not fit twice."""
    if not histogram:
        return [Text("no action histogram", style="dim")]
    counts = {int(k): int(v) for k, v in histogram.items() if str(k).lstrip("-").isdigit()}
    total = sum(counts.values()) or 1
    top = max(counts.values() or [1]) or 1
    lines = []
    n = (
        layout.n
        if layout is not None and max(counts, default=0) < layout.n
        else max(counts, default=-1) + 1
    )
    for action in range(n):
        label = (
            printable(layout.label(action))
            if layout is not None and action < layout.n
            else f"action {action}"
        )
        count = counts.get(action, 0)
        bar = "█" * round(width * count / top)
        lines.append(Text(f"{label:<13}{100 * count / total:5.1f}% ") + Text(bar, style="cyan"))
    return lines


_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `fraction` (0..1) of `width` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(width)


def histogram_columns(histogram: Mapping[Any, Any] | None, layout: ActionLayout | None,
                      bar_width: int = 11) -> list[Text]:
    """Action shares as labelled bars, HOLD first, then one group per side with its total and
    one bar per size, so "which side, what size" reads at a glance (21 bars for 21 actions).

    Every line is `histogram_width(bar_width)` cells, so two histograms sit side by side.
    Bars are scaled to the most played action; the share is printed beside each.
    """
    width = histogram_width(bar_width)
    if not histogram:
        return [Text("no action histogram".ljust(width), style="dim")]
    counts = _action_counts(histogram)
    total = sum(counts.values())
    if total <= 0:
        return [Text("no actions counted".ljust(width), style="dim")]
    top = max(counts.values())

    def bar_line(label: str, action: int) -> Text:
        count = counts.get(action, 0)
        line = Text(f"{label:<7.7}")
        line.append(bar(count / top, bar_width), style="cyan" if count else "dim")
        line.append(f"{100 * count / total:6.1f}%", style="dim" if count == 0 else "")
        return line

    if layout is None or max(counts) >= layout.n:
        # Unknown layout: ids only, never a guessed label.
        return [bar_line(f"id {a}", a) for a in sorted(counts)]
    lines = [bar_line(printable(layout.base_actions[0]), 0)]
    for side in layout.sides:
        side_total = sum(counts.get(layout.encode(side, size), 0) for size in layout.sizes)
        head = Text(f"{printable(side):<{width - 7}.{width - 7}}", style="bold")
        head.append(f"{100 * side_total / total:6.1f}%", style="bold")
        lines.append(head)
        lines += [bar_line(f" x{size}", layout.encode(side, size)) for size in layout.sizes]
    lines.append(Text(f"{total:,} actions".ljust(width), style="dim"))
    return lines


def histogram_width(bar_width: int) -> int:
    return 7 + bar_width + 7


def side_by_side(left: list[Text], right: list[Text], left_width: int, gap: int = 3) -> list[Text]:
    """Two columns of lines as one: `left` padded to `left_width`, then `right`."""
    lines = []
    for index in range(max(len(left), len(right))):
        line = left[index].copy() if index < len(left) else Text("")
        line.pad_right(max(0, left_width - line.cell_len))
        line.append(" " * gap)
        if index < len(right):
            line.append_text(right[index])
        lines.append(line)
    return lines
