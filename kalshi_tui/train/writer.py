"""The files a training run leaves behind, in the original system's layout (FORMATS.md 2).

A run folder `session{N}_{algo}_{YYYYmmdd_HHMMSS}/` holds the model, `checkpoints/`
and `training_results.json`; its `diagnostics/` folder holds `training_summary.json`,
`diagnostics.jsonl` and `diagnostics.log`. The older layout the demo recreates
(`trained_model.zip`, diagnostics beside it in the run folder) is the same writer with
`RunLayout.legacy`.

Every number is written as a JSON number and every datetime as ISO 8601 UTC with `Z`
(the original wrote "10000" and naive local times); NaN and infinity become null so
the files stay strict JSON.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

STAMP_FORMAT = "%Y%m%d_%H%M%S"


class RunClock:
    """Wall time of a run, optionally shifted so the run appears to start at `as_of`.

    The demo registry tells the story of models trained before the action space grew, so
    its legacy runs are stamped in the past. Shifting one clock (folder stamp, every
    timestamp written, the zip's start_time) keeps all of a run's dates consistent with
    each other and with the real duration, instead of editing files afterwards.
    """

    def __init__(self, as_of: datetime | None = None):
        self._real_start = time.time()
        if as_of is not None and as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        self.shift_seconds = (as_of.timestamp() - self._real_start) if as_of else 0.0

    @property
    def real_start(self) -> datetime:
        return datetime.fromtimestamp(self._real_start, tz=UTC)

    @property
    def backdated(self) -> bool:
        return self.shift_seconds != 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.shift_seconds, tz=UTC)

    def now_ns(self) -> int:
        return time.time_ns() + int(self.shift_seconds * 1e9)

    def shift_ns(self, real_ns: int) -> int:
        return real_ns + int(self.shift_seconds * 1e9)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, microseconds kept."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_name(session_ids: list[int], algorithm: str, started: datetime) -> str:
    """`session9_ppo_20251211_221054`, or `sessions5_6_7_ppo_...` for several sessions."""
    stamp = started.astimezone(UTC).strftime(STAMP_FORMAT)
    if len(session_ids) == 1:
        return f"session{session_ids[0]}_{algorithm}_{stamp}"
    return f"sessions{'_'.join(str(s) for s in session_ids)}_{algorithm}_{stamp}"


@dataclass(frozen=True)
class RunLayout:
    """Where each file of one run goes."""

    run_dir: Path
    model_file: str = "model.zip"
    diagnostics_subdir: str | None = "diagnostics"

    @classmethod
    def current(cls, run_dir: Path) -> RunLayout:
        return cls(run_dir)

    @classmethod
    def legacy(cls, run_dir: Path) -> RunLayout:
        """The Dec 11 layout: `trained_model.zip`, diagnostics in the run folder itself."""
        return cls(run_dir, model_file="trained_model.zip", diagnostics_subdir=None)

    @property
    def model_path(self) -> Path:
        return self.run_dir / self.model_file

    @property
    def checkpoints_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def checkpoint_prefix(self) -> str:
        # SB3's CheckpointCallback names files <prefix>_<steps>_steps.zip; the original
        # passed the model file's stem as the prefix.
        return Path(self.model_file).stem

    @property
    def results_path(self) -> Path:
        return self.run_dir / "training_results.json"

    @property
    def diagnostics_dir(self) -> Path:
        return self.run_dir / self.diagnostics_subdir if self.diagnostics_subdir else self.run_dir

    @property
    def summary_path(self) -> Path:
        return self.diagnostics_dir / "training_summary.json"

    @property
    def jsonl_path(self) -> Path:
        return self.diagnostics_dir / "diagnostics.jsonl"

    @property
    def log_path(self) -> Path:
        return self.diagnostics_dir / "diagnostics.log"


def new_run_dir(out: Path, session_ids: list[int], algorithm: str, clock: RunClock) -> Path:
    """Create a fresh run folder; never reuse one (the original silently overwrote)."""
    started = clock.now()
    for bump in range(3600):
        candidate = out / run_name(session_ids, algorithm,
                                   datetime.fromtimestamp(started.timestamp() + bump, tz=UTC))
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{out}: no free run folder name for {session_ids} {algorithm}")


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars as numbers, datetimes as ISO UTC, NaN as null."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Path):
        return value.as_posix()
    if value is None or isinstance(value, str):
        return value
    return str(value)


def write_json(path: Path, value: Any) -> Path:
    """Write JSON atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(
        json.dumps(to_jsonable(value), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return path


class DiagnosticsLog:
    """The streamed logs of a run: diagnostics.jsonl (one event a line) and diagnostics.log.

    Lines are written as they happen and flushed every `flush_every` events, so a run
    that dies still leaves what it saw; nothing is held in memory.
    """

    def __init__(self, layout: RunLayout, clock: RunClock, metadata: dict[str, Any], *,
                 flush_every: int = 50):
        layout.diagnostics_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.flush_every = flush_every
        self.lines_written = 0
        self._pending = 0
        self._jsonl: TextIO = open(layout.jsonl_path, "w", encoding="utf-8")
        self._log: TextIO = open(layout.log_path, "w", encoding="utf-8")
        now = iso_utc(clock.now())
        self._log.write("Diagnostics Log - Training Session Started\n")
        self._log.write(f"Timestamp: {now}\n")
        for key in ("session_id", "algorithm", "output_directory"):
            self._log.write(f"{key.replace('_', ' ').title()}: {metadata.get(key)}\n")
        self._log.write("=" * 80 + "\n\n")
        self.event("system", "logging_initialized", metadata)

    def event(
        self, category: str, event_type: str, data: dict[str, Any], level: str = "INFO"
    ) -> None:
        moment = self.clock.now()
        entry = {"timestamp": iso_utc(moment), "category": category, "event_type": event_type,
                 "level": level, "data": to_jsonable(data)}
        self._jsonl.write(json.dumps(entry, allow_nan=False) + "\n")
        self._log.write(
            f"[{moment.strftime('%H:%M:%S')}] {level} - {category.upper()}.{event_type}\n"
        )
        for key, value in entry["data"].items():
            if isinstance(value, dict):
                self._log.write(f"  {key}:\n")
                for sub_key, sub_value in value.items():
                    self._log.write(f"    {sub_key}: {sub_value}\n")
            else:
                self._log.write(f"  {key}: {value}\n")
        self._log.write("\n")
        self.lines_written += 1
        self._pending += 1
        if self._pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        self._jsonl.flush()
        self._log.flush()
        self._pending = 0

    def close(self) -> None:
        if not self._jsonl.closed:
            self.flush()
            self._jsonl.close()
            self._log.close()

    def __enter__(self) -> DiagnosticsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
