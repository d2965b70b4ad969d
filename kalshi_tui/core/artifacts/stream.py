"""Streaming diagnostics.jsonl: per-action counts summed over every finished episode.

The original logs reached 1-2 GB, so the file is read in blocks of at most one line's
allowed length (1 MB) and never held whole. Only lines whose raw bytes mention
`"action_summary"` are parsed (a bytes search is far cheaper than json.loads, and the
step and reward lines that make up most of the file are never decoded). Over-long lines,
lines that are not JSON and a truncated last line are skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kalshi_tui.core.artifacts.values import READ_FLAGS, as_int

# An action_summary line is about 1 KB for 21 actions; 1 MB leaves room for any honest line
# while bounding what one corrupt "line" (a file of no newlines) can make us hold.
MAX_LINE_BYTES = 1024 * 1024
# FORMATS.md: exploration ratio = average entropy of the last 10 episodes / max entropy.
RECENT_EPISODES = 10
# Distinct market tickers kept for the unique-markets fallback; a bound, not a target.
MAX_MARKETS_TRACKED = 200_000

_MARKER = b'"action_summary"'


@dataclass
class DiagnosticsScan:
    """What one pass over diagnostics.jsonl found."""

    histogram: dict[int, int] = field(default_factory=dict)  # action id -> count, all episodes
    episodes: int = 0  # action_summary lines counted
    # last histograms: dicts, or (actions, counts) pairs as the fast path keeps them
    recent: deque[Any] = field(default_factory=lambda: deque(maxlen=RECENT_EPISODES))
    declared_n_actions: int | None = None  # data.n_actions, when the tracker wrote it
    markets: set[str] = field(default_factory=set)
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    bytes_read: int = 0
    overlong_lines: int = 0
    bad_lines: int = 0  # candidate lines that were not JSON or not the expected shape
    bad_counts: int = 0  # distribution entries whose id or count could not be read
    truncated_last_line: bool = False
    max_line_bytes: int = MAX_LINE_BYTES
    error: str | None = None  # the file could not be read at all / stopped being readable
    # Fast-path episodes not yet summed into `histogram`: action ids -> rows of counts. A
    # run's lines list the same ids in the same order, so summing columns (zip, in C)
    # replaces a Python step per id per line; `finish` (and every _FLUSH_ROWS rows) folds them in.
    _pending: dict[tuple[int, ...], list[tuple[int, ...]]] = field(default_factory=dict, repr=False)
    # the ids of a distribution, as written -> the action numbers
    _ids: dict[tuple[str, ...], tuple[int, ...]] = field(default_factory=dict, repr=False)

    def finish(self) -> None:
        """Fold pending episodes into `histogram` and `recent` (scan_diagnostics calls it)."""
        for actions, rows in self._pending.items():
            _fold(self.histogram, actions, rows)
        self._pending.clear()
        if any(type(ep) is tuple for ep in self.recent):
            self.recent = deque(
                (dict(zip(*ep, strict=False)) if type(ep) is tuple else ep for ep in self.recent),
                maxlen=RECENT_EPISODES,
            )

    def describe_problems(self, name: str) -> list[str]:
        """One-line notes for whatever the scan had to skip."""
        problems = []
        if self.error:
            problems.append(f"{name}: {self.error}")
        if self.truncated_last_line:
            problems.append(
                f"{name}: last line is truncated (run still writing or cut off); skipped"
            )
        if self.overlong_lines:
            problems.append(
                f"{name}: {self.overlong_lines:,} line(s) over {self.max_line_bytes:,} "
                "bytes skipped"
            )
        if self.bad_lines:
            problems.append(
                f"{name}: {self.bad_lines:,} action_summary line(s) not valid JSON or "
                f"without an action_distribution; skipped"
            )
        if self.bad_counts:
            problems.append(
                f"{name}: {self.bad_counts:,} action count(s) with an unreadable id or "
                f"count ignored"
            )
        return problems


def scan_diagnostics(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> DiagnosticsScan:
    """Sum every episode's action_distribution in `path`, streaming; never raises."""
    scan = DiagnosticsScan(max_line_bytes=max_line_bytes)
    try:
        fd = os.open(path, READ_FLAGS)  # whole blocks are read: no buffered file on top
    except OSError as exc:
        scan.error = f"cannot be read ({exc.strerror or exc})"
        return scan
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):  # os.open takes a folder; reading one says so
            scan.error = "cannot be read (Is a directory)"
            return scan
        size = st.st_size

        def read(limit: int) -> bytes:
            # A read allocates what it asks for: not 1 MB for a 13 KB log, nor for its end.
            return os.read(fd, min(limit, max(size - scan.bytes_read + 1, 1 << 16)))

        _scan_blocks(read, scan, max_line_bytes)
    except OSError as exc:  # e.g. the file shrank or the disk failed mid-read
        scan.error = f"reading stopped after {scan.bytes_read:,} bytes ({exc.strerror or exc})"
    finally:
        os.close(fd)
    scan.finish()
    return scan


def _scan_blocks(read: Callable[[int], bytes], scan: DiagnosticsScan, max_line_bytes: int) -> None:
    """Read blocks of at most `max_line_bytes` (`read(n)`), look for the marker in each,
    and parse only its lines.

    No Python runs per line but the marked ones: the marker is found by bytes
    methods in C. A block is no longer than the longest line allowed, so only a line
    that spans blocks (the carried tail) can be over-long, and that is checked as it grows.
    """
    marker = _MARKER
    carry = b""  # the unfinished last line of the previous block, at most max_line_bytes long
    skipping = False  # inside an over-long line, discarding until its newline
    first_line = True
    while True:
        block = read(max_line_bytes)
        if not block:
            break
        scan.bytes_read += len(block)
        newline = block.find(b"\n")
        if skipping:
            if newline < 0:
                continue
            block, skipping = block[newline + 1 :], False
            newline = block.find(b"\n")
        if newline < 0:
            if len(carry) + len(block) > max_line_bytes:
                scan.overlong_lines += 1
                carry, skipping, first_line = b"", True, False
            else:
                carry += block
            continue
        if carry or first_line:
            line = carry + block[: newline + 1]
            carry, block = b"", block[newline + 1 :]
            if len(line) - 1 > max_line_bytes:
                scan.overlong_lines += 1
            else:
                if first_line:
                    scan.first_timestamp = _timestamp_of(line)
                if marker in line:
                    _take_line(line, scan)
            first_line = False
        last = block.rfind(b"\n")
        if last < 0:
            carry = block
            continue
        body, carry = block[: last + 1], block[last + 1 :]
        found = body.find(marker)
        while found >= 0:
            start = body.rfind(b"\n", 0, found) + 1
            end = body.find(b"\n", found) + 1
            _take_line(body[start:end], scan)
            found = body.find(marker, end)
    if carry and not skipping:
        # The last line of a log a run was still writing: count it only if it is whole.
        if first_line:
            scan.first_timestamp = _timestamp_of(carry)
        if marker in carry:
            try:
                _add_episode(json.loads(carry), scan)
            except ValueError:
                scan.truncated_last_line = True


def _take_line(line: bytes, scan: DiagnosticsScan) -> None:
    """Count one whole line that mentions action_summary."""
    if _add_episode_fast(line, scan):
        return
    try:
        entry = json.loads(line)
    except ValueError:
        scan.bad_lines += 1
        return
    _add_episode(entry, scan)


def _add_episode_fast(line: bytes, scan: DiagnosticsScan) -> bool:
    """Count an action_summary line exactly as `_add_episode` would, at a fraction of its cost.

    orjson parses the whole line (a few microseconds, and it checks the whole line is
    JSON: a line damaged anywhere is the whole-line parser's to judge, never counted from
    the part that looks right); the counts are then summed column-wise (see `_pending`)
    instead of one lenient conversion per id per line. Only the plain shape takes this
    path: ids of ASCII digits naming distinct actions, counts plain non-negative integers.
    Anything else (strings for numbers, a repeated action, NaN, which orjson refuses, a
    line that is not an action_summary) returns False and is parsed whole by json.
    """
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    data = entry.get("data") if type(entry) is dict else None
    if type(data) is not dict or data.get("category") != "action_summary":
        return False
    distribution = data.get("action_distribution")
    if type(distribution) is not dict:
        return False
    # One file repeats one set of ids: worked out once per scan.
    ids = tuple(distribution)
    actions = scan._ids.get(ids)
    if actions is None:
        actions = _action_ids(ids)
        if actions is None:
            return False
        scan._ids[ids] = actions
    counts = tuple(distribution.values())
    if counts and not (
        _ONLY_INTS.issuperset(map(type, counts)) and min(counts) >= 0 and max(counts) < _MAX_COUNT
    ):
        return False
    rows = scan._pending.get(actions)
    if rows is None:
        rows = scan._pending[actions] = []
    rows.append(counts)
    if len(rows) >= _FLUSH_ROWS:
        _fold(scan.histogram, actions, rows)
        rows.clear()
    scan.episodes += 1
    scan.recent.append((actions, counts))  # made a dict by finish(), for the last few only
    _note_episode(entry, data, scan)
    return True


_ONLY_INTS = frozenset({int})
_MAX_COUNT = 10**18  # as the whole-line parser's bound on a plain count
_FLUSH_ROWS = 4096  # episodes held before their columns are summed: bounded memory


def _action_ids(ids: tuple[str, ...]) -> tuple[int, ...] | None:
    """(0, 1, ...) for ("0", "1", ...): ids of 1-6 ASCII digits, no two naming one action."""
    if not all(0 < len(i) <= 6 and i.isascii() and i.isdigit() for i in ids):
        return None
    actions = tuple(int(i) for i in ids)
    if len(set(actions)) != len(actions):  # "1" and "01": the whole-line parser sums them
        return None
    return actions


def _fold(histogram: dict[int, int], actions: tuple[int, ...], rows: list[tuple[int, ...]]) -> None:
    """Add the column sums of `rows` (counts in the order of `actions`) to `histogram`."""
    for action, total in zip(actions, map(sum, zip(*rows, strict=False)), strict=False):
        histogram[action] = histogram.get(action, 0) + total


def _timestamp_of(line: bytes) -> str | None:
    try:
        entry = orjson.loads(line)  # the same strings json reads; json for what orjson refuses
    except orjson.JSONDecodeError:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
    value = entry.get("timestamp") if isinstance(entry, dict) else None
    return value if isinstance(value, str) else None


def _add_episode(entry: object, scan: DiagnosticsScan) -> None:
    data = entry.get("data") if isinstance(entry, dict) else None
    if not isinstance(data, dict) or data.get("category") != "action_summary":
        # The marker can appear elsewhere (a message quoting it); only real summaries count,
        # and a line that merely mentions it is not an error.
        if not isinstance(data, dict) or "action_distribution" in data:
            scan.bad_lines += 1
        return
    distribution = data.get("action_distribution")
    if not isinstance(distribution, dict):
        scan.bad_lines += 1
        return
    counts: dict[int, int] = {}
    for key, value in distribution.items():
        action, count = as_int(key), as_int(value)
        if action is None or count is None or action < 0 or count < 0:
            scan.bad_counts += 1
            continue
        counts[action] = counts.get(action, 0) + count
    histogram = scan.histogram
    for action, count in counts.items():
        histogram[action] = histogram.get(action, 0) + count
    scan.episodes += 1
    scan.recent.append(counts)
    _note_episode(entry, data, scan)


def _note_episode(entry: Any, data: dict[str, Any], scan: DiagnosticsScan) -> None:
    """What an episode line says besides its counts: declared actions, market, time."""
    declared = data.get("n_actions")
    if declared is not None:
        declared = as_int(declared)
        if declared is not None and declared > 0:
            scan.declared_n_actions = declared
    ticker = data.get("market_ticker")
    if isinstance(ticker, str) and len(scan.markets) < MAX_MARKETS_TRACKED:
        scan.markets.add(ticker)
    stamp = entry.get("timestamp")
    if isinstance(stamp, str):
        scan.last_timestamp = stamp


def entropy_of_counts(counts: Iterable[float], n_actions: int | None) -> float:
    """Shannon entropy of non-negative counts divided by ln(n_actions); 0.0 when undefined."""
    if n_actions is None or n_actions < 2:
        return 0.0
    values = [float(c) for c in counts if c and c > 0]
    total = sum(values)
    if total <= 0:
        return 0.0
    entropy = -sum((c / total) * math.log(c / total) for c in values)
    # Clamped: float rounding makes a uniform histogram come out a hair above 1.
    return min(1.0, max(0.0, entropy / math.log(n_actions)))
