"""Post-change hooks that flood, detach or hang: promote stays bounded and returns within the
limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from hostile.hostile_cli import REPO, hostile_workspace, text_of
from kalshi_tui.cli import exit_codes
from kalshi_tui.core.pointer.hook import OUTPUT_KEEP_BYTES, hook_log_path_for

LIMIT = 2.0


@pytest.fixture
def ws(tmp_path, model_zoo):
    return hostile_workspace(tmp_path, model_zoo)[0]


def _promote_measured(ws) -> tuple[subprocess.CompletedProcess, float, int]:
    """Promote in a child process; (result, seconds, peak RSS in MB of it and its hook)."""
    probe = textwrap.dedent(f"""
        import json, resource, subprocess, sys, time
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "kalshi_tui",
                               "--config", {str(ws.config_file)!r},
                               "promote", {str(ws.model("ppo21"))!r}, "--reason", "hook", "--yes"],
                              capture_output=True, stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        print(json.dumps({{"code": done.returncode, "out": done.stdout.decode(),
                          "err": done.stderr.decode(), "seconds": seconds, "peak_mb": peak}}))
    """)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(REPO)))
    figures = json.loads(run.stdout)
    result = subprocess.CompletedProcess([], figures["code"], figures["out"].encode(),
                                         figures["err"].encode())
    return result, figures["seconds"], figures["peak_mb"]


def _assert_consistent(ws, revision: int = 1) -> None:
    status = subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "--config", str(ws.config_file), "status", "--json"],
        capture_output=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    doc = json.loads(status.stdout)
    assert doc["relation"] == "consistent" and doc["revision"] == revision and not doc["alarm"], doc


def _last_log(ws) -> dict:
    return json.loads(hook_log_path_for(ws.pointer).read_text().splitlines()[-1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for_pid(path, seconds=10.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_flooding_hook_keeps_promote_memory_bounded_and_counts_what_it_dropped(ws):
    flood = 300 * 1024 * 1024
    ws.reload(post_change_hook=f"yes x | head -c {flood}", hook_timeout_seconds=60)
    result, seconds, peak_mb = _promote_measured(ws)
    assert result.returncode == exit_codes.OK, text_of(result.stderr)
    assert peak_mb < 300, f"promote held {peak_mb} MB for a {flood >> 20} MB flood"
    log = _last_log(ws)
    # Over SPOOL_LIMIT_BYTES the spool was cut: the count is a lower bound, and says so.
    assert log["ok"] and not log["output_bytes_exact"]
    # (How much a cut misses depends on scheduling: a loaded machine misses more.)
    assert flood // 2 <= log["output_bytes"] <= flood
    assert log["dropped_bytes"] == log["output_bytes"] - OUTPUT_KEEP_BYTES
    assert set(log["output_tail"]) == {"x", "\n"}
    assert (
        json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kalshi_tui",
                    "--config",
                    str(ws.config_file),
                    "status",
                    "--json",
                ],
                capture_output=True,
                env=dict(os.environ, PYTHONPATH=str(REPO)),
            ).stdout
        )["revision"]
        == 1
    )


def test_a_chatty_hook_under_the_spool_limit_is_counted_exactly(ws):
    ws.reload(post_change_hook="yes y | head -c 1000000; echo done")
    result, _, _ = _promote_measured(ws)
    assert result.returncode == exit_codes.OK
    log = _last_log(ws)
    assert log["output_bytes_exact"] and log["output_bytes"] == 1_000_000 + 5
    assert log["dropped_bytes"] == log["output_bytes"] - OUTPUT_KEEP_BYTES
    assert log["output_tail"].endswith("y\ndone\n")
    _assert_consistent(ws)


@pytest.mark.parametrize("how", ["setsid sh -c", "nohup sh -c"], ids=["setsid", "nohup"])
def test_a_process_the_hook_leaves_running_is_left_alone_and_not_waited_for(ws, tmp_path, how):
    pid_file = tmp_path / "trader.pid"
    # No redirection on purpose: the background trader keeps the hook's output open.
    ws.reload(post_change_hook=f"{how} 'echo $$ > {pid_file}; exec sleep 100' & echo started",
              hook_timeout_seconds=LIMIT * 5)
    result, seconds, _ = _promote_measured(ws)
    pid = _wait_for_pid(pid_file)
    try:
        assert result.returncode == exit_codes.OK, text_of(result.stderr)
        assert seconds < LIMIT * 5, f"promote waited {seconds:.1f} s for a detached process"
        assert _alive(pid), "the detached trader was killed"
        time.sleep(0.5)
        assert _alive(pid), "the detached trader died after promote returned"
        assert _last_log(ws)["ok"] and "started" in _last_log(ws)["output_tail"]
        _assert_consistent(ws)
    finally:
        _kill(pid)


def test_a_hanging_hook_is_killed_at_the_limit_with_its_group_but_not_what_it_detached(
    ws, tmp_path
):
    child_file, detached_file = tmp_path / "child.pid", tmp_path / "detached.pid"
    ws.reload(post_change_hook=(f"setsid sh -c 'echo $$ > {detached_file}; exec sleep 100' & "
                                f"sh -c 'echo $$ > {child_file}; exec sleep 100' & wait"),
              hook_timeout_seconds=LIMIT)
    result, seconds, _ = _promote_measured(ws)
    child, detached = _wait_for_pid(child_file), _wait_for_pid(detached_file)
    try:
        assert result.returncode == exit_codes.OK  # the change stands
        err = text_of(result.stderr)
        assert err.count("\n") == 1 and "hook timed out" in err
        assert LIMIT <= seconds < LIMIT + 8, f"promote took {seconds:.1f} s with a {LIMIT} s limit"
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the hook's own child outlived the limit"
        assert _alive(detached), "a process the hook detached with setsid was killed"
        assert _last_log(ws)["timed_out"]
        _assert_consistent(ws)
    finally:
        _kill(child)
        _kill(detached)
