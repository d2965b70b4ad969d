"""PointerEngine: status, history, promote and rollback of CURRENT_MODEL.json.

The one place that changes the pointer; the CLI and the TUI (from worker threads) both
call it. Every change: take the lock (timeout names the holder), finish any change a
crashed writer left committed in the journal, clean its temp files, re-check the request
against the guard rails and the caller's revision, journal the new document (write-ahead),
publish it atomically, release the lock, then run the post-change hook.
Never imports torch: model files are judged by the catalog, which reads their JSON.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kalshi_tui import __version__
from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.pointer import journal as journal_io
from kalshi_tui.core.pointer.atomic import atomic_write_bytes, clean_stale_temps, describe_os_error
from kalshi_tui.core.pointer.errors import LockTimeout, PointerError
from kalshi_tui.core.pointer.evidence import contradictions, zone_notes
from kalshi_tui.core.pointer.hook import run_hook
from kalshi_tui.core.pointer.lock import PointerLock, current_user, utc_now_text
from kalshi_tui.core.pointer.plans import (
    file_sha256,
    history_to_import,
    plan_promote,
    plan_rollback,
    prelude_records,
)
from kalshi_tui.core.pointer.records import (
    ChangePlan,
    ChangeResult,
    HistoryRecord,
    HookResult,
    PointerStatus,
)
from kalshi_tui.core.pointer.schema import (
    MAX_PATH_CHARS,
    full_path_of,
    resolve_target,
    serialize,
    tool_block,
    unusable_path,
)
from kalshi_tui.core.pointer.side_files import refuse_symlinked_pointer
from kalshi_tui.core.pointer.state import (
    CONSISTENT,
    PENDING,
    PointerState,
    read_state,
    roll_forward,
    sha256_bytes,
)
from kalshi_tui.core.safe_text import shown


def catalog_inspector(config: Config) -> Callable[[Path], ModelRecord]:
    """The catalog's verdict for one file (imported lazily: the catalog reads zips, not torch)."""
    from kalshi_tui.core.catalog.scan import inspect_model

    return lambda path: inspect_model(Path(path), config)


class PointerEngine:
    """Read and change the pointer named by `config.pointer_file`, safely under concurrency."""

    def __init__(self, config: Config, *, inspect: Callable[[Path], ModelRecord] | None = None):
        self.config = config
        self.pointer = Path(config.pointer_file)
        self.journal = journal_io.journal_path_for(self.pointer)
        self._inspect = inspect

    @property
    def inspect(self) -> Callable[[Path], ModelRecord]:
        if self._inspect is None:
            self._inspect = catalog_inspector(self.config)
        return self._inspect

    # ---- reading -------------------------------------------------------------------------

    def history(self, limit: int | None = None) -> list[HistoryRecord]:
        """Journal records, newest first; before the first change, a hand-written pointer's
        version_history as the revisions it will be imported as (`journalled` False)."""
        records = [HistoryRecord.from_record(r) for r in journal_io.read_records(self.journal)]
        if not records:
            records = [HistoryRecord.from_record(r, journalled=False)
                       for r in history_to_import(read_state(self.pointer))]
        records.reverse()
        return records[:limit] if limit is not None else records

    def status(self, *, repair: bool = True) -> PointerStatus:
        """The current model, its verdict, revision and last change; `alarms` when unsafe.

        A change a crashed writer left committed but unpublished is finished here when the
        lock is free at once (`repair`), otherwise reported as it will be once finished; a
        read-only face passes repair=False. Finishing it does not run the hook.
        """
        try:
            state = read_state(self.pointer)
        except PointerError as exc:
            return PointerStatus(str(self.pointer), self.pointer.exists(), "unreadable", 0,
                                 alarms=[str(exc)])
        status = PointerStatus(
            str(self.pointer),
            state.doc is not None or state.raw_sha256 is not None,
            state.relation,
            state.revision,
            notes=list(state.notes),
        )
        if self.pointer.is_symlink():
            status.notes.append(f"{self.pointer.name} is a symbolic link: read through it, but "
                                "promote and rollback refuse to write through it")
        if state.relation == PENDING and repair:
            status.repaired_revision = self._try_repair()
            if status.repaired_revision is not None:
                state = read_state(self.pointer)
                status.relation, status.notes = state.relation, [
                    f"finished revision {status.repaired_revision}, which a crashed writer had "
                    "committed but not published"]
        if state.last is not None:
            status.last_change = HistoryRecord.from_record(state.last)
        self._describe_model(state, status)
        return status

    def _try_repair(self) -> int | None:
        try:
            refuse_symlinked_pointer(self.pointer)
            with PointerLock(self.pointer, 0, "status (repair)"):
                return roll_forward(read_state(self.pointer))
        except (LockTimeout, PointerError, OSError):
            return None

    def _describe_model(self, state: PointerState, status: PointerStatus) -> None:
        doc = state.effective_doc
        if doc is None:
            status.alarms.append(
                f"{self.pointer}: no pointer file; the trader has no model to load"
            )
            return
        current = doc.get("current_model") or {}
        status.last_updated = current.get("last_updated")
        status.selected_reason = current.get("selected_reason")
        full = full_path_of(doc)
        status.full_path = full if full is None or unusable_path(full) is None else shown(full)
        if full is None:
            status.alarms.append(f"{self.pointer.name}: current_model.full_path is missing or "
                                 "empty; the trader's launch script will refuse to start")
            return
        target = resolve_target(full, self.config)
        status.resolved_path = str(target.path)
        status.notes.extend(target.notes)
        status.model_exists = target.exists
        if not target.exists:
            status.alarms.append(
                f"{self.pointer.name}: current model missing: {shown(target.path, MAX_PATH_CHARS)} "
                "does not exist; the trader cannot load it and falls back to always HOLD"
            )
            return
        record = self.inspect(target.path)
        status.record = record
        status.contradictions = contradictions(doc, record)
        status.notes.extend(zone_notes(doc, record))
        # Hashed here, not taken from the catalog's cache: this is the alarm that must not miss.
        status.current_sha256 = file_sha256(target.path)
        if record.verdict != "compatible":
            why = "; ".join(record.reasons) or "no reason given"
            status.alarms.append(f"current model is {record.verdict}: {why}")
        recorded = tool_block(doc).get("model_sha256")
        if state.relation in (CONSISTENT, PENDING) and state.last is not None:
            recorded = (state.last.get("to") or {}).get("sha256") or recorded
        status.recorded_sha256 = recorded
        if recorded is None:
            status.notes.append("no sha256 recorded (pointer written by hand): whether the model "
                                "changed since it was chosen cannot be told")
        elif recorded != status.current_sha256:
            status.alarms.append(f"current model changed on disk since revision {state.revision}: "
                                 f"sha256 {recorded[:12]} then, {status.current_sha256[:12]} now")

    # ---- planning ------------------------------------------------------------------------

    def plan_promote(self, record: ModelRecord, reason: str, *, expect_revision: int | None = None,
                     expect_sha256: str | None = None, force: bool = False) -> ChangePlan:
        """What `promote` would do, after every guard rail; raises Refused or StaleRevision."""
        return plan_promote(read_state(self.pointer), self.config, self.inspect, record, reason,
                            now=utc_now_text(), expect_revision=expect_revision,
                            expect_sha256=expect_sha256, force=force)

    def plan_rollback(self, to_revision: int | None = None, *, reason: str = "(plan)",
                      expect_revision: int | None = None, force: bool = False) -> ChangePlan:
        """The revision a rollback would go to, and the revisions it skips and why."""
        return plan_rollback(read_state(self.pointer), self.config, self.inspect, reason,
                             now=utc_now_text(), to_revision=to_revision,
                             expect_revision=expect_revision, force=force)

    # ---- changing ------------------------------------------------------------------------

    def promote(self, record: ModelRecord, reason: str, *, expect_revision: int | None = None,
                expect_sha256: str | None = None, force: bool = False) -> ChangeResult:
        """Make `record`'s file the model the trader loads, as a new revision."""
        def plan(state: PointerState) -> ChangePlan:
            return plan_promote(state, self.config, self.inspect, record, reason,
                                now=utc_now_text(), expect_revision=expect_revision,
                                expect_sha256=expect_sha256, force=force)
        return self._change("promote", plan)

    def rollback(self, reason: str, *, to_revision: int | None = None,
                 expect_revision: int | None = None, force: bool = False) -> ChangeResult:
        """Go back to an earlier revision's model (default: the newest valid one), as a new
        revision."""

        def plan(state: PointerState) -> ChangePlan:
            return plan_rollback(state, self.config, self.inspect, reason, now=utc_now_text(),
                                 to_revision=to_revision, expect_revision=expect_revision,
                                 force=force)
        return self._change("rollback", plan)

    def reconcile(self) -> int | None:
        """Finish a change a crashed writer committed; returns its revision, or None."""
        with PointerLock(self.pointer, self.config.lock_timeout_seconds, "reconcile"):
            return self._locked_state()[1]

    def _locked_state(self) -> tuple[PointerState, int | None]:
        refuse_symlinked_pointer(self.pointer)
        clean_stale_temps(self.pointer)
        state = read_state(self.pointer)
        rolled = None
        if state.relation == PENDING:
            try:
                rolled = roll_forward(state)
            except OSError as exc:
                raise PointerError(f"cannot finish revision {state.revision} left by a crashed "
                                   f"writer: {describe_os_error(exc)}") from None
            state = read_state(self.pointer)
        return state, rolled

    def _change(
        self, operation: str, make_plan: Callable[[PointerState], ChangePlan]
    ) -> ChangeResult:
        with PointerLock(self.pointer, self.config.lock_timeout_seconds, operation):
            state, rolled = self._locked_state()
            plan = make_plan(state)
            undo_to = journal_io.complete_length(self.journal)  # a failed change goes back here
            adopted = None
            for first in prelude_records(state, self.config, now=utc_now_text(), pid=os.getpid()):
                adopted = self._append(first)
            record = self._change_record(state, plan)
            self._commit(state, record, plan.document, undo_to)
        result = ChangeResult(plan, plan.revision_after, HistoryRecord.from_record(record),
                              rolled_forward=rolled, adopted_revision=adopted)
        result.hook = self._run_hook(plan)
        return result

    def _change_record(self, state: PointerState, plan: ChangePlan) -> dict[str, Any]:
        data = serialize(plan.document)
        record: dict[str, Any] = {
            "revision": plan.revision_after,
            "action": plan.action,
            "from": plan.from_.to_dict() if plan.from_.path else None,
            "to": plan.to.to_dict(),
            "reason": plan.reason,
            "user": current_user(), "host": socket.gethostname(), "pid": os.getpid(),
            "time": plan.document["kalshi_tui"]["changed_at"],
            "tool_version": __version__,
            "forced": plan.forced,
        }
        if plan.action == "rollback":
            record["target_revision"] = plan.target_revision
            record["skipped"] = [{"revision": s.revision, "path": s.path, "reason": s.reason}
                                 for s in plan.skipped]
        record.update(prev_pointer_sha256=state.raw_sha256, prev_pointer_stat=state.stat,
                      pointer_sha256=sha256_bytes(data), pointer=plan.document)
        return record

    def _append(self, record: dict[str, Any]) -> int:
        try:
            journal_io.append_record(self.journal, record)
        except OSError as exc:
            raise PointerError(f"cannot write the journal: {describe_os_error(exc, self.journal)}; "
                               "nothing changed") from None
        return int(record["revision"])

    def _commit(self, state: PointerState, record: dict[str, Any], doc: dict[str, Any],
                undo_to: int) -> None:
        """Journal first (the commit point), then publish; undo the record if publishing fails.

        `undo_to`: the journal's length before this change appended anything (its adopt
        record too), which a failed change cuts back to: a failed first change leaves no
        journal behind.
        """
        try:
            journal_io.append_record(self.journal, record)
        except OSError as exc:
            journal_io.undo_append(self.journal, undo_to)
            raise PointerError(f"cannot write the journal: {describe_os_error(exc, self.journal)}; "
                               f"nothing changed (still revision {state.revision})") from None
        data = serialize(doc)
        try:
            atomic_write_bytes(self.pointer, data)
        except OSError as exc:
            why = describe_os_error(exc, self.pointer)
            if self._published(data):
                raise PointerError(f"revision {record['revision']} is published but not confirmed "
                                   f"durable ({why}); check the disk, then run status") from None
            if journal_io.undo_append(self.journal, undo_to):
                raise PointerError(f"cannot publish the pointer: {why}; nothing changed "
                                   f"(still revision {state.revision})") from None
            raise PointerError(f"cannot publish the pointer: {why}; revision {record['revision']} "
                               "stays in the journal and the next operation publishes it") from None

    def _published(self, data: bytes) -> bool:
        try:
            return sha256_bytes(self.pointer.read_bytes()) == sha256_bytes(data)
        except OSError:
            return False

    def _run_hook(self, plan: ChangePlan) -> HookResult | None:
        return run_hook(self.config.post_change_hook, pointer=self.pointer,
                        model_path=plan.record.abs_path, revision=plan.revision_after,
                        action=plan.action, cwd=self.config.base_dir,
                        timeout=self.config.hook_timeout_seconds)
