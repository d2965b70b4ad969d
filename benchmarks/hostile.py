"""Zip bombs against every command: time and peak memory of each, in its own process.

Run: .venv/bin/python benchmarks/hostile.py [--gib 6] [--repeat 3]

Makes one real SB3 PPO zip (trained for a few steps), then three bombs from it, each a
member of --gib GiB of zeros deflated into a ~6 MB zip: `policy.pth` with a true header,
`policy.pth` with local header and central directory both claiming 1 KB (understated),
and `pytorch_variables.pth` with a true header. For each bomb, times `list`, `show`,
`status` (a pointer naming the bomb), `promote --force`, `smoke` and `validate` as whole
CLI processes (interpreter start and imports included; the median of --repeat) and reads
each process's peak resident memory (VmHWM) from /proc. Before issue 15 the same bomb took
65-92 s per command and smoke/validate reached 1.1 GB; an operator should see a badge.
Prints a table and the load average (the box is shared: absolute times move with it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))


def _code_seconds_peak(models: Path, args: list[str]) -> tuple[int, float, float]:
    """(exit code, seconds, peak MB): the probe tests/hostile/test_bombs.py bounds."""
    from hostile.measure import measured

    code, _, _, seconds, peak_mb = measured(models, *args, timeout=600)
    return code, seconds, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    from hostile.payloads import bomb
    from model_factory import make_sb3_zip

    with tempfile.TemporaryDirectory(prefix="kalshi-hostile-bench-") as tmp:
        root = Path(tmp)
        models = root / "models"
        template = make_sb3_zip(root / "template.zip")
        bombs = {
            "policy.pth, true header": bomb(template, models / "bomb.zip", gib=options.gib),
            "policy.pth, understated header": bomb(
                template, models / "bomb_understated.zip", gib=options.gib, understate=True
            ),
            "pytorch_variables.pth, true header": bomb(
                template,
                models / "bomb_variables.zip",
                member="pytorch_variables.pth",
                gib=options.gib,
            ),
        }
        zip_mb = bombs["policy.pth, true header"].stat().st_size / 1e6
        print(f"{len(bombs)} bombs of {options.gib} GiB, each a {zip_mb:.1f} MB zip; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
        print(f"{'bomb':36} {'command':10} {'exit':>4} {'median s':>9} {'peak MB':>8}")
        for label, path in bombs.items():
            pointer = root / f"{path.stem}.pointer.json"
            pointer.write_text(json.dumps({"current_model": {"full_path": str(path)}}))
            commands = {
                "list": ["list", "--no-cache"],
                "show": ["show", str(path)],
                "status": ["--pointer", str(pointer), "status"],
                "promote": ["promote", str(path), "--reason", "bench", "--yes", "--force"],
                "smoke": ["smoke", str(path)],
                "validate": ["validate", str(path), "--no-progress"],
            }
            for name, args in commands.items():
                runs = [_code_seconds_peak(models, args) for _ in range(options.repeat)]
                print(
                    f"{label:36} {name:10} {runs[0][0]:>4} "
                    f"{statistics.median(r[1] for r in runs):>9.2f} "
                    f"{max(r[2] for r in runs):>8.0f}"
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
