"""Confirmation dialogs: promote, force, roll back, and the refusal notice.

Reason first, confirm second. The dialog opens at once on P or R with the reason field
focused, so whatever the operator types next lands there even while the engine is still
planning; the plan fills the body when it arrives. Enter on an empty reason stays and says
a reason is required; Enter with a reason moves to the confirm button, which names what it
does (`Roll back to rev 2`); only a second Enter there confirms. `escape` cancels at any
point. Forcing an incompatible model is a second dialog that wants the word FORCE typed out.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.widgets.button import ButtonVariant

from kalshi_tui.tui import formatting as fmt

FORCE_WORD = "FORCE"
REASON_REQUIRED = "A reason is required: it goes into the journal. Type it, then Enter."
WAIT_FOR_PLAN = "Checking the change with the pointer engine… Enter again once the plan is shown."


class ReasonDialog(ModalScreen[str | None]):
    """Ask to confirm a pointer change; dismisses with the reason, or None when cancelled.

    Built before the plan exists (`planned=False`): the body says it is planning and the
    confirm button stays disabled until `show_plan` gives the engine's answer.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel",
                        tooltip="Close without changing anything")]
    # What Textual focuses when the dialog appears, before any key is dispatched (by default
    # the first focusable widget, the body): FORCE's word when asked for, else the reason.
    AUTO_FOCUS = "#word, #reason"

    def __init__(self, title: str, body: list[Text], *, confirm_label: str,
                 require_word: str | None = None, dialog_id: str = "reason-dialog",
                 confirm_variant: ButtonVariant = "warning", planned: bool = True) -> None:
        super().__init__(id=dialog_id)
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.require_word = require_word
        self.confirm_variant = confirm_variant
        self.planned = planned
        self.plan: Any = None  # what the App confirms against, set with the body
        self._reason_done = False  # Enter was pressed on a reason before the plan came

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            # The title names the model: escaped like every name.
            yield Label(fmt.file_text(self.title_text), classes="dialog-title", id="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(fmt.screen_lines(self.body), id="dialog-plan")
            if self.require_word:
                yield Label(f"Type {self.require_word} to confirm:")
                yield Input(placeholder=f"the word {self.require_word}", id="word")
            yield Input(placeholder="reason (required, recorded in the journal), then Enter",
                        id="reason")
            yield Static("", id="dialog-error", classes="dialog-error")
            yield Static("", id="dialog-hint", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", variant="primary")
                # The label names the model: escaped, never read as markup.
                yield Button(fmt.file_text(self.confirm_label), id="confirm",
                             variant=self.confirm_variant, disabled=not self.planned)

    def on_mount(self) -> None:
        self._first_field().focus()

    def _first_field(self) -> Input:
        return self.query_one("#word" if self.require_word else "#reason", Input)

    def on_key(self, event: Key) -> None:
        if self.focused is None:
            self.take_key(event)

    def take_key(self, event: Key) -> None:
        """Put a key that reached the wrong place into the dialog's field.

        A burst typed right after P or R (or before the first frame, which the terminal
        hands over at once) is queued on the models screen before the dialog exists, or
        reaches the dialog before its field has the focus; those keys belong to the reason.
        """
        field = self.focused if isinstance(self.focused, Input) else self._first_field()
        if event.key == "enter":
            field.focus()
            field.post_message(Input.Submitted(field, field.value))
        elif event.key == "backspace":
            field.action_delete_left()
        elif event.key == "escape":
            self.action_cancel()
        elif event.is_printable and event.character:
            field.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def show_plan(self, title: str, body: list[Text], confirm_label: str, plan: Any) -> None:
        """The engine's plan arrived: show it and let the operator confirm it."""
        self.title_text, self.body, self.confirm_label, self.plan = title, body, confirm_label, plan
        self.planned = True
        self.query_one("#dialog-title", Label).update(fmt.file_text(title))
        self.query_one("#dialog-plan", Static).update(fmt.screen_lines(body))
        button = self.query_one("#confirm", Button)
        button.label = fmt.file_text(confirm_label)
        button.refresh(layout=True)  # the label's width changed: "Roll back" -> "... to rev 2"
        button.disabled = False
        if self._reason_done and self._reason():
            self.query_one("#dialog-error", Static).update("")
            button.focus()

    def _reason(self) -> str:
        return self.query_one("#reason", Input).value.strip()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Enter never confirms by itself: it moves on, so one stray key cannot change the pointer.
        error = self.query_one("#dialog-error", Static)
        if event.input.id == "word":
            self.query_one("#reason", Input).focus()
            return
        if not self._reason():
            error.update(REASON_REQUIRED)
            return
        if not self.planned:
            self._reason_done = True
            error.update(WAIT_FOR_PLAN)
            return
        error.update("")
        self.query_one("#confirm", Button).focus()

    def on_descendant_focus(self) -> None:
        # Say what the next Enter does wherever the focus is: no key is a surprise.
        focused = self.focused
        if focused is not None and focused.id == "confirm":
            hint = f"Enter: {self.confirm_label}.  esc: cancel, nothing changes."
        elif focused is not None and focused.id == "reason":
            hint = "Enter: on to the confirm button (nothing is changed yet).  esc: cancel."
        else:
            hint = ""
        # One line of fixed height (app.tcss): no layout pass on every focus move.
        self.query_one("#dialog-hint", Static).update(fmt.file_text(hint), layout=False)

    @on(Input.Changed, "#reason")
    def _reason_changed(self) -> None:
        self._reason_done = False  # a changed reason wants its own Enter

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        error = self.query_one("#dialog-error", Static)
        if not self.planned:
            return
        if self.require_word and self.query_one("#word", Input).value.strip() != self.require_word:
            error.update(f"Type {self.require_word} exactly to go on.")
            self.query_one("#word", Input).focus()
            return
        reason = self._reason()
        if not reason:
            error.update(REASON_REQUIRED)
            self.query_one("#reason", Input).focus()
            return
        self.dismiss(reason)


class RefusedDialog(ModalScreen[bool]):
    """Say why a change was refused (or its plan failed); True when the operator asks to go on
    to forcing a promote."""

    BINDINGS = [Binding("escape", "close", "Close", id="refused.close",
                        tooltip="Close; nothing was changed")]

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
