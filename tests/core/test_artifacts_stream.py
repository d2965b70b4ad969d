"""Streaming diagnostics.jsonl: bounded lines, bounded memory, the same counts as a plain reader."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # artifact_files.py beside this file

import pytest  # noqa: E402
from artifact_files import action_line, episode_counts, reward_line, write_run  # noqa: E402

from kalshi_tui.core.artifacts.stream import scan_diagnostics  # noqa: E402


def test_overlong_lines_are_skipped_without_being_held(tmp_path):
    path = tmp_path / "diagnostics.jsonl"
    eps = episode_counts(5, 3)
    huge = json.dumps(
        {
            "data": {
                "category": "action_summary",
                "action_distribution": {"0": 1},
                "padding": "x" * 3_000_000,
            }
        }
    )
    path.write_text(
        "\n".join(
            [
                action_line(0, eps[0]),
                huge,
                action_line(1, eps[1]),
                "y" * 50_000,
                action_line(2, eps[2]),
            ]
        )
        + "\n"
    )
    scan = scan_diagnostics(path)
    assert scan.overlong_lines == 1 and scan.episodes == 3
    assert scan.histogram == {a: sum(ep[a] for ep in eps) for a in range(5)}
    small = scan_diagnostics(path, max_line_bytes=10_000)
    assert small.overlong_lines == 2 and small.episodes == 3


def test_fast_path_and_whole_line_parsing_agree(tmp_path, monkeypatch):
    from kalshi_tui.core.artifacts import stream as artifacts_stream

    eps = episode_counts(21, 25)
    odd = [  # shapes the fast path must hand over to the whole-line parser
        json.dumps(
            {
                "timestamp": "2025-12-15T00:20:00Z",
                "data": {
                    "category": "action_summary",
                    "action_distribution": {"0": 2.0, "1": "3", "2": -1},
                },
            }
        ),
        json.dumps(
            {
                "data": {
                    "category": "action_summary",
                    "action_distribution": {"0": 4},
                    "note": {"action_distribution": {"0": 100}},
                }
            }
        ),
        '{"data": {"category":"action_summary","action_distribution":{"0":5,"3":1},'
        '"n_actions":21}}',
        # one action under two spellings, a non-ASCII digit, a count past the plain bound,
        # a doubled comma (not JSON): each must count exactly as the whole-line parser does
        '{"data": {"category":"action_summary","action_distribution":{"1":2,"01":3}}}',
        '{"data": {"category":"action_summary","action_distribution":{"\u00b2":2,"4":1}}}',
        '{"data": {"category":"action_summary","action_distribution":{"0":1000000000000000000}}}',
        '{"data": {"category":"action_summary","action_distribution":{"0":1,,"1":2}}}',
    ]
    run = write_run(tmp_path, "session32_ppo_20251215_001549", eps, extra_lines=odd)
    jsonl = run / "diagnostics" / "diagnostics.jsonl"
    fast = scan_diagnostics(jsonl)
    monkeypatch.setattr(artifacts_stream, "_add_episode_fast", lambda line, scan: False)
    whole = scan_diagnostics(jsonl)
    for field in (
        "histogram",
        "episodes",
        "markets",
        "declared_n_actions",
        "last_timestamp",
        "bad_lines",
        "bad_counts",
        "first_timestamp",
    ):
        assert getattr(fast, field) == getattr(whole, field), field
    assert list(fast.recent) == list(whole.recent)
    assert fast.episodes == 25 + 6
    assert fast.histogram[0] == sum(ep[0] for ep in eps) + 2 + 4 + 5 + 10**18
    assert fast.histogram[1] == sum(ep[1] for ep in eps) + 3 + 5 and fast.bad_lines == 1


@pytest.mark.slow
def test_large_log_is_streamed_in_bounded_memory(tmp_path):
    """An ~80 MB diagnostics.jsonl is scanned by a child process whose peak RSS stays small."""
    import subprocess
    import sys

    counts = [900] + [(a * 5) % 13 for a in range(1, 21)]
    episode = action_line(0, counts) + "\n"
    steps = "".join(
        json.dumps(
            {
                "timestamp": "2025-12-15T00:16:00Z",
                "category": "training",
                "event_type": "step_summary",
                "data": {"global_step": i, "reward": 0.0, "pad": "z" * 300},
            }
        )
        + "\n"
        for i in range(8)
    )
    block = (steps + episode + reward_line(0) + "\n").encode()
    repeats = 80 * 1024 * 1024 // len(block)
    path = tmp_path / "diagnostics.jsonl"
    with open(path, "wb") as handle:
        for _ in range(repeats):
            handle.write(block)
    assert path.stat().st_size > 75 * 1024 * 1024
    probe = (
        "import json, resource, sys; from pathlib import Path; "
        "from kalshi_tui.core.artifacts.stream import scan_diagnostics; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "scan = scan_diagnostics(Path(sys.argv[1])) if sys.argv[2] == 'scan' else None; "
        "print(json.dumps({'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "'base_kb': base, "
        "'episodes': scan.episodes if scan else 0, "
        "'hist': {str(k): v for k, v in scan.histogram.items()} if scan else {}}))"
    )
    runs = {}
    for mode in ("idle", "scan"):
        out = subprocess.run(
            [sys.executable, "-c", probe, str(path), mode],
            check=True,
            capture_output=True,
            text=True,
        )
        runs[mode] = json.loads(out.stdout)
    scanned = runs["scan"]
    assert scanned["episodes"] == repeats
    assert scanned["hist"] == {str(a): counts[a] * repeats for a in range(21)}
    growth_mb = (scanned["rss_kb"] - runs["idle"]["rss_kb"]) / 1024
    assert growth_mb < 20, f"scanning an 80 MB log grew peak memory by {growth_mb:.0f} MB"


def _reference_scan(data: bytes, max_line: int):
    """A plain line-by-line reader, to check the block scanner against."""
    from kalshi_tui.core.artifacts.stream import DiagnosticsScan, _add_episode

    scan = DiagnosticsScan(max_line_bytes=max_line)
    *complete, tail = data.split(b"\n")
    for content in complete:
        if len(content) > max_line:
            scan.overlong_lines += 1
        elif b'"action_summary"' in content:
            try:
                entry = json.loads(content)
            except ValueError:
                scan.bad_lines += 1
                continue
            _add_episode(entry, scan)
    if len(tail) > max_line:
        scan.overlong_lines += 1
    elif b'"action_summary"' in tail:
        try:
            _add_episode(json.loads(tail), scan)
        except ValueError:
            scan.truncated_last_line = True
    return scan


@pytest.mark.parametrize("seed", range(12))
def test_block_scanner_equals_a_line_by_line_reader_on_random_logs(tmp_path, seed):
    """Lines of every length around the block size, garbage, over-long and truncated lines."""
    import random

    rng = random.Random(seed)
    max_line = rng.choice([900, 1500, 4000])
    lines = []
    for e in range(rng.randint(40, 160)):
        kind = rng.random()
        if kind < 0.45:
            counts = [rng.randint(0, 30) for _ in range(rng.choice([5, 21]))]
            lines.append(action_line(e, counts, f"KX-{rng.randint(0, 9)}"))
        elif kind < 0.65:
            lines.append(reward_line(e))
        elif kind < 0.72:
            lines.append("p" * rng.randint(0, 3 * max_line))
        elif kind < 0.8:  # exactly at the limit: max_line bytes is allowed, one more is not
            lines.append("p" * (max_line + rng.choice([-1, 0, 1])))
        elif kind < 0.9:
            lines.append(
                '{"data": {"category": "action_summary", "action_distribution": {"0": '
                + "9" * rng.randint(0, 5)
            )
        else:
            lines.append("")
    data = ("\n".join(lines) + ("" if rng.random() < 0.3 else "\n")).encode()
    if rng.random() < 0.3:
        data = data[: rng.randint(len(data) // 2, len(data))]  # cut anywhere, mid-line too
    path = tmp_path / "diagnostics.jsonl"
    path.write_bytes(data)
    got, want = scan_diagnostics(path, max_line_bytes=max_line), _reference_scan(data, max_line)
    for field in (
        "histogram",
        "episodes",
        "overlong_lines",
        "bad_lines",
        "bad_counts",
        "truncated_last_line",
        "markets",
    ):
        assert getattr(got, field) == getattr(want, field), field
    assert list(got.recent) == list(want.recent)
    assert got.bytes_read == len(data)


def test_fast_path_agrees_with_whole_line_parsing_on_damaged_and_reshaped_lines(
    tmp_path, monkeypatch
):
    """Episode lines as both trackers write them, then with 1-3 bytes damaged, re-spaced or
    reordered: every line the fast path counts, it must count as parsing it whole does."""
    import random

    from kalshi_tui.core.artifacts import stream as artifacts_stream

    rng = random.Random(11)
    counts = [rng.randrange(0, 40) for _ in range(21)]
    ours = json.dumps(
        {  # the shape this project's training pipeline writes
            "timestamp": "2026-01-03T00:16:01.000001Z",
            "category": "episode",
            "event_type": "episode_complete",
            "level": "INFO",
            "data": {
                "category": "action_summary",
                "episode": 3,
                "episode_length": sum(counts),
                "market_ticker": "KXBTC-26JAN03-B9",
                "n_actions": 21,
                "action_distribution": {str(i): c for i, c in enumerate(counts)},
                "action_percentages": {f"BUY_YES x{i}": c / 7 for i, c in enumerate(counts)},
                "action_entropy": 2.1,
                "normalized_entropy": 0.7,
                "non_hold_actions": 12,
                "hold_percentage": 40.0,
            },
        }
    )
    lines = [action_line(0, counts), ours, ours.replace(", ", ","), ours.replace('": ', '" : ')]
    for _ in range(1500):
        line = bytearray(rng.choice(lines[:2]).encode())
        for _ in range(rng.randint(1, 3)):
            line[rng.randrange(len(line))] = rng.choice(b'0123456789{}[]:," -.e\\tfnx\xc3')
        lines.append(bytes(line).decode("utf-8", errors="replace"))
    path = tmp_path / "diagnostics.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    taken = []
    real_fast = artifacts_stream._add_episode_fast
    monkeypatch.setattr(
        artifacts_stream,
        "_add_episode_fast",
        lambda line, scan: taken.append(real_fast(line, scan)) or taken[-1],
    )
    fast = scan_diagnostics(path)
    monkeypatch.setattr(artifacts_stream, "_add_episode_fast", lambda line, scan: False)
    whole = scan_diagnostics(path)
    for field in (
        "histogram",
        "episodes",
        "markets",
        "declared_n_actions",
        "last_timestamp",
        "bad_lines",
        "bad_counts",
    ):
        assert getattr(fast, field) == getattr(whole, field), field
    assert list(fast.recent) == list(whole.recent)
    assert 300 < sum(taken) < len(taken) - 300  # both paths were taken, many times
