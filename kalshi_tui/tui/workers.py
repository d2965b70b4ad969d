"""Thread workers: every file read, validation and pointer write happens here, off the UI.

Workers never touch widgets. Each one calls the Backend and posts one past-tense message
(see messages.py); failures become `OperationFailed` with one line for the screen, and
the full traceback goes to the log file, never to the terminal.
"""

from __future__ import annotations

import logging
import threading

from textual import work

from kalshi_tui.tui.backend import PointerView
from kalshi_tui.tui.messages import (HistoryRead, ModelsScanned, OperationFailed, PointerChanged,
                                     PointerRead, PromotePlanned, PromoteRefused, RankingComputed,
                                     ReportWritten, RollbackPlanned, SmokeTested, ValidationFinished,
                                     ValidationProgressed, ValidationsLoaded)

log = logging.getLogger("kalshi_tui.tui")


def one_line(exc: BaseException) -> str:
    """An exception as a single line an operator can read."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


class WorkersMixin:
    """The App's workers; mixed into KalshiTuiApp, which provides `backend` and `post_message`."""

    def _failed(self, what: str, exc: BaseException, severity: str = "error") -> None:
        log.error("%s failed: %s", what, one_line(exc), exc_info=exc)
        self.post_message(OperationFailed(what, one_line(exc), severity=severity))

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False)
    def scan_models(self, use_cache: bool = True, with_pointer: bool = True) -> None:
        """Read the catalog (and the pointer), then any stored validations."""
        prefetch, self._prefetch = self._prefetch, None
        try:
            if prefetch is not None:
                # Started when the App was built, so it ran while Textual set up the screen.
                signature, records, badges = prefetch.result()
            else:
                signature = self.backend.change_signature()
                records, badges = self.backend.scan(use_cache=use_cache)
        except Exception as exc:  # noqa: BLE001 - any failure must reach the operator, not kill the UI
            self._failed("reading the models folder", exc)
            return
        self.post_message(ModelsScanned(records, badges, signature))
        if with_pointer:
            self._read_pointer()
        self.load_validations(records)

    @work(thread=True, exclusive=True, group="validations", exit_on_error=False)
    def load_validations(self, records: list) -> None:
        """Hashes, stored results, then the ranking, after the list is on screen: all only add
        to it. Stored results are found by sha256, and the listing hashes nothing."""
        try:
            self.backend.hash_models(records)
            validations = self.backend.stored_validations(records)
        except Exception as exc:  # noqa: BLE001
            self._failed("reading stored validations", exc, "warning")
            validations = {}
        else:
            self.post_message(ValidationsLoaded(validations))
        # Validation results are the ranking's strongest evidence, so it waits for them.
        self._rank(records, validations)

    @work(thread=True, exclusive=True, group="ranking", exit_on_error=False)
    def compute_ranking(self, records: list, validations: dict) -> None:
        """Rank again, e.g. after a validation finished and changed a model's evidence."""
        self._rank(records, validations)

    def _rank(self, records: list, validations: dict) -> None:
        try:
            ranking = self.backend.ranking(records, validations, now=self.clock())
        except Exception as exc:  # noqa: BLE001 - bad weights in the config, say so and go on
            self._failed("ranking the models", exc, "warning")
            return
        self.post_message(RankingComputed(records, ranking))

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def write_report_file(self) -> None:
        """Write the compatibility report (it reads the folder afresh) and say where."""
        try:
            path, report = self.backend.write_report(now=self.clock())
        except Exception as exc:  # noqa: BLE001 - unwritable folder, bad weights: one line
            self._failed("writing the report", exc)
            return
        primary = (report.get("summary") or {}).get("primary")
        summary = f"recommends {primary}" if primary else "no compatible model: nothing recommended"
        log.info("report written to %s (%s)", path, summary)
        self.post_message(ReportWritten(str(path), summary))

    def _read_pointer(self) -> None:
        try:
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("reading the pointer", exc)
            # The header must not keep showing a pointer it could not read.
            self.post_message(PointerRead(PointerView(error=one_line(exc))))
            return
        self.post_message(PointerRead(view))

    @work(thread=True, exclusive=True, group="pointer", exit_on_error=False)
    def read_pointer(self) -> None:
        self._read_pointer()

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll_changes(self, last_signature) -> None:
        """Rescan when a model file, the pointer or its journal changed since the last look."""
        try:
            signature = self.backend.change_signature()
        except Exception as exc:  # noqa: BLE001
            self._failed("watching the models folder", exc, "warning")
            return
        if signature != last_signature:
            log.info("change detected in the models folder or the pointer; rescanning")
            self.scan_models()

    @work(thread=True, exclusive=True, group="change", exit_on_error=False)
    def plan_promote(self, record, expect_revision: int | None) -> None:
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
            log.info("promote of %s refused: %s", record.path, one_line(refusal))
            self.post_message(PromoteRefused(record, one_line(refusal), forceable))
            return
        except Exception as exc:  # noqa: BLE001
            self._failed("planning the promote", exc)
            return
        self.post_message(PromotePlanned(record, plan, False))

    @work(thread=True, exclusive=True, group="change", exit_on_error=False)
    def do_promote(self, record, reason: str, expect_revision: int | None, force: bool) -> None:
        try:
            result = self.backend.promote(record, reason, expect_revision=expect_revision, force=force)
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("promote", exc)
            self._read_pointer()
            return
        forced = " (FORCED)" if force else ""
        summary = f"Promoted {record.path} as revision {result.revision}{forced}"
        if result.hook is not None and not result.hook.ok:
            summary += f"; {result.hook.summary()}"
        log.info("%s; reason: %s", summary, reason)
        self.post_message(PointerChanged(summary, view))

    @work(thread=True, exclusive=True, group="change", exit_on_error=False)
    def plan_rollback(self, to_revision: int | None) -> None:
        try:
            plan = self.backend.plan_rollback(to_revision)
        except Exception as exc:  # noqa: BLE001 - Refused included: the flash says why
            self._failed("rollback", exc)
            return
        self.post_message(RollbackPlanned(plan, to_revision))

    @work(thread=True, exclusive=True, group="change", exit_on_error=False)
    def do_rollback(self, reason: str, to_revision: int | None, expect_revision: int | None) -> None:
        try:
            result = self.backend.rollback(reason, to_revision=to_revision,
                                           expect_revision=expect_revision)
            view = self.backend.pointer_view()
        except Exception as exc:  # noqa: BLE001
            self._failed("rollback", exc)
            self._read_pointer()
            return
        plan = result.plan
        summary = (f"Rolled back to revision {plan.target_revision} ({plan.record.path}) "
                   f"as revision {result.revision}")
        if result.hook is not None and not result.hook.ok:
            summary += f"; {result.hook.summary()}"
        log.info("%s; reason: %s", summary, reason)
        self.post_message(PointerChanged(summary, view))

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def read_history(self) -> None:
        try:
            records = self.backend.history()
        except Exception as exc:  # noqa: BLE001
            self._failed("reading the history", exc)
            return
        self.post_message(HistoryRead(records))

    @work(thread=True, exclusive=True, group="validate", exit_on_error=False)
    def run_validation(self, record, cancel: threading.Event) -> None:
        from kalshi_tui.eval.batched import ValidationCancelled

        def progress(done: int, total: int) -> None:
            self.post_message(ValidationProgressed(record.path, done, total))

        try:
            result = self.backend.validate(record, progress=progress, cancel=cancel)
        except ValidationCancelled:
            log.info("validation of %s cancelled", record.path)
            self.post_message(ValidationFinished(record.path, cancelled=True))
            return
        except Exception as exc:  # noqa: BLE001
            log.error("validation of %s failed: %s", record.path, one_line(exc), exc_info=exc)
            self.post_message(ValidationFinished(record.path, error=one_line(exc)))
            return
        log.info("validated %s: win rate %s", record.path, result.win_rate)
        self.post_message(ValidationFinished(record.path, result))

    @work(thread=True, exclusive=True, group="smoke", exit_on_error=False)
    def run_smoke(self, record) -> None:
        try:
            result = self.backend.smoke(record)
        except Exception as exc:  # noqa: BLE001
            log.error("smoke test of %s failed: %s", record.path, one_line(exc), exc_info=exc)
            self.post_message(SmokeTested(record.path, error=one_line(exc)))
            return
        self.post_message(SmokeTested(record.path, result))
