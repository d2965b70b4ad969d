"""The post-change hook: a shell command run after a successful promote or rollback.

Typically it restarts the trader. It runs after the lock is released, so a slow restart
never blocks another operator; its outcome goes to `CURRENT_MODEL.hooks.log` beside the
journal. A failing or hanging hook is reported and logged and never undoes the change:
the pointer is already the truth, and the trader reads it on its next start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kalshi_tui.core.pointer.lock import current_user, utc_now_text
from kalshi_tui.core.pointer.records import HookResult

# A restart script that has not finished in a minute is hung; the process group is killed.
HOOK_TIMEOUT_SECONDS = 60.0
_OUTPUT_TAIL = 2000


def hook_log_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.hooks.log")


def run_hook(command: str, *, pointer: Path, model_path: str, revision: int, action: str,
             cwd: Path, timeout: float | None = None) -> HookResult | None:
    """Run `command` with the new model in its environment; None when no hook is configured."""
    if not command.strip():
        return None
    import signal
    import subprocess
    timeout = HOOK_TIMEOUT_SECONDS if timeout is None else timeout
    env = dict(os.environ)
    env.update(KALSHI_TUI_MODEL_PATH=model_path, KALSHI_TUI_REVISION=str(revision),
               KALSHI_TUI_ACTION=action, KALSHI_TUI_POINTER=str(pointer))
    log = hook_log_path_for(pointer)
    result = HookResult(command=command, returncode=None, log_file=str(log))
    try:
        # Its own session, so a timeout can kill the whole group (the restart script's children too).
        proc = subprocess.Popen(command, shell=True, env=env, cwd=cwd if cwd.is_dir() else None,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        result.error = exc.strerror or str(exc)
    else:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            output, _ = proc.communicate()
            result.timed_out = True
        result.returncode = proc.returncode
        result.output_tail = output.decode("utf-8", "replace")[-_OUTPUT_TAIL:]
    _log(log, result, revision=revision, action=action, model_path=model_path)
    return result


def _log(log: Path, result: HookResult, **context) -> None:
    entry = {"time": utc_now_text(), "user": current_user(), "pid": os.getpid(), **context,
             "command": result.command, "returncode": result.returncode,
             "timed_out": result.timed_out, "error": result.error, "ok": result.ok,
             "output_tail": result.output_tail}
    try:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    except OSError as exc:
        result.error = (result.error + "; " if result.error else "") + \
            f"could not write {log}: {exc.strerror}"
