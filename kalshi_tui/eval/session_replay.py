"""The sessions a run plays, replayed into tapes in a process of its own.

A run needs two slow things before its first step: torch imported and the policies built
(~1.2 s), and the sessions replayed into tapes (pure Python, ~1.3 s for the demo's sessions
5-10). In threads of one process they share the interpreter lock: the import releases it
at every file it looks up and then waits for the replay thread to hand it back (in a
profile, 6,910 stat calls took 1.2 s), so the two took 3.2 s together, little better than
one after the other. In a child process they run on two cores; the tapes come back
pickled (~10 MB, milliseconds).
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Final, TypeVar, cast

from kalshi_tui.core.config import Config
from kalshi_tui.eval.model_fit import ValidationError
from kalshi_tui.eval.results_cache import sessions_fingerprint

T = TypeVar("T")

# "spawn": the child is a fresh interpreter that imports only what the replay needs. Not
# "fork": the caller may hold threads (the TUI runs checks in worker threads, torch starts
# its own), and a child forked from a threaded process can hang on a lock some thread held.
# Not "forkserver": its server is one more interpreter to start before the first child.
START_METHOD: Final = "spawn"


def load_session_tapes(config: Config, session_ids: list[int]):
    """Every replayable market of the sessions; an unknown or empty session is an error."""
    from kalshi_tui.env import StoreError, open_session_store
    from kalshi_tui.env.tape import load_tapes
    from kalshi_tui.env.world import tape_options

    try:
        with open_session_store(config.sessions_db) as store:
            available = set(store.session_ids())
            unknown = [s for s in session_ids if s not in available]
            if unknown:
                raise ValidationError(f"{config.sessions_name}: no session "
                                      f"{', '.join(map(str, unknown))} in the store")
            tapes, skips = load_tapes(store, list(session_ids), **tape_options(config.environment))
    except StoreError as exc:
        raise ValidationError(str(exc)) from None
    empty = [s for s in session_ids if not any(t.session_id == s for t in tapes)]
    if empty:
        raise ValidationError(f"{config.sessions_name}: session {', '.join(map(str, empty))} "
                              "has no market that can be replayed")
    return tapes, skips


def replay_sessions(config: Config, session_ids: list[int]) -> tuple[str, list, list]:
    """(the sessions' fingerprint, their tapes, the skipped markets).

    The fingerprint is taken before the replay reads the rows: the result is keyed by it.
    """
    fingerprint = sessions_fingerprint(config.sessions_db, session_ids)
    tapes, skips = load_session_tapes(config, session_ids)
    return fingerprint, tapes, list(skips)


def _replay_and_send(sender: Connection, config: Config, session_ids: list[int]) -> None:
    """The child's work: the replay, or the exception it raised, sent to the parent."""
    # Ctrl-C reaches the whole process group; the parent, which owns it, stops this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outcome: tuple[bool, object] = (True, replay_sessions(config, session_ids))
    except Exception as exc:  # raised again in the parent, where the caller catches it
        outcome = (False, exc)
    send_outcome(sender, outcome, config)
    sender.close()


def send_outcome(sender: Connection, outcome: tuple[bool, object], config: Config) -> None:
    """Send (ok, tapes or exception); an exception that does not pickle goes as its words,
    since a traceback printed by the child would land on the TUI's screen."""
    try:
        sender.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError):
        sender.send((False, ValidationError(f"{config.sessions_name}: {outcome[1]!r}")))


def start_ignoring_ctrl_c(child: BaseProcess) -> None:
    """Start `child` with SIGINT ignored from its first instruction, not only once its target
    runs: a Ctrl-C while the fresh interpreter starts up printed the child's traceback on
    the operator's terminal. An ignored signal stays ignored across exec, and Python keeps
    it so; this process ignores it for the few milliseconds `start` takes (only the main
    thread may change a handler: from another thread the child starts as it is)."""
    if threading.current_thread() is not threading.main_thread():
        child.start()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child.start()
    finally:
        signal.signal(signal.SIGINT, previous)


def replay_in_child(config: Config, session_ids: list[int], meanwhile: Callable[[], T]
                    ) -> tuple[T, tuple[str, list, list]]:
    """(what `meanwhile()` returns, `replay_sessions(config, session_ids)`).

    The replay runs in a child process while `meanwhile` runs here. When `meanwhile`
    raises (a model refused, Ctrl-C), the child is stopped at once and the exception goes
    on; the child's own exception (an unknown session) is raised here as it was there.
    When no child can be started, the replay runs here after `meanwhile`.
    """
    context = multiprocessing.get_context(START_METHOD)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_replay_and_send, args=(sender, config, list(session_ids)),
                            name="kalshi-tui session replay", daemon=True)
    try:
        start_ignoring_ctrl_c(child)
    except (OSError, ValueError):
        # No child to be had ("bad value(s) in fds_to_keep"): multiprocessing's resource
        # tracker starts with the first child and is handed sys.stderr's descriptor, which
        # Textual's capture has not (the TUI starts the tracker first: core/catalog/
        # workers.py). The replay then runs here, after `meanwhile`: slower, the same tapes.
        receiver.close()
        sender.close()
        return meanwhile(), replay_sessions(config, session_ids)
    sender.close()  # the child holds its copy: end of file here once it has sent or died
    try:
        value = meanwhile()
        ok, replayed = _receive(receiver, child, config)
    except BaseException:
        child.terminate()
        raise
    finally:
        receiver.close()
        child.join()
    if not ok:
        raise cast(BaseException, replayed)
    return value, cast(tuple[str, list, list], replayed)


def _receive(receiver: Connection, child: BaseProcess, config: Config) -> tuple[bool, object]:
    """What the child sent; a child that ended without sending is a one-line error."""
    try:
        return receiver.recv()
    except EOFError:
        child.join()
        raise ValidationError(f"{config.sessions_name}: the session replay process ended "
                              f"without an answer (exit code {child.exitcode})") from None


def load_while_replaying(config: Config, session_ids: list[int], load: Callable[[], T]
                         ) -> tuple[T, str, list, list]:
    """(what `load()` returns, the sessions' fingerprint, their tapes, the skipped markets).

    `load` imports torch and builds the policies while a child process replays the
    sessions; a model `load` refuses is still refused before anything runs.
    """
    loaded, (fingerprint, tapes, skips) = replay_in_child(config, session_ids, load)
    return loaded, fingerprint, tapes, skips
