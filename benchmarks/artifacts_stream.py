"""Streaming a large diagnostics.jsonl: the artifacts reader vs parsing every line.

Writes a realistic log (step summaries, reward lines and 21-action episode summaries in
the original proportions) of --mb megabytes, then times, in one run: the baseline (read
line by line and json.loads every line, as a straightforward reader would) and
`scan_diagnostics` (bytes prefilter, json.loads only on episode action summaries). Both
must produce the same histogram. Peak memory is reported from a child process each.

    .venv/bin/python benchmarks/artifacts_stream.py --mb 1024
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The original logs reached 1-2 GB for runs of ~73,000 episodes (session 15): about
# 15-30 KB per episode, i.e. dozens of step lines for each episode summary.
STEP_LINES_PER_EPISODE = 40


def write_log(
    path: Path, megabytes: int, n_actions: int = 21, step_lines: int = STEP_LINES_PER_EPISODE
) -> int:
    """A diagnostics.jsonl of about `megabytes` MB; returns its number of episodes."""
    block = []
    for i in range(step_lines):
        block.append(
            json.dumps(
                {
                    "timestamp": "2025-12-15T00:16:00.123456Z",
                    "category": "training",
                    "event_type": "step_summary",
                    "level": "INFO",
                    "data": {
                        "global_step": 1000 * i,
                        "action": i % n_actions,
                        "reward": 0.0,
                        "portfolio_value": 10000.0,
                        "market_ticker": "KXMARKET-1",
                        "observation_summary": {"mean": 0.12, "std": 0.4, "nan": 0},
                    },
                }
            )
        )
    counts = {str(a): (a * 7) % 11 for a in range(n_actions)}
    block.append(
        json.dumps(
            {
                "timestamp": "2025-12-15T00:16:01Z",
                "category": "episode",
                "event_type": "episode_complete",
                "level": "INFO",
                "data": {
                    "category": "action_summary",
                    "episode": 0,
                    "market_ticker": "KXMARKET-1",
                    "n_actions": n_actions,
                    "action_distribution": counts,
                    "action_percentages": {f"A{a}": 4.76 for a in range(n_actions)},
                    "action_entropy": 2.1,
                    "hold_percentage": 0.0,
                },
            }
        )
    )
    block.append(
        json.dumps(
            {
                "timestamp": "2025-12-15T00:16:01Z",
                "category": "episode",
                "event_type": "episode_complete",
                "level": "INFO",
                "data": {
                    "category": "reward_summary",
                    "episode": 0,
                    "total_reward": 1.5,
                    "reward_sparsity_pct": 80.0,
                },
            }
        )
    )
    chunk = ("\n".join(block) + "\n").encode()
    repeats = max(1, megabytes * 1024 * 1024 // len(chunk))
    with open(path, "wb") as handle:
        for _ in range(repeats):
            handle.write(chunk)
    return repeats


def baseline(path: Path) -> dict[str, int]:
    """Parse every line, as a reader without the prefilter would."""
    histogram: dict[str, int] = {}
    with open(path, "rb") as handle:
        for line in handle:
            entry = json.loads(line)
            data = entry.get("data") or {}
            if data.get("category") == "action_summary":
                for key, value in data["action_distribution"].items():
                    histogram[key] = histogram.get(key, 0) + value
    return histogram


def scanner(path: Path) -> dict[str, int]:
    from kalshi_tui.core.artifacts.stream import scan_diagnostics

    scan = scan_diagnostics(path)
    return {str(k): v for k, v in scan.histogram.items()}


def child(which: str, path: str) -> None:
    """Run one reader in this process and print seconds, peak RSS (MB) and the histogram."""
    began = time.perf_counter()
    histogram = (baseline if which == "baseline" else scanner)(Path(path))
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "histogram": histogram}))


def run_child(which: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="log size in MB (default 200)")
    parser.add_argument(
        "--step-lines",
        type=int,
        default=STEP_LINES_PER_EPISODE,
        help=f"step lines per episode (default {STEP_LINES_PER_EPISODE}; fewer = denser episodes)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "diagnostics.jsonl"
        episodes = write_log(path, args.mb, step_lines=args.step_lines)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"diagnostics.jsonl: {size_mb:,.0f} MB, {episodes:,} episodes")
        fast = run_child("scanner", path)
        slow = run_child("baseline", path)
        assert fast["histogram"] == slow["histogram"], "readers disagree"
        for name, result in (("baseline json.loads every line", slow), ("scan_diagnostics", fast)):
            print(
                f"{name:32s} {result['seconds']:7.2f} s  {size_mb / result['seconds']:7.0f} MB/s  "
                f"peak RSS {result['peak_mb']:.0f} MB"
            )
        print(f"speed-up: {slow['seconds'] / fast['seconds']:.1f}x")


if __name__ == "__main__":
    main()
