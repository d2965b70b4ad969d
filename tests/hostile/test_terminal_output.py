"""Folder names with terminal control characters, and paths that are not UTF-8, through every
command."""

from __future__ import annotations

import json
import os
import shutil

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

# Clears the screen, rings the bell, fakes a line of output, moves the cursor back (CR),
# a C1 CSI and a right-to-left override: all must arrive as escapes.
EVIL = "evil\x1b[2J\x07\nok: the trader will load\r\x9b31m\u202e_ppo_20251215_001549"
NOT_UTF8 = b"bad\xff\xfe_ppo_20251215_001549"


@pytest.fixture
def ws(tmp_path, model_zoo):
    ws, _ = hostile_workspace(tmp_path, model_zoo)
    evil = ws.models_dir / EVIL
    evil.mkdir()
    shutil.copy2(ws.model("ppo21"), evil / "model.zip")
    bad = os.path.join(os.fsencode(ws.models_dir), NOT_UTF8)
    os.mkdir(bad)
    shutil.copy2(ws.model("a2c21"), os.path.join(bad, b"model.zip"))
    return ws


def _evil(ws):
    return str(ws.models_dir / EVIL / "model.zip")


def _bad(ws) -> bytes:
    return os.path.join(os.fsencode(ws.models_dir), NOT_UTF8, b"model.zip")


def _safe(result, code=exit_codes.OK):
    assert result.returncode == code, (result.returncode, text_of(result.stderr)[-2000:])
    assert_terminal_safe(result.stdout)
    assert_terminal_safe(result.stderr)
    assert "Traceback" not in text_of(result.stderr)
    return text_of(result.stdout)


def test_every_command_shows_control_characters_escaped(ws):
    c = ws.config_file
    out = _safe(cli(c, "list"))
    assert "evil\\x1b[2J\\x07\\nok: the trader will load\\r\\x9b31m\\u202e_ppo" in out
    assert "bad\\udcff\\udcfe_ppo" in out
    _safe(cli(c, "show", _evil(ws)))
    out = _safe(cli(c, "promote", _evil(ws), "--reason", "evil\x1b]0;title\x07 reason", "--yes"))
    assert "\\x1b[2J" in out and "\\x1b]0;title\\x07" in out
    _safe(cli(c, "promote", str(ws.model("ppo21b")), "--reason", "second", "--yes"))
    _safe(cli(c, "promote", _evil(ws), "--reason", "third", "--dry-run"))
    out = _safe(cli(c, "history"))
    assert out.count("\n") == len(out.splitlines())  # one line per row: no injected line
    assert "ok: the trader will load" not in out.replace("\\nok: the trader will load", "")
    out = _safe(cli(c, "rollback", "--reason", "back", "--yes"))
    assert "\\x1b[2J" in out
    out = _safe(cli(c, "status"))
    assert "\\x1b[2J" in out and not any(
        line.startswith("ok: the trader will load") and "\\" not in line
        for line in out.splitlines()[:-1]
    )
    _safe(cli(c, "compare", _evil(ws), str(ws.model("ppo21b"))))
    _safe(cli(c, "prune", "--keep", "0"))
    _safe(cli(c, "report"))
    _safe(cli(c, "config"))
    assert read_records(journal_path_for(ws.pointer))[-1]["revision"] == 3
    status = json.loads(cli(c, "status", "--json").stdout)
    assert status["relation"] == "consistent" and status["revision"] == 3


def test_json_output_escapes_and_round_trips_the_names(ws):
    c = ws.config_file
    _safe(cli(c, "promote", _evil(ws), "--reason", "json", "--yes"))
    for command in (("list", "--json"), ("status", "--json"), ("history", "--json"),
                    ("show", _evil(ws), "--json"), ("prune", "--keep", "0", "--json"),
                    ("compare", _evil(ws), str(ws.model("ppo21")), "--json"),
                    ("report", "--format", "json")):
        result = cli(c, *command)
        assert result.returncode in (exit_codes.OK, exit_codes.ALARM), (
            command,
            result.stderr[-500:],
        )
        raw = result.stdout
        assert all(b < 0x80 for b in raw), f"{command}: non-ASCII bytes in JSON"
        assert_terminal_safe(raw)
        assert any(EVIL in text for text in _strings(json.loads(raw))), command


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_smoke_of_a_model_in_an_evil_folder_is_escaped(ws):
    _safe(cli(ws.config_file, "smoke", _evil(ws)))


def test_a_path_that_is_not_utf8_is_shown_escaped_by_show_compare_and_smoke(ws):
    for command in (
        ("show", _bad(ws)),
        ("compare", _bad(ws), str(ws.model("ppo21"))),
        ("smoke", _bad(ws)),
        ("show", _bad(ws), "--json"),
    ):
        out = _safe(cli(ws.config_file, *command))
        assert "bad\\udcff\\udcfe_ppo" in out, (command, out[:500])


def test_promote_of_a_path_that_is_not_utf8_is_refused_in_one_line(ws):
    before = ws.pointer.exists()
    result = cli(ws.config_file, "promote", _bad(ws), "--reason", "bad bytes", "--yes")
    err = assert_one_line_error(result, exit_codes.REFUSED, "not valid UTF-8", "rename")
    assert "\\udcff" in err
    assert_terminal_safe(result.stderr)
    assert ws.pointer.exists() == before and not journal_path_for(ws.pointer).exists()
    # A reason that is not UTF-8 is refused the same way, and nothing is written.
    result = cli(
        ws.config_file, "promote", str(ws.model("ppo21")), "--reason", b"why \xff", "--yes"
    )
    assert_one_line_error(result, exit_codes.REFUSED, "reason is not valid UTF-8")
    assert not ws.pointer.exists()
    # With a valid model the pointer and journal are then consistent.
    _safe(cli(ws.config_file, "promote", str(ws.model("ppo21")), "--reason", "good", "--yes"))
    assert json.loads(cli(ws.config_file, "status", "--json").stdout)["relation"] == "consistent"


def test_a_model_argument_with_control_characters_is_echoed_escaped(ws):
    result = cli(ws.config_file, "promote", "no\x1b[2Jsuch\nmodel", "--reason", "r", "--yes")
    assert result.returncode != exit_codes.OK
    assert_terminal_safe(result.stderr)
    assert text_of(result.stderr).count("\n") == 1


@pytest.mark.parametrize("command", [("show",), ("smoke",), ("validate",), ("compare", "x"),
                                     ("promote", "--reason", "r", "--yes")], ids=lambda c: c[0])
def test_an_unbounded_model_argument_is_cut_in_its_one_line_error(ws, command):
    name, *rest = command
    huge = "x\x1b" * 50_000  # longer than any file name the OS accepts
    result = cli(ws.config_file, name, huge, *rest)
    err = text_of(result.stderr)
    assert result.returncode not in (exit_codes.OK, None) and "Traceback" not in err
    assert err.count("\n") == 1 and len(err) < 2_000 and "more characters" in err, err[:300]
    assert_terminal_safe(result.stderr)
