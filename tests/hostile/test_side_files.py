"""Symlinks planted beside the pointer: never followed, refused in one line, nothing written
outside."""

from __future__ import annotations

import json
import os
import socket

import pytest

from hostile.hostile_cli import assert_one_line_error, cli, hostile_workspace, text_of, tree_digest
from kalshi_tui.cli import exit_codes
from kalshi_tui.core.pointer.hook import hook_log_path_for
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.lock import lock_path_for
from kalshi_tui.core.pointer.prune import prune_log_path_for


@pytest.fixture
def hostile(tmp_path, model_zoo):
    ws, outside = hostile_workspace(tmp_path, model_zoo)
    (outside / "victim.txt").write_text("precious\n")
    return ws, outside


def _promote(ws, name="ppo21", *extra):
    return cli(
        ws.config_file, "promote", str(ws.model(name)), "--reason", "hostile", "--yes", *extra
    )


def _assert_consistent(ws, revision):
    status = cli(ws.config_file, "status", "--json")
    doc = json.loads(status.stdout)
    assert doc["revision"] == revision and doc["relation"] in ("consistent", "empty"), doc


SIDE_FILES = {
    "journal": journal_path_for,
    "lock": lock_path_for,
}


@pytest.mark.parametrize("what", sorted(SIDE_FILES))
@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_symlinked_side_file_stops_promote_and_nothing_outside_changes(hostile, what, dangling):
    ws, outside = hostile
    link = SIDE_FILES[what](ws.pointer)
    link.symlink_to(outside / ("nothing-here.txt" if dangling else "victim.txt"))
    before = tree_digest(outside)
    result = _promote(ws)
    assert_one_line_error(result, exit_codes.ERROR, link.name, "symbolic link", what)
    assert tree_digest(outside) == before  # unchanged, and nothing created
    assert not ws.pointer.exists() and link.is_symlink()


def test_a_symlinked_journal_is_refused_by_history_and_status_alarms(hostile):
    ws, outside = hostile
    _promote(ws)
    journal = journal_path_for(ws.pointer)
    (outside / "journal.jsonl").write_bytes(journal.read_bytes())
    journal.unlink()
    journal.symlink_to(outside / "journal.jsonl")
    before = tree_digest(outside)
    assert_one_line_error(cli(ws.config_file, "history"), exit_codes.ERROR, "symbolic link")
    status = cli(ws.config_file, "status")
    assert status.returncode == exit_codes.ALARM and "symbolic link" in text_of(status.stdout)
    assert_one_line_error(_promote(ws, "a2c21"), exit_codes.ERROR, "symbolic link")
    assert tree_digest(outside) == before


def test_a_symlinked_hooks_log_is_not_appended_to_and_the_change_stands(hostile):
    ws, outside = hostile
    ws.reload(post_change_hook="echo restarted")
    hook_log_path_for(ws.pointer).symlink_to(outside / "victim.txt")
    before = tree_digest(outside)
    result = _promote(ws)
    assert result.returncode == exit_codes.OK, text_of(result.stderr)
    err = text_of(result.stderr)
    assert (
        err.count("\n") == 1 and "warning" in err and "symbolic link" in err and "hooks log" in err
    )
    assert tree_digest(outside) == before
    _assert_consistent(ws, 1)


def test_a_symlinked_prune_log_stops_prune_before_anything_is_removed(hostile):
    ws, outside = hostile
    _promote(ws)
    prune_log_path_for(ws.pointer).symlink_to(outside / "victim.txt")
    models_before = sorted(p.relative_to(ws.models_dir) for p in ws.models_dir.rglob("*.zip"))
    before = tree_digest(outside)
    result = cli(ws.config_file, "prune", "--keep", "0", "--execute")
    assert_one_line_error(result, exit_codes.ERROR, "symbolic link", "prune log", "nothing removed")
    assert (
        sorted(p.relative_to(ws.models_dir) for p in ws.models_dir.rglob("*.zip")) == models_before
    )
    assert tree_digest(outside) == before


def test_a_symlinked_pointer_is_refused_for_writing_and_read_through(hostile):
    ws, outside = hostile
    _promote(ws)
    real = outside / "CURRENT_MODEL.json"
    real.write_bytes(ws.pointer.read_bytes())
    ws.pointer.unlink()
    ws.pointer.symlink_to(real)
    before = tree_digest(outside)
    result = _promote(ws, "a2c21")
    assert_one_line_error(result, exit_codes.ERROR, "pointer is a symbolic link", "paths.pointer")
    assert_one_line_error(cli(ws.config_file, "rollback", "--reason", "r", "--yes"),
                          exit_codes.ERROR, "pointer is a symbolic link")
    status = cli(ws.config_file, "status")
    assert "is a symbolic link" in text_of(status.stdout)
    assert tree_digest(outside) == before and ws.pointer.is_symlink()
    assert len(read_records(journal_path_for(ws.pointer))) == 1


def test_a_link_planted_under_a_temp_name_is_removed_as_a_link(hostile):
    ws, outside = hostile
    # The name of a temp file whose writer (this host, a pid that cannot exist) is dead.
    planted = ws.pointer.with_name(f".{ws.pointer.name}.tmp.{socket.gethostname()}.99999999.1")
    planted.symlink_to(outside / "victim.txt")
    before = tree_digest(outside)
    assert _promote(ws).returncode == exit_codes.OK
    assert not os.path.lexists(planted)
    assert tree_digest(outside) == before
    _assert_consistent(ws, 1)
