"""The kalshi-tui App: wiring only. Screens show the state, workers do the work, handlers own it.

The models screen (screens/main.py) holds the operator's keys and hands pointer changes,
validations and reports to the App; the App starts a worker (workers.py) for each, and
every worker answers with a message (messages.py) whose `@on` handler below updates the
one `TuiState` (state.py) and asks the screens to show it. Nothing in this module reads a
model file or writes the pointer itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen

from kalshi_tui.core import Config, printable
from kalshi_tui.core.catalog import ModelRecord, model_file_changes
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.backend import Backend, PointerView, start_prefetch
from kalshi_tui.tui.commands import OperatorCommands, commands_for
from kalshi_tui.tui.dialogs.confirm import FORCE_WORD, ReasonDialog, RefusedDialog
from kalshi_tui.tui.dialogs.ensemble import EnsembleDialog
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.logfile import open_log
from kalshi_tui.tui.messages import (
    ChangesDetected,
    HistoryRead,
    ModelsScanned,
    OperationFailed,
    PointerChanged,
    PointerRead,
    PromotePlanned,
    PromoteRefused,
    RankingComputed,
    ReportWritten,
    RollbackPlanned,
    SmokeTested,
    StoredABLines,
    ValidationFinished,
    ValidationProgressed,
    ValidationsLoaded,
)
from kalshi_tui.tui.plan_text import (
    PLANNING,
    badge_words,
    outside_change_words,
    promote_body,
    refused_body,
    rollback_body,
)
from kalshi_tui.tui.policy_runs import PolicyRunsMixin
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.describe import DescribeScreen
from kalshi_tui.tui.screens.help import HelpScreen, help_table
from kalshi_tui.tui.screens.history import HistoryScreen
from kalshi_tui.tui.screens.main import MainScreen, keymap_ids
from kalshi_tui.tui.state import TuiState, ValidationRun
from kalshi_tui.tui.widgets.model_list import ModelList
from kalshi_tui.tui.workers import Workers

log = logging.getLogger("kalshi_tui.tui")

GLOBAL_ACTIONS = frozenset({"refresh", "command_palette", "help", "quit"})


class KalshiTuiApp(PolicyRunsMixin, App):
    """The operator's screen over one models folder and its pointer."""

    CSS_PATH = "app.tcss"
    TITLE = "kalshi-tui"
    COMMANDS = App.COMMANDS | {OperatorCommands}
    # Only the keys that mean the same on every screen; each screen binds its own.
    BINDINGS = [
        Binding("ctrl+r", "refresh", "Refresh", id="refresh", show=False,
                tooltip="Rescan models and pointer"),
        Binding("colon,ctrl+p", "command_palette", "Commands", id="palette", show=False,
                tooltip="Every action that applies here, by name"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Keys for this screen"),
        Binding("q", "quit", "Quit", id="quit", show=False, tooltip="Leave kalshi-tui"),
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
        self.state = TuiState()
        self.jobs = Workers(self, self.backend, clock, read_only=read_only,
                            prefetch=start_prefetch(self.backend))

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.state, self.config, read_only=self.read_only, clock=self.clock)

    @property
    def main(self) -> MainScreen:
        """The models screen, whichever screen is on top (the palette asks from above it)."""
        return self.screen_stack[0]  # type: ignore[return-value]

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "READ-ONLY"
        if self.config.keymap:
            known = keymap_ids(KalshiTuiApp, MainScreen, ModelList, HistoryScreen, CompareScreen,
                               HelpScreen, DescribeScreen, ReasonDialog, RefusedDialog,
                               ValidationDialog, EnsembleDialog)
            unknown = sorted(set(self.config.keymap) - known)
            if unknown:
                self.notify_file_text(f"{self.config.file}: tui.keymap names no such action: "
                                      f"{', '.join(unknown)} (known: {', '.join(sorted(known))})",
                                      severity="warning", timeout=15)
            self.set_keymap(self.config.keymap)
        log.info("started on %s (read-only: %s)", self.config.models_dir, self.read_only)
        self.jobs.scan_models()
        if self.poll_enabled:
            self.set_interval(min(max(self.config.refresh_seconds, 0.2), 2.0), self._tick)

    def _tick(self) -> None:
        # Nothing moves under an open dialog: the operator confirms what they saw.
        if isinstance(self.screen, ModalScreen) or self.state.signature is None:
            return
        self.main.show_header()  # "3m ago" keeps counting
        self.jobs.poll_changes(self.state.signature)

    # -- state from workers ------------------------------------------------------------
    @on(ModelsScanned)
    def _models_scanned(self, message: ModelsScanned) -> None:
        state = self.state
        changes = model_file_changes(state.records, message.records) if state.loaded else None
        state.records, state.badges, state.signature = (
            message.records,
            message.badges,
            message.signature,
        )
        state.loaded = True
        self.main.show_models()
        if changes:
            log.info("models folder changed: %s", changes.summary())
            self.notify(changes.summary(), title="Models folder changed", timeout=10)
        self.jobs.load_validations(message.records)

    @on(ChangesDetected)
    def _changes_detected(self) -> None:
        self.jobs.scan_models()

    @on(ValidationsLoaded)
    def _validations_loaded(self, message: ValidationsLoaded) -> None:
        self.state.validations = dict(message.validations)
        self.state.healths = dict(message.healths)
        self.main.show_validations()

    @on(StoredABLines)
    def _stored_ab_lines(self, message: StoredABLines) -> None:
        if message.records is not self.state.records:
            return  # read for an older scan; the newer scan's lines are on their way
        from kalshi_tui.eval import NO_AB  # a constant: no model runtime

        # Read once per scan, so a cursor move only looks the line up.
        self.state.ab_lines = {path: f"{line} (A runs it)" if line == NO_AB else line
                               for path, line in message.lines.items()}
        self.main.show_panes()

    @on(RankingComputed)
    def _ranking_computed(self, message: RankingComputed) -> None:
        if message.records is not self.state.records:
            return  # ranked an older scan; the newer scan's ranking is on its way
        self.state.set_ranking(message.ranking)
        self.main.show_ranking()

    @on(ReportWritten)
    def _report_written(self, message: ReportWritten) -> None:
        self.state.writing_report = False
        self.notify_file_text(
            f"{message.path} ({message.summary})", title="Report written", timeout=15
        )

    @on(PointerRead)
    def _pointer_read(self, message: PointerRead) -> None:
        self._set_pointer(message.pointer)

    @on(PointerChanged)
    def _pointer_changed(self, message: PointerChanged) -> None:
        self.state.own_revisions.add(message.revision)
        self._set_pointer(message.pointer)
        self.notify_file_text(message.summary, title="Pointer changed", timeout=8)
        self.jobs.scan_models()

    def _set_pointer(self, pointer: PointerView) -> None:
        before = self.state.pointer
        changed = before is None or pointer.revision != before.revision
        self.state.pointer = pointer
        self.main.show_pointer()
        outside = (before is not None and not before.error and not pointer.error
                   and pointer.revision != before.revision
                   and pointer.revision not in self.state.own_revisions)
        if outside:
            # Someone else moved the pointer: say who, what and which revision, not only
            # a header that quietly reads differently.
            words = outside_change_words(pointer)
            log.warning("outside change: %s", words)
            self.notify_file_text(words, title="Pointer changed elsewhere", severity="warning",
                                  timeout=12)
            self.main.flash_header()
        if changed and isinstance(self.screen, HistoryScreen):
            self.jobs.read_history()

    @on(OperationFailed)
    def _operation_failed(self, message: OperationFailed) -> None:
        if message.what == "writing the report":
            self.state.writing_report = False
        outcome = "refused" if message.refused else "failed"
        title = f"{message.what.capitalize()} {outcome}"
        if message.planning:
            waiting = self._waiting_dialog() is not None
            self._close_change_dialog()  # nothing to confirm: the engine said no, or failed
            if waiting:
                # A modal answer in the dialog's place: the reason the operator is still
                # typing after R or P lands there, never on the models screen as commands.
                self.push_screen(RefusedDialog(title, [fmt.file_text(message.message)],
                                               can_force=False))
                return
        self.notify_file_text(message.message, title=title, severity=message.severity,
                              timeout=12)

    # -- global actions ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        top = self.screen
        if (
            action in GLOBAL_ACTIONS
            and isinstance(top, ModalScreen)
            and not isinstance(top, CommandPalette)
        ):
            # Textual binds nothing of the App under a dialog; the footer behind it says so.
            return False
        return True

    def action_refresh(self) -> None:
        self.notify("Refreshing…", timeout=2)
        self.jobs.scan_models()

    def action_help(self) -> None:
        titles = {HistoryScreen: "history", CompareScreen: "compare", DescribeScreen: "describe"}
        self.push_screen(
            HelpScreen(help_table(self.screen), titles.get(type(self.screen), "models"))
        )

    def notify_file_text(self, message: str, **options: Any) -> None:
        """A toast whose words may come from a file, a folder name or an exception: escaped by
        the core's one rule and shown as plain text, never read as markup."""
        self.notify(printable(message), markup=False, **options)

    def palette_commands(self) -> list[tuple[str, str, str]]:
        """What the command palette would offer now, over the screen in front."""
        return commands_for(self.screen)

    def refuse_read_only(self, what: str) -> bool:
        """In read-only mode, say that `what` is disabled and return True."""
        if self.read_only:
            log.info("%s refused: read-only", what)
            self.notify(f"Read-only: {what} is disabled (started with --read-only)",
                        severity="warning")
        return self.read_only

    # -- promote and rollback: the dialog opens at once, the plan fills it -------------
    def _open_dialog(self, dialog: ReasonDialog, run: Callable[[ReasonDialog, str], None]) -> None:
        """Show a change dialog before its plan exists, so keys typed after P or R (the
        reason) land in its reason field and not on the models screen behind it."""
        self._close_change_dialog()
        # Older toasts would sit on the dialog's buttons at 80x24; the log keeps them.
        self.clear_notifications()
        self.state.change_dialog = dialog

        def after(reason: str | None) -> None:
            if self.state.change_dialog is dialog:
                self.state.change_dialog = None
            if reason and dialog.planned:
                run(dialog, reason)

        self.push_screen(dialog, after)

    def _close_change_dialog(self) -> None:
        dialog, self.state.change_dialog = self.state.change_dialog, None
        if dialog is not None and dialog.is_attached and dialog in self.screen_stack:
            dialog.dismiss(None)

    def _waiting_dialog(self) -> ReasonDialog | None:
        """The open change dialog still waiting for its plan; None once cancelled."""
        dialog = self.state.change_dialog
        return dialog if dialog is not None and dialog.is_attached else None

    def _expected_revision(self, dialog: ReasonDialog) -> int | None:
        # The revision the screen showed, or (asked before the pointer was read) the plan's.
        shown = self.state.shown_revision
        return shown if shown is not None else dialog.plan.revision_before

    def request_promote(self, record: ModelRecord) -> None:
        """Open the promote dialog and ask the engine for its plan."""
        if self.refuse_read_only("promote"):
            return
        # The revision this screen shows is the one the change must still find on disk.
        self.state.shown_revision = self.state.pointer.revision if self.state.pointer else None
        self._open_dialog(ReasonDialog(f"Promote {record.name}?", [PLANNING],
                                       confirm_label="Promote", dialog_id="promote-dialog",
                                       planned=False),
                          lambda dialog, reason: self.jobs.do_promote(
                              record, reason, self._expected_revision(dialog), False))
        self.jobs.plan_promote(record, self.state.shown_revision)

    @on(PromotePlanned)
    def _promote_planned(self, message: PromotePlanned) -> None:
        dialog = self._waiting_dialog()
        if dialog is None:
            return  # cancelled while the engine planned
        record, state = message.record, self.state
        body = promote_body(message.plan, state.pointer, state.badges.get(record.path, ""),
                            state.validations.get(record.path), state.healths.get(record.path),
                            message.ab_line)
        dialog.show_plan(f"Promote {record.name}?", body, f"Promote {record.name}", message.plan)

    @on(PromoteRefused)
    def _promote_refused(self, message: PromoteRefused) -> None:
        record = message.record  # the worker logged the refusal, as a warning
        if self._waiting_dialog() is None:
            return  # the operator cancelled while the engine planned: nothing to explain
        self._close_change_dialog()
        body = refused_body(message.message, record, self.state.badges.get(record.path, ""))
        can_force = message.forceable and not self.read_only

        def after(force: bool | None) -> None:
            if force:
                self._ask_force(record)

        self.push_screen(RefusedDialog(f"Promote of {record.name} refused", body,
                                       can_force=can_force), after)

    def _ask_force(self, record: ModelRecord) -> None:
        body = refused_body("Forcing puts a model the environment does not fit in front of the "
                            "trader. The journal and the pointer record it as FORCED.",
                            record, self.state.badges.get(record.path, ""))
        dialog = ReasonDialog(f"FORCE promote {record.name}?", body,
                              confirm_label=f"Force promote {record.name}",
                              require_word=FORCE_WORD, dialog_id="force-dialog",
                              confirm_variant="error")
        self._open_dialog(dialog, lambda _dialog, reason: self.jobs.do_promote(
            record, reason, self.state.shown_revision, True))

    def request_rollback(self, to_revision: int | None) -> None:
        """Open the rollback dialog (to the default target or a chosen revision) and plan it."""
        if self.refuse_read_only("rollback"):
            return
        self.state.shown_revision = self.state.pointer.revision if self.state.pointer else None
        title = ("Roll back?" if to_revision is None else f"Roll back to revision {to_revision}?")
        self._open_dialog(ReasonDialog(title, [PLANNING], confirm_label="Roll back",
                                       dialog_id="rollback-dialog", planned=False),
                          lambda dialog, reason: self.jobs.do_rollback(
                              reason, dialog.plan.target_revision, self._expected_revision(dialog)))
        self.jobs.plan_rollback(to_revision)

    @on(RollbackPlanned)
    def _rollback_planned(self, message: RollbackPlanned) -> None:
        dialog = self._waiting_dialog()
        if dialog is None:
            return
        plan, state = message.plan, self.state
        path = plan.record.path
        badge = state.badges.get(path) or badge_words(plan.record)
        body = rollback_body(plan, state.pointer, badge, state.validations.get(path),
                             state.healths.get(path), message.ab_line)
        dialog.show_plan(f"Roll back to revision {plan.target_revision}?", body,
                         f"Roll back to rev {plan.target_revision}", plan)

    # -- history -----------------------------------------------------------------------
    def show_history(self) -> None:
        self.jobs.read_history()

    @on(HistoryRead)
    def _history_read(self, message: HistoryRead) -> None:
        if isinstance(self.screen, HistoryScreen):
            self.screen.now = self.clock()
            self.screen.show_records(message.records)
        else:
            self.push_screen(HistoryScreen(message.records, self.clock(), read_only=self.read_only,
                                           keymap=self.config.keymap,
                                           models_prefix=f"{self.config.models_dir.name}/"))

    # -- validation and smoke ----------------------------------------------------------
    def start_validation(self, record: ModelRecord) -> None:
        if self.state.validation is not None:
            self.notify("A validation is already running", severity="warning")
            return
        run = ValidationRun(record.path, threading.Event(),
                            ValidationDialog(record.name, self.config.validation_sessions))
        self.state.validation = run
        self.push_screen(run.dialog)
        self.jobs.run_validation(record, run.cancel)

    def cancel_validation(self) -> None:
        run = self.state.validation
        if run is not None:
            run.cancel.set()
            run.dialog.show_cancelling()

    @on(ValidationProgressed)
    def _validation_progressed(self, message: ValidationProgressed) -> None:
        run = self.state.validation
        if run is not None and run.dialog.is_attached:
            run.dialog.show_progress(message.done, message.total)

    @on(ValidationFinished)
    def _validation_finished(self, message: ValidationFinished) -> None:
        run, self.state.validation = self.state.validation, None
        if run is not None and self.screen is run.dialog:
            run.dialog.dismiss(None)
        if message.cancelled:
            self.notify("Validation cancelled; nothing was stored", severity="warning")
        elif message.error:
            self.notify_file_text(
                message.error, title="Validation failed", severity="error", timeout=12
            )
        else:
            self.state.validations[message.path] = message.result
            self.main.show_validations()
            # The new result is evidence: the ranking and its reasons change with it.
            self.jobs.compute_ranking(self.state.records, dict(self.state.validations),
                                      dict(self.state.healths))
            self.notify_file_text(
                f"Validated: {message.result.headline()}", title="Validation done"
            )

    def start_smoke_test(self, record: ModelRecord) -> None:
        self.notify_file_text(f"Smoke-testing {record.name}…", timeout=3)
        self.jobs.run_smoke(record)

    @on(SmokeTested)
    def _smoke_tested(self, message: SmokeTested) -> None:
        if message.error:
            self.notify_file_text(message.error, title="Smoke test failed", severity="error")
            return
        self.state.smoke_results[message.path] = message.result
        result = message.result
        if result.ok:
            self.notify(
                f"Loads and infers: predict {fmt.fmt_float(result.predict_latency_ms, 2)} ms",
                title="Smoke test passed",
            )
        else:
            self.notify_file_text(
                "; ".join(map(str, result.problems)),
                title="Smoke test: unusable",
                severity="error",
                timeout=12,
            )
        self.main.show_panes()

    # -- report ------------------------------------------------------------------------
    def start_report(self) -> None:
        # Writes to the tool's cache folder, never the pointer or the models: allowed read-only.
        if self.state.writing_report:
            self.notify("The report is being written", severity="warning")
            return
        self.state.writing_report = True
        self.notify("Writing the report…", timeout=3)
        self.jobs.write_report_file()
