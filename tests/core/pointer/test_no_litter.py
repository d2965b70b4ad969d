"""A refused or failed operation leaves no new file beside the pointer: no lock, no holder
record, no journal started by a change that never happened."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kalshi_tui.cli import exit_codes, main
from kalshi_tui.core.pointer import atomic
from kalshi_tui.core.pointer.atomic import JOURNAL_STEPS, PUBLISH_STEPS
from kalshi_tui.core.pointer.journal import journal_path_for

REPO = Path(__file__).resolve().parents[3]
CACHE = ".kalshi_tui_cache"  # the documented cache folder: the one thing a read may create


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under the models folder but the cache, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and CACHE not in p.relative_to(folder).parts}


def hand_written_pointer(workspace, model: str) -> None:
    """The original system's schema, no journal: the first change adopts it."""
    relative = workspace.model(model).relative_to(workspace.base)
    workspace.pointer.write_text(json.dumps({"current_model": {
        "model_path": f"{relative.parent}/", "model_file": relative.name,
        "full_path": str(relative), "status": "production",
        "last_updated": "2025-12-11T22:13:30.747450Z", "selected_reason": "by hand"}}, indent=2))


def cli(workspace, *args):
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "--config", str(workspace.config_file), *args],
        capture_output=True,
        text=True,
        cwd=workspace.base,
        timeout=120,
        check=False,
    )


def test_refused_and_failed_commands_leave_the_models_folder_as_it_was(workspace):
    hand_written_pointer(workspace, "ppo21")
    before = tree(workspace.models_dir)
    refused = cli(workspace, "promote", str(workspace.model("ppo5")), "--reason", "legacy", "--yes")
    assert refused.returncode == exit_codes.REFUSED, refused.stderr
    stale = cli(workspace, "promote", str(workspace.model("a2c21")), "--reason", "late", "--yes",
                "--expect-revision", "7")
    assert stale.returncode == exit_codes.STALE_REVISION, stale.stderr
    already = cli(workspace, "promote", str(workspace.model("ppo21")), "--reason", "again", "--yes")
    assert already.returncode == exit_codes.REFUSED, already.stderr
    nothing = cli(workspace, "rollback", "--reason", "no target", "--yes")
    assert nothing.returncode == exit_codes.REFUSED, nothing.stderr
    assert tree(workspace.models_dir) == before
    # A change that happens leaves its journal and pointer, and still no lock file.
    done = cli(workspace, "promote", str(workspace.model("a2c21")), "--reason", "real", "--yes")
    assert done.returncode == exit_codes.OK, done.stderr
    added = set(tree(workspace.models_dir)) - set(before)
    assert added == {journal_path_for(workspace.pointer).name}


@pytest.mark.parametrize("step", JOURNAL_STEPS + PUBLISH_STEPS[:-1])  # the last: past the rename
def test_a_failed_first_change_starts_no_journal(workspace, monkeypatch, capsys, step):
    """The adopt record of a hand-written pointer goes with the change that failed."""
    hand_written_pointer(workspace, "ppo21")
    before = tree(workspace.models_dir)

    def fail(at):
        if at == step:
            raise OSError(errno.ENOSPC, f"ENOSPC injected at {step}")
    monkeypatch.setattr(atomic, "FAULT_HOOK", fail)
    code = main(["--config", str(workspace.config_file), "promote",
                 str(workspace.model("a2c21")), "--reason", "fault", "--yes"])
    monkeypatch.setattr(atomic, "FAULT_HOOK", None)
    assert code == exit_codes.ERROR and "nothing changed" in capsys.readouterr().err
    assert tree(workspace.models_dir) == before


def test_a_failed_change_after_a_crashed_writer_leaves_the_journal_whole(
    workspace, monkeypatch, capsys
):
    """A torn last line (a writer killed mid-append) is cut by the next append; if that
    change then fails, the journal goes back to its complete records, nothing padded."""
    hand_written_pointer(workspace, "ppo21")
    assert main(["--config", str(workspace.config_file), "promote", str(workspace.model("a2c21")),
                 "--reason", "first", "--yes"]) == exit_codes.OK
    journal = journal_path_for(workspace.pointer)
    complete = journal.read_bytes()
    with open(journal, "ab") as handle:
        handle.write(b'{"revision": 3, "action": "prom')

    def fail(at):
        if at == "tmp.write":
            raise OSError(errno.EIO, "EIO injected at tmp.write")
    monkeypatch.setattr(atomic, "FAULT_HOOK", fail)
    code = main(["--config", str(workspace.config_file), "promote", str(workspace.model("ppo21b")),
                 "--reason", "fails", "--yes"])
    monkeypatch.setattr(atomic, "FAULT_HOOK", None)
    assert code == exit_codes.ERROR and "nothing changed" in capsys.readouterr().err
    assert journal.read_bytes() == complete
