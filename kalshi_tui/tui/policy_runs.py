"""Health checks, A/B tests and ensembles run from the TUI: the App's part, kept out of app.py.

`K`, `A` and `E` on the models screen land here (`E` first asks for the vote in its dialog,
dialogs/ensemble.py). Each run is the one model run allowed at a time (`TuiState.validation`),
shown in the validation's progress dialog with its own unit; escape cancels it through the
App's `cancel_validation`. The eval runner stores the result exactly as `kalshi-tui health`,
`kalshi-tui abtest MODEL current` and `kalshi-tui validate --ensemble A,B,C --vote V` do; the
handler below then puts it in the state, and the table, the panes and the header show it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, cast

from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.dialogs.ensemble import EnsembleDialog
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.messages import PolicyRunFinished
from kalshi_tui.tui.screens.describe import DescribeScreen
from kalshi_tui.tui.state import ValidationRun

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp

log = logging.getLogger("kalshi_tui.tui")

HEALTH = "health check"
ABTEST = "A/B test"
ENSEMBLE = "ensemble validation"
# What each run counts (eval.health: observations through the policy; eval.abtest and
# eval.ensemble: one step of one market's replay, for each model run).
UNITS = {HEALTH: "observations", ABTEST: "market steps (both models)",
         ENSEMBLE: "market steps (vote, members, current)"}
TITLES = {HEALTH: "Checking the health of", ABTEST: "A/B against the current model:",
          ENSEMBLE: "Validating the ensemble ({vote} vote) of"}


class PolicyRunsMixin:
    """Starts health checks and A/B tests and takes their answers; mixed into the App."""

    @property
    def _app(self) -> KalshiTuiApp:
        return cast("KalshiTuiApp", self)  # mixed into no other class

    def start_health_check(self, record: ModelRecord) -> None:
        _start(self._app, HEALTH, record)

    def start_abtest(self, record: ModelRecord) -> None:
        app = self._app
        current = app.state.current_path
        if current is None:
            app.notify("No current model to compare with: promote one first",
                        title="A/B test refused", severity="warning")
            return
        if current == record.path:
            app.notify("The selected model is the current model: select another to compare",
                        title="A/B test refused", severity="warning")
            return
        _start(app, ABTEST, record)

    def request_ensemble(self, records: list[ModelRecord]) -> None:
        """Ask for the vote over these members; the run starts only once it is confirmed."""
        from kalshi_tui.eval import TIE_RULE, VOTES  # plain data: no numpy, no torch

        app = self._app
        if app.state.validation is not None:
            app.notify(f"A {app.state.validation.kind} is already running", severity="warning")
            return

        def chosen(vote: str | None) -> None:
            if vote is None:
                app.notify("Ensemble validation cancelled; nothing was run or stored",
                           timeout=4)
                return
            _start(app, ENSEMBLE, *records, vote=vote)

        app.push_screen(EnsembleDialog([r.path for r in records], VOTES, dict(TIE_RULE),
                                       app.config.validation_sessions), chosen)

    # A plain `on_` name, not `@on`: Textual collects `@on` only on its own classes.
    def on_policy_run_finished(self, message: PolicyRunFinished) -> None:
        app = self._app
        run, app.state.validation = app.state.validation, None
        if run is not None and app.screen is run.dialog:
            run.dialog.dismiss(None)
        what = message.kind.capitalize()
        if message.cancelled:
            app.notify(f"{what} cancelled; nothing was stored", severity="warning")
            return
        if message.refused:
            app.notify_file_text(f"refused: {message.error}", title=f"{what} refused",
                                  severity="warning", timeout=12)
            return
        if message.error:
            app.notify_file_text(message.error, title=f"{what} failed", severity="error",
                                  timeout=12)
            return
        if message.kind == HEALTH:
            _health_checked(app, message.path, message.result)
        elif message.kind == ABTEST:
            _abtested(app, message.path, message.result)
        else:
            _ensemble_validated(app, message.result)


def _start(app: KalshiTuiApp, kind: str, *records: ModelRecord, vote: str = "") -> None:
    if app.state.validation is not None:
        app.notify(f"A {app.state.validation.kind} is already running", severity="warning")
        return
    dialog = ValidationDialog(" + ".join(r.name for r in records),
                              app.config.validation_sessions,
                              title=TITLES[kind].format(vote=vote), unit=UNITS[kind])
    run = ValidationRun(records[0].path, threading.Event(), dialog, kind=kind)
    app.state.validation = run
    app.push_screen(dialog)
    if kind == HEALTH:
        app.jobs.run_health_check(records[0], run.cancel)
    elif kind == ABTEST:
        app.jobs.run_abtest(records[0], run.cancel)
    else:
        app.jobs.run_ensemble(list(records), vote, run.cancel)


def _health_checked(app: KalshiTuiApp, path: str, result: Any) -> None:
    state = app.state
    state.healths[path] = result
    app.main.show_validations()
    # Health is ranking evidence, and the header's collapse alarm reads the stored result.
    app.jobs.compute_ranking(state.records, dict(state.validations), dict(state.healths))
    if path == state.current_path:
        app.jobs.read_pointer()
    log.info("health of %s: %s", path, result.state_line)
    app.notify_file_text(f"{path}: {result.state_line}", title="Health checked",
                         severity="error" if result.state == "COLLAPSED" else "information")


def _abtested(app: KalshiTuiApp, path: str, result: Any) -> None:
    line = result.vs_line("current")
    app.state.ab_lines[path] = line
    app.main.show_panes()
    log.info("A/B of %s: %s", path, line)
    app.notify_file_text(f"{path}: {line}", title="A/B test done")


def _ensemble_validated(app: KalshiTuiApp, result: Any) -> None:
    """The CLI's summary, whole, on a scrollable screen: an ensemble is no row of the table."""
    lines = [fmt.file_text(line) for line in result.summary_lines()]
    log.info("ensemble validated: %s", result.summary_lines()[0] if lines else "")
    app.notify("Ensemble validated and stored", title="Ensemble done")
    # Each member (and the current model) ran as a plain validation and was stored as one:
    # the table's Valid column, the panes and the ranking read them again.
    app.jobs.load_validations(app.state.records)
    app.push_screen(DescribeScreen("Ensemble validation", lines, screen_id="ensemble"))
