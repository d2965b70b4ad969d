"""Describe views (`d`, as in k9s): one model or one pointer revision, every field in full.

Tables cut long values to keep columns aligned; these screens show the same facts as
wrapped lines in one scrollable column, so a long reason, path or hyperparameter is read
whole at 80 columns. The builders take plain data and return lines, so tests read them
without a screen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.widgets.panes import (
    PaneContext,
    compatibility_lines,
    histogram_lines,
    metrics_lines,
    provenance_lines,
    ranking_lines,
    readiness_lines,
)

_LABEL = 14


def _field(label: str, value: Any, style: str = "", width: int = _LABEL) -> Text:
    line = Text(f"{label:<{width}}", style="bold")
    line.append_text(fmt.file_text("-" if value is None or value == "" else value, style=style))
    return line


def _heading(text: str) -> Text:
    return Text(text, style="bold underline")


def describe_model_lines(ctx: PaneContext) -> list[Text]:
    """Every pane of the model one after the other, then the facts the panes cut short."""
    record = ctx.record
    if record is None:
        return [Text("no model selected", style="dim")]
    lines: list[Text] = []
    for title, builder in (("Compatibility", compatibility_lines), ("Readiness", readiness_lines),
                           ("Metrics", metrics_lines), ("Actions", histogram_lines),
                           ("Ranking", ranking_lines), ("Provenance", provenance_lines)):
        lines.append(_heading(title))
        lines += builder(ctx)
        lines.append(Text(""))
    if ctx.health is not None:
        lines.append(_heading("Health"))
        lines += [fmt.file_text(line) for line in ctx.health.summary_lines()]
        lines.append(Text(""))
    lines.append(_heading("Every field"))
    fields = {key: value for key, value in record.to_dict().items() if key != "metrics"}
    width = max(map(len, fields)) + 2  # "weights_n_actions" and its value never run together
    lines += [_field(key, value, width=width) for key, value in sorted(fields.items())]
    return lines


_VERBS = {"promote": "promote", "rollback": "rollback", "adopt": "adopt", "import": "imported"}


def describe_revision_lines(record: Any, now: datetime) -> list[Text]:
    """One journal record: who, host, pid, when, action, from, to, reason, forced, skipped."""
    when = record.time
    if record.imported is not None:
        when = f"{record.imported.get('date') or '?'} (as written in version_history)"
    action = _VERBS.get(record.action, record.action)
    if record.action == "rollback" and record.target_revision is not None:
        action = f"rollback to revision {record.target_revision}"
    lines = [
        _field("revision", record.revision, "bold cyan"),
        _field("action", action),
        _field("forced", "FORCED: the model did not fit; recorded as forced" if record.forced
               else "no", "bold red" if record.forced else ""),
        _field("who", record.user),
        _field("host", record.host),
        _field("pid", record.pid),
        _field("when", f"{when}  ({fmt.relative_time(record.time, now)})" if record.time else when),
        _field("from", record.from_.path or "(nothing)"),
        _field("from sha256", record.from_.sha256),
        _field("to", record.to.path or "(nothing)"),
        _field("to sha256", record.to.sha256),
        _field("reason", record.reason),
        _field("tool version", record.tool_version),
    ]
    if record.skipped:
        lines.append(Text("skipped", style="bold"))
        lines += [Text(f"  rev {s.revision}  ", style="yellow") + fmt.file_text(s.path or "-")
                  + fmt.file_text(f": {s.reason}", style="dim") for s in record.skipped]
    elif record.action == "rollback":
        lines.append(_field("skipped", "nothing"))
    if record.imported is not None:
        lines.append(Text("imported from version_history", style="bold"))
        lines += [_field(f"  {key}", value) for key, value in sorted(record.imported.items())]
    if not record.journalled:
        lines.append(Text("not yet journalled: written at the first change", style="dim"))
    return lines


class DescribeScreen(Screen):
    """A titled, scrollable column of lines; esc goes back."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="describe.back", tooltip="Back"),
        Binding("j,down", "scroll(1)", "Down", id="describe.down", show=False,
                tooltip="Scroll down a line"),
        Binding("k,up", "scroll(-1)", "Up", id="describe.up", show=False,
                tooltip="Scroll up a line"),
        Binding("g,home", "top", "Top", id="describe.top", show=False, tooltip="To the top"),
        Binding("G,end", "bottom", "Bottom", id="describe.bottom", show=False,
                tooltip="To the end"),
        Binding("question_mark", "app.help", "Help", id="describe.help",
                tooltip="Keys for this screen"),
    ]

    def __init__(self, title: str, lines: list[Text], *, screen_id: str = "describe") -> None:
        super().__init__(id=screen_id)
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield Static(fmt.file_text(f"{self.title_text}  (esc back, j/k scroll)"),
                     id="describe-title")
        with VerticalScroll(id="describe-scroll"):
            yield Static(fmt.screen_lines(self.lines), id="describe-body")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#describe-scroll").focus()

    @property
    def scroller(self) -> VerticalScroll:
        return self.query_one("#describe-scroll", VerticalScroll)

    def action_scroll(self, lines: int) -> None:
        self.scroller.scroll_relative(y=lines, animate=False)

    def action_top(self) -> None:
        self.scroller.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.scroller.scroll_end(animate=False)

    def palette_commands(self) -> list[tuple[str, str, str]]:
        return [("Back", "", "app.pop_screen")]
