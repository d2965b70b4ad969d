"""The progress dialog of a model run (validation, health check, A/B test): a bar fed by
ValidationProgressed, naming what it counts; `escape` cancels.

The dialog only shows progress; the App owns the worker and its cancel event, so closing
the dialog and stopping the run are one decision in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static

from kalshi_tui.tui import formatting as fmt

# What the engine counts (eval.batched: one step of one market's replay, all markets batched).
UNIT = "market steps"

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp


class ValidationDialog(ModalScreen[None]):
    """Shows how far a validation run is; `escape` asks the App to cancel it."""

    BINDINGS = [Binding("escape", "cancel_validation", "Cancel validation", id="validation.cancel",
                        tooltip="Stop the run; nothing partial is stored")]

    def __init__(self, model_name: str, sessions: str, *, title: str = "Validating",
                 unit: str = UNIT) -> None:
        super().__init__(id="validation-dialog")
        self.model_name = model_name
        self.sessions = sessions
        self.title = title
        self.unit = unit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(fmt.file_text(f"{self.title} {self.model_name}"), classes="dialog-title")
            yield Static(fmt.file_text(f"sessions {self.sessions}; esc cancels"), classes="dim")
            yield ProgressBar(total=None, show_eta=False, id="validation-progress")
            yield Static(f"0 {self.unit} done: loading the sessions' markets…",
                         id="validation-status")

    def show_progress(self, done: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        self.query_one("#validation-status", Static).update(
            f"{done:,} of {total:,} {self.unit} done")

    def show_cancelling(self) -> None:
        self.query_one("#validation-status", Static).update("cancelling…")

    def action_cancel_validation(self) -> None:
        cast("KalshiTuiApp", self.app).cancel_validation()  # the dialog runs in no other app
