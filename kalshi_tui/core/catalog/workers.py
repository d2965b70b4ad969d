"""Worker processes that read the files a scan's cache cannot answer.

Reading is pure Python (JSON, opcode walks), which threads would serialise on the GIL, so
many new files are read in two worker processes. They start from a **forkserver** (spawn
where there is none, Windows), never by forking this process: the TUI runs threads, and a
child forked from a threaded process can inherit a lock some thread held (fork is unsafe
there, and Python 3.12 warns about it). The forkserver is a clean single-threaded process,
started once per process with the readers imported (`_PRELOAD`), so each worker forks from
it ready to read. Measured on 10,000 models (2 cores, shared): see the README's Speed
section for the cold-scan figures with this start method.

The forkserver's helper (multiprocessing's resource tracker) is handed this process's
stderr file descriptor when it starts. Under the TUI, sys.stderr is Textual's capture,
with no descriptor, and the helper cannot start: `start_helpers` is called by the TUI
before Textual takes stderr. A scan that still cannot start them reads in this process.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import sys
from collections.abc import Generator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from kalshi_tui.core.catalog.read import Job, read_rows
from kalshi_tui.core.config import Config

PARALLEL_FROM = 256  # below this many files to read, worker start-up costs more than it saves
WORKERS = max(1, min(2, os.cpu_count() or 1))
_BATCH_MAX = 512  # files per worker job
_FIRST_BATCH = 32  # files in each worker's first job
_START_METHOD = "spawn" if sys.platform == "win32" else "forkserver"
# What a worker uses, imported once in the forkserver instead of in every worker (the US
# Eastern zone of the artifacts' timestamps; cp437, the codec of zip names without the
# UTF-8 flag).
_PRELOAD = [
    "kalshi_tui.core.catalog.read",
    "kalshi_tui.core.sb3.model_zip",
    "kalshi_tui.core.artifacts.metrics",
    "zoneinfo",
    "encodings.cp437",
]


def start_helpers() -> bool:
    """Start the forkserver (and its resource tracker) now, while sys.stderr is a real file;
    whether the workers can start. Cheap once they run."""
    if _START_METHOD != "forkserver":
        return True
    multiprocessing.forkserver.set_forkserver_preload(_PRELOAD)
    try:
        multiprocessing.forkserver.ensure_running()
    except (OSError, ValueError):  # "bad value(s) in fds_to_keep": stderr has no descriptor
        return False
    return True


class Reader:
    """Reads the files the cache could not answer, in the order they are added.

    Few files are read here, in this process, by `rows`. Once `PARALLEL_FROM` wait (or the
    walk expects that many), worker processes read them: each batch goes out as soon as it
    is full, while the scan is still walking the folder, so the workers start at once;
    consecutive files (a run's checkpoints) go to one worker so it reads the run's figures
    once; batches shrink as the folder's end nears (`unseen`, the walk's estimate of what
    is still to come), so both workers finish together.
    """

    def __init__(self, config: Config, hashes: bool):
        self.config, self.hashes = config, hashes
        self.unseen: int | None = None  # about how many files may still come
        self.waiting: list[Job] = []
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future[list[list[Any]]]] = []
        self.models_dir = os.fspath(config.models_dir)
        self._no_workers = WORKERS < 2

    def add(self, job: Job) -> None:
        self.waiting.append(job)
        if self.pool is None:
            expected = len(self.waiting) + (self.unseen or 0)
            if not self._no_workers and (
                len(self.waiting) >= PARALLEL_FROM
                or (expected >= PARALLEL_FROM and len(self.waiting) >= _FIRST_BATCH)
            ):
                self._start()
        if self.pool is not None and len(self.waiting) >= self._batch_size():
            self._send(final=False)

    def _batch_size(self) -> int:
        if len(self.futures) < WORKERS:
            return _FIRST_BATCH  # every worker reading a few ms after the pool starts
        if self.unseen is None:
            return _BATCH_MAX
        # Eight batches a worker for what is left: neither waits long for the other.
        return max(16, min(_BATCH_MAX, (len(self.waiting) + self.unseen) // (WORKERS * 8)))

    def _start(self) -> None:
        if not start_helpers():
            self._no_workers = True
            return
        self.pool = ProcessPoolExecutor(
            WORKERS, mp_context=multiprocessing.get_context(_START_METHOD)
        )

    def _send(self, final: bool) -> None:
        assert self.pool is not None
        while self.waiting:
            size = self._batch_size()
            if len(self.waiting) < size and not final:
                return
            batch, self.waiting = self.waiting[:size], self.waiting[size:]
            config = self.config
            self.futures.append(
                self.pool.submit(
                    read_rows,
                    batch,
                    self.models_dir,
                    config.max_data_bytes,
                    config.max_members,
                    config.environment,
                    self.hashes,
                )
            )

    def rows(self) -> Generator[list[Any], None, None]:
        """Every added file's row (record_row), in the order added; stops the workers."""
        if self.pool is None:
            config = self.config
            yield from read_rows(
                self.waiting,
                self.models_dir,
                config.max_data_bytes,
                config.max_members,
                config.environment,
                self.hashes,
            )
            return
        try:
            self._send(final=True)
            for future in self.futures:
                yield from future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers and wait for them (a scan that failed half-way too)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
