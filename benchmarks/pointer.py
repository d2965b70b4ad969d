"""Pointer CLI speed: wall time of each `kalshi-tui` pointer command in a fresh process.

Run: .venv/bin/python benchmarks/pointer.py [--repeat 7] [--models 200]

Builds a trader folder with real SB3 zips (and `--models` copies, so the catalog has a
realistic registry to search), then times status, promote, rollback, history and a prune
dry run as an operator runs them: a new Python process per call. Side by side, the floors
every call pays: a bare `python -c pass` and `kalshi-tui --version` (interpreter + CLI
import). Target: each change <= 0.3 s wall. Prints medians and ratios to the CLI floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TARGET_SECONDS = 0.3


# As installed: Python caches compiled modules (.pyc). This sandbox sets
# PYTHONDONTWRITEBYTECODE, which would recompile every module on every call (~0.2 s).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 6):
        raise SystemExit(
            f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return elapsed


def build_folder(root: Path, copies: int) -> tuple[Path, Path, Path]:
    from model_factory import make_sb3_zip

    models = root / "backend" / "trained_models"
    first = make_sb3_zip(models / "session32_ppo_20251215_001549" / "model.zip", algo="ppo")
    second = make_sb3_zip(models / "session10_a2c_20251215_071301" / "model.zip", algo="a2c")
    for index in range(copies):
        target = models / f"session{100 + index}_ppo_20251216_000000" / "model.zip"
        target.parent.mkdir(parents=True)
        shutil.copy2(first, target)
    config = root / "backend" / "kalshi_tui.toml"
    config.write_text('[paths]\nmodels_dir = "trained_models"\n')
    return config, first, second


def measure_in_process(config: Path, models: list[Path], repeat: int) -> dict[str, list[float]]:
    """The engine's own cost, as the TUI pays it from a worker thread."""
    from kalshi_tui.core import load_config
    from kalshi_tui.core.catalog import inspect_model
    from kalshi_tui.core.pointer import PointerEngine

    cfg = load_config(config)
    engine = PointerEngine(cfg)
    out: dict[str, list[float]] = {}

    def timed(name, call):
        start = time.perf_counter()
        result = call()
        out.setdefault(name, []).append(time.perf_counter() - start)
        return result

    for _ in range(repeat):
        current = engine.status().full_path or ""
        model = next(
            m for m in models if not current.endswith(m.relative_to(cfg.base_dir).as_posix())
        )
        record = inspect_model(model, cfg)
        timed("status()", engine.status)
        timed("plan_promote()", lambda record=record: engine.plan_promote(record, "bench"))
        timed("promote()", lambda record=record: engine.promote(record, "bench"))
        timed("plan_rollback()", lambda: engine.plan_rollback())
        timed("rollback()", lambda: engine.rollback("bench"))
        timed("history()", engine.history)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--models", type=int, default=200, help="extra model copies in the registry"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kalshi-pointer-bench-"))
    try:
        config, first, second = build_folder(root, args.models)
        cwd = config.parent
        cli = [sys.executable, "-m", "kalshi_tui", "--config", str(config)]
        # Also the warm-up: compiles and caches every module once, as an install does.
        subprocess.run(cli + ["promote", str(first), "--reason", "bench start", "--yes"],
                       cwd=cwd, check=True, capture_output=True, env=ENV)
        wall(cli + ["prune", "--keep", "5"], cwd)
        times: dict[str, list[float]] = {}
        models = [second, first]
        for round_number in range(args.repeat):
            model = models[round_number % 2]
            calls = {
                "python -c pass (floor)": [sys.executable, "-c", "pass"],
                "kalshi-tui --version (CLI floor)": [
                    sys.executable,
                    "-m",
                    "kalshi_tui",
                    "--version",
                ],
                "status": cli + ["status"],
                "promote FILE --yes": cli + ["promote", str(model), "--reason", "bench", "--yes"],
                "promote --dry-run": cli
                + [
                    "promote",
                    str(models[(round_number + 1) % 2]),
                    "--reason",
                    "bench",
                    "--dry-run",
                ],
                "rollback --yes": cli + ["rollback", "--reason", "bench", "--yes"],
                "history": cli + ["history"],
                "prune --keep 5 (dry run)": cli + ["prune", "--keep", "5"],
            }
            # After rollback the pointer is back on the other model: promote it again next round.
            for name, command in calls.items():
                times.setdefault(name, []).append(wall(command, cwd))
            subprocess.run(cli + ["promote", str(model), "--reason", "bench reset", "--yes"],
                           cwd=cwd, capture_output=True, env=ENV)
        in_process = measure_in_process(config, models, args.repeat)
        floor = statistics.median(times["kalshi-tui --version (CLI floor)"])
        load = os.getloadavg()[0]
        print(f"pointer CLI wall time, median of {args.repeat}, registry of {args.models + 2} "
              f"models, {os.cpu_count()} cores, load average {load:.1f} at the end")
        print(f"{'call':<34} {'median s':>9} {'max s':>7} {'x CLI floor':>12}  target")
        for name, values in times.items():
            median = statistics.median(values)
            verdict = (
                "" if "floor" in name else ("ok" if median <= TARGET_SECONDS else "OVER 0.3 s")
            )
            print(
                f"{name:<34} {median:>9.3f} {max(values):>7.3f} {median / floor:>12.2f}  {verdict}"
            )
        print(f"\nin-process (a warm TUI worker thread: no interpreter start, no imports), "
              f"median of {args.repeat}")
        for name, values in in_process.items():
            print(f"{name:<34} {statistics.median(values) * 1000:>8.1f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
