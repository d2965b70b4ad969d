"""Thread workers: every file read, validation and pointer write happens here, off the UI.

Workers never touch widgets or the App's state. Each one calls the Backend and posts one
past-tense message (see messages.py) whose `@on` handler on the App owns the state change;
failures become `OperationFailed` with one line for the screen, and the full traceback
goes to the log file, never to the terminal. A worker never starts another worker: it
posts what it found (`ChangesDetected`, `ModelsScanned`) and the handler decides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from typing import Any

from textual.app import App

from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.tui.backend import Backend, PointerView
from kalshi_tui.tui.messages import (
    ChangesDetected,
    HistoryRead,
    ModelsScanned,
    OperationFailed,
    PointerChanged,
    PointerRead,
    PolicyRunFinished,
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

log = logging.getLogger("kalshi_tui.tui")


def one_line(exc: BaseException) -> str:
    """An exception as a single line an operator can read."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


class Workers:
    """Starts the App's thread workers; each group runs one at a time, the newest winning."""

    def __init__(self, app: App, backend: Backend, clock: Callable[[], datetime], *,
                 read_only: bool, prefetch: Future | None = None) -> None:
        self.app = app  # runs the workers and receives their messages
        self.backend = backend
        self.clock = clock
        self.read_only = read_only
        # The first scan, begun before the App's loop existed; the first scan worker takes it.
        self.prefetch = prefetch

    def _start(self, group: str, work: Callable[..., None], *args: Any) -> None:
        # exclusive: a newer scan (or poll, or ranking) cancels the older one of its group.
        self.app.run_worker(partial(work, *args), name=group, group=group, exclusive=True,
                            thread=True, exit_on_error=False)

    def _post(self, message: Any) -> None:
        self.app.post_message(message)

    def _failed(self, what: str, exc: BaseException, severity: str = "error", *,
                planning: bool = False) -> None:
        from kalshi_tui.core.pointer import Refused, StaleRevision

        if isinstance(exc, (Refused, StaleRevision)):
            # A guard rail answered no: the operator's news, not the program's fault.
            log.warning("%s refused: %s", what, one_line(exc))
            self._post(OperationFailed(what, one_line(exc), severity="warning", refused=True,
                                       planning=planning))
            return
        log.error("%s failed: %s", what, one_line(exc), exc_info=exc)
        self._post(OperationFailed(what, one_line(exc), severity=severity, planning=planning))

    def scan_models(self) -> None:
        self._start("scan", self._scan_models)

    def _scan_models(self) -> None:
        """Read the catalog and the pointer; the handler of ModelsScanned asks for the rest."""
        prefetch, self.prefetch = self.prefetch, None
        try:
            if prefetch is not None:
                # Started when the App was built, so it ran while Textual set up the screen.
                signature, records, badges = prefetch.result()
            else:
                signature = self.backend.change_signature()
                records, badges = self.backend.scan()
        except Exception as exc:  # noqa: BLE001 - any failure must reach the operator, not kill the UI
            self._failed("reading the models folder", exc)
            return
        self._post(ModelsScanned(records, badges, signature))
        self._pointer_view()

    def load_validations(self, records: list[ModelRecord]) -> None:
        self._start("validations", self._load_validations, records)

    def _load_validations(self, records: list[ModelRecord]) -> None:
        """Hashes, stored results, the ranking, then the stored A/B tests, after the list is on
        screen: all only add to it. Stored results are found by sha256, and the listing hashes
        nothing."""
        healths: dict[str, Any] = {}
        try:
            self.backend.hash_models(records)
            stored = self.backend.stored_evidence(records)
            validations, healths = stored.validations, stored.healths
        except Exception as exc:  # noqa: BLE001
            self._failed("reading stored validations", exc, "warning")
            validations = {}
        else:
            self._post(ValidationsLoaded(validations, healths))
        # Validation results are the ranking's strongest evidence, so it waits for them.
        self._rank(records, validations, healths)
        try:
            lines = self.backend.stored_ab_lines(records)
        except Exception as exc:  # noqa: BLE001 - evidence for the panes, never a reason to stop
            self._failed("reading stored A/B tests", exc, "warning")
            return
        self._post(StoredABLines(records, lines))

    def compute_ranking(self, records: list[ModelRecord], validations: dict[str, Any],
                        healths: dict[str, Any]) -> None:
        self._start("ranking", self._compute_ranking, records, validations, healths)

    def _compute_ranking(self, records: list[ModelRecord], validations: dict[str, Any],
                         healths: dict[str, Any]) -> None:
        """Rank again, e.g. after a validation finished and changed a model's evidence."""
        self._rank(records, validations, healths)

    def _rank(self, records: list[ModelRecord], validations: dict[str, Any],
              healths: dict[str, Any]) -> None:
        try:
            ranking = self.backend.ranking(records, validations, healths, now=self.clock())
        except Exception as exc:  # noqa: BLE001 - bad weights in the config, say so and go on
            self._failed("ranking the models", exc, "warning")
            return
        self._post(RankingComputed(records, ranking))

    def write_report_file(self) -> None:
        self._start("report", self._write_report_file)

    def _write_report_file(self) -> None:
        """Write the compatibility report (it reads the folder afresh) and say where."""
        try:
            path, report = self.backend.write_report(now=self.clock())
        except Exception as exc:  # noqa: BLE001 - unwritable folder, bad weights: one line
            self._failed("writing the report", exc)
            return
        primary = (report.get("summary") or {}).get("primary")
        summary = f"recommends {primary}" if primary else "no compatible model: nothing recommended"
        log.info("report written to %s (%s)", path, summary)
        self._post(ReportWritten(str(path), summary))

    def _pointer_view(self) -> None:
        """Read the pointer and post what the header shows (also inside other workers)."""
        try:
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("reading the pointer", exc)
            # The header must not keep showing a pointer it could not read.
            self._post(PointerRead(PointerView(error=one_line(exc))))
            return
        self._post(PointerRead(view))

    def read_pointer(self) -> None:
        self._start("pointer", self._pointer_view)

    def poll_changes(self, last_signature: Any) -> None:
        self._start("poll", self._poll_changes, last_signature)

    def _poll_changes(self, last_signature: Any) -> None:
        """Rescan when a model file, the pointer or its journal changed since the last look."""
        try:
            signature = self.backend.change_signature()
        except Exception as exc:  # noqa: BLE001
            self._failed("watching the models folder", exc, "warning")
            return
        if signature != last_signature:
            log.info("change detected in the models folder or the pointer; rescanning")
            self._post(ChangesDetected(signature))

    def plan_promote(self, record: ModelRecord, expect_revision: int | None) -> None:
        self._start("change", self._plan_promote, record, expect_revision)

    def _plan_promote(self, record: ModelRecord, expect_revision: int | None) -> None:
        """Ask the engine whether this promote is allowed before showing the dialog."""
        from kalshi_tui.core.pointer import Refused

        try:
            plan = self.backend.plan_promote(record, expect_revision=expect_revision)
        except Refused as refusal:
            forceable = False
            if not self.read_only:
                try:
                    # The engine's own answer to "would force get past this?", not a guess.
                    self.backend.plan_promote(record, expect_revision=expect_revision, force=True)
                    forceable = True
                except Exception:  # noqa: BLE001 - still refused: not forceable
                    forceable = False
            log.warning("promote of %s refused: %s", record.path, one_line(refusal))
            self._post(PromoteRefused(record, one_line(refusal), forceable))
            return
        except Exception as exc:  # noqa: BLE001
            self._failed("promote", exc, planning=True)
            return
        self._post(PromotePlanned(record, plan, False, self._ab_line(plan.record)))

    def do_promote(
        self, record: ModelRecord, reason: str, expect_revision: int | None, force: bool
    ) -> None:
        self._start("change", self._do_promote, record, reason, expect_revision, force)

    def _do_promote(
        self, record: ModelRecord, reason: str, expect_revision: int | None, force: bool
    ) -> None:
        try:
            result = self.backend.promote(
                record, reason, expect_revision=expect_revision, force=force
            )
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("promote", exc)
            self._pointer_view()
            return
        forced = " (FORCED)" if force else ""
        summary = f"Promoted {record.path} as revision {result.revision}{forced}"
        if result.hook is not None and not result.hook.ok:
            summary += f"; {result.hook.summary()}"
        log.info("%s; reason: %s", summary, reason)
        self._post(PointerChanged(summary, view, result.revision))

    def _ab_line(self, record: ModelRecord) -> str:
        """The A/B line for a dialog; a failure to read it says so and never blocks the change."""
        try:
            return self.backend.ab_vs_current(record)
        except Exception as exc:  # noqa: BLE001 - a stored comparison is evidence, not a gate
            log.warning("A/B against the current model unknown: %s", one_line(exc))
            return f"A/B against the current model unknown ({one_line(exc)})"

    def plan_rollback(self, to_revision: int | None) -> None:
        self._start("change", self._plan_rollback, to_revision)

    def _plan_rollback(self, to_revision: int | None) -> None:
        try:
            plan = self.backend.plan_rollback(to_revision)
        except Exception as exc:  # noqa: BLE001 - Refused included: the flash says why
            self._failed("rollback", exc, planning=True)
            return
        self._post(RollbackPlanned(plan, to_revision, self._ab_line(plan.record)))

    def do_rollback(
        self, reason: str, to_revision: int | None, expect_revision: int | None
    ) -> None:
        self._start("change", self._do_rollback, reason, to_revision, expect_revision)

    def _do_rollback(
        self, reason: str, to_revision: int | None, expect_revision: int | None
    ) -> None:
        try:
            result = self.backend.rollback(reason, to_revision=to_revision,
                                           expect_revision=expect_revision)
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("rollback", exc)
            self._pointer_view()
            return
        plan = result.plan
        summary = (f"Rolled back to revision {plan.target_revision} ({plan.record.path}) "
                   f"as revision {result.revision}")
        if result.hook is not None and not result.hook.ok:
            summary += f"; {result.hook.summary()}"
        log.info("%s; reason: %s", summary, reason)
        self._post(PointerChanged(summary, view, result.revision))

    def read_history(self) -> None:
        self._start("history", self._read_history)

    def _read_history(self) -> None:
        try:
            records = self.backend.history()
        except Exception as exc:  # noqa: BLE001
            self._failed("reading the history", exc)
            return
        self._post(HistoryRead(records))

    def run_validation(self, record: ModelRecord, cancel: threading.Event) -> None:
        self._start("validate", self._run_validation, record, cancel)

    def _run_validation(self, record: ModelRecord, cancel: threading.Event) -> None:
        from kalshi_tui.eval import ValidationCancelled

        def progress(done: int, total: int) -> None:
            self._post(ValidationProgressed(record.path, done, total))

        try:
            result = self.backend.validate(record, progress=progress, cancel=cancel)
        except ValidationCancelled:
            log.info("validation of %s cancelled", record.path)
            self._post(ValidationFinished(record.path, cancelled=True))
            return
        except Exception as exc:  # noqa: BLE001
            log.error("validation of %s failed: %s", record.path, one_line(exc), exc_info=exc)
            self._post(ValidationFinished(record.path, error=one_line(exc)))
            return
        log.info("validated %s: win rate %s", record.path, result.win_rate)
        self._post(ValidationFinished(record.path, result))

    def run_health_check(self, record: ModelRecord, cancel: threading.Event) -> None:
        self._start("validate", self._run_policy, "health check", record.path, cancel,
                    partial(self.backend.check_health, record))

    def run_abtest(self, record: ModelRecord, cancel: threading.Event) -> None:
        self._start("validate", self._run_policy, "A/B test", record.path, cancel,
                    partial(self.backend.abtest_vs_current, record))

    def run_ensemble(self, records: list[ModelRecord], vote: str,
                     cancel: threading.Event) -> None:
        self._start("validate", self._run_policy, "ensemble validation", records[0].path, cancel,
                    partial(self.backend.validate_ensemble, records, vote))

    def _run_policy(self, kind: str, path: str, cancel: threading.Event,
                    run: Callable[..., Any]) -> None:
        """A health check, an A/B test or an ensemble validation: the eval runner stores the
        result as the CLI does; `path` names the (first) model in the messages."""
        from kalshi_tui.eval import (
            IncompatibleModel,
            PolicyLoadError,
            ValidationCancelled,
            ValidationError,
        )
        from kalshi_tui.tui.backend import CurrentUnavailable

        def progress(done: int, total: int) -> None:
            self._post(ValidationProgressed(path, done, total))

        try:
            result = run(progress=progress, cancel=cancel)
        except ValidationCancelled:
            log.info("%s of %s cancelled", kind, path)
            self._post(PolicyRunFinished(kind, path, cancelled=True))
            return
        except (PolicyLoadError, IncompatibleModel, CurrentUnavailable, ValidationError,
                OSError) as exc:
            # The model (or the current one) cannot run here: an answer, not a crash.
            log.warning("%s of %s refused: %s", kind, path, one_line(exc))
            self._post(PolicyRunFinished(kind, path, refused=True, error=one_line(exc)))
            return
        except Exception as exc:  # noqa: BLE001
            log.error("%s of %s failed: %s", kind, path, one_line(exc), exc_info=exc)
            self._post(PolicyRunFinished(kind, path, error=one_line(exc)))
            return
        log.info("%s of %s done", kind, path)
        self._post(PolicyRunFinished(kind, path, result))

    def run_smoke(self, record: ModelRecord) -> None:
        self._start("smoke", self._run_smoke, record)

    def _run_smoke(self, record: ModelRecord) -> None:
        try:
            result = self.backend.smoke(record)
        except Exception as exc:  # noqa: BLE001
            log.error("smoke test of %s failed: %s", record.path, one_line(exc), exc_info=exc)
            self._post(SmokeTested(record.path, error=one_line(exc)))
            return
        self._post(SmokeTested(record.path, result))
