"""The kalshi-tui App: wiring only. Widgets show data, workers do the work, handlers own state.

Every key maps to an action here; every action either opens a dialog or starts a worker
(workers.py); every worker answers with a message (messages.py) whose `@on` handler below
updates the state and the widgets. Nothing in this module reads a model file or writes
the pointer itself.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.command import CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, TabbedContent, TabPane

from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import COMPATIBLE, ModelRecord
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.backend import Backend, PointerView, start_prefetch
from kalshi_tui.tui.commands import OperatorCommands
from kalshi_tui.tui.dialogs.confirm import FORCE_WORD, ReasonDialog, RefusedDialog
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.logfile import open_log
from kalshi_tui.tui.messages import (HistoryRead, ModelsScanned, OperationFailed, PointerChanged,
                                     PointerRead, PromotePlanned, PromoteRefused, RankingComputed,
                                     ReportWritten, RollbackPlanned, SmokeTested, ValidationFinished,
                                     ValidationProgressed, ValidationsLoaded)
from kalshi_tui.tui.plan_text import promote_body, refused_body, rollback_body
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.history import HistoryScreen
from kalshi_tui.tui.widgets.model_list import ModelList
from kalshi_tui.tui.widgets.panes import PaneContext, RecordPane
from kalshi_tui.tui.widgets.status_header import StatusHeader
from kalshi_tui.tui.view_actions import ViewActionsMixin
from kalshi_tui.tui.workers import WorkersMixin

log = logging.getLogger("kalshi_tui.tui")

# Actions that change the pointer: hidden and refused with --read-only.
CHANGING_ACTIONS = {"promote", "rollback", "rollback_selected"}
# Actions on the models list's selection: only offered while the models screen is in front.
MODEL_ACTIONS = {"promote", "rollback", "history", "validate", "smoke", "compare", "mark", "filter",
                 "compatible_only", "sort_next", "sort_reverse", "tab", "clear_filter", "write_report", "sort_by"}


class KalshiTuiApp(ViewActionsMixin, WorkersMixin, App):
    """The operator's screen over one models folder and its pointer."""

    CSS_PATH = "app.tcss"
    TITLE = "kalshi-tui"
    COMMANDS = App.COMMANDS | {OperatorCommands}
    BINDINGS = [
        Binding("P", "promote", "Promote", id="promote",
                tooltip="Make the selected model the one that trades (asks first)"),
        Binding("R", "rollback", "Roll back", id="rollback",
                tooltip="Go back to the newest earlier valid revision (asks first)"),
        Binding("H", "history", "History", id="history", tooltip="Revisions: who, when, why"),
        Binding("V", "validate", "Validate", id="validate",
                tooltip="Run the selected model on the configured sessions"),
        Binding("T", "smoke", "Smoke", id="smoke", tooltip="Smoke test: load safely and run inference"),
        Binding("C", "compare", "Compare", id="compare", show=False,
                tooltip="Two marked models side by side (mark with space or m)"),
        Binding("space,m", "mark", "Mark", id="mark", show=False,
                tooltip="Mark the selected model for compare"),
        Binding("W", "write_report", "Report", id="write_report",
                tooltip="Write the ranking and compatibility report to a file and say where"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter by name, path or badge"),
        Binding("c", "compatible_only", "Compatible only", id="compatible_only", show=False,
                tooltip="Show only models that fit the environment"),
        Binding("s", "sort_next", "Sort", id="sort", show=False, tooltip="Sort by the next column"),
        Binding("S", "sort_reverse", "Reverse sort", id="sort_reverse", show=False),
        Binding("0", "tab('checks')", "Checks", id="tab_checks", show=False),
        Binding("1", "tab('metrics')", "Metrics", id="tab_metrics", show=False),
        Binding("2", "tab('histogram')", "Histogram", id="tab_histogram", show=False),
        Binding("3", "tab('provenance')", "Provenance", id="tab_provenance", show=False),
        Binding("4", "tab('ranking')", "Ranking reasons", id="tab_ranking", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="refresh", show=False,
                tooltip="Rescan models and pointer"),
        Binding("colon", "command_palette", "Commands", id="palette", show=False),
        Binding("question_mark", "help", "Help", id="help", tooltip="Keys for this screen"),
        Binding("q", "quit", "Quit", id="quit", show=False),
    ]

    def __init__(self, config: Config, *, read_only: bool = False, clock: fmt.Clock = fmt.utc_now,
                 log_path: Path | None = None, poll: bool = True) -> None:
        super().__init__()
        self.config = config
        self.read_only = read_only
        self.clock = clock
        self.backend = Backend(config, read_only=read_only)
        self.log_path = open_log(config, log_path)
        self.poll_enabled = poll
        self.records: list[ModelRecord] = []
        self.badges: dict[str, str] = {}
        self.validations: dict = {}
        self.ranking: dict = {}  # path -> RankedModel; empty until the ranking worker answers
        self._eligible_count = 0
        self.smoke_results: dict = {}
        self.pointer: PointerView | None = None
        self.signature = None
        self._validation_cancel: threading.Event | None = None
        self._validation_dialog: ValidationDialog | None = None
        self._writing_report = False
        self._fitted = False
        self._models_list: ModelList | None = None
        self._panes: list[RecordPane] | None = None
        self._prefetch = start_prefetch(self.backend)

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
        yield Footer()

    @property
    def main(self) -> Screen:
        """The models screen, whichever screen is on top (the palette asks from above it)."""
        return self.screen_stack[0]

    @property
    def models_list(self) -> ModelList:
        # Looked up once: a DOM query per cursor move costs more than the move itself.
        if self._models_list is None:
            self._models_list = self.main.query_one(ModelList)
        return self._models_list

    def _context_screen(self) -> Screen:
        """The screen the operator was looking at, not the command palette opened over it."""
        for screen in reversed(self.screen_stack):
            if not isinstance(screen, CommandPalette):
                return screen
        return self.main

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "READ-ONLY"
        if self.config.keymap:
            known = {b.id for b in self.BINDINGS if b.id} | {
                b.id for b in HistoryScreen.BINDINGS + CompareScreen.BINDINGS if b.id}
            unknown = sorted(set(self.config.keymap) - known)
            if unknown:
                self.notify(f"{self.config.file}: tui.keymap names no such action: "
                            f"{', '.join(unknown)} (known: {', '.join(sorted(known))})",
                            severity="warning", timeout=15)
            self.set_keymap(self.config.keymap)
        self.main.query_one("#filter", Input).display = False
        self.models_list.focus()
        self._show_header()
        log.info("started on %s (read-only: %s)", self.config.models_dir, self.read_only)
        self.scan_models()
        if self.poll_enabled:
            self.set_interval(min(max(self.config.refresh_seconds, 0.2), 2.0), self._tick)

    def _tick(self) -> None:
        # Nothing moves under an open dialog: the operator confirms what they saw.
        if isinstance(self.screen, ModalScreen) or self.signature is None:
            return
        self._show_header()  # "3m ago" keeps counting
        self.poll_changes(self.signature)

    # -- state from workers ------------------------------------------------------------
    @on(ModelsScanned)
    def _models_scanned(self, message: ModelsScanned) -> None:
        self.records, self.badges, self.signature = message.records, message.badges, message.signature
        self.models_list.set_models(message.records, message.badges,
                                             set(self.validations), self._current_path())
        self._show_header()

    @on(ValidationsLoaded)
    def _validations_loaded(self, message: ValidationsLoaded) -> None:
        self.validations = dict(message.validations)
        models = self.models_list
        models.validated = set(self.validations)
        models.set_view()
        self._show_panes()

    @on(RankingComputed)
    def _ranking_computed(self, message: RankingComputed) -> None:
        if message.records is not self.records:
            return  # ranked an older scan; the newer scan's ranking is on its way
        self.ranking = message.ranking
        self._eligible_count = sum(1 for r in message.ranking.values() if r.rank is not None)
        self.models_list.set_ranking(message.ranking)
        self._show_panes()

    @on(ReportWritten)
    def _report_written(self, message: ReportWritten) -> None:
        self._writing_report = False
        self.notify(Text(f"{message.path} ({message.summary})").markup, title="Report written",
                    timeout=15)

    @on(PointerRead)
    def _pointer_read(self, message: PointerRead) -> None:
        self._set_pointer(message.pointer)

    @on(PointerChanged)
    def _pointer_changed(self, message: PointerChanged) -> None:
        self._set_pointer(message.pointer)
        self.notify(message.summary, title="Pointer changed", timeout=8)
        self.scan_models()

    def _set_pointer(self, pointer: PointerView) -> None:
        changed = self.pointer is None or pointer.revision != self.pointer.revision
        self.pointer = pointer
        self.models_list.set_current(pointer.model_path)
        self._show_header()
        self._show_panes()
        if changed and isinstance(self.screen, HistoryScreen):
            self.read_history()

    @on(OperationFailed)
    def _operation_failed(self, message: OperationFailed) -> None:
        if message.what == "writing the report":
            self._writing_report = False
        self.notify(Text(message.message).markup, title=f"{message.what.capitalize()} failed",
                    severity=message.severity, timeout=12)

    @on(ModelList.Highlighted)
    def _highlighted(self, message: ModelList.Highlighted) -> None:
        self._show_panes()

    def _current_path(self) -> str | None:
        return self.pointer.model_path if self.pointer else None

    def _show_header(self) -> None:
        compatible = sum(1 for r in self.records if r.verdict == COMPATIBLE)
        self.main.query_one(StatusHeader).show(
            self.pointer, read_only=self.read_only, now=self.clock(), model_count=len(self.records),
            compatible_count=compatible, models_dir=self.config.models_dir.name + "/")

    def pane_context(self, record: ModelRecord | None) -> PaneContext:
        path = record.path if record else None
        return PaneContext(record=record, environment=self.config.environment,
                           badge=self.badges.get(path, "") if path else "",
                           validation=self.validations.get(path), smoke=self.smoke_results.get(path),
                           ranked=self.ranking.get(path) if path else None,
                           ranking_ready=bool(self.ranking),
                           eligible_count=self._eligible_count,
                           is_current=bool(path and path == self._current_path()), now=self.clock())

    def _show_panes(self) -> None:
        """Fill the panes the operator can see; hidden ones (other tabs) wait to be shown."""
        ctx = self.pane_context(self.selected_record)
        if self._panes is None:
            self._panes = list(self.main.query(RecordPane))
        for pane in self._panes:
            # A hidden pane's update would still cost a layout pass on every cursor move.
            if pane.is_shown():
                pane.show(ctx)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self._show_panes()

    @property
    def selected_record(self) -> ModelRecord | None:
        return self.models_list.highlighted

    # -- read-only guard ---------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.read_only and action in CHANGING_ACTIONS:
            return False  # hidden from the footer, the help and the palette
        context = self._context_screen()
        if isinstance(context, ModalScreen) and action in OPERATOR_ACTIONS:
            # App keys stay live under a dialog in Textual: typing FORCE must not press R or C.
            return False
        if context is not self.main and action in MODEL_ACTIONS:
            # History and compare are not about the model under the list's cursor.
            return False
        return True

    def on_key(self, event) -> None:
        # Hidden bindings swallow nothing: say why P or R did nothing instead of staying mute.
        if self.read_only and isinstance(self._context_screen(), Screen) and not isinstance(
                self._context_screen(), ModalScreen):
            what = self._read_only_keys().get(event.key)
            if what:
                self._refuse_read_only(what)

    def _read_only_keys(self) -> dict[str, str]:
        """Keys (after the config's keymap) of the actions read-only mode refuses."""
        keys = {}
        for binding in self.BINDINGS:
            if binding.action in ("promote", "rollback"):
                remapped = self.config.keymap.get(binding.id or "", binding.key)
                for key in remapped.split(","):
                    keys[key.strip()] = "promote" if binding.action == "promote" else "rollback"
        return keys

    def _refuse_read_only(self, what: str) -> bool:
        if self.read_only:
            log.info("%s refused: read-only", what)
            self.notify(f"Read-only: {what} is disabled (started with --read-only)",
                        severity="warning")
        return self.read_only

    # -- promote -----------------------------------------------------------------------
    def action_promote(self) -> None:
        record = self.selected_record
        if self._refuse_read_only("promote") or record is None:
            return
        # The revision this screen shows is the one the change must still find on disk.
        self._shown_revision = self.pointer.revision if self.pointer else None
        self.plan_promote(record, self._shown_revision)

    @on(PromotePlanned)
    def _promote_planned(self, message: PromotePlanned) -> None:
        record = message.record
        body = promote_body(message.plan, self.pointer, self.badges.get(record.path, ""),
                            self.validations.get(record.path))
        dialog = ReasonDialog(f"Promote {record.name}?", body, confirm_label="Promote",
                              dialog_id="promote-dialog")
        self.push_screen(dialog, lambda reason: reason and self.do_promote(
            record, reason, self._shown_revision, False))

    @on(PromoteRefused)
    def _promote_refused(self, message: PromoteRefused) -> None:
        record = message.record
        body = refused_body(message.message, record, self.badges.get(record.path, ""))
        can_force = message.forceable and not self.read_only

        def after(force: bool | None) -> None:
            if force:
                self._ask_force(record)

        self.push_screen(RefusedDialog(f"Promote of {record.name} refused", body,
                                       can_force=can_force), after)

    def _ask_force(self, record: ModelRecord) -> None:
        body = refused_body("Forcing puts a model the environment does not fit in front of the "
                            "trader. The journal and the pointer record it as FORCED.",
                            record, self.badges.get(record.path, ""))
        dialog = ReasonDialog(f"FORCE promote {record.name}?", body, confirm_label="Force promote",
                              require_word=FORCE_WORD, dialog_id="force-dialog",
                              confirm_variant="error")
        self.push_screen(dialog, lambda reason: reason and self.do_promote(
            record, reason, self._shown_revision, True))

    # -- rollback ----------------------------------------------------------------------
    def action_rollback(self) -> None:
        self.request_rollback(None)

    def request_rollback(self, to_revision: int | None) -> None:
        """Plan a rollback (to the default target or a chosen revision) and ask to confirm."""
        if self._refuse_read_only("rollback"):
            return
        self._shown_revision = self.pointer.revision if self.pointer else None
        self.plan_rollback(to_revision)

    @on(RollbackPlanned)
    def _rollback_planned(self, message: RollbackPlanned) -> None:
        plan = message.plan
        dialog = ReasonDialog(f"Roll back to revision {plan.target_revision}?",
                              rollback_body(plan, self.pointer), confirm_label="Roll back",
                              dialog_id="rollback-dialog")
        self.push_screen(dialog, lambda reason: reason and self.do_rollback(
            reason, plan.target_revision, self._shown_revision))

    # -- history, compare, help --------------------------------------------------------
    def action_history(self) -> None:
        self.read_history()

    @on(HistoryRead)
    def _history_read(self, message: HistoryRead) -> None:
        if isinstance(self.screen, HistoryScreen):
            self.screen.now = self.clock()
            self.screen.show_records(message.records)
        else:
            self.push_screen(HistoryScreen(message.records, self.clock(), read_only=self.read_only))

    # -- validation and smoke ----------------------------------------------------------
    def action_validate(self) -> None:
        record = self.selected_record
        if record is None:
            return
        if self._validation_cancel is not None:
            self.notify("A validation is already running", severity="warning")
            return
        self._validation_cancel = threading.Event()
        self._validation_dialog = ValidationDialog(record.name, self.config.validation_sessions)
        self.push_screen(self._validation_dialog)
        self.run_validation(record, self._validation_cancel)

    def cancel_validation(self) -> None:
        if self._validation_cancel is not None:
            self._validation_cancel.set()
            if self._validation_dialog is not None:
                self._validation_dialog.show_cancelling()

    @on(ValidationProgressed)
    def _validation_progressed(self, message: ValidationProgressed) -> None:
        if self._validation_dialog is not None and self._validation_dialog.is_attached:
            self._validation_dialog.show_progress(message.done, message.total)

    @on(ValidationFinished)
    def _validation_finished(self, message: ValidationFinished) -> None:
        self._validation_cancel = None
        if self._validation_dialog is not None and self.screen is self._validation_dialog:
            self._validation_dialog.dismiss(None)
        self._validation_dialog = None
        if message.cancelled:
            self.notify("Validation cancelled; nothing was stored", severity="warning")
        elif message.error:
            self.notify(Text(message.error).markup, title="Validation failed", severity="error",
                        timeout=12)
        else:
            self.validations[message.path] = message.result
            models = self.models_list
            models.validated = set(self.validations)
            models.set_view()
            # The new result is evidence: the ranking and its reasons change with it.
            self.compute_ranking(self.records, dict(self.validations))
            self.notify(f"Validated: win rate {fmt.fmt_pct(message.result.win_rate, fraction=True)} "
                        f"over {message.result.episodes:,} episodes", title="Validation done")
            self._show_panes()

    # -- report ----------------------------------------------------------------------
    def action_write_report(self) -> None:
        # Writes to the tool's cache folder, never the pointer or the models: allowed read-only.
        if self._writing_report:
            self.notify("The report is being written", severity="warning")
            return
        self._writing_report = True
        self.notify("Writing the report…", timeout=3)
        self.write_report_file()

    def action_smoke(self) -> None:
        record = self.selected_record
        if record is not None:
            self.notify(Text(f"Smoke-testing {record.name}…").markup, timeout=3)
            self.run_smoke(record)

    @on(SmokeTested)
    def _smoke_tested(self, message: SmokeTested) -> None:
        if message.error:
            self.notify(Text(message.error).markup, title="Smoke test failed", severity="error")
            return
        self.smoke_results[message.path] = message.result
        result = message.result
        if result.ok:
            self.notify(f"Loads and infers: predict {fmt.fmt_float(result.predict_latency_ms, 2)} ms",
                        title="Smoke test passed")
        else:
            self.notify(Text("; ".join(result.problems)).markup, title="Smoke test: unusable",
                        severity="error", timeout=12)
        self._show_panes()

    # -- filter box (its @on handlers must live on the App class) ---------------------
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.models_list.set_view(filter_text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        box = self.main.query_one("#filter", Input)
        box.display = bool(box.value)
        self.models_list.focus()



# Every action bound above: none of them may fire while a dialog has the keyboard.
OPERATOR_ACTIONS = {b.action.split("(")[0] for b in KalshiTuiApp.BINDINGS}
