"""A writer SIGKILLed at any moment leaves a valid pointer equal to the old or the new state,
and a journal that agrees with it once the documented roll-forward has run."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from itertools import pairwise

import pytest

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine, Refused, atomic
from kalshi_tui.core.pointer.atomic import JOURNAL_STEPS, PUBLISH_STEPS, temp_prefix
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.state import CONSISTENT, PENDING, read_state


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_chain(records):
    """Revisions count up from 1 and each change starts where the previous one ended."""
    assert [r["revision"] for r in records] == list(range(1, len(records) + 1))
    for previous, record in pairwise(records):
        assert record["from"] == previous["to"], record["revision"]


def assert_old_or_new_then_agree(ws, engine):
    """The invariant after a crash: pointer = last record's state or the one before it;
    after reconcile, exactly the last record's, and no temp file is left."""
    raw = ws.pointer.read_bytes()
    json.loads(raw)  # always valid JSON
    records = read_records(journal_path_for(ws.pointer))
    check_chain(records)
    allowed = {records[-1]["pointer_sha256"]}
    if len(records) > 1:
        allowed.add(records[-2]["pointer_sha256"])
    assert sha(raw) in allowed
    assert read_state(ws.pointer).relation in (CONSISTENT, PENDING)
    engine.reconcile()
    assert sha(ws.pointer.read_bytes()) == records[-1]["pointer_sha256"]
    assert read_state(ws.pointer).relation == CONSISTENT
    assert not [
        p for p in ws.pointer.parent.iterdir() if p.name.startswith(temp_prefix(ws.pointer))
    ]
    return records


def run_child(body) -> int:
    """Fork; the child runs body() and never returns into pytest. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    return pid


@pytest.mark.parametrize(
    "step", [s for s in JOURNAL_STEPS if s != "journal.dirsync"] + list(PUBLISH_STEPS)
)
def test_sigkill_at_each_step(workspace, step):
    engine = PointerEngine(workspace.config)
    engine.promote(inspect_model(workspace.model("ppo21"), workspace.config), "start")
    target = inspect_model(workspace.model("a2c21"), workspace.config)

    def body():
        def die(at):
            if at == step:
                os.kill(os.getpid(), signal.SIGKILL)
        atomic.FAULT_HOOK = die
        engine.promote(target, "killed mid-way")

    pid = run_child(body)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    records = assert_old_or_new_then_agree(workspace, engine)
    committed = step not in ("journal.open", "journal.write")
    assert len(records) == (2 if committed else 1)
    # Readers see the same thing before and after the repair: status reports the rolled-forward
    # state.
    assert engine.status().revision == len(records)


@pytest.mark.slow
def test_random_sigkill_200_times(workspace):
    config = workspace.config
    engine = PointerEngine(config)
    models = [inspect_model(workspace.model(n), config) for n in ("ppo21", "a2c21", "ppo21b")]
    engine.promote(models[0], "start")
    rng = random.Random(4)
    kills = pending_seen = 0
    for _ in range(200):
        seed = rng.randrange(1 << 30)
        started, tell = os.pipe()

        def body(started=started, seed=seed, tell=tell):
            os.close(started)
            local = random.Random(seed)
            child = PointerEngine(config)
            while True:
                os.write(tell, b".")  # "starting a change": the parent kills relative to these
                try:
                    if local.random() < 0.3:
                        child.rollback("random rollback")
                    else:
                        child.promote(local.choice(models), "random promote")
                except Refused:
                    pass

        pid = run_child(body)
        os.close(tell)
        # Kill inside the 1st-3rd change, at a random moment: however loaded the machine,
        # the kills land in real work, not before the child got going.
        for _ in range(rng.randint(1, 3)):
            os.read(started, 1)
        time.sleep(rng.uniform(0.0, 0.012))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(started)
        kills += os.WIFSIGNALED(status)
        pending_seen += read_state(workspace.pointer).relation == PENDING
        assert_old_or_new_then_agree(workspace, engine)
    assert kills == 200
    assert len(read_records(journal_path_for(workspace.pointer))) > 50  # the kills hit real work
    assert pending_seen > 0  # some landed between the journal commit and the publish

class Crash(BaseException):
    """Stands for the process dying at a fault point (not an OSError: nothing is undone)."""


def leave_pending(ws, engine):
    """Promote a2c21 over ppo21, dying after the journal commit and before the publish."""
    engine.promote(inspect_model(ws.model("ppo21"), ws.config), "start")
    old = ws.pointer.read_bytes()

    def die(at):
        if at == "tmp.create":
            raise Crash()
    atomic.FAULT_HOOK = die
    try:
        with pytest.raises(Crash):
            engine.promote(inspect_model(ws.model("a2c21"), ws.config), "died before publishing")
    finally:
        atomic.FAULT_HOOK = None
    assert ws.pointer.read_bytes() == old
    return old


def test_readers_report_the_rolled_forward_state_and_status_finishes_it(workspace):
    engine = PointerEngine(workspace.config)
    leave_pending(workspace, engine)
    view = engine.status(repair=False)
    assert view.relation == PENDING and view.revision == 2
    assert view.full_path.endswith("session10_a2c_20251215_071301/model.zip")
    assert any("not yet published" in n for n in view.notes)
    repaired = engine.status()
    assert repaired.repaired_revision == 2 and repaired.relation == CONSISTENT
    assert json.loads(workspace.pointer.read_text())["kalshi_tui"]["revision"] == 2


def test_a_hand_restored_copy_of_the_old_pointer_is_not_rolled_over(workspace):
    """Same bytes as the file the record replaces, but rewritten since: an operator's edit."""
    engine = PointerEngine(workspace.config)
    old = leave_pending(workspace, engine)
    workspace.pointer.unlink()
    workspace.pointer.write_bytes(old)  # e.g. `cp CURRENT_MODEL.json.bak CURRENT_MODEL.json`
    # An operator restores seconds later; file clocks tick coarsely, so say "later" explicitly.
    later = workspace.pointer.stat().st_mtime_ns + 2_000_000_000
    os.utime(workspace.pointer, ns=(later, later))
    state = read_state(workspace.pointer)
    assert state.relation == "drifted"
    engine.reconcile()
    assert workspace.pointer.read_bytes() == old
