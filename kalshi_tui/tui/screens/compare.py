"""Two marked models side by side: badge, metrics and per-action histograms.

Choosing between two candidates is the decision the seed analysis was written for; the
same figures in two columns, with the better one of each pair in bold, answer it faster
than flipping between rows.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.tui import formatting as fmt


def _metric_rows(record: ModelRecord, validation: Any) -> dict[str, tuple[str, float | None]]:
    m = record.metrics
    rows = {
        "algorithm": (record.algorithm or "-", None),
        "actions": (fmt.actions_text(record), None),
        "trained": (fmt.short_time(record.trained_at), None),
        "timesteps": (fmt.fmt_int(record.num_timesteps), None),
        "episodes": (fmt.fmt_int(m.episodes if m else None), None),
        "markets": (fmt.fmt_int(m.unique_markets if m else None), m.unique_markets if m else None),
        "win rate": (fmt.fmt_pct(m.win_rate if m else None, fraction=True), m.win_rate if m else None),
        "trading %": (fmt.fmt_pct(m.trading_pct if m else None), None),
        "entropy": (fmt.fmt_float(m.entropy if m else None), m.entropy if m else None),
        "exploration": (fmt.fmt_float(m.exploration_ratio if m else None), None),
    }
    if validation is None:
        rows["validated win"] = ("not validated", None)
        rows["validated P&L"] = ("-", None)
    else:
        rows["validated win"] = (fmt.fmt_pct(validation.win_rate, fraction=True), validation.win_rate)
        rows["validated P&L"] = (fmt.fmt_cents(validation.total_pnl_cents), validation.total_pnl_cents)
    return rows


def compare_table(left: ModelRecord, right: ModelRecord, badges: dict[str, str],
                  validations: dict[str, Any]) -> Table:
    """A rich Table of both models' figures; higher-is-better figures bold on the winner."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column(Text(left.name), overflow="fold")
    table.add_column(Text(right.name), overflow="fold")
    table.add_row("badge", fmt.badge_text(left, badges.get(left.path, left.verdict)),
                  fmt.badge_text(right, badges.get(right.path, right.verdict)))
    a_rows = _metric_rows(left, validations.get(left.path))
    b_rows = _metric_rows(right, validations.get(right.path))
    for key, (a_text, a_value) in a_rows.items():
        b_text, b_value = b_rows[key]
        a_cell, b_cell = Text(a_text), Text(b_text)
        if a_value is not None and b_value is not None and a_value != b_value:
            (a_cell if a_value > b_value else b_cell).stylize("bold green")
        table.add_row(key, a_cell, b_cell)
    return table


class CompareScreen(Screen):
    """Figures in a table, then each model's histogram, one under the other."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back", id="compare.back"),
        Binding("question_mark", "app.help", "Help", id="compare.help"),
    ]

    def __init__(self, left: ModelRecord, right: ModelRecord, badges: dict[str, str],
                 validations: dict[str, Any], environment: Any) -> None:
        super().__init__(id="compare-screen")
        self.left = left
        self.right = right
        self.badges = badges
        self.validations = validations
        self.environment = environment

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):
            yield Static(Text("Compare: higher is bold where higher is better; esc goes back"),
                         classes="dim")
            yield Static(compare_table(self.left, self.right, self.badges, self.validations))
            for record in (self.left, self.right):
                layout = fmt.layout_for_record(record, self.environment)
                histogram = record.metrics.action_histogram if record.metrics else None
                yield Static(Text(f"Actions: {record.name}", style="bold underline"),
                             classes="compare-heading")
                yield Static(Text("\n").join(fmt.histogram_table(histogram, layout)))
        yield Footer()
