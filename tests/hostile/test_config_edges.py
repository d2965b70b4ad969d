"""Hostile settings and config sources: one line naming the key and the file, exit 1, never a
hang."""

from __future__ import annotations

import os
import time

import pytest

from hostile.hostile_cli import assert_one_line_error, cli, hostile_workspace, text_of
from kalshi_tui.cli import exit_codes
from kalshi_tui.core.pointer.journal import journal_path_for


@pytest.fixture
def ws(tmp_path, model_zoo):
    return hostile_workspace(tmp_path, model_zoo)[0]


EDGE_VALUES = [
    ("pointer", "lock_timeout_seconds", "nan"),
    ("pointer", "lock_timeout_seconds", "-5"),
    ("pointer", "lock_timeout_seconds", "inf"),
    ("pointer", "lock_timeout_seconds", "-inf"),
    ("pointer", "lock_timeout_seconds", "1e308"),
    ("pointer", "hook_timeout_seconds", "0"),
    ("pointer", "protect_last_records", "-100"),
    ("catalog", "max_members", "-1"),
    ("catalog", "max_members", "0"),
    ("catalog", "max_data_bytes", "0"),
    ("catalog", "max_data_bytes", "99999999999999999"),
    ("tui", "refresh_seconds", "nan"),
    ("environment", "observation_low", "-inf"),
    ("environment", "position_sizes", "[5, 10, 20, 50, 100000000000]"),
]


@pytest.mark.parametrize(
    "section,key,value", EDGE_VALUES, ids=[f"{k}={v}" for _, k, v in EDGE_VALUES]
)
def test_an_edge_value_is_one_line_naming_key_and_file(ws, section, key, value):
    ws.config_file.write_text(
        f'[paths]\nmodels_dir = "trained_models"\n[{section}]\n{key} = {value}\n'
    )
    for command in (("status",), ("promote", str(ws.model("ppo21")), "--reason", "r", "--yes"),
                    ("prune", "--keep", "0", "--execute")):
        result = cli(ws.config_file, *command, timeout=30)
        assert_one_line_error(result, exit_codes.ERROR, f"{ws.config_file}:4", f"'{section}.{key}'")
    assert not ws.pointer.exists() and not journal_path_for(ws.pointer).exists()
    assert all(ws.model(name).exists() for name in ("ppo21", "a2c21", "ppo21b", "ppo5"))


def test_a_ranking_weight_must_be_finite(ws):
    ws.config_file.write_text("[ranking.weights]\nwin_rate = nan\n")
    assert_one_line_error(
        cli(ws.config_file, "report"),
        exit_codes.ERROR,
        "ranking.weights.win_rate",
        str(ws.config_file),
    )


def test_config_set_refuses_an_edge_value_and_keeps_the_file(ws):
    before = ws.config_file.read_bytes()
    result = cli(ws.config_file, "config", "set", "pointer.lock_timeout_seconds", "inf")
    assert_one_line_error(
        result, exit_codes.ERROR, "'pointer.lock_timeout_seconds'", str(ws.config_file)
    )
    assert ws.config_file.read_bytes() == before


def test_a_zero_lock_timeout_with_the_lock_held_exits_5_at_once(ws):
    from kalshi_tui.core.pointer.lock import PointerLock

    ws.reload(lock_timeout_seconds=0)
    with PointerLock(ws.pointer, 5, "holding"):
        start = time.monotonic()
        result = cli(ws.config_file, "promote", str(ws.model("ppo21")), "--reason", "r", "--yes")
        assert time.monotonic() - start < 20
    assert_one_line_error(result, exit_codes.LOCK_TIMEOUT, "locked by")


def _assert_source_refused(result, *needles):
    assert_one_line_error(result, exit_codes.ERROR, *needles)


@pytest.mark.parametrize("device,words", [("/dev/zero", "character device"),
                                          ("/dev/urandom", "character device")])
def test_a_device_as_config_is_refused_at_once(device, words):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    start = time.monotonic()
    result = cli(None, "status", env={"KALSHI_TUI_CONFIG": device}, timeout=30)
    assert time.monotonic() - start < 20
    _assert_source_refused(result, device, words, "not a regular file")


def test_a_fifo_as_config_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    result = cli(None, "list", env={"KALSHI_TUI_CONFIG": str(fifo)}, timeout=30)
    _assert_source_refused(result, str(fifo), "FIFO")


def test_a_30_mb_binary_config_is_refused_by_size_and_a_small_one_by_encoding(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(30 * 1024 * 1024)
    _assert_source_refused(cli(None, "status", env={"KALSHI_TUI_CONFIG": str(big)}),
                           str(big), "31,457,280 bytes", "at most 1,048,576")
    small = tmp_path / "small.toml"
    small.write_bytes(b"[pointer]\nlock_timeout_seconds = 5 # \xff\xfe\n")
    _assert_source_refused(cli(None, "status", env={"KALSHI_TUI_CONFIG": str(small)}),
                           str(small), "not UTF-8")


def test_config_set_on_a_folder_is_one_line(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = cli(folder, "config", "set", "pointer.lock_timeout_seconds", "5")
    _assert_source_refused(result, str(folder), "a folder, not a regular file")
    assert list(folder.iterdir()) == []


def test_an_overlong_unknown_key_is_cut_in_the_message(ws):
    key = "k" * 100_000
    ws.config_file.write_text(f"[pointer]\n{key} = 1\n")
    err = assert_one_line_error(cli(ws.config_file, "status"), exit_codes.ERROR, "unknown key",
                                "more characters")
    assert len(err) < 2000
    assert text_of(cli(ws.config_file, "status").stdout) == ""
