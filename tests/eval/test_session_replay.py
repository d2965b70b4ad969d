"""The session replay in a child process: the same tapes as in this one, errors carried back,
and the child stopped at once when the work beside it fails."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os

import numpy as np
import pytest
from eval_helpers import write_config, write_hand_built_store

from kalshi_tui.eval.model_fit import ValidationError
from kalshi_tui.eval.session_replay import (
    START_METHOD,
    _receive,
    replay_in_child,
    replay_sessions,
    send_outcome,
    start_ignoring_ctrl_c,
)


def _same_tape(a, b) -> bool:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def test_the_child_replays_the_same_tapes_as_this_process(small_config):
    here = replay_sessions(small_config, [1, 2, 3])
    value, there = replay_in_child(small_config, [1, 2, 3], lambda: os.getpid())
    assert value == os.getpid()  # `meanwhile` ran here, in the caller's process
    fingerprint, tapes, skips = there
    assert fingerprint == here[0] and fingerprint.startswith("sessions-sha256:")
    assert skips == here[2]
    assert len(tapes) == len(here[1]) >= 3
    assert [(t.session_id, t.ticker) for t in tapes] == [(t.session_id, t.ticker) for t in here[1]]
    assert all(_same_tape(a, b) for a, b in zip(tapes, here[1], strict=True))
    assert multiprocessing.active_children() == []


def test_an_error_in_the_child_is_raised_here_as_it_was_there(tmp_path, small_config):
    with pytest.raises(ValidationError, match="no session 9 in the store"):
        replay_in_child(small_config, [1, 9], lambda: None)
    config = write_config(tmp_path / "hand", write_hand_built_store(tmp_path / "hand.db"))
    with pytest.raises(ValidationError, match="session 2 has no market that can be replayed"):
        replay_in_child(config, [1, 2], lambda: None)
    assert multiprocessing.active_children() == []


def test_when_the_work_beside_it_fails_the_child_is_stopped_and_the_error_goes_on(small_config):
    def refuse():
        raise RuntimeError("model refused")

    with pytest.raises(RuntimeError, match="model refused"):
        replay_in_child(small_config, [1, 2, 3], refuse)
    assert multiprocessing.active_children() == []


def test_a_child_that_dies_without_an_answer_is_a_one_line_error(small_config):
    context = multiprocessing.get_context(START_METHOD)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=os._exit, args=(3,))
    child.start()
    sender.close()
    with pytest.raises(ValidationError, match=r"replay process ended without an answer "
                                              r"\(exit code 3\)"):
        _receive(receiver, child, small_config)
    receiver.close()


class _Unpicklable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.callback = lambda: None  # a lambda does not pickle


def test_an_exception_that_does_not_pickle_still_comes_back_as_one_line(small_config):
    receiver, sender = multiprocessing.get_context(START_METHOD).Pipe(duplex=False)
    send_outcome(sender, (False, _Unpicklable("store went away")), small_config)
    ok, error = receiver.recv()
    assert ok is False and isinstance(error, ValidationError)
    assert "store went away" in str(error) and "\n" not in str(error)
    receiver.close()
    sender.close()


_UNDER_TEXTUAL = """
import sys, threading
from pathlib import Path
from textual.app import App
from kalshi_tui.core.config import load_config
from kalshi_tui.eval.session_replay import replay_in_child, replay_sessions

def main():
    config = load_config(Path(sys.argv[1]))
    answers = []

    class Screen(App):
        def on_mount(self):
            # a worker thread, as the TUI runs checks, with Textual's capture as sys.stderr
            def work():
                try:
                    answers.append(("no descriptor", sys.stderr.fileno()))
                    answers.append(replay_in_child(config, [1, 2, 3], lambda: "loaded"))
                finally:
                    self.call_from_thread(self.exit)
            threading.Thread(target=work).start()

    Screen().run(headless=True)
    (_, fileno), (value, (fingerprint, tapes, skips)) = answers
    here = replay_sessions(config, [1, 2, 3])
    same = [(t.ticker, t.features.tobytes()) for t in tapes] == [
        (t.ticker, t.features.tobytes()) for t in here[1]]
    print(fileno, value, fingerprint == here[0], same, skips == here[2], len(tapes))

if __name__ == "__main__":
    main()
"""


def test_under_textual_with_no_stderr_descriptor_the_replay_runs_here(small_config, tmp_path):
    """A fresh process (no resource tracker yet) whose stderr is Textual's capture: the
    child cannot start, and the replay falls back to this process with the same tapes."""
    import subprocess
    import sys

    script = tmp_path / "under_textual.py"
    script.write_text(_UNDER_TEXTUAL)
    config_file = small_config.cache_dir.parent / "kalshi_tui.toml"
    done = subprocess.run([sys.executable, str(script), str(config_file)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TERM": "dumb"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["-1", "loaded", "True", "True", "True", "9"]


def _report_sigint(sender) -> None:
    import signal

    sender.send(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_the_child_ignores_ctrl_c_from_its_start_and_this_process_keeps_its_handler():
    """Checked before the child's target could ignore it: the child interpreter started
    with SIGINT ignored (a Ctrl-C during its start-up prints no traceback), and this
    process's own Ctrl-C handler is back once the child is started."""
    import signal

    context = multiprocessing.get_context(START_METHOD)
    receiver, sender = context.Pipe(duplex=False)
    before = signal.getsignal(signal.SIGINT)
    child = context.Process(target=_report_sigint, args=(sender,))
    start_ignoring_ctrl_c(child)
    sender.close()
    try:
        assert receiver.recv() is True
    finally:
        child.join(timeout=60)
    assert signal.getsignal(signal.SIGINT) is before
