"""The history screen: every revision with who, when and why; describe one, roll back from here.

As in k9s, rollback to a chosen revision starts from the history view, so the operator
sees what each revision was before choosing one. j/k/g/G and the arrows move; Enter or `d`
opens the revision's describe view with every field in full (the table cuts long reasons
and paths, and drops columns at 80 columns). The screen only asks the App; the App plans
and confirms the rollback through the pointer engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key, Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.screens.describe import DescribeScreen, describe_revision_lines
from kalshi_tui.tui.screens.main import refused_keys

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp

# (label, narrowest, share of what is left): the reason gets the most room, then the model.
_COLUMNS = (("Rev", 3, 0), ("Action", 8, 0), ("When", 8, 2), ("Who", 8, 1), ("Why", 12, 4),
            ("Model", 12, 3))


def action_text(record: Any) -> Text:
    """"promote", "rollback→2", "imported"; a forced change is marked FORCED in red."""
    if record.imported is not None:
        return Text("imported")
    text = Text(record.action)
    if record.action == "rollback" and record.target_revision is not None:
        text.append(f"→{record.target_revision}", style="cyan")
    if record.forced:
        text.append(" FORCED", style="bold red")
    return text


def history_rows(records: list, now: datetime, models_prefix: str = "") -> list[tuple[Text, ...]]:
    """Newest first, one row per revision, every journal field escaped (`file_text`).

    Model paths lose `models_prefix` ("trained_models/"): the column is narrow, and the
    describe view shows the path as journalled.
    """
    rows: list[tuple[Text, ...]] = []
    for record in records:
        when, who = Text(fmt.relative_time(record.time, now)), fmt.file_text(record.who)
        if record.imported is not None:
            # An imported revision happened when its hand-written entry says, in its own zone.
            when = fmt.file_text(f"{record.imported.get('date') or '?'} (as written)", style="dim")
            who = fmt.file_text(f"v{record.imported.get('version') or '?'} version_history"
                                + ("" if record.journalled else ", not yet journalled"))
        rows.append((
            fmt.file_text(record.revision, style="bold cyan"),
            action_text(record),
            when,
            who,
            fmt.file_text(record.reason or ""),
            fmt.file_text(short_path(record.to.path, models_prefix)),
        ))
    return rows


def short_path(path: str | None, prefix: str) -> str:
    if not path:
        return "(nothing)"
    return path[len(prefix):] if prefix and path.startswith(prefix) else path


def column_widths(rows: list[tuple[Text, ...]], width: int) -> list[int]:
    """Each column as wide as its content, the long ones shrunk to share `width` (Why first)."""
    natural = [max([len(label)] + [row[i].cell_len for row in rows])
               for i, (label, _, _) in enumerate(_COLUMNS)]
    fixed = [n for n, (_, _, share) in zip(natural, _COLUMNS, strict=True) if share == 0]
    # DataTable pads each cell by one on both sides.
    room = max(0, width - sum(fixed) - 2 * len(_COLUMNS) - 1)
    widths = [n if share == 0 else least
              for n, (_, least, share) in zip(natural, _COLUMNS, strict=True)]
    room -= sum(w for w, (_, _, share) in zip(widths, _COLUMNS, strict=True) if share)
    # Hand out what is left by share; a column that is whole gives the rest back.
    wanting = [i for i, (_, _, share) in enumerate(_COLUMNS) if share and widths[i] < natural[i]]
    while room > 0 and wanting:
        shares = sum(_COLUMNS[i][2] for i in wanting)
        given = 0
        for i in wanting:
            extra = min(natural[i] - widths[i], max(1, room * _COLUMNS[i][2] // shares))
            widths[i] += extra
            given += extra
        room -= given
        wanting = [i for i in wanting if widths[i] < natural[i]]
    return widths


class HistoryScreen(Screen):
    """Revisions newest first; Enter or `d` describes one, `R` rolls back to it."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="history.back",
                tooltip="Back to the models"),
        Binding("R", "rollback_selected", "Roll back to this", id="history.rollback",
                tooltip="Roll back to the revision under the cursor (asks first)"),
        Binding("d", "describe", "Describe", id="history.describe",
                tooltip="Every field of the revision, wrapped in full (also Enter)"),
        Binding("j", "cursor(1)", "Down", id="history.down", show=False, tooltip="Next revision"),
        Binding("k", "cursor(-1)", "Up", id="history.up", show=False, tooltip="Previous revision"),
        Binding("g", "jump(0)", "Newest", id="history.first", show=False,
                tooltip="The newest revision"),
        Binding("G", "jump(-1)", "Oldest", id="history.last", show=False,
                tooltip="The oldest revision"),
        Binding("question_mark", "app.help", "Help", id="history.help",
                tooltip="Keys for this screen"),
    ]

    def __init__(self, records: list, now: datetime, *, read_only: bool,
                 keymap: dict[str, str] | None = None, models_prefix: str = "") -> None:
        super().__init__(id="history-screen")
        self.models_prefix = models_prefix  # "trained_models/", cut from the Model column
        self.records = records
        self.now = now
        self.read_only = read_only
        self.keymap = keymap or {}  # the config's, to know which key R became

    def compose(self) -> ComposeResult:
        yield Static(Text("Pointer history, newest first: Enter or d describes a revision, "
                          "R rolls back to it, esc goes back."), id="history-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="history-table")
        # The palette's key is in the help (?); on an 80-column footer it would push out ? Help.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.show_records(self.records)

    @property
    def table(self) -> DataTable:
        return self.query_one("#history-table", DataTable)

    def show_records(self, records: list) -> None:
        self.records = records
        self._fill(self.size.width or 120)
        self.table.focus()

    def _fill(self, width: int) -> None:
        table = self.table
        keep = table.cursor_row
        table.clear(columns=True)
        rows = history_rows(self.records, self.now, self.models_prefix)
        # Widths from the content and the screen: DataTable's auto width can stay at the
        # labels' widths when rows arrive while this screen is covered by a dialog.
        for (label, _, _), col_width in zip(_COLUMNS, column_widths(rows, width), strict=True):
            table.add_column(label, width=col_width)
        for row, record in zip(rows, self.records, strict=True):
            table.add_row(*row, key=str(record.revision))
        if rows:
            table.move_cursor(row=min(keep or 0, len(rows) - 1))

    def on_resize(self, event: Resize) -> None:
        self._fill(event.size.width)

    def selected_record(self) -> Any:
        row = self.table.cursor_row
        if not self.records or row is None or not 0 <= row < len(self.records):
            return None
        return self.records[row]

    def selected_revision(self) -> int | None:
        record = self.selected_record()
        return int(record.revision) if record is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback_selected" and self.read_only:
            return False  # hidden in read-only mode; the App refuses it too
        return True

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) the command palette offers over this screen."""
        items = [("Roll back to the selected revision", "asks first", "rollback_selected"),
                 ("Describe the selected revision", "every field in full", "describe"),
                 ("Back to models", "", "app.pop_screen")]
        return [i for i in items if self.check_action(i[2], ())]

    def on_key(self, event: Key) -> None:
        # The hidden R swallows nothing: say why it did nothing, as the models screen does.
        if self.read_only:
            keys = refused_keys(self.BINDINGS, frozenset({"rollback_selected"}), self.keymap)
            if keys.get(event.key):
                cast("KalshiTuiApp", self.app).refuse_read_only("rollback")

    def action_cursor(self, delta: int) -> None:
        if self.records:
            row = max(0, min(len(self.records) - 1, (self.table.cursor_row or 0) + delta))
            self.table.move_cursor(row=row)

    def action_jump(self, where: int) -> None:
        if self.records:
            self.table.move_cursor(row=len(self.records) - 1 if where < 0 else 0)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_describe()  # Enter on a row

    def action_describe(self) -> None:
        record = self.selected_record()
        if record is not None:
            self.app.push_screen(DescribeScreen(f"Revision {record.revision}",
                                                describe_revision_lines(record, self.now),
                                                screen_id="describe-revision"))

    def action_rollback_selected(self) -> None:
        revision = self.selected_revision()
        if revision is not None:
            cast("KalshiTuiApp", self.app).request_rollback(revision)
