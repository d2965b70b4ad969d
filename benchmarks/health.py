"""Policy health speed: the hand way against `kalshi-tui health`, side by side.

The hand way, as the original team checked a model for collapse: `PPO.load` (here on a
copy of a trusted demo model: PPO.load unpickles), then one `predict` call and one
probability read per observation: every step of the validation sessions, stepped market
by market in the gym env as the trader would trade them, plus the same probe observations
(uniform in the bounds, recorded plus noise, all zeros). kalshi-tui: `check_health`, the
policy built without unpickling, all markets stepped at once, one forward pass per step
and per probe batch. Both on one torch thread. Prints both times and the ratio, checks the
two deterministic histograms of the recorded steps are identical, and times `kalshi-tui
health` end to end in a fresh process against the <= 3 s target.

    .venv/bin/python benchmarks/health.py [--model ZIP] [--sessions 5-10]
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
DEFAULT_MODEL = REPO / "trained_models" / "session32_final.zip"


def hand_way(model_path: Path, config, session_ids: list[int], probes: np.ndarray) -> dict:
    """PPO.load + predict per observation, as a hand-written script does it."""
    import torch

    from kalshi_tui.eval.session_replay import load_session_tapes

    started = time.perf_counter()
    model = sb3_load(model_path)
    tapes, _ = load_session_tapes(config, session_ids)

    def probabilities(obs, _action=None):
        tensor, _ = model.policy.obs_to_tensor(obs)
        with torch.no_grad():
            return model.policy.get_distribution(tensor).distribution.probs.numpy()

    played = play_markets(model, trading_env(config, tapes), len(tapes), probabilities)
    for obs in probes:
        model.predict(obs, deterministic=True)
        probabilities(obs)
    return {"histogram": played["histogram"], "seconds": time.perf_counter() - started}


def ours(model_path: Path, config, session_ids: list[int]) -> dict:
    from kalshi_tui.eval import check_health
    from kalshi_tui.eval.health_result import RECORDED

    started = time.perf_counter()
    result = check_health(model_path, config, session_ids, store_result=False)
    recorded = result.source(RECORDED)
    return {"histogram": np.array(recorded.deterministic_histogram), "result": result,
            "probes": sum(s.observations for s in result.sources) - recorded.observations,
            "seconds": time.perf_counter() - started}


def cli_end_to_end(model_path: Path, sessions: str, tmp: Path) -> float:
    """`kalshi-tui health` in a fresh process, its cache in the temporary folder."""
    config = tmp / "bench.toml"
    config.write_text(
        f'[paths]\nmodels_dir = "{model_path.parent}"\ncache_dir = "{tmp / "cache"}"\n'
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "user-cache"), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kalshi_tui", "health", str(model_path), "--sessions",
                    sessions, "--json", "--config", str(config)],
                   capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="a trusted 21-action PPO zip (default: the demo's session32_final.zip)",
    )
    parser.add_argument("--sessions", default="5-10")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from kalshi_tui.core import load_config
    from kalshi_tui.env import SessionStore, parse_session_list

    config = load_config(REPO / "kalshi_tui.toml")
    with SessionStore(config.sessions_db) as store:
        session_ids = parse_session_list(args.sessions, store.session_ids())
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "models" / args.model.name
        copy.parent.mkdir()
        shutil.copyfile(args.model, copy)  # PPO.load runs only on a copy of a trusted file
        print(f"model {args.model.name} ({copy.stat().st_size:,} bytes), sessions {args.sessions}, "
              f"torch threads 1, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        mine = ours(copy, config, session_ids)
        rng = np.random.default_rng(0)
        low, high = config.environment.observation_low, config.environment.observation_high
        probes = rng.uniform(low, high, (mine["probes"], 52)).astype(np.float32)
        theirs = hand_way(copy, config, session_ids, probes)
        wall = cli_end_to_end(copy, args.sessions, Path(tmp))
    same = np.array_equal(mine["histogram"], theirs["histogram"])
    steps = int(mine["histogram"].sum())
    print(f"\n{'':34}{'hand way':>12}{'kalshi-tui':>12}{'ratio':>9}")
    print(f"{'observations (recorded + probes)':34}{steps + mine['probes']:>12,}"
          f"{steps + mine['probes']:>12,}")
    print(f"{'seconds (load, replay, run)':34}{theirs['seconds']:>12.2f}{mine['seconds']:>12.2f}"
          f"{theirs['seconds'] / mine['seconds']:>8.1f}x")
    print(f"\nrecorded deterministic histograms identical: {same}")
    print(f"state: {mine['result'].state_line}")
    print(f"kalshi-tui health, fresh process, end to end: {wall:.2f} s (target <= 3 s)")
    ok = same and wall <= 3.0
    print("PASS" if ok else "FAIL: see figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
