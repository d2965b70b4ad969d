"""The history screen: every revision with who, when and why; roll back from here.

As in k9s, rollback to a chosen revision starts from the history view, so the operator
sees what each revision was before choosing one. The screen only asks the App; the App
plans and confirms the rollback through the pointer engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.screens.main import refused_keys

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp

# (label, widest it may grow): long paths and reasons are cut rather than pushing the
# reason off the screen.
_COLUMNS = (
    ("Rev", 6),
    ("Action", 8),
    ("When", 40),
    ("Who", 44),
    ("Model", 60),
    ("Why", 60),
    ("", 6),
)


def history_rows(records: list, now) -> list[tuple[Text, ...]]:
    """Newest first, one row per revision, every journal field escaped (`file_text`)."""
    rows: list[tuple[Text, ...]] = []
    for record in records:
        model = record.to.path or "(nothing)"
        if record.action == "rollback" and record.target_revision is not None:
            model = f"{model} (to rev {record.target_revision})"
        when, who = Text(fmt.relative_time(record.time, now)), fmt.file_text(record.who)
        if record.imported is not None:
            # An imported revision happened when its hand-written entry says, in its own zone.
            when = fmt.file_text(f"{record.imported.get('date') or '?'} (as written)", style="dim")
            who = fmt.file_text(f"v{record.imported.get('version') or '?'} version_history"
                       + ("" if record.journalled else ", not yet journalled"))
        rows.append((
            fmt.file_text(record.revision, style="bold cyan"),
            fmt.file_text("imported" if record.imported is not None else record.action),
            when,
            who,
            fmt.file_text(model),
            fmt.file_text(record.reason or ""),
            Text("FORCED", style="bold red") if record.forced else Text(""),
        ))
    return rows


class HistoryScreen(Screen):
    """Revisions newest first; `R` rolls back to the one under the cursor."""

    BINDINGS = [
        Binding(
            "escape,q", "app.pop_screen", "Back", id="history.back", tooltip="Back to the models"
        ),
        Binding(
            "R",
            "rollback_selected",
            "Roll back to this",
            id="history.rollback",
            tooltip="Roll back to the revision under the cursor (asks first)",
        ),
        Binding(
            "question_mark", "app.help", "Help", id="history.help", tooltip="Keys for this screen"
        ),
    ]

    def __init__(self, records: list, now, *, read_only: bool,
                 keymap: dict[str, str] | None = None) -> None:
        super().__init__(id="history-screen")
        self.records = records
        self.now = now
        self.read_only = read_only
        self.keymap = keymap or {}  # the config's, to know which key R became

    def compose(self) -> ComposeResult:
        yield Static(Text("Pointer history: newest first. R rolls back to the selected "
                          "revision; esc goes back."), id="history-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="history-table")
        # The palette's key is in the help (?); on an 80-column footer it would push out ? Help.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.show_records(self.records)

    def show_records(self, records: list) -> None:
        self.records = records
        table = self.query_one(DataTable)
        table.clear(columns=True)
        rows = history_rows(records, self.now)
        # Widths from the content itself: DataTable's auto width can stay at the labels'
        # widths when rows arrive while this screen is covered by a dialog, cutting every
        # cell to a few letters.
        for index, (label, cap) in enumerate(_COLUMNS):
            width = max([len(label)] + [row[index].cell_len for row in rows])
            table.add_column(label, width=min(width, cap))
        for row, record in zip(rows, records, strict=True):
            table.add_row(*row, key=str(record.revision))
        table.focus()

    def selected_revision(self) -> int | None:
        table = self.query_one(DataTable)
        if not self.records or table.cursor_row is None or table.cursor_row >= len(self.records):
            return None
        return int(self.records[table.cursor_row].revision)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback_selected" and self.read_only:
            return False  # hidden in read-only mode; the App refuses it too
        return True

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) the command palette offers over this screen."""
        items = [("Roll back to the selected revision", "asks first", "rollback_selected"),
                 ("Back to models", "", "app.pop_screen")]
        return [i for i in items if self.check_action(i[2], ())]

    def on_key(self, event: Key) -> None:
        # The hidden R swallows nothing: say why it did nothing, as the models screen does.
        if self.read_only:
            if refused_keys(self.BINDINGS, frozenset({"rollback_selected"}), self.keymap).get(
                event.key
            ):
                cast("KalshiTuiApp", self.app).refuse_read_only("rollback")

    def action_rollback_selected(self) -> None:
        revision = self.selected_revision()
        if revision is not None:
            cast("KalshiTuiApp", self.app).request_rollback(revision)
