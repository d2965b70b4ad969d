"""`kalshi-tui status / promote / rollback / history / prune`: exit codes, confirmation, JSON, no
torch."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "pointer"))

from pointer_workspace import make_workspace  # noqa: E402

from kalshi_tui.cli import exit_codes, main  # noqa: E402
from kalshi_tui.core.pointer.journal import journal_path_for, read_records  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path, model_zoo):
    return make_workspace(tmp_path, model_zoo)


def run(ws, *args, capsys):
    capsys.readouterr()
    code = main(["--config", str(ws.config_file), *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli(ws, *args, stdin=subprocess.DEVNULL, timeout=60):
    """The real console entry in a fresh process, as an operator or a script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "--config", str(ws.config_file), *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        cwd=ws.base,
        timeout=timeout,
    )


def test_status_exit_codes_and_json(ws, capsys):
    code, out, _ = run(ws, "status", capsys=capsys)
    assert code == exit_codes.ALARM and "ALARM: " in out and "no pointer file" in out
    code, _, _ = run(
        ws, "promote", str(ws.model("ppo21")), "--reason", "first", "--yes", capsys=capsys
    )
    assert code == exit_codes.OK
    code, out, _ = run(ws, "status", "--json", capsys=capsys)
    status = json.loads(out)
    assert code == exit_codes.OK and status["alarm"] is False and status["revision"] == 1
    assert status["verdict"] == "compatible" and status["last_change"]["reason"] == "first"
    ws.model("ppo21").write_bytes(ws.model("ppo21").read_bytes() + b"changed")
    code, out, _ = run(ws, "status", capsys=capsys)
    assert code == exit_codes.ALARM and "changed on disk" in out


def test_promote_refusals_and_force(ws, capsys):
    code, _, err = run(
        ws, "promote", str(ws.model("ppo5")), "--reason", "legacy", "--yes", capsys=capsys
    )
    assert code == exit_codes.REFUSED and err.count("\n") == 1 and "incompatible" in err
    assert not ws.pointer.exists()
    code, out, _ = run(ws, "promote", str(ws.model("ppo5")), "--reason", "on purpose", "--yes",
                       "--force", "--json", capsys=capsys)
    assert code == exit_codes.OK and json.loads(out)["plan"]["forced"] is True
    code, _, err = run(
        ws, "promote", str(ws.model("ppo5")), "--reason", "again", "--yes", "--force", capsys=capsys
    )
    assert code == exit_codes.REFUSED and "already the current model" in err
    code, _, err = run(ws, "promote", str(ws.model("ppo21")), "--reason", "x", "--yes",
                       "--expect-sha256", "ab" * 32, capsys=capsys)
    assert code == exit_codes.REFUSED and "changed since it was listed" in err


def test_dry_run_and_stale_revision(ws, capsys):
    code, out, _ = run(
        ws, "promote", str(ws.model("ppo21")), "--reason", "look", "--dry-run", capsys=capsys
    )
    assert code == exit_codes.OK and "revision 0 -> 1" in out and "dry run" in out
    assert not ws.pointer.exists()
    run(ws, "promote", str(ws.model("ppo21")), "--reason", "one", "--yes", capsys=capsys)
    code, _, err = run(ws, "promote", str(ws.model("a2c21")), "--reason", "two", "--yes",
                       "--expect-revision", "0", capsys=capsys)
    assert code == exit_codes.STALE_REVISION and "revision 1, not 0" in err and "one" in err


def test_rollback_and_history(ws, capsys):
    for name in ("ppo21", "a2c21"):
        assert (
            run(ws, "promote", str(ws.model(name)), "--reason", name, "--yes", capsys=capsys)[0]
            == 0
        )
    code, out, _ = run(ws, "rollback", "--reason", "a2c lost money", "--dry-run", capsys=capsys)
    assert code == 0 and "rolling back to revision 1" in out
    code, out, _ = run(ws, "rollback", "--reason", "a2c lost money", "--yes", capsys=capsys)
    assert code == 0 and "now revision 3" in out
    code, out, _ = run(ws, "history", "--json", capsys=capsys)
    history = json.loads(out)
    assert [h["revision"] for h in history] == [3, 2, 1]
    assert history[0]["action"] == "rollback" and history[0]["target_revision"] == 1
    code, out, _ = run(ws, "history", "--limit", "1", capsys=capsys)
    assert code == 0 and "a2c lost money" in out and "ppo21" not in out.split("reason:")[-1]
    code, _, err = run(ws, "rollback", "--to", "9", "--reason", "nowhere", "--yes", capsys=capsys)
    assert code == exit_codes.REFUSED and "no revision 9" in err


def test_no_terminal_and_no_yes_is_a_usage_error(ws):
    result = cli(ws, "promote", str(ws.model("ppo21")), "--reason", "needs a yes")
    assert result.returncode == exit_codes.USAGE and "--yes" in result.stderr
    assert not ws.pointer.exists()


def test_confirmation_on_a_terminal(ws):
    """Answered on a real pseudo-terminal: 'n' changes nothing, 'y' promotes."""
    for answer, expected_code in ((b"n\n", exit_codes.ERROR), (b"y\n", exit_codes.OK)):
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kalshi_tui", "--config", str(ws.config_file), "promote",
                 str(ws.model("ppo21")), "--reason", "asked"],
                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ws.base)
            os.write(master, answer)
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        assert proc.returncode == expected_code, err
        assert b"promote: revision 0 -> 1" in out
    assert read_records(journal_path_for(ws.pointer))[-1]["reason"] == "asked"


def test_lock_timeout_exits_5_naming_the_holder(ws):
    ws.reload(lock_timeout_seconds=0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from kalshi_tui.core.pointer.lock import PointerLock
            with PointerLock(Path({str(ws.pointer)!r}), 5, "promote"):
                print("locked", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = cli(ws, "promote", str(ws.model("ppo21")), "--reason", "blocked", "--yes")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == exit_codes.LOCK_TIMEOUT
    assert f"pid {holder.pid}" in result.stderr and result.stderr.count("\n") == 1


def test_promote_and_rollback_never_import_torch(ws):
    script = textwrap.dedent(f"""
        import sys
        from kalshi_tui.cli import main
        base = ["--config", {str(ws.config_file)!r}]
        codes = [main(base + ["promote", {str(ws.model("ppo21"))!r}, "--reason", "a", "--yes"]),
                 main(base + ["promote", {str(ws.model("a2c21"))!r}, "--reason", "b", "--yes"]),
                 main(base + ["rollback", "--reason", "c", "--yes"]),
                 main(base + ["status"]), main(base + ["history"])]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "stable_baselines3"))
        print("RESULT", codes, heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "RESULT [0, 0, 0, 0, 0] []"


def test_help_lists_exit_codes():
    result = subprocess.run([sys.executable, "-m", "kalshi_tui", "promote", "--help"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "3  refused by a guard rail" in result.stdout and "4  stale revision" in result.stdout


def test_a_broken_pointer_is_an_alarm_and_is_never_overwritten(ws, capsys):
    ws.pointer.write_text('{"current_model": {"full_path": ')
    code, out, _ = run(ws, "status", capsys=capsys)
    assert code == exit_codes.ALARM and "not valid JSON" in out and str(ws.pointer) in out
    code, _, err = run(
        ws, "promote", str(ws.model("ppo21")), "--reason", "fix it", "--yes", capsys=capsys
    )
    assert code == exit_codes.ERROR and err.count("\n") == 1 and "not valid JSON" in err
    assert ws.pointer.read_text() == '{"current_model": {"full_path": '
