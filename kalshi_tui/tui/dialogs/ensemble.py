"""The ensemble dialog: which models vote, and how; Enter runs it, `esc` cancels.

Opened by `E` on the models screen. It lists the members (every marked model, or the one
marked and the selected row), lets the operator choose the vote with the arrows (majority
first and highlighted: the CLI's default), and says what Enter will do before it is pressed.
One Enter is enough here, unlike promote and roll back: an ensemble validation changes no
pointer; it stores evidence, as `kalshi-tui validate --ensemble` does, and can be cancelled
from its progress dialog.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from kalshi_tui.tui import formatting as fmt

# What each vote plays, in the words of the README's table; the tie rule comes with it.
VOTE_WORDS = {"majority": "the action most members play",
              "mean-prob": "the argmax of the members' averaged action probabilities"}


class EnsembleDialog(ModalScreen[str | None]):
    """Confirm an ensemble validation; dismisses with the chosen vote, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ensemble.cancel",
                        tooltip="Close without running anything")]
    AUTO_FOCUS = "#vote"

    def __init__(self, members: list[str], votes: tuple[str, ...], tie_rules: dict[str, str],
                 sessions: str) -> None:
        super().__init__(id="ensemble-dialog")
        self.members = members  # names as listed: they come from files, escaped when shown
        self.votes = votes  # the first is the default, as on the command line
        self.tie_rules = tie_rules
        self.sessions = sessions

    @property
    def vote(self) -> str:
        """The vote the highlighted option names (the first until the operator moves)."""
        index = self.query_one("#vote", OptionList).highlighted
        return self.votes[index if index is not None else 0]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Validate an ensemble of {len(self.members)} models?",
                        classes="dialog-title", id="dialog-title")
            with VerticalScroll(classes="dialog-body", id="ensemble-body"):
                yield Static(fmt.screen_lines(self._members()), id="ensemble-members")
            yield Static(fmt.file_text(
                f"sessions {self.sessions}, the trader's mode, beside each member and the current "
                "model; stored as kalshi-tui validate --ensemble stores it. Evidence only: the "
                "trader loads one zip, so an ensemble is never promoted.", style="dim"))
            votes = OptionList(*[Option(self._vote_text(v), id=v) for v in self.votes], id="vote")
            votes.border_title = "vote: ↑ ↓ to choose"
            yield votes
            yield Static("", id="dialog-hint", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", variant="primary")
                yield Button("Validate", id="confirm", variant="warning")

    def _members(self) -> list[Text]:
        lines = [Text(f"members ({len(self.members)})", style="bold")]
        lines += [Text("  ● ", style="bold yellow") + fmt.file_text(name) for name in self.members]
        return lines

    def on_resize(self, event: Resize) -> None:
        # Only the members scroll: the vote, the hint and the buttons stay in view at 80x24
        # however many models are marked (they, the note and the borders take 18 lines).
        self.query_one("#ensemble-body").styles.max_height = max(2, event.size.height - 18)

    def _vote_text(self, vote: str) -> Text:
        # Two lines under one name: the tie rule wrapped under the vote's name would misread.
        text = Text(f"{vote:<11}", style="bold")
        text.append(VOTE_WORDS.get(vote, vote))
        if self.tie_rules.get(vote):
            text.append(f"\n{'':<11}{self.tie_rules[vote]}", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#vote", OptionList).highlighted = 0
        self._show_choice()

    def _show_choice(self) -> None:
        vote = self.vote
        button = self.query_one("#confirm", Button)
        button.label = f"Validate ({vote})"
        button.refresh(layout=True)  # "(majority)" and "(mean-prob)" differ in width
        # One line of fixed height (app.tcss): the next Enter is never a surprise.
        self.query_one("#dialog-hint", Static).update(
            f"Enter: run the {vote} vote (the pointer does not change).  esc: cancel.",
            layout=False)

    @on(OptionList.OptionHighlighted, "#vote")
    def _vote_highlighted(self) -> None:
        self._show_choice()

    def on_descendant_focus(self) -> None:
        focused = self.focused
        if focused is not None and focused.id == "cancel":
            self.query_one("#dialog-hint", Static).update(
                "Enter: cancel, nothing runs.  esc: cancel.", layout=False)
        else:
            self._show_choice()

    @on(OptionList.OptionSelected, "#vote")
    def _vote_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(self.vote)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
