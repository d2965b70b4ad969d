"""The header: what trades now, at which revision, who changed it last, and any alarm.

During an incident this is the line an operator reads first, so an alarm (current model
missing, unreadable, incompatible or changed on disk) is a red line of its own, and the
read-only lock is shown where nobody can miss it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.backend import PointerView

LOCK_MARK = "🔒 READ-ONLY"
FLASH_SECONDS = 3.0


@dataclass(frozen=True)
class ListView:
    """What the models list shows now: counts, and the filters that narrow it."""

    loaded: bool = False  # False until the first scan: "loading...", never "0 models"
    total: int = 0
    compatible: int = 0
    shown: int = 0  # rows passing the filters (the pinned current model aside)
    filter_text: str = ""
    compatible_only: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.filter_text) or self.compatible_only


def _counts(view: ListView) -> Text:
    if not view.loaded:
        return Text("  loading...", style="bold yellow")
    if not view.narrowed:
        return Text(f"  {view.total:,} models, {view.compatible:,} compatible", style="dim")
    # Narrowed: the count of what is shown comes first, and each filter is a visible mark.
    line = Text(f"  {view.shown:,} of {view.total:,} shown ", style="bold")
    if view.compatible_only:
        line.append(" compatible only ", style="bold black on cyan")
        line.append(" ")
    if view.filter_text:
        line.append_text(fmt.file_text(f" filter: {view.filter_text} ", style="bold black on cyan"))
    return line


def header_lines(pointer: PointerView | None, *, read_only: bool, now: datetime,
                 view: ListView, models_dir: str) -> list[Text]:
    """The header's text; a separate function so tests can read it without an app.

    Lines never wrap (app.tcss: a value split over two lines misreads); the long ones end
    in "…", and the describe views show them whole.
    """
    return _header_lines(pointer, read_only=read_only, now=now, view=view, models_dir=models_dir)


def _header_lines(pointer: PointerView | None, *, read_only: bool, now: datetime,
                  view: ListView, models_dir: str) -> list[Text]:
    title = Text("kalshi-tui ", style="bold")
    if read_only:
        title.append(f" {LOCK_MARK} ", style="bold black on yellow")
        title.append(" ")
    title.append(fmt.file_text(models_dir, style="dim"))
    title.append_text(_counts(view))
    lines = [title]
    if pointer is None:
        lines.append(Text("Current: reading the pointer…", style="dim"))
        return lines
    if pointer.error:
        lines.append(Text("Current: ", style="bold") + fmt.file_text(pointer.error, style="red"))
        lines.append(fmt.file_text(f" ALARM: the pointer cannot be read: {pointer.error} ",
                                   style="bold white on red"))
        return lines
    # The revision and the badge first: a long path is what gets cut, never them.
    current = Text("Current: ", style="bold")
    current.append(f"rev {pointer.revision}", style="bold cyan")
    if pointer.badge:
        style = "bold green" if pointer.badge == "OK" else "bold white on red"
        current.append("  ")
        current.append(fmt.file_text(f" {pointer.badge} ", style=style))
    current.append("  ")
    if pointer.model_path:
        current.append(fmt.file_text(pointer.model_path, style="bold"))
    else:
        current.append("no model set", style="yellow")
    lines.append(current)
    if pointer.last_when or pointer.last_who:
        change = Text("Last change: ", style="dim")
        change.append(fmt.file_text(pointer.last_action or "change"))
        if pointer.last_who:
            change.append(" by ")
            change.append(fmt.file_text(pointer.last_who, style="bold"))
        change.append(f" {fmt.relative_time(pointer.last_when, now)}")
        if pointer.last_why:
            change.append(": ")
            change.append(fmt.file_text(pointer.last_why, style="italic"))
        lines.append(change)
    else:
        lines.append(Text("Last change: none recorded by kalshi-tui (hand-written pointer)",
                          style="dim"))
    if pointer.pending:
        lines.append(Text("PENDING: ", style="bold yellow")
                     + fmt.file_text(pointer.pending, style="yellow"))
    if pointer.alarm:
        lines.append(fmt.file_text(f" ALARM: {pointer.alarm} ", style="bold white on red"))
    return lines


class StatusHeader(Static):
    """Shows `header_lines`; the App calls `show` whenever the pointer or models change."""

    def show(self, pointer: PointerView | None, *, read_only: bool, now: datetime,
             view: ListView, models_dir: str) -> None:
        lines = header_lines(pointer, read_only=read_only, now=now, view=view,
                             models_dir=models_dir)
        self.set_class(bool(pointer and (pointer.alarm or pointer.error)), "-alarm")
        self.update(fmt.screen_lines(lines))

    def flash(self) -> None:
        """Highlight the header for a few seconds: a change the operator did not make."""
        self.add_class("-flash")
        self.set_timer(FLASH_SECONDS, lambda: self.remove_class("-flash"))
