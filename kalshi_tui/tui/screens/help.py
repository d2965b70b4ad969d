"""`?` help: the keys of the screen the operator is looking at, as they are bound now.

Built from the screen's active bindings, so a key remapped in the config shows its new
key here, and an action hidden in read-only mode is not offered.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.dialogs.confirm import FORCE_WORD


def help_table(screen: Screen) -> Table:
    """Key, action and what it does, for every enabled binding the screen would act on.

    The action and its explanation are columns of their own: run together in one cell they
    read "PromoteMake the selected model...".
    """
    table = Table(show_edge=False, box=None, pad_edge=False, expand=True, padding=(0, 2, 0, 0))
    table.add_column("Key", style="bold cyan", no_wrap=True)
    table.add_column("Action", style="bold", no_wrap=True)
    table.add_column("What it does", style="dim", ratio=1)
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding: Binding = active.binding
        # Our bindings carry ids; Textual's generic ones (scroll, focus, copy) do not.
        if (not active.enabled or not binding.description or not binding.id
                or binding.action in seen):
            continue
        seen.add(binding.action)
        keys = [k for k, a in screen.active_bindings.items() if a.binding.action == binding.action]
        shown = ", ".join(screen.app.get_key_display(screen.active_bindings[k].binding)
                          for k in keys)
        # Keys can come from the config's keymap: escaped like anything read from a file.
        table.add_row(fmt.file_text(shown), Text(binding.description),
                      Text(active.tooltip or binding.tooltip or ""))
    table.add_row(
        Text("↑ ↓ j k"), Text("Move"), Text("The cursor; pgup/pgdn a page, g/G first/last")
    )
    return table


class HelpScreen(ModalScreen[None]):
    """Help for the screen beneath it (its `help_table`); any of esc, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close",
                        tooltip="Back to the screen this help is about")]

    def __init__(self, keys: Table, title: str) -> None:
        super().__init__(id="help-screen")
        self.keys = keys  # built while the screen it describes was active: bindings depend on it
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -help"):
            yield Label(Text(f"Help: {self.title_text}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(self.keys)
                yield Static(Text(
                    "\nPromote and roll back always ask first; Cancel has the focus and a "
                    "reason is required. An incompatible model is refused; forcing it is a "
                    f"second step where you type {FORCE_WORD}. The screen refreshes by itself "
                    "every few seconds, except while a dialog is open.", style="dim"))

    async def action_dismiss(self, result: object = None) -> None:
        self.dismiss(None)
