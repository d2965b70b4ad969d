"""The models screen: the list, the filter box, the panes, and the keys that act on them.

Its bindings live here, so they exist only while this screen is in front: under a dialog,
the history or the compare screen, P or R simply is not bound. View actions (filter,
sort, marks, tabs) change only what this screen shows; operator actions (promote, roll
back, validate, smoke, report, history) hand the selected record to the App, whose
workers do the work. The screen reads `TuiState`; only the App's handlers write it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.containers import Horizontal, VerticalScroll
from textual.events import Key, Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, TabbedContent, TabPane

from kalshi_tui.core import Config
from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.tui.formatting import Clock
from kalshi_tui.tui.marks import compare_paths, ensemble_paths
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.describe import DescribeScreen, describe_model_lines
from kalshi_tui.tui.state import TuiState
from kalshi_tui.tui.widgets.model_list import ASCENDING, SORTABLE, ModelList
from kalshi_tui.tui.widgets.panes import RecordPane
from kalshi_tui.tui.widgets.status_header import ListView, StatusHeader

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp

log = logging.getLogger("kalshi_tui.tui")

NARROW_WIDTH = 100  # below this the checks leave the left column for a tab of their own
# Actions that change the pointer: hidden and refused with --read-only.
CHANGING_ACTIONS = frozenset({"promote", "rollback"})
# Actions about the selected model: nothing to offer in the palette when the list is empty.
RECORD_ACTIONS = frozenset({"promote", "validate", "smoke", "describe", "check_health",
                            "abtest"})


class MainScreen(Screen):
    """Every model in the folder, the selected one's panes, and the operator's keys."""

    BINDINGS = [
        # Priority: the dialog opens when the key is read, so the reason typed right after
        # it (even before the first frame) reaches the dialog, not this screen.
        Binding("P", "promote", "Promote", id="promote", priority=True,
                tooltip="Make the selected model the one that trades (asks first)"),
        Binding("R", "rollback", "Roll back", id="rollback", priority=True,
                tooltip="Go back to the newest earlier valid revision (asks first)"),
        Binding("H", "history", "History", id="history", tooltip="Revisions: who, when, why"),
        Binding("V", "validate", "Validate", id="validate",
                tooltip="Run the selected model on the configured sessions"),
        Binding("K", "check_health", "Health", id="check_health", show=False,
                tooltip="Policy health of the selected model in the trader's mode (stored)"),
        Binding("A", "abtest", "A/B", id="abtest", show=False,
                tooltip="A/B test of the selected model against the current model (stored)"),
        Binding("E", "ensemble", "Ensemble", id="ensemble", show=False,
                tooltip="Validate 2 or more marked models as one vote (asks how)"),
        # Off the footer (the readiness pane says "T runs it"): the 80-column footer keeps ? Help.
        Binding("T", "smoke", "Smoke", id="smoke", show=False,
                tooltip="Smoke test: load safely and run inference"),
        Binding("C", "compare", "Compare", id="compare", show=False,
                tooltip="Two marked models side by side (mark with space or m)"),
        Binding("space,m", "mark", "Mark", id="mark", show=False,
                tooltip="Mark or unmark the selected model (for C or E)"),
        Binding("M", "clear_marks", "Clear marks", id="clear_marks", show=False,
                tooltip="Unmark every marked model"),
        Binding("W", "write_report", "Report", id="write_report",
                tooltip="Write the ranking and compatibility report to a file and say where"),
        Binding("d", "describe", "Describe", id="describe",
                tooltip="Every fact of the selected model on one scrollable screen"),
        Binding("full_stop", "jump_current", "Current", id="jump_current", show=False,
                tooltip="Back to the current model (pinned as the first row)"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter by name, path or badge"),
        Binding("c", "compatible_only", "Compatible only", id="compatible_only", show=False,
                tooltip="Show only models that fit the environment"),
        Binding("s", "sort_next", "Sort", id="sort", show=False, tooltip="Sort by the next column"),
        Binding("S", "sort_reverse", "Reverse sort", id="sort_reverse", show=False,
                tooltip="Reverse the order of the sorted column"),
        Binding("0", "tab('checks')", "Checks", id="tab_checks", show=False,
                tooltip="Compatibility and readiness (a tab below 100 columns)"),
        Binding("1", "tab('metrics')", "Metrics", id="tab_metrics", show=False,
                tooltip="Training and validation figures"),
        Binding("2", "tab('histogram')", "Histogram", id="tab_histogram", show=False,
                tooltip="What the model did: actions by side and size"),
        Binding("3", "tab('provenance')", "Provenance", id="tab_provenance", show=False,
                tooltip="Where the file came from: versions, hash, artifacts"),
        Binding("4", "tab('ranking')", "Ranking reasons", id="tab_ranking", show=False,
                tooltip="Why the model ranks where it does"),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False,
                tooltip="Empty and close the filter box"),
    ]

    def __init__(self, state: TuiState, config: Config, *, read_only: bool, clock: Clock) -> None:
        super().__init__(id="main-screen")
        self.state = state  # read here; written only by the App's handlers
        self.config = config
        self.read_only = read_only
        self.clock = clock
        self._fitted = False
        self._models_list: ModelList | None = None
        self._panes: list[RecordPane] | None = None

    @property
    def operator_app(self) -> KalshiTuiApp:
        """The App, with the operations this screen hands over to it."""
        return self.app  # type: ignore[return-value]

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield ModelList(id="models")
        yield Input(placeholder="filter: name, path or badge (enter keeps it, esc clears)",
                    id="filter")
        with Horizontal(id="details"):
            with VerticalScroll(id="left"):
                yield RecordPane("compatibility", id="pane-compatibility")
                yield RecordPane("readiness", id="pane-readiness")
            with TabbedContent(id="tabs", initial="metrics"):
                # Narrow terminals hide the left column; its panes move into this tab.
                with TabPane("Checks 0", id="checks"):
                    yield VerticalScroll(RecordPane("compatibility", id="pane-compatibility-tab"),
                                         RecordPane("readiness", id="pane-readiness-tab"))
                with TabPane("Metrics 1", id="metrics"):
                    yield VerticalScroll(RecordPane("metrics", id="pane-metrics"))
                with TabPane("Histogram 2", id="histogram"):
                    yield VerticalScroll(RecordPane("histogram", id="pane-histogram"))
                with TabPane("Provenance 3", id="provenance"):
                    yield VerticalScroll(RecordPane("provenance", id="pane-provenance"))
                # Its own tab: re-wrapping these sentences on every cursor move costs ~25 ms.
                with TabPane("Ranking 4", id="ranking"):
                    yield VerticalScroll(RecordPane("ranking", id="pane-ranking"))
        # The palette's key is in the help (?); on an 80-column footer it would push out ? Help.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.models_list.focus()
        # Looked up once the whole tree is mounted: a DOM query per cursor move shows.
        self._panes = list(self.query(RecordPane))
        self.show_header()
        self.show_panes()

    @property
    def models_list(self) -> ModelList:
        # Looked up once: a DOM query per cursor move costs more than the move itself.
        if self._models_list is None:
            self._models_list = self.query_one(ModelList)
        return self._models_list

    @property
    def selected_record(self) -> ModelRecord | None:
        return self.models_list.highlighted

    def on_resize(self, event: Resize) -> None:
        self._fit_width(event.size.width)

    def _fit_width(self, width: int) -> None:
        """Below 100 columns the checks leave the left column for a tab of their own."""
        narrow = width < NARROW_WIDTH
        if self.has_class("-narrow") == narrow and self._fitted:
            return
        self._fitted = True
        self.set_class(narrow, "-narrow")
        # Compact keys keep "? Help" on an 80-column footer.
        self.query_one(Footer).compact = narrow
        tabs = self.query_one(TabbedContent)
        if narrow:
            tabs.show_tab("checks")
            tabs.active = "checks"
        else:
            if tabs.active == "checks":
                tabs.active = "metrics"
            tabs.hide_tab("checks")
        if self._panes is not None:
            self.show_panes()  # the panes that just appeared were skipped while hidden

    # -- showing the state -------------------------------------------------------------
    def show_models(self) -> None:
        """A new scan: the list, with what is known of validations and the pointer."""
        self.models_list.set_models(self.state.records, self.state.badges,
                                    set(self.state.validations), self.state.current_path)
        self.show_header()

    def show_validations(self) -> None:
        models = self.models_list
        models.validated = set(self.state.validations)
        models.healths = self.state.healths
        models.set_view()
        self.show_panes()

    def show_ranking(self) -> None:
        self.models_list.set_ranking(self.state.ranking)
        self.show_panes()

    def show_pointer(self) -> None:
        self.models_list.set_current(self.state.current_path)
        self.show_header()
        self.show_panes()

    def show_header(self) -> None:
        models = self.models_list
        view = ListView(loaded=self.state.loaded, total=len(self.state.records),
                        compatible=self.state.compatible_count, shown=models.matching,
                        filter_text=models.filter_text.strip(),
                        compatible_only=models.compatible_only)
        self.query_one(StatusHeader).show(self.state.pointer, read_only=self.read_only,
                                          now=self.clock(), view=view,
                                          models_dir=self.config.models_dir.name + "/")

    def flash_header(self) -> None:
        """Make the header blink once: the pointer moved under the operator's eyes."""
        self.query_one(StatusHeader).flash()

    def show_panes(self) -> None:
        """Fill the panes the operator can see; hidden ones (other tabs) wait to be shown."""
        if self._panes is None:
            return  # not mounted yet: on_mount shows them
        ctx = self.state.pane_context(self.selected_record, self.config.environment, self.clock())
        for pane in self._panes:
            # A hidden pane's update would still cost a layout pass on every cursor move.
            if pane.is_shown():
                pane.show(ctx)

    @on(ModelList.Highlighted)
    def _highlighted(self) -> None:
        self.show_panes()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.show_panes()

    # -- read-only ---------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.allows(action):
            return False  # hidden from the footer, the help and the palette
        if action in CHANGING_ACTIONS and isinstance(self.focused, Input):
            return None  # a capital P or R typed into the filter is a letter (still in the footer)
        top = self.app.screen
        if top is not self and isinstance(top, ModalScreen) and not isinstance(top, CommandPalette):
            # Under a dialog these keys are not bound (Textual stops at the dialog); the
            # footer left behind it must not offer them either.
            return False
        return True

    def allows(self, action: str) -> bool:
        """Whether this run may do `action` at all (read-only refuses pointer changes)."""
        return not (self.read_only and action in CHANGING_ACTIONS)

    def on_key(self, event: Key) -> None:
        # A hidden binding swallows nothing: say why P or R did nothing instead of staying mute.
        what = (refused_keys(self.BINDINGS, CHANGING_ACTIONS, self.config.keymap).get(event.key)
                if self.read_only else None)
        if what:
            self.operator_app.refuse_read_only(what)

    # -- operator actions: the App plans, confirms and runs them ------------------------
    def action_promote(self) -> None:
        record = self.selected_record
        if record is not None:
            self.operator_app.request_promote(record)

    def action_rollback(self) -> None:
        self.operator_app.request_rollback(None)

    def action_history(self) -> None:
        self.operator_app.show_history()

    def action_validate(self) -> None:
        record = self.selected_record
        if record is not None:
            self.operator_app.start_validation(record)

    def action_check_health(self) -> None:
        record = self.selected_record
        if record is not None:
            self.operator_app.start_health_check(record)

    def action_abtest(self) -> None:
        record = self.selected_record
        if record is not None:
            self.operator_app.start_abtest(record)

    def action_smoke(self) -> None:
        record = self.selected_record
        if record is not None:
            self.operator_app.start_smoke_test(record)

    def action_write_report(self) -> None:
        self.operator_app.start_report()

    # -- view actions: what this screen shows, never what is on disk --------------------
    def _chosen(self, choose: Callable[..., tuple[list[str], str | None]]
                ) -> list[ModelRecord] | None:
        """The records `choose` picks from the marks and the selected row, or say why not."""
        selected = self.models_list.highlighted
        paths, problem = choose(self.models_list.marked, selected.path if selected else None)
        if problem:
            self.notify(problem, severity="warning")
            return None
        records = [self.state.record_at(path) for path in paths]
        if any(record is None for record in records):
            self.notify("A marked model is gone; mark again", severity="warning")
            return None
        return [record for record in records if record is not None]

    def action_ensemble(self) -> None:
        members = self._chosen(ensemble_paths)
        if members is not None:
            self.operator_app.request_ensemble(members)

    def action_compare(self) -> None:
        pair = self._chosen(compare_paths)
        if pair is None:
            return
        left, right = pair
        self.app.push_screen(CompareScreen(left, right, self.state.badges, self.state.validations,
                                           self.config.environment, self.state.ranking))

    def action_mark(self) -> None:
        # The ● in the list is the feedback; a toast per mark would bury real messages.
        self.models_list.toggle_mark()

    def action_clear_marks(self) -> None:
        cleared = self.models_list.clear_marks()
        self.notify(f"{cleared} marks cleared" if cleared else "No model is marked", timeout=3)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.models_list.set_view(filter_text="")
            self.models_list.focus()
            self.show_header()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.models_list.set_view(filter_text=event.value)
        self.show_header()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(box.value)
        self.models_list.focus()

    def action_compatible_only(self) -> None:
        models = self.models_list
        models.set_view(compatible_only=not models.compatible_only)
        # The header's mark says it for as long as it holds; no toast to fade.
        self.show_header()

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

    def action_jump_current(self) -> None:
        if not self.models_list.jump_to_current():
            self.notify("No current model: the pointer names none in this folder",
                        severity="warning", timeout=4)

    def action_describe(self) -> None:
        record = self.selected_record
        if record is None:
            return
        ctx = self.state.pane_context(record, self.config.environment, self.clock())
        self.app.push_screen(DescribeScreen(f"Model {record.name}", describe_model_lines(ctx),
                                            screen_id="describe-model"))

    def action_tab(self, tab: str) -> None:
        if tab == "checks" and not self.has_class("-narrow"):
            return  # the checks are in the left column already
        self.query_one(TabbedContent).active = tab

    def select_model(self, path: str) -> None:
        """Jump to a model (the palette's "Go to model"), clearing a filter that hides it."""
        self.action_clear_filter()
        self.models_list.select_path(path)

    # -- command palette ---------------------------------------------------------------
    def palette_commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action) for what applies here and now; actions run on this screen."""
        record = self.selected_record
        name = record.name if record else "the selected model"
        items = [
            (f"Promote {name}", "make it the model that trades (asks first)", "promote"),
            ("Roll back", "to the newest earlier valid revision (asks first)", "rollback"),
            ("History", "revisions: who, when, why", "history"),
            (f"Describe {name}", "every fact of the model, nothing cut", "describe"),
            ("Go to the current model", "the pinned first row", "jump_current"),
            (f"Validate {name}", f"on sessions {self.config.validation_sessions}", "validate"),
            (f"Smoke-test {name}", "load safely and run inference", "smoke"),
            (f"Check the health of {name}", "in the trader's mode; stored like kalshi-tui health",
             "check_health"),
            (f"A/B {name} against the current model", "stored like kalshi-tui abtest",
             "abtest"),
            ("Compare marked models", "two models side by side", "compare"),
            ("Validate marked models as an ensemble", "2 or more; choose the vote; stored like "
             "kalshi-tui validate --ensemble", "ensemble"),
            ("Mark or unmark the selected model", "for compare (two) or an ensemble", "mark"),
            ("Clear every mark", "", "clear_marks"),
            ("Filter models", "by name, path or badge", "filter"),
            ("Toggle compatible only", "", "compatible_only"),
            ("Sort by rank", "best first; never-recommended models last", "sort_by('rank')"),
            ("Sort by next column", "rank, badge, trade %, win % ...", "sort_next"),
            ("Write the report", "ranking and compatibility analysis to a file (says where)",
             "write_report"),
            ("Refresh", "rescan models and pointer", "app.refresh"),
            ("Help", "keys for this screen", "app.help"),
            ("Quit", "", "app.quit"),
        ]
        return [i for i in items if self.allows(i[2]) and (record or i[2] not in RECORD_ACTIONS)]

    def palette_models(self) -> list[ModelRecord]:
        return self.state.records


def refused_keys(
    bindings: list[BindingType], actions: frozenset[str], keymap: dict[str, str]
) -> dict[str, str]:
    """Key (after the config's keymap) -> action, for the bindings of `actions` read-only hides."""
    keys = {}
    for binding in bindings:
        if isinstance(binding, Binding) and binding.action in actions:
            remapped = keymap.get(binding.id or "", binding.key)
            for key in remapped.split(","):
                keys[key.strip()] = binding.action
    return keys


def keymap_ids(*screens: Any) -> set[str]:
    """Every binding id of these classes (screens or the App), for checking the config's keymap."""
    return {b.id for cls in screens for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
