"""Hostile files, settings, hooks and stores: how long each takes to be refused or survived, and
memory.

Run: .venv/bin/python benchmarks/hostile_io.py [--flood-mb 400] [--pointer-mb 50]

Builds a trader folder with real SB3 zips, then times the CLI (a fresh process each, as an
operator runs it) against: config sources that are devices, a FIFO or 30 MB of binary; a
post-change hook that floods its output, one that detaches a process with `setsid` and
keeps our output open, one that hangs past a 2 s limit; a hand-written pointer whose
`full_path` is --pointer-mb megabytes; and a session store with a 100,000-deep snapshot
and an infinite delta price (replayed in-process). Peak memory is the largest resident
set of the CLI process and its hook, from getrusage(RUSAGE_CHILDREN) in a wrapper.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(REPO)

_WRAPPER = textwrap.dedent("""
    import json, resource, subprocess, sys, time
    start = time.monotonic()
    done = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)
    print(json.dumps({"code": done.returncode, "seconds": time.monotonic() - start,
                      "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "out_bytes": len(done.stdout), "err_bytes": len(done.stderr),
                      "err": done.stderr.decode("utf-8", "replace")[:160]}))
""")


def measured(*args: str, config: Path | None = None, env: dict | None = None) -> dict:
    command = [sys.executable, "-m", "kalshi_tui"] + (["--config", str(config)] if config else [])
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *command, *args], capture_output=True,
                          text=True, env={**ENV, **(env or {})}, cwd=REPO, timeout=600)
    return json.loads(done.stdout)


def build_folder(root: Path) -> tuple[Path, Path]:
    from model_factory import make_sb3_zip

    models = root / "backend" / "trained_models"
    model = make_sb3_zip(models / "session32_ppo_20251215_001549" / "model.zip", algo="ppo")
    config = root / "backend" / "kalshi_tui.toml"
    config.write_text('[paths]\nmodels_dir = "trained_models"\n')
    return config, model


def with_hook(config: Path, hook: str, limit: float) -> None:
    config.write_text('[paths]\nmodels_dir = "trained_models"\n[pointer]\n'
                      f"post_change_hook = {json.dumps(hook)}\nhook_timeout_seconds = {limit}\n")


def reset_pointer(config: Path) -> None:
    models = config.parent / "trained_models"
    for name in ("CURRENT_MODEL.json", "CURRENT_MODEL.history.jsonl", "CURRENT_MODEL.hooks.log"):
        (models / name).unlink(missing_ok=True)


def row(label: str, figures: dict, note: str = "") -> None:
    print(f"{label:<46} exit {figures['code']}  {figures['seconds']:7.2f} s  "
          f"peak {figures['peak_mb']:6.0f} MB  out {figures['out_bytes']:>7,} B  {note}")


def bench_config_sources(root: Path) -> None:
    fifo = root / "config.fifo"
    os.mkfifo(fifo)
    binary = root / "binary.toml"
    binary.write_bytes(os.urandom(30 * 1024 * 1024))
    for label, source in (
        ("config /dev/zero", "/dev/zero"),
        ("config /dev/urandom", "/dev/urandom"),
        ("config FIFO", str(fifo)),
        ("config 30 MB binary", str(binary)),
    ):
        row(label, measured("status", env={"KALSHI_TUI_CONFIG": source}))


def bench_hooks(config: Path, model: Path, flood_mb: int) -> None:
    promote = ("promote", str(model), "--reason", "bench", "--yes")
    with_hook(config, f"yes x | head -c {flood_mb * 1024 * 1024}", 60)
    row(f"hook printing {flood_mb} MB", measured(*promote, config=config))
    reset_pointer(config)
    pid_file = config.parent / "detached.pid"
    with_hook(config, f"setsid sh -c 'echo $$ > {pid_file}; exec sleep 100' &", 60)
    figures = measured(*promote, config=config)
    pid = int(pid_file.read_text())
    alive = os.path.exists(f"/proc/{pid}")
    row("hook detaching `setsid sleep 100 &` (limit 60 s)", figures, f"detached alive: {alive}")
    os.kill(pid, 9)
    reset_pointer(config)
    with_hook(config, "sleep 100", 2)
    row("hook hanging `sleep 100` (limit 2 s)", measured(*promote, config=config))
    reset_pointer(config)
    with_hook(config, "", 60)


def bench_pointer(config: Path, pointer_mb: int) -> None:
    pointer = config.parent / "trained_models" / "CURRENT_MODEL.json"
    pointer.write_text(json.dumps({"current_model": {"full_path": "a" * (pointer_mb * 1_000_000)}}))
    for command in (("status",), ("status", "--json"), ("report",)):
        row(f"{pointer_mb} MB full_path: {' '.join(command)}", measured(*command, config=config))
    reset_pointer(config)


def bench_store(root: Path) -> None:
    from kalshi_tui.env import GeneratorSettings, SessionStore, generate_sessions, load_tapes

    store = root / "sessions.db"
    generate_sessions(
        store, [4, 5], seed=3, markets=3, settings=GeneratorSettings(steps=(300, 400))
    )
    db = sqlite3.connect(store)
    with db:
        tickers = json.loads(db.execute("SELECT market_tickers FROM rl_orderbook_sessions "
                                        "WHERE session_id=4").fetchone()[0])
        db.execute(
            "UPDATE rl_orderbook_snapshots SET yes_bids=? WHERE session_id=4 AND market_ticker=?",
            ("[" * 100_000 + "]" * 100_000, tickers[0]),
        )
        db.execute(
            "UPDATE rl_orderbook_deltas SET price=? WHERE id=(SELECT MAX(id) FROM "
            "rl_orderbook_deltas WHERE session_id=4 AND market_ticker=?)",
            (1e999, tickers[1]),
        )
    db.close()
    start = time.monotonic()
    with SessionStore(store) as opened:
        tapes, skips = load_tapes(opened, [4, 5])
    print(f"{'store: 100k-deep snapshot + 1e999 price':<46} {time.monotonic() - start:7.2f} s  "
          f"{len(tapes)} markets loaded, {len(skips)} skipped")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-mb", type=int, default=400)
    parser.add_argument("--pointer-mb", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hostile_io_"))
    try:
        config, model = build_folder(root)
        row("baseline: status with no pointer", measured("status", config=config))
        bench_config_sources(root)
        bench_hooks(config, model, args.flood_mb)
        bench_pointer(config, args.pointer_mb)
        bench_store(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
