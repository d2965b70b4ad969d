"""The models table, rendered lazily line by line so 10,000 models cost what 40 do.

A DataTable builds every row up front (about 2 s for 10,000 here); like Toolong's log
view this widget keeps the records in a list and renders only the visible lines, so
sorting and filtering are a list reorder and a cursor move repaints two lines.

The current model (the one the trader runs) is pinned as the first row whatever the sort
or the filter, and the cursor starts on it: during an incident it is the row an operator
looks for first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kalshi_tui.core import printable
from kalshi_tui.core.catalog import COMPATIBLE, INCOMPATIBLE, UNSAFE, ModelRecord
from kalshi_tui.tui import formatting as fmt

_VERDICT_ORDER = {COMPATIBLE: 0, INCOMPATIBLE: 1, UNSAFE: 3}  # the unsafe sort last


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


# In the order they are dropped when the screen is narrow (last first).
COLUMNS = (
    Column("name", "Model", 0),
    Column("badge", "Badge", 13),
    Column("health", "Health", 9),
    Column("rank", "Rank", 5, True),
    Column("trading", "Trade%", 6, True),
    Column("win", "Win%", 6, True),
    Column("validated", "Valid", 5),
    Column("actions", "Act", 3, True),
    Column("algorithm", "Algo", 5),
    Column("trained", "Trained", 16),
    Column("steps", "Steps", 10, True),
    Column("episodes", "Episodes", 8, True),
)
SORTABLE = tuple(c.key for c in COLUMNS)
# Columns whose natural order is ascending (best rank, A to Z); the rest sort biggest first.
ASCENDING = frozenset({"name", "badge", "rank", "algorithm", "health"})
_HEALTH_ORDER = {"HEALTHY": 0, "NARROW": 1, "COLLAPSED": 2}  # unknown after them
HEALTH_STYLES = {"HEALTHY": "green", "NARROW": "yellow", "COLLAPSED": "bold white on red"}
_UNRANKED = (1, 0)  # never recommended (or not ranked yet): after every ranked model
_NAME_MIN, _NAME_MAX, _NAME_WANTED, _MARK = 18, 52, 32, 3
_KEPT_COLUMNS = 4  # badge, health, rank, trade%: dropped for nothing, the name shrinks instead


def fit_name(name: str, width: int) -> str:
    """A name cut to `width` in the middle, so "run/model_15000_steps" and "run/model_30000_steps"
    still differ where they differ: at the end."""
    if len(name) <= width or width < 8:
        return name
    cut = name.rfind("/")
    if cut <= 0:
        return name
    tail = name[cut:]
    head = width - len(tail) - 1
    if head < width // 2:
        head = width // 2
    return name[:head] + "…" + name[len(name) - (width - head - 1):]


class ModelList(ScrollView, can_focus=True):
    """Models as rows; the cursor row is the model every pane and action is about."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", id="list.up", show=False, tooltip="Previous model"),
        Binding("down,j", "cursor(1)", "Down", id="list.down", show=False, tooltip="Next model"),
        Binding("pageup", "page(-1)", "Page up", id="list.page_up", show=False,
                tooltip="A screen of models up"),
        Binding("pagedown", "page(1)", "Page down", id="list.page_down", show=False,
                tooltip="A screen of models down"),
        Binding("home,g", "jump(0)", "First", id="list.first", show=False,
                tooltip="The first row: the current model, pinned there"),
        Binding("end,G", "jump(-1)", "Last", id="list.last", show=False, tooltip="The last model"),
    ]
    COMPONENT_CLASSES = {"model-list--header", "model-list--cursor", "model-list--current",
                         "model-list--marked", "model-list--pinned"}
    DEFAULT_CSS = """
    ModelList { background: $surface; }
    ModelList > .model-list--header { text-style: bold; background: $panel; }
    ModelList > .model-list--cursor { background: $accent 40%; }
    ModelList:focus > .model-list--cursor { background: $accent; color: $text; }
    ModelList > .model-list--current { text-style: bold; }
    ModelList > .model-list--pinned { text-style: bold underline; }
    ModelList > .model-list--marked { color: $warning; }
    """

    cursor: reactive[int] = reactive(0, repaint=False, always_update=False)

    class Highlighted(Message):
        """The cursor now rests on `record` (None when the list is empty)."""

        def __init__(self, record: ModelRecord | None) -> None:
            super().__init__()
            self.record = record

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: list[ModelRecord] = []
        self.badges: dict[str, str] = {}
        self.validated: set[str] = set()
        self.ranking: dict[str, Any] = {}  # path -> RankedModel, filled when the worker answers
        self.healths: dict[str, Any] = {}  # path -> stored HealthResult, when one is current
        self.marked: list[str] = []
        self.current_path: str | None = None
        self.filter_text = ""
        self.compatible_only = False
        self.sort_key = "rank"  # recommended first: the order an operator wants
        self.sort_reverse = False
        self.matching = 0  # rows that pass the filter (the pinned current one may not)
        self._user_moved = False  # until the operator moves, the cursor follows the current model
        self.rows: list[ModelRecord] = []  # filtered and sorted: what is on screen
        self._columns: list[tuple[Column, int]] = []
        self._name_width = _NAME_MIN
        self._line_cache: dict[tuple, Strip] = {}

    # -- data ------------------------------------------------------------------------
    def set_models(self, records: list[ModelRecord], badges: dict[str, str],
                   validated: set[str], current_path: str | None) -> None:
        """Replace the data, keeping the cursor on the same model when it is still there."""
        keep = self.highlighted.path if self.highlighted else None
        self.records = records
        self.badges = badges
        self.validated = validated
        self.current_path = current_path
        self.marked = [p for p in self.marked if any(r.path == p for r in records)]
        longest = max((len(printable(r.name)) for r in records), default=_NAME_MIN)
        self._name_width = max(_NAME_MIN, min(_NAME_MAX, longest))
        self._rebuild(keep)

    def set_ranking(self, ranking: dict[str, Any]) -> None:
        """Fill the rank column; re-sort only when the list is sorted by rank."""
        self.ranking = ranking
        if self.sort_key == "rank":
            self._rebuild(self.highlighted.path if self.highlighted else None)
        else:
            self._line_cache.clear()
            self.refresh()

    def set_current(self, current_path: str | None) -> None:
        """Pin the model the pointer names; the cursor goes there until the operator moves."""
        changed = current_path != self.current_path
        self.current_path = current_path
        if changed or not self._user_moved:
            keep = self.highlighted.path if self.highlighted and self._user_moved else current_path
            self._rebuild(keep)

    def set_healths(self, healths: dict[str, Any]) -> None:
        self.healths = healths
        self._line_cache.clear()
        self.refresh()

    def set_view(self, *, filter_text: str | None = None, compatible_only: bool | None = None,
                 sort_key: str | None = None, sort_reverse: bool | None = None) -> None:
        if filter_text is not None:
            self.filter_text = filter_text
        if compatible_only is not None:
            self.compatible_only = compatible_only
        if sort_key is not None:
            self.sort_key = sort_key
        if sort_reverse is not None:
            self.sort_reverse = sort_reverse
        self._rebuild(self.highlighted.path if self.highlighted else None)

    def toggle_mark(self) -> list[str]:
        """Mark or unmark the cursor row, in the order marked: compare takes two, an ensemble
        two or more, so no mark is ever dropped behind the operator's back."""
        record = self.highlighted
        if record is not None:
            if record.path in self.marked:
                self.marked.remove(record.path)
            else:
                self.marked.append(record.path)
            self._line_cache.clear()
            self.refresh()
        return list(self.marked)

    def clear_marks(self) -> int:
        """Unmark every model; how many were marked."""
        count = len(self.marked)
        if count:
            self.marked = []
            self._line_cache.clear()
            self.refresh()
        return count

    @property
    def highlighted(self) -> ModelRecord | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def select_path(self, path: str) -> bool:
        for index, record in enumerate(self.rows):
            if record.path == path:
                self._user_moved = True
                self.cursor = index
                return True
        return False

    def jump_to_current(self) -> bool:
        """Back to the pinned current model (the first row); False when there is none."""
        if self.current_path is None or not self.rows or self.rows[0].path != self.current_path:
            return False
        self.cursor = 0
        return True

    def _sort_value(self) -> Callable[[ModelRecord], Any]:
        key = self.sort_key
        getters: dict[str, Callable[[ModelRecord], Any]] = {
            "name": lambda r: r.name.lower(),
            "badge": lambda r: (_VERDICT_ORDER.get(r.verdict, 2), self.badges.get(r.path, "")),
            "algorithm": lambda r: r.algorithm or "",
            "actions": lambda r: r.n_actions if r.n_actions is not None else -1,
            "trained": lambda r: r.trained_at or "",
            "steps": lambda r: r.num_timesteps if r.num_timesteps is not None else -1,
            "episodes": lambda r: fmt.episodes(r) if fmt.episodes(r) is not None else -1,
            "trading": lambda r: fmt.trading_pct(r) if fmt.trading_pct(r) is not None else -1.0,
            "win": lambda r: fmt.win_rate(r) if fmt.win_rate(r) is not None else -1.0,
            "validated": lambda r: r.path in self.validated,
            "rank": self._rank_value,
            "health": lambda r: _HEALTH_ORDER.get(
                getattr(self.healths.get(r.path), "state", ""), 3),
        }
        getter = getters.get(key, getters["name"])
        return lambda r: (getter(r), r.path)

    def _rank_value(self, record: ModelRecord) -> tuple[int, int]:
        ranked = self.ranking.get(record.path)
        return (0, ranked.rank) if ranked is not None and ranked.rank is not None else _UNRANKED

    def rank_text(self, record: ModelRecord) -> Text:
        if not self.ranking:
            return Text("…", style="dim")  # the ranking worker has not answered yet
        ranked = self.ranking.get(record.path)
        if ranked is None:
            return Text("…", style="dim")
        if ranked.rank is None:
            return Text("—", style="dim")  # incompatible or unreadable: never recommended
        return Text(str(ranked.rank), style="bold green" if ranked.rank == 1 else "")

    def _rebuild(self, keep_path: str | None) -> None:
        needle = self.filter_text.lower().strip()
        # Matched against the names as shown: typing "\x1b" finds the folder shown with it.
        rows = [r for r in self.records
                if (not self.compatible_only or r.verdict == COMPATIBLE)
                and (not needle or needle in printable(r.path).lower()
                     or needle in printable(r.name).lower()
                     or needle in self.badges.get(r.path, "").lower())]
        rows.sort(key=self._sort_value(), reverse=self.sort_reverse)
        self.matching = len(rows)
        current = next((r for r in self.records if r.path == self.current_path), None)
        if current is not None:
            # Pinned first, even when the filter would hide it: it is what trades.
            rows = [current] + [r for r in rows if r is not current]
        self.rows = rows
        self._line_cache.clear()
        self.virtual_size = Size(self._table_width(), len(rows) + 1)
        index = 0
        if keep_path is not None and self._user_moved:
            index = next((i for i, r in enumerate(rows) if r.path == keep_path), 0)
        self.set_reactive(ModelList.cursor, min(index, max(0, len(rows) - 1)))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    # -- cursor ----------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._line_cache = {k: v for k, v in self._line_cache.items() if k[0] not in (old, new)}
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.highlighted))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self._user_moved = True
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 2))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self._user_moved = True
            self.cursor = len(self.rows) - 1 if where < 0 else 0

    def on_click(self, event) -> None:
        row = int(self.scroll_offset.y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self._user_moved = True
            self.cursor = row

    # -- rendering -------------------------------------------------------------------
    def on_resize(self) -> None:
        self._line_cache.clear()
        self.virtual_size = Size(self._table_width(), len(self.rows) + 1)

    def _layout_columns(self, width: int) -> list[tuple[Column, int]]:
        """Columns that fit `width`: the name shrinks first, then low-priority columns go."""
        chosen = [c for c in COLUMNS if c.key != "name"]
        # The name is what tells models apart: low-priority columns go before it is cut
        # below its length (up to _NAME_WANTED), and never below _NAME_MIN.
        wanted = max(_NAME_MIN, min(self._name_width, _NAME_WANTED))
        # The mark, the name's own separator, then each column and its separator.
        while chosen:
            fixed = _MARK + 1 + sum(c.width + 1 for c in chosen)
            if width - fixed >= wanted or len(chosen) <= _KEPT_COLUMNS:
                break
            chosen.pop()
        fixed = _MARK + 1 + sum(c.width + 1 for c in chosen)
        name_width = max(_NAME_MIN, min(self._name_width, width - fixed))
        return [(COLUMNS[0], name_width)] + [(c, c.width) for c in chosen]

    def _table_width(self) -> int:
        return max(1, self.scrollable_content_region.width)

    def _cells(self, record: ModelRecord) -> dict[str, Text]:
        badge = self.badges.get(record.path, record.verdict.upper())
        return {
            "name": fmt.file_text(record.name),
            "badge": fmt.badge_text(record, badge),
            "algorithm": fmt.file_text(record.algorithm or "-"),
            "actions": fmt.file_text(fmt.actions_text(record)),
            "trained": Text(fmt.short_time(record.trained_at)),
            "steps": Text(fmt.fmt_int(record.num_timesteps)),
            "episodes": Text(fmt.fmt_int(fmt.episodes(record))),
            "trading": Text(fmt.fmt_pct(fmt.trading_pct(record))),
            "win": Text(fmt.fmt_pct(fmt.win_rate(record), fraction=True)),
            "validated": Text("yes", style="green")
            if record.path in self.validated
            else Text("no", style="dim"),
            "rank": self.rank_text(record),
            "health": self.health_text(record),
        }

    def health_text(self, record: ModelRecord) -> Text:
        health = self.healths.get(record.path)
        state = getattr(health, "state", "") if health is not None else ""
        if not state:
            return Text("-", style="dim")  # not checked: `kalshi-tui health MODEL`
        return Text(state, style=HEALTH_STYLES.get(state, ""))

    def _compose_line(self, cells: dict[str, Text] | None, mark: Text, width: int) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(mark)
        for column, col_width in self._columns:
            if cells is None:
                title = column.title
                if column.key == self.sort_key:
                    # The arrow is what says how the list is sorted: the title gives way.
                    title = title[:max(1, col_width - 1)] + ("▼" if self.sort_reverse else "▲")
                cell = Text(title)
            elif column.key == "name":
                cell = Text(fit_name(cells["name"].plain, col_width))
            else:
                cell = cells[column.key].copy()
            cell.truncate(col_width, overflow="ellipsis")
            pad = col_width - cell.cell_len
            if column.right:
                line.append(" " * pad)
                line.append_text(cell)
            else:
                line.append_text(cell)
                line.append(" " * pad)
            line.append(" ")
        line.truncate(width, pad=True)
        return line

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = self._layout_columns(width)
        if columns != self._columns:
            self._columns = columns
            self._line_cache.clear()
        if y == 0:
            style = self.get_component_rich_style("model-list--header")
            return self._strip(self._compose_line(None, Text("   "), width), style, width)
        row = int(self.scroll_offset.y) + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        record = self.rows[row]
        state = (row, width, record.path == self.current_path, record.path in self.marked,
                 row == self.cursor, self.has_focus)
        cached = self._line_cache.get(state)
        if cached is not None:
            return cached
        current = record.path == self.current_path
        marked = record.path in self.marked
        mark = Text(("▶" if current else " ") + ("●" if marked else " ") + " ",
                    style="bold green" if current else "bold yellow")
        if current and row == 0 and len(self.rows) > 1:
            # The pinned row: underlined, so the sorted list visibly starts below it.
            style_pin = self.get_component_rich_style("model-list--pinned")
        else:
            style_pin = None
        style = self.rich_style
        if current:
            style += self.get_component_rich_style("model-list--current")
        if style_pin is not None:
            style += style_pin
        if marked:
            style += self.get_component_rich_style("model-list--marked")
        if row == self.cursor:
            style += self.get_component_rich_style("model-list--cursor")
        strip = self._strip(self._compose_line(self._cells(record), mark, width), style, width)
        if len(self._line_cache) > 2000:
            self._line_cache.clear()
        self._line_cache[state] = strip
        return strip

    def _strip(self, text: Text, style: Style, width: int) -> Strip:
        segments = list(text.render(self.app.console))
        segments = [Segment(s.text, style + s.style if s.style else style) for s in segments
                    if s.text != "\n"]
        return Strip(segments).adjust_cell_length(width, style)

    def on_focus(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._line_cache.clear()
        self.refresh()
