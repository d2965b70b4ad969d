"""ENOSPC, EACCES and a read-only folder injected at every write step: the pointer is unchanged
(or, past the rename, agrees with its journal), and `kalshi-tui promote` exits 1 with one line."""

from __future__ import annotations

import errno
import hashlib

import pytest

from kalshi_tui.cli import main
from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine, atomic
from kalshi_tui.core.pointer.atomic import JOURNAL_STEPS, PUBLISH_STEPS, temp_prefix
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.state import CONSISTENT, read_state

ERRORS = {"ENOSPC": errno.ENOSPC, "EACCES": errno.EACCES, "EROFS": errno.EROFS}


def inject(monkeypatch, step, code):
    def fail(at):
        if at == step:
            raise OSError(code, f"{errno.errorcode[code]} injected at {step}")
    monkeypatch.setattr(atomic, "FAULT_HOOK", fail)


@pytest.mark.parametrize("name", ERRORS)
@pytest.mark.parametrize("step", JOURNAL_STEPS + PUBLISH_STEPS)
def test_fault_at_each_step(workspace, monkeypatch, capsys, step, name):
    if step != "journal.dirsync":
        # A managed pointer: the journal exists, so the change appends to it.
        PointerEngine(workspace.config).promote(
            inspect_model(workspace.model("ppo21"), workspace.config), "start")
    before = workspace.pointer.read_bytes() if workspace.pointer.exists() else None
    journal = journal_path_for(workspace.pointer)
    journal_before = journal.read_bytes() if journal.exists() else None
    capsys.readouterr()
    inject(monkeypatch, step, ERRORS[name])
    code = main(["--config", str(workspace.config_file), "promote",
                 str(workspace.model("a2c21")), "--reason", "fault test", "--yes"])
    monkeypatch.setattr(atomic, "FAULT_HOOK", None)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("kalshi-tui: ") and "Traceback" not in err
    after = workspace.pointer.read_bytes() if workspace.pointer.exists() else None
    if step == "dir.fsync":
        # Past the rename the change is visible; it is reported, and the journal agrees.
        assert "published but not confirmed durable" in err
        assert hashlib.sha256(after).hexdigest() == read_records(journal)[-1]["pointer_sha256"]
    else:
        assert after == before
        assert "nothing changed" in err
        assert (journal.read_bytes() if journal.exists() else None) == journal_before
    if after is not None:
        assert read_state(workspace.pointer).relation == CONSISTENT
    assert not [p for p in workspace.pointer.parent.iterdir()
                if p.name.startswith(temp_prefix(workspace.pointer))]
