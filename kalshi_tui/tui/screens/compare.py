"""Two marked models side by side: badge, metrics and per-action histograms.

Choosing between two candidates is the decision the seed analysis was written for; the
same figures in two columns, with the better one of each pair in bold, answer it faster
than flipping between rows. The figures, their wording and which direction is better come
from `core.compare.compare_models`, the comparison `kalshi-tui compare` prints. From 100
columns the histograms sit side by side too, one row per action id; narrower terminals get
each model's side-by-size grid, one under the other.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.core.evidence import LOWER, better_side, compare_models
from kalshi_tui.tui import formatting as fmt

WIDE_WIDTH = 100  # from here the two histograms fit side by side
_BAR_WIDTH = 14
# A crafted zip can claim 10**30 actions: a row per id would never finish drawing (nor fit in
# memory). Real action spaces have tens of ids; rows past this many are counted, not drawn.
MAX_HISTOGRAM_ROWS = 256


# (section, label in core.compare_models, label here): the figures worth a glance when
# choosing; `kalshi-tui compare` prints every row.
SHOWN_ROWS = (
    ("spaces", "algorithm", "algorithm"),
    ("spaces", "action space", "actions"),
    ("file", "trained", "trained"),
    ("training", "timesteps", "timesteps"),
    ("training", "episodes", "episodes"),
    ("training", "unique markets", "markets"),
    ("training", "win rate", "win rate"),
    ("training", "trading activity", "trading"),
    ("training", "entropy", "entropy"),
    ("training", "exploration ratio", "exploration"),
)


def _rank_row(
    ranking: dict[str, Any], left: ModelRecord, right: ModelRecord
) -> list[tuple[str, str, str, str | None]]:
    """Rank and evidence rows: (label, left text, right text, better side); rank 1 is best."""
    def cells(ranked: Any) -> tuple[str, int | None, str]:
        if ranked is None:
            return "not ranked yet", None, "-"
        if ranked.rank is None:
            return "— never recommended", None, ranked.evidence
        return f"{ranked.rank} (score {ranked.score:.3f})", ranked.rank, ranked.evidence

    (a_text, a_rank, a_evidence), (b_text, b_rank, b_evidence) = (
        cells(ranking.get(left.path)), cells(ranking.get(right.path)))
    return [("rank", a_text, b_text, better_side(a_rank, b_rank, LOWER)),
            ("evidence", a_evidence, b_evidence, None)]


def compare_table(left: ModelRecord, right: ModelRecord, badges: dict[str, str],
                  validations: dict[str, Any], environment: Any,
                  ranking: dict[str, Any] | None = None) -> Table:
    """A rich Table of both models' figures from the core's comparison; the better of a pair
    is bold where the core says which direction is better (lower drawdown, higher win rate)."""
    comparison = compare_models(
        left, right, environment.layout, validations, environment=environment
    )
    rows: list[tuple[str, str, str, str | None]] = []
    for section, label, shown in SHOWN_ROWS:
        row = comparison.row(section, label)
        rows.append((shown, row.a, row.b, row.better))
    for row in comparison.section("validation"):
        label = row.label if row.label == "validated" else f"validated {row.label}"
        rows.append((label, row.a, row.b, row.better))
    if ranking is not None:
        rows += _rank_row(ranking, left, right)
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column(fmt.file_text(left.name), overflow="fold")
    table.add_column(fmt.file_text(right.name), overflow="fold")
    table.add_row("badge", fmt.badge_text(left, badges.get(left.path, left.verdict)),
                  fmt.badge_text(right, badges.get(right.path, right.verdict)))
    for label, a_text, b_text, better in rows:
        # Texts come from files (names, versions): escaped, and any markup in them literal.
        a_cell, b_cell = fmt.file_text(a_text), fmt.file_text(b_text)
        if better is not None:
            (a_cell if better == "a" else b_cell).stylize("bold green")
        table.add_row(label, a_cell, b_cell)
    return table


def _counts(record: ModelRecord) -> dict[int, int]:
    histogram = record.metrics.action_histogram if record.metrics else None
    counts: dict[int, int] = {}
    for key, value in (histogram or {}).items():
        try:
            counts[int(key)] = counts.get(int(key), 0) + int(value)
        except (TypeError, ValueError):
            continue  # a damaged entry is no action; the metrics pane notes the damage
    return counts


def _share_cell(count: int, total: int, top: int) -> Text:
    if total <= 0:
        return Text("-", style="dim")
    cell = Text(f"{100 * count / total:5.1f}% ", style="dim" if count == 0 else "")
    cell.append("█" * round(_BAR_WIDTH * count / top) if top else "", style="cyan")
    return cell


def histogram_columns(left: ModelRecord, right: ModelRecord, environment: Any) -> Table:
    """Both training histograms in one table: a row per action id, each model's share and bar."""
    records = (left, right)
    counts = [_counts(r) for r in records]
    layouts = [fmt.layout_for_record(r, environment) for r in records]
    n = max([r.n_actions or 0 for r in records] + [max(c, default=-1) + 1 for c in counts])
    same_labels = layouts[0] is not None and layouts[1] is not None and layouts[0].n == layouts[1].n
    table = Table(expand=False, show_edge=False, pad_edge=False, box=None, padding=(0, 1))
    table.add_column("id", justify="right", style="dim", no_wrap=True, min_width=3)
    label_titles = ["action"] if same_labels else [f"action ({r.name})" for r in records]
    for title in label_titles:
        table.add_column(
            fmt.file_text(title), no_wrap=True, overflow="ellipsis", min_width=12, max_width=24
        )
    for record in records:
        table.add_column(fmt.file_text(record.name), no_wrap=True, overflow="ellipsis",
                         min_width=8 + _BAR_WIDTH)
    totals = [sum(c.values()) for c in counts]
    tops = [max(c.values(), default=0) for c in counts]

    def label(layout, action: int) -> Text:
        if layout is None or action >= layout.n:
            return Text("-", style="dim")  # no layout names this id: never a guessed label
        return fmt.file_text(layout.label(action))

    for action in range(min(n, MAX_HISTOGRAM_ROWS)):
        labels = ([label(layouts[0], action)] if same_labels
                  else [label(each, action) for each in layouts])
        shares = []
        for record, c, t, top in zip(records, counts, totals, tops, strict=True):
            if not t:
                shares.append(Text("no histogram" if action == 0 else "", style="dim"))
            elif record.n_actions is not None and action >= record.n_actions and action not in c:
                shares.append(Text("-", style="dim"))  # no such action in this model
            else:
                shares.append(_share_cell(c.get(action, 0), t, top))
        table.add_row(Text(str(action)), *labels, *shares)
    if n > MAX_HISTOGRAM_ROWS:
        table.caption = Text(f"{n - MAX_HISTOGRAM_ROWS:,} more action ids not shown", style="dim")
    table.add_row(Text(""), *[Text("")] * len(label_titles),
                  *[Text(f"{t:,} actions counted" if t else "", style="dim") for t in totals])
    return table


class CompareScreen(Screen):
    """Figures in a table, then the histograms: side by side when wide, else stacked."""

    BINDINGS = [
        Binding(
            "escape,q", "app.pop_screen", "Back", id="compare.back", tooltip="Back to the models"
        ),
        Binding(
            "question_mark", "app.help", "Help", id="compare.help", tooltip="Keys for this screen"
        ),
    ]

    def __init__(self, left: ModelRecord, right: ModelRecord, badges: dict[str, str],
                 validations: dict[str, Any], environment: Any,
                 ranking: dict[str, Any] | None = None) -> None:
        super().__init__(id="compare-screen")
        self.ranking = ranking
        self.left = left
        self.right = right
        self.badges = badges
        self.validations = validations
        self.environment = environment

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):
            yield Static(Text("Bold marks the better of a pair (rank 1, lower drawdown); "
                              "esc goes back"),
                         classes="dim")
            yield Static(compare_table(self.left, self.right, self.badges, self.validations,
                                       self.environment, self.ranking))
            with Vertical(id="compare-hist-wide"):
                yield Static(Text("Training actions, side by side (share of decisions)",
                                  style="bold underline"), classes="compare-heading")
                yield Static(histogram_columns(self.left, self.right, self.environment))
            with Vertical(id="compare-hist-stacked"):
                for record in (self.left, self.right):
                    layout = fmt.layout_for_record(record, self.environment)
                    histogram = record.metrics.action_histogram if record.metrics else None
                    yield Static(fmt.file_text(f"Actions: {record.name}", style="bold underline"),
                                 classes="compare-heading")
                    yield Static(fmt.screen_lines(fmt.histogram_table(histogram, layout)))
        # The palette's key is in the help (?); on an 80-column footer it would push out ? Help.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._fit(self.app.size.width)

    def on_resize(self, event) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.set_class(width < WIDE_WIDTH, "-narrow")
