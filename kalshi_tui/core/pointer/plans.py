"""The guard rails: turn a request (promote this, roll back) into a checked ChangePlan or refuse.

Pure decisions over a PointerState and freshly inspected model files; nothing here writes.
The engine runs these twice: once unlocked to show the plan, once under the lock, so what
is written was checked against the pointer as it is at that moment.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui import __version__
from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import COMPATIBLE, UNSAFE, ModelRecord
from kalshi_tui.core.pointer.errors import Refused, StaleRevision
from kalshi_tui.core.pointer.imported import IMPORT, imported_records, resolve_entry_model
from kalshi_tui.core.pointer.journal import read_records
from kalshi_tui.core.pointer.lock import current_user
from kalshi_tui.core.pointer.records import ChangePlan, HistoryRecord, ModelRef, SkippedRevision
from kalshi_tui.core.pointer.schema import (
    build_document,
    full_path_of,
    pointer_paths,
    resolve_target,
)
from kalshi_tui.core.pointer.state import CONSISTENT, EMPTY, PENDING, UNMANAGED, PointerState

Inspector = Callable[[Path], ModelRecord]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def current_ref(state: PointerState, config: Config) -> ModelRef:
    """What the pointer names now: the journal's `to` when they agree, else the file on disk."""
    if state.relation in (CONSISTENT, PENDING) and state.last is not None:
        return ModelRef.from_dict(state.last.get("to"))
    full = full_path_of(state.doc)
    if full is None:
        return ModelRef(None, None)
    target = resolve_target(full, config)
    return ModelRef(full, file_sha256(target.path) if target.exists else None)


def needs_adopt(state: PointerState) -> bool:
    """A hand-written or hand-edited pointer is journalled as found before it is changed."""
    return state.relation not in (EMPTY, CONSISTENT, PENDING)


def history_to_import(state: PointerState) -> list[dict[str, Any]]:
    """A hand-written pointer's version_history as records (only while there is no journal)."""
    if state.relation != UNMANAGED or state.last is not None:
        return []
    return imported_records(state.doc, now=None, pid=os.getpid())


def revision_after(state: PointerState) -> int:
    """The revision a change gets: after any imported history and the adopt record."""
    if not needs_adopt(state):
        return state.revision + 1
    return state.revision + len(history_to_import(state)) + 2


def prelude_records(state: PointerState, config: Config, *, now: str,
                    pid: int) -> list[dict[str, Any]]:
    """What a change journals first: the imported history, then the pointer as found."""
    if not needs_adopt(state):
        return []
    records = imported_records(state.doc, now=now, pid=pid) if history_to_import(state) else []
    adopt = adopt_record(state, config, now=now, pid=pid)
    adopt["revision"] = state.revision + len(records) + 1
    if records:
        adopt["from"] = records[-1]["to"]
    return records + [adopt]


def check_revision(state: PointerState, expect_revision: int | None) -> None:
    """Compare-and-swap: refuse when the pointer moved past the revision the caller saw."""
    if expect_revision is None or expect_revision == state.revision:
        return
    last = HistoryRecord.from_record(state.last) if state.last else None
    if last is not None and state.revision > expect_revision:
        what = f"{last.action} to {last.to.path}"
        raise StaleRevision(
            f"{state.pointer.name} is at revision {state.revision}, not {expect_revision}: "
            f"{last.who} pid {last.pid} made it a {what} at {last.time} "
            f"(reason: {last.reason!r}); look again before changing it",
            expected=expect_revision, actual=state.revision, who=last.who, when=last.time,
            what=what)
    raise StaleRevision(
        f"{state.pointer.name} is at revision {state.revision}, not {expect_revision}; "
        "look again before changing it", expected=expect_revision, actual=state.revision)


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Refused("a reason is required: say why this model should trade (--reason TEXT)")
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("the reason is not valid UTF-8 text; write it again") from None
    if "\n" in reason:
        reason = " ".join(reason.split())
    return reason


def _check_utf8_path(path: Path, pointer: Path) -> None:
    """The pointer is UTF-8 JSON: a path that is not valid UTF-8 cannot be written into it."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(f"{path}: the model's path is not valid UTF-8, so {pointer.name} (UTF-8 "
                      "JSON) cannot name it; rename the file or its folder") from None


def _tool_block(revision: int, previous: int, sha: str, action: str, forced: bool,
                now: str, journal: Path, target_revision: int | None = None) -> dict[str, Any]:
    block = {"revision": revision, "previous_revision": previous or None, "model_sha256": sha,
             "action": action, "forced": forced,
             "changed_by": f"{current_user()}@{socket.gethostname()}", "changed_at": now,
             "journal": journal.name, "tool_version": __version__}
    if target_revision is not None:
        block["target_revision"] = target_revision
    return block


def plan_promote(state: PointerState, config: Config, inspect: Inspector, record: ModelRecord,
                 reason: str, *, now: str, expect_revision: int | None,
                 expect_sha256: str | None, force: bool) -> ChangePlan:
    """Check a promote against every guard rail and build the document it would publish."""
    reason = _check_reason(reason)
    check_revision(state, expect_revision)
    path = Path(record.abs_path)
    _check_utf8_path(path, state.pointer)
    if not path.is_file():
        raise Refused(f"{path}: the model file does not exist (anymore); nothing changed")
    sha = file_sha256(path)
    listed = expect_sha256 or record.sha256
    if listed and listed.lower() != sha:
        raise Refused(f"{path}: changed since it was listed (sha256 {listed[:12]} then, "
                      f"{sha[:12]} now); list and check it again")
    fresh = inspect(path)
    if fresh.sha256 and fresh.sha256 != sha:
        raise Refused(f"{path}: changed while it was being checked; try again")
    fresh.sha256 = sha
    forced = _verdict_guard(fresh, path, force)
    before = current_ref(state, config)
    to = ModelRef(pointer_paths(path, config.base_dir)[0], sha)
    if _resolves_to(before, path, config) and before.sha256 == sha:
        raise Refused(f"{path}: already the current model (revision {state.revision}, "
                      f"sha256 {sha[:12]}); nothing to do")
    adopt = needs_adopt(state)
    revision = revision_after(state)
    doc = build_document(
        state.effective_doc, fresh, config, reason=reason, now=now,
        status="forced" if forced else "production_candidate", description=None,
        tool=_tool_block(revision, revision - 1, sha, "promote", forced, now, state.journal),
        previous_sha256=before.sha256)
    return ChangePlan("promote", before, to, fresh, reason, state.revision, revision,
                      forced=forced, adopt=adopt, imported=len(history_to_import(state)),
                      warnings=_warnings(fresh, forced, state), document=doc)


def _verdict_guard(record: ModelRecord, path: Path, force: bool) -> bool:
    """Refuse an incompatible or unreadable model; with force, let it through as forced.
    An UNSAFE one never: the trader's PPO.load would run its code (or refuse it, or inflate
    a bomb), and no operator's word changes what the trader does with the file."""
    if record.verdict == COMPATIBLE:
        return False
    why = record.reasons[0] if record.reasons else "no reason given"
    if record.verdict == UNSAFE:
        raise Refused(f"{record.path or path.name} is unsafe: {why}; never promoted, "
                      "not even with --force")
    if not force:
        raise Refused(f"{record.path or path.name} is {record.verdict}: {why}; the trader would "
                      "not trade it correctly (--force overrides, recorded as forced)")
    return True


def _resolves_to(ref: ModelRef, path: Path, config: Config) -> bool:
    if not ref.path:
        return False
    return _same_file(resolve_target(ref.path, config).path, Path(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def _warnings(record: ModelRecord, forced: bool, state: PointerState) -> list[str]:
    out = list(record.warnings)
    if forced:
        out.insert(0, f"FORCED: the model is {record.verdict} "
                      f"({'; '.join(record.reasons) or 'no reason'}); recorded as forced")
    out.extend(state.notes)
    return out


def plan_rollback(state: PointerState, config: Config, inspect: Inspector, reason: str, *,
                  now: str, to_revision: int | None, expect_revision: int | None,
                  force: bool) -> ChangePlan:
    """Pick (or check) the revision to go back to, and build the document it would publish.

    Default target: the newest earlier revision whose model still exists, is unchanged
    (sha256 as journalled, where one is known) and is compatible now. A hand-written
    pointer's version_history counts as revisions 1..k (imported) before the first change.
    `--force` lets a chosen (`--to`) incompatible target through, recorded as forced; a
    missing or changed file never passes.
    """
    reason = _check_reason(reason)
    check_revision(state, expect_revision)
    records = read_records(state.journal)
    latest = state.revision
    if not records:
        records = history_to_import(state)
        latest = len(records)
    if not records:
        raise Refused(f"{state.journal.name} has no history and {state.pointer.name} has no "
                      "version_history: it was never changed by kalshi-tui, so there is "
                      "nothing to roll back to")
    before = current_ref(state, config)
    skipped: list[SkippedRevision] = []
    target: tuple[dict[str, Any], _Target] | None = None
    by_revision = {int(r["revision"]): r for r in records}
    if to_revision is not None:
        record = by_revision.get(to_revision)
        if record is None:
            raise Refused(f"no revision {to_revision} in {state.journal.name} "
                          f"(it holds {min(by_revision)}-{max(by_revision)})")
        checked = _check_target(record, before, config, inspect, force)
        if checked.problem:
            raise Refused(f"cannot roll back to revision {to_revision}: {checked.problem}")
        target = (record, checked)
        skipped = passed_over(records, to_revision, current=_current_revision(state), latest=latest)
    else:
        for record in sorted(records, key=lambda r: -int(r["revision"])):
            revision = int(record["revision"])
            if revision > latest:
                continue
            if revision == _current_revision(state):
                continue  # the current revision itself is not a rollback target
            checked = _check_target(record, before, config, inspect, False)
            if checked.problem:
                skipped.append(SkippedRevision(revision, (record.get("to") or {}).get("path"),
                                               checked.problem))
                continue
            target = (record, checked)
            break
    if target is None:
        why = (
            "; ".join(f"revision {s.revision}: {s.reason}" for s in skipped)
            or "no earlier revision"
        )
        raise Refused(f"no revision to roll back to ({why})")
    record, checked = target
    model, forced = checked.model, checked.forced
    assert model is not None  # a target without a problem has its model
    sha = model.sha256 or ""
    revision = revision_after(state)
    doc = build_document(
        state.effective_doc, model, config, reason=reason, now=now,
        status="forced" if forced else "production_candidate", description=None,
        tool=_tool_block(revision, revision - 1, sha, "rollback", forced, now, state.journal,
                         target_revision=int(record["revision"])),
        previous_sha256=before.sha256)
    to = ModelRef(pointer_paths(Path(model.abs_path), config.base_dir)[0], sha)
    return ChangePlan("rollback", before, to, model, reason, state.revision, revision,
                      forced=forced, adopt=needs_adopt(state),
                      imported=len(history_to_import(state)),
                      target_revision=int(record["revision"]), skipped=skipped,
                      warnings=checked.notes + _warnings(model, forced, state), document=doc)


def _current_revision(state: PointerState) -> int | None:
    """The revision the trader reads now, when the pointer is the journal's; None otherwise."""
    return state.revision if state.relation in (CONSISTENT, PENDING) else None


def passed_over(records: list[dict[str, Any]], target: int, *, current: int | None,
                latest: int) -> list[SkippedRevision]:
    """The revisions a rollback to a chosen `target` jumps over: every one after it up to the
    latest, except the current revision (the one being left), newest first like the default
    search lists them. Rolling back from 8 to 2 passes over 3-7, and the journal says so."""
    passed = []
    for record in sorted(records, key=lambda r: -int(r["revision"])):
        revision = int(record["revision"])
        if target < revision <= latest and revision != current:
            passed.append(SkippedRevision(revision, (record.get("to") or {}).get("path"),
                                          f"passed over: revision {target} was chosen"))
    return passed


@dataclass
class _Target:
    """A rollback candidate checked: why it cannot be the target, or its fresh record."""

    problem: str | None = None
    model: ModelRecord | None = None
    forced: bool = False
    notes: list[str] = field(default_factory=list)


def _check_target(record: dict[str, Any], before: ModelRef, config: Config,
                  inspect: Inspector, force: bool) -> _Target:
    """Whether a revision's model can be gone back to: it exists, is unchanged where a sha256
    is known (an imported revision has none), is not the current model, and fits now."""
    to = ModelRef.from_dict(record.get("to"))
    if not to.path:
        return _Target("it recorded no model")
    notes: list[str] = []
    if record.get("action") == IMPORT:
        entry = resolve_entry_model(to.path, config)
        if entry.path is None:
            return _Target(entry.problem)
        path, sha = entry.path, file_sha256(entry.path)
        version = (record.get("imported") or {}).get("version")
        notes = [f"revision {record['revision']} (v{version}): {n}" for n in entry.notes]
        notes.append(f"revision {record['revision']} was imported from the pointer's "
                     f"version_history, which recorded no sha256: {path.name} cannot be "
                     "proven to be the file that version used")
    else:
        target = resolve_target(to.path, config)
        if not target.exists:
            return _Target(f"{to.path} is missing")
        if not to.sha256:
            return _Target(f"{to.path} has no recorded sha256 (hand-written pointer), so it "
                           "cannot be proven unchanged")
        path, sha = target.path, file_sha256(target.path)
        if sha != to.sha256:
            return _Target(f"{to.path} changed since revision {record['revision']} "
                           f"(sha256 {to.sha256[:12]} then, {sha[:12]} now)")
    if _is_current(before, path, sha, config):
        return _Target(f"{to.path} is already the current model")
    model = inspect(path)
    model.sha256 = sha
    if model.verdict != COMPATIBLE:
        why = model.reasons[0] if model.reasons else "no reason given"
        if model.verdict == UNSAFE:
            return _Target(f"{to.path} is unsafe now: {why}; never a target, not even with --force")
        if not force:
            return _Target(f"{to.path} is {model.verdict} now: {why}")
        return _Target(None, model, True, notes)
    return _Target(None, model, False, notes)


def _is_current(before: ModelRef, path: Path, sha: str, config: Config) -> bool:
    """Whether `path` is the file the pointer names now (where a moved path base leads too)."""
    if not before.path:
        return False
    current = resolve_target(before.path, config)
    where = current.path if current.exists else current.found_elsewhere
    if where is None or not _same_file(where, path):
        return False
    return before.sha256 in (None, sha)


def adopt_record(state: PointerState, config: Config, *, now: str, pid: int) -> dict[str, Any]:
    """The journal record for a hand-written pointer as found, before the first change."""
    last_to = (state.last or {}).get("to")
    here = current_ref(state, config)
    return {
        "revision": state.revision + 1,
        "action": "adopt",
        "from": last_to,
        "to": here.to_dict() if here.path else None,
        "reason": ("recorded the hand-written pointer as found" if state.last is None
                   else "recorded a pointer edited outside kalshi-tui as found"),
        "user": current_user(), "host": socket.gethostname(), "pid": pid, "time": now,
        "tool_version": __version__, "forced": False,
        "prev_pointer_sha256": state.raw_sha256, "prev_pointer_stat": state.stat,
        "pointer_sha256": state.raw_sha256,
        "pointer": state.doc,
    }

