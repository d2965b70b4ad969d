"""The post-change hook: a shell command run after a successful promote or rollback.

Typically it restarts the trader. It runs after the lock is released, so a slow restart
never blocks another operator; its outcome goes to `CURRENT_MODEL.hooks.log` beside the
journal. A failing or hanging hook is reported and logged and never undoes the change:
the pointer is already the truth, and the trader reads it on its next start.

Three promises, whatever the command does:
- promote waits for the hook's own shell and nothing else, and never past the limit: at
  the limit the hook's process group is killed. Output goes to an unlinked temporary file,
  not a pipe, so a process the hook leaves running (`nohup trader &`, `setsid trader &`)
  never makes promote wait for end-of-file, and never dies of a closed pipe later.
- a process the hook started in the background and left behind is left alone once the
  hook returns in time; one it detached into its own session (`setsid`, double fork) is
  left alone even when the hook itself is killed at the limit.
- memory and disk stay bounded: the newest OUTPUT_KEEP_BYTES are kept, the rest is dropped
  and counted; the file is cut back whenever it passes SPOOL_LIMIT_BYTES while the hook runs.
  The count is exact until a cut; bytes written in the instant of a cut cannot be seen, so
  after one the count is a lower bound and says so (`output_bytes_exact` false).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.pointer.lock import current_user, utc_now_text
from kalshi_tui.core.pointer.records import HookResult
from kalshi_tui.core.pointer.side_files import append_line_nofollow

# A restart script that has not finished in a minute is hung; the process group is killed.
HOOK_TIMEOUT_SECONDS = 60.0
OUTPUT_KEEP_BYTES = 64 * 1024
SPOOL_LIMIT_BYTES = 8 * 1024 * 1024
_POLL_SECONDS = 0.02
_OUTPUT_TAIL = 2000


def hook_log_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.hooks.log")


class _Spool:
    """The hook's output file, read as it grows: a bounded tail and a count of every byte."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # already unlinked: nothing left behind
        self.tail = bytearray()
        self.total = 0
        self.cuts = 0
        self._pos = 0

    def fileno(self) -> int:
        return self.file.fileno()

    def drain(self) -> None:
        fd = self.file.fileno()
        while chunk := os.pread(fd, 1 << 20, self._pos):
            self._pos += len(chunk)
            self.total += len(chunk)
            self.tail += chunk
            del self.tail[:-OUTPUT_KEEP_BYTES]
        if self._pos > SPOOL_LIMIT_BYTES:
            # The hook writes with O_APPEND (inherited), so it carries on at the new end.
            os.ftruncate(fd, 0)
            self._pos = 0
            self.cuts += 1

    @property
    def dropped(self) -> int:
        return self.total - len(self.tail)


def run_hook(command: str, *, pointer: Path, model_path: str, revision: int, action: str,
             cwd: Path, timeout: float | None = None) -> HookResult | None:
    """Run `command` with the new model in its environment; None when no hook is configured."""
    if not command.strip():
        return None
    timeout = HOOK_TIMEOUT_SECONDS if timeout is None else timeout
    env = dict(os.environ)
    env.update(KALSHI_TUI_MODEL_PATH=model_path, KALSHI_TUI_REVISION=str(revision),
               KALSHI_TUI_ACTION=action, KALSHI_TUI_POINTER=str(pointer))
    log = hook_log_path_for(pointer)
    result = HookResult(command=command, returncode=None, log_file=str(log))
    spool = _Spool()
    try:
        # O_APPEND on the shared file: the hook's writes land at the end even after a cut.
        _append_mode(spool.fileno())
        # Its own session, so a timeout can kill the whole group (the restart script's
        # children too) and nothing else.
        proc = subprocess.Popen(command, shell=True, env=env, cwd=cwd if cwd.is_dir() else None,
                                stdin=subprocess.DEVNULL, stdout=spool.fileno(),
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        result.error = exc.strerror or str(exc)
    else:
        result.returncode, result.timed_out = _wait(proc, spool, timeout)
        spool.drain()
        result.output_bytes = spool.total
        result.dropped_bytes = spool.dropped
        result.output_bytes_exact = spool.cuts == 0
        result.output_tail = bytes(spool.tail).decode("utf-8", "replace")[-_OUTPUT_TAIL:]
    finally:
        spool.file.close()
    _log(log, result, revision=revision, action=action, model_path=model_path)
    return result


def _append_mode(fd: int) -> None:
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)


def _wait(proc: subprocess.Popen[bytes], spool: _Spool, timeout: float) -> tuple[int | None, bool]:
    """Wait for the hook's shell (never for what it left behind), killing its group at the limit."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        spool.drain()
        if time.monotonic() >= deadline:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return proc.wait(), True
        time.sleep(_POLL_SECONDS)
    return proc.returncode, False


def _log(log: Path, result: HookResult, **context: Any) -> None:
    entry = {"time": utc_now_text(), "user": current_user(), "pid": os.getpid(), **context,
             "command": result.command, "returncode": result.returncode,
             "timed_out": result.timed_out, "error": result.error, "ok": result.ok,
             "output_bytes": result.output_bytes, "dropped_bytes": result.dropped_bytes,
             "output_bytes_exact": result.output_bytes_exact,
             "output_tail": result.output_tail}
    try:
        append_line_nofollow(log, json.dumps(entry) + "\n", "hooks log")
    except (OSError, PointerError) as exc:
        why = (
            str(exc) if isinstance(exc, PointerError) else f"could not write {log}: {exc.strerror}"
        )
        result.error = (result.error + "; " if result.error else "") + why
