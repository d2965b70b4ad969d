"""The models screen's view actions: width fitting, marks and compare, help, filter, sort, palette.

A mixin of KalshiTuiApp (which provides `main`, `models_list`, `records`, `config` ...), so
app.py stays the wiring of workers and messages. Handlers declared with `@on` stay on the
App class itself: Textual collects those only from classes it builds.
"""

from __future__ import annotations

from textual.widgets import Footer, Input, TabbedContent

from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.help import HelpScreen, help_table
from kalshi_tui.tui.screens.history import HistoryScreen
from kalshi_tui.tui.widgets.model_list import ASCENDING, SORTABLE

NARROW_WIDTH = 100


class ViewActionsMixin:
    """Actions that change what the models screen shows, never what is on disk."""

    def on_resize(self, event) -> None:
        self._fit_width(event.size.width)

    def _fit_width(self, width: int) -> None:
        """Below 100 columns the checks leave the left column for a tab of their own."""
        narrow = width < NARROW_WIDTH
        main = self.main
        if main.has_class("-narrow") == narrow and self._fitted:
            return
        self._fitted = True
        main.set_class(narrow, "-narrow")
        # Compact keys keep "? Help" on an 80-column footer.
        main.query_one(Footer).compact = narrow
        tabs = main.query_one(TabbedContent)
        if narrow:
            tabs.show_tab("checks")
            tabs.active = "checks"
        else:
            if tabs.active == "checks":
                tabs.active = "metrics"
            tabs.hide_tab("checks")
        if self._panes is not None:
            self._show_panes()  # the panes that just appeared were skipped while hidden

    def action_compare(self) -> None:
        models = self.models_list
        paths = list(models.marked)
        if len(paths) < 2 and models.highlighted and models.highlighted.path not in paths:
            paths.append(models.highlighted.path)
        if len(paths) < 2:
            self.notify("Mark two models with space (or m) to compare them", severity="warning")
            return
        by_path = {r.path: r for r in self.records}
        left, right = by_path.get(paths[0]), by_path.get(paths[1])
        if left is None or right is None:
            self.notify("A marked model is gone; mark again", severity="warning")
            return
        self.push_screen(CompareScreen(left, right, self.badges, self.validations,
                                       self.config.environment, self.ranking))

    def action_mark(self) -> None:
        # The ● in the list is the feedback; a toast per mark would bury real messages.
        self.models_list.toggle_mark()

    def action_help(self) -> None:
        titles = {HistoryScreen: "history", CompareScreen: "compare"}
        self.push_screen(HelpScreen(help_table(self.screen), titles.get(type(self.screen), "models")))

    # -- list view: filter, sort, tabs, refresh ------------------------------------------
    def action_filter(self) -> None:
        box = self.main.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.main.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.models_list.set_view(filter_text="")
            self.models_list.focus()

    def action_compatible_only(self) -> None:
        models = self.models_list
        models.set_view(compatible_only=not models.compatible_only)
        self.notify("Showing compatible models only" if models.compatible_only else "Showing all models",
                    timeout=3)

    def action_sort_next(self) -> None:
        models = self.models_list
        key = SORTABLE[(SORTABLE.index(models.sort_key) + 1) % len(SORTABLE)]
        # Each column starts in its natural order: rank 1 and A first, biggest figures first.
        models.set_view(sort_key=key, sort_reverse=key not in ASCENDING)

    def action_sort_by(self, key: str) -> None:
        """Sort by one column in its natural order (the palette's "Sort by rank")."""
        if key in SORTABLE:
            self.models_list.set_view(sort_key=key, sort_reverse=key not in ASCENDING)

    def action_sort_reverse(self) -> None:
        models = self.models_list
        models.set_view(sort_reverse=not models.sort_reverse)

    def action_tab(self, tab: str) -> None:
        if tab == "checks" and not self.main.has_class("-narrow"):
            return  # the checks are in the left column already
        self.main.query_one(TabbedContent).active = tab

    def action_refresh(self) -> None:
        self.notify("Refreshing…", timeout=2)
        self.scan_models()

    def select_model(self, path: str) -> None:
        self.action_clear_filter()
        self.models_list.select_path(path)

    # -- command palette ---------------------------------------------------------------
    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) for every action that applies here and now."""
        if isinstance(self._context_screen(), HistoryScreen):
            items = [("Roll back to the selected revision", "asks first", "screen.rollback_selected"),
                     ("Back to models", "", "app.pop_screen")]
            return [i for i in items if not (self.read_only and "rollback" in i[2])]
        record = self.selected_record
        name = record.name if record else "the selected model"
        items = [
            (f"Promote {name}", "make it the model that trades (asks first)", "promote"),
            ("Roll back", "to the newest earlier valid revision (asks first)", "rollback"),
            ("History", "revisions: who, when, why", "history"),
            (f"Validate {name}", f"on sessions {self.config.validation_sessions}", "validate"),
            (f"Smoke-test {name}", "load safely and run inference", "smoke"),
            ("Compare marked models", "two models side by side", "compare"),
            ("Mark or unmark for compare", "", "mark"),
            ("Filter models", "by name, path or badge", "filter"),
            ("Toggle compatible only", "", "compatible_only"),
            ("Sort by rank", "best first; never-recommended models last", "sort_by('rank')"),
            ("Sort by next column", "rank, badge, trade %, win % ...", "sort_next"),
            ("Write the report", "ranking and compatibility analysis to a file (says where)",
             "write_report"),
            ("Refresh", "rescan models and pointer", "refresh"),
            ("Help", "keys for this screen", "help"),
            ("Quit", "", "quit"),
        ]
        return [i for i in items if self.check_action(i[2], ()) and (record or i[2] not in
                                                                        {"promote", "validate", "smoke"})]

    def palette_models(self) -> list[ModelRecord]:
        return self.records
