"""A hand-written pointer with a huge full_path or a NUL in it: every message cut, naming the
pointer."""

from __future__ import annotations

import json
import time

import pytest

from hostile.hostile_cli import (
    assert_one_line_error,
    assert_terminal_safe,
    cli,
    hostile_workspace,
    text_of,
)
from kalshi_tui.cli import exit_codes
from kalshi_tui.core.pointer.journal import journal_path_for, read_records

# 5 MB in the tests (each command parses it); benchmarks/hostile_io.py measures 50 MB.
HUGE = 5_000_000


@pytest.fixture
def ws(tmp_path, model_zoo):
    return hostile_workspace(tmp_path, model_zoo)[0]


def _write_pointer(ws, full_path: str) -> None:
    ws.pointer.write_text(json.dumps({"current_model": {"full_path": full_path, "model_path": "x/",
                                                        "model_file": "y.zip"}}))


@pytest.mark.parametrize("full_path,why", [("a" * HUGE, "5,000,000 characters long"),
                                           ("trained_models/x\x00.zip", "NUL character")],
                         ids=["5MB", "NUL"])
def test_status_report_and_prune_stay_short_and_name_the_pointer(ws, full_path, why):
    _write_pointer(ws, full_path)
    for command, code in ((("status",), exit_codes.ALARM), (("status", "--json"), exit_codes.ALARM),
                          (("report", "--stored-only"), exit_codes.OK),
                          (("prune", "--keep", "0"), exit_codes.OK),
                          (("history",), exit_codes.OK)):
        start = time.monotonic()
        result = cli(ws.config_file, *command)
        assert time.monotonic() - start < 60
        assert result.returncode == code, (command, text_of(result.stderr)[:500])
        assert "Traceback" not in text_of(result.stderr)
        assert len(result.stdout) + len(result.stderr) < 40_000, (command, len(result.stdout))
        assert_terminal_safe(result.stdout)
        if command[0] == "status":
            assert ws.pointer.name in text_of(result.stdout) and why in text_of(result.stdout)


def test_promote_over_a_50mb_path_adopts_it_and_prints_it_cut(ws):
    _write_pointer(ws, "a" * HUGE)
    result = cli(
        ws.config_file, "promote", str(ws.model("ppo21")), "--reason", "replace it", "--yes"
    )
    assert result.returncode == exit_codes.OK, text_of(result.stderr)[:500]
    out = text_of(result.stdout)
    assert len(out) < 20_000 and "more characters" in out
    records = read_records(journal_path_for(ws.pointer))
    assert [r["action"] for r in records] == ["adopt", "promote"]
    status = json.loads(cli(ws.config_file, "status", "--json").stdout)
    assert status["relation"] == "consistent" and status["revision"] == 2 and not status["alarm"]
    history = cli(ws.config_file, "history")
    assert history.returncode == 0 and len(history.stdout) < 20_000


def test_a_pointer_that_is_not_an_object_is_one_line_naming_it(ws):
    ws.pointer.write_text(json.dumps({"current_model": "b" * 1_000_000}))
    result = cli(ws.config_file, "promote", str(ws.model("ppo21")), "--reason", "r", "--yes")
    err = assert_one_line_error(result, exit_codes.ERROR, ws.pointer.name, "not an object")
    assert len(err) < 2_000
    assert not journal_path_for(ws.pointer).exists()
