"""Confirmation dialogs: promote, force, roll back, and the refusal notice.

The safe answer is the easy one: Cancel has the focus, `escape` cancels, Enter on the
reason field only moves to the confirm button, and a change needs a reason. Forcing an
incompatible model is a second dialog that wants the word FORCE typed out.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.widgets.button import ButtonVariant

from kalshi_tui.tui import formatting as fmt

FORCE_WORD = "FORCE"


class ReasonDialog(ModalScreen[str | None]):
    """Ask to confirm a pointer change; dismisses with the reason, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel",
                        tooltip="Close without changing anything")]

    def __init__(self, title: str, body: list[Text], *, confirm_label: str,
                 require_word: str | None = None, dialog_id: str = "reason-dialog",
                 confirm_variant: ButtonVariant = "warning") -> None:
        super().__init__(id=dialog_id)
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.require_word = require_word
        self.confirm_variant = confirm_variant

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            # The title names the model: escaped like every name.
            yield Label(fmt.file_text(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(fmt.screen_lines(self.body))
            if self.require_word:
                yield Label(f"Type {self.require_word} to confirm:")
                yield Input(placeholder=f"the word {self.require_word}", id="word")
            yield Input(placeholder="reason (required, recorded in the journal)", id="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(self.confirm_label, id="confirm", variant=self.confirm_variant)
            yield Static("", id="dialog-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Enter never confirms by itself: it moves on, so one stray key cannot promote.
        if event.input.id == "word":
            self.query_one("#reason", Input).focus()
        else:
            self.query_one("#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        error = self.query_one("#dialog-error", Static)
        if self.require_word and self.query_one("#word", Input).value.strip() != self.require_word:
            error.update(f"Type {self.require_word} exactly to go on.")
            self.query_one("#word", Input).focus()
            return
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            error.update("A reason is required: it goes into the journal.")
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)


class RefusedDialog(ModalScreen[bool]):
    """Say why a promote was refused; True when the operator asks to go on to forcing."""

    BINDINGS = [
        Binding(
            "escape", "close", "Close", id="refused.close", tooltip="Close; nothing was changed"
        )
    ]

    def __init__(self, title: str, body: list[Text], *, can_force: bool) -> None:
        super().__init__(id="refused-dialog")
        self.title_text = title
        self.body = body
        self.can_force = can_force

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -refused"):
            yield Label(fmt.file_text(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(fmt.screen_lines(self.body))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")
                if self.can_force:
                    yield Button("Force…", id="force", variant="error")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#force")
    def _force(self) -> None:
        self.dismiss(True)
