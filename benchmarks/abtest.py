"""A/B test speed and agreement: the hand way against `kalshi-tui abtest`, side by side.

The hand way, as an operator would compare two models without kalshi-tui: `PPO.load` both
(on copies of trusted demo models: PPO.load unpickles), step the candidate market by market
in the gym env asking the other model for its action on each of the candidate's
observations, then step the other model, and pair each market's P&L. kalshi-tui:
`run_abtest`, both policies built without unpickling, all markets stepped at once. Both on
one torch thread. Prints both times and the ratio, checks the per-market differences and
the agreement count are identical, and times `kalshi-tui abtest` end to end in a fresh
process.

    .venv/bin/python benchmarks/abtest.py [--candidate ZIP] [--against ZIP] [--sessions 5-10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sb3_hand import play_markets, sb3_load, trading_env

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "trained_models"
DEFAULT_CANDIDATE = MODELS / "session10_ppo_20251215_071301" / "model.zip"
DEFAULT_AGAINST = MODELS / "session7_ppo_20251215_082705" / "model.zip"


def hand_way(candidate: Path, against: Path, config, session_ids: list[int]) -> dict:
    from kalshi_tui.eval.session_replay import load_session_tapes

    started = time.perf_counter()
    mine, theirs = sb3_load(candidate), sb3_load(against)
    tapes, _ = load_session_tapes(config, session_ids)
    agree = [0]

    def ask_the_other(obs, action):
        other, _ = theirs.predict(obs, deterministic=True)
        agree[0] += int(int(other) == action)

    first = play_markets(mine, trading_env(config, tapes), len(tapes), ask_the_other)
    second = play_markets(theirs, trading_env(config, tapes), len(tapes))
    diffs = np.array(first["pnl"]) - np.array(second["pnl"])
    return {"diffs": diffs, "agree": agree[0], "steps": int(first["histogram"].sum()),
            "seconds": time.perf_counter() - started}


def ours(candidate: Path, against: Path, config, session_ids: list[int]) -> dict:
    from kalshi_tui.eval.abtest import run_abtest

    started = time.perf_counter()
    result = run_abtest(candidate, against, config, session_ids, store_result=False)
    return {"diffs": np.array(result.paired.differences_cents), "agree": result.agreement_steps,
            "steps": result.compared_steps, "result": result,
            "seconds": time.perf_counter() - started}


def cli_end_to_end(candidate: Path, against: Path, sessions: str, tmp: Path) -> float:
    config = tmp / "bench.toml"
    config.write_text(f'[paths]\nmodels_dir = "{candidate.parent}"\n'
                      f'cache_dir = "{tmp / "cache"}"\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "user-cache"), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kalshi_tui", "abtest", str(candidate), "--against",
                    str(against), "--sessions", sessions, "--json", "--config", str(config)],
                   capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", type=Path, default=DEFAULT_CANDIDATE)
    parser.add_argument("--against", type=Path, default=DEFAULT_AGAINST)
    parser.add_argument("--sessions", default="5-10")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from kalshi_tui.core.config import load_config
    from kalshi_tui.env import SessionStore, parse_session_list

    config = load_config(REPO / "kalshi_tui.toml")
    with SessionStore(config.sessions_db) as store:
        session_ids = parse_session_list(args.sessions, store.session_ids())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "models"
        folder.mkdir()
        # PPO.load runs only on copies of trusted files
        candidate = Path(shutil.copyfile(args.candidate, folder / "candidate.zip"))
        against = Path(shutil.copyfile(args.against, folder / "against.zip"))
        print(f"candidate {args.candidate.relative_to(REPO)}, against "
              f"{args.against.relative_to(REPO)}, sessions {args.sessions}, torch threads 1, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        mine = ours(candidate, against, config, session_ids)
        theirs = hand_way(candidate, against, config, session_ids)
        wall = cli_end_to_end(candidate, against, args.sessions, Path(tmp))
    # market order differs (kalshi-tui batches markets by length): compare as multisets
    same_diffs = np.allclose(np.sort(mine["diffs"]), np.sort(theirs["diffs"]))
    same_agree = (mine["agree"], mine["steps"]) == (theirs["agree"], theirs["steps"])
    print(f"\n{'':34}{'hand way':>12}{'kalshi-tui':>12}{'ratio':>9}")
    print(f"{'markets paired':34}{len(theirs['diffs']):>12,}{len(mine['diffs']):>12,}")
    print(f"{'steps (candidate)':34}{theirs['steps']:>12,}{mine['steps']:>12,}")
    print(f"{'seconds (load, replay, both runs)':34}{theirs['seconds']:>12.2f}"
          f"{mine['seconds']:>12.2f}{theirs['seconds'] / mine['seconds']:>8.1f}x")
    print(f"\nper-market differences identical: {same_diffs}; agreement identical: {same_agree} "
          f"({mine['agree']:,} of {mine['steps']:,} steps)")
    print(f"line: {mine['result'].vs_line('other')}")
    print(f"kalshi-tui abtest, fresh process, end to end: {wall:.2f} s")
    ok = same_diffs and same_agree
    print("PASS" if ok else "FAIL: see figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
