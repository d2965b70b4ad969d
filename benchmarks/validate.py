"""Validation speed: the SB3 user's way against kalshi-tui's batched way, side by side.

Baseline, as an SB3 user validates a model: `PPO.load`, one `KalshiTradingEnv` (one
market per episode) in a Monitor, `evaluate_policy(deterministic=True)` over every market
with a callback collecting the actions. kalshi-tui: the policy built without unpickling,
every market stepped at once by the env's BatchSimulator, one forward pass per step.

Both run the same model over the same sessions with torch on one thread (what validation
uses; see policy_runner.single_threaded_torch). Prints figures and ratios, checks the two
deterministic histograms are identical, and times `kalshi-tui validate` end to end in a
fresh process (torch import, load, replay, run) against the <= 10 s target.

    .venv/bin/python benchmarks/validate.py [--model ZIP] [--sessions 5-10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sb3_hand import sb3_load, trading_env

REPO = Path(__file__).resolve().parent.parent


def demo_sized_model(folder: Path) -> Path:
    """A PPO model the size the original system trained (MlpPolicy 64x64, 21 actions, 52 obs)."""
    from stable_baselines3 import PPO

    from kalshi_tui.core import load_config
    from kalshi_tui.env import KalshiTradingEnv, SessionStore, load_tapes

    config = load_config(REPO / "kalshi_tui.toml")
    with SessionStore(config.sessions_db) as store:
        tapes, _ = load_tapes(store, [32] if 32 in store.session_ids() else store.session_ids()[:1])
    env = KalshiTradingEnv(tapes, config.environment.layout, seed=0)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(512)
    path = folder / "demo_ppo21.zip"
    model.save(path)
    return path


def bundled_demo_model() -> Path | None:
    """A 21-action PPO among the bundled demo models, when the repository has them."""
    from kalshi_tui.core.sb3 import UnreadableModel, read_sb3_zip

    for path in sorted((REPO / "trained_models").rglob("*.zip")):
        try:
            info = read_sb3_zip(path)
        except UnreadableModel:
            continue
        if info.algorithm == "PPO" and info.n_actions == 21 and "checkpoints" not in path.parts:
            return path
    return None


def baseline(model_path: Path, config, session_ids: list[int]) -> dict:
    """PPO.load + single env + evaluate_policy with a callback collecting actions."""
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    from kalshi_tui.env import SessionStore, load_tapes

    started = time.perf_counter()
    model = sb3_load(model_path)
    with SessionStore(config.sessions_db) as store:
        tapes, _ = load_tapes(store, session_ids)
    env = Monitor(trading_env(config, tapes))
    histogram = np.zeros(config.environment.n_actions, np.int64)

    def collect(locals_, _globals):
        histogram[int(locals_["actions"][locals_["i"]])] += 1

    loop_started = time.perf_counter()
    rewards, _lengths = evaluate_policy(model, env, n_eval_episodes=len(tapes), deterministic=True,
                                        callback=collect, return_episode_rewards=True)
    loop = time.perf_counter() - loop_started
    return {"histogram": histogram, "steps": int(histogram.sum()), "episodes": len(rewards),
            "loop_seconds": loop, "total_seconds": time.perf_counter() - started}


def batched(model_path: Path, config, session_ids: list[int]) -> dict:
    """kalshi-tui's way, timed the same: load + replay, then the stepping loop alone."""
    from kalshi_tui.env import BatchSimulator
    from kalshi_tui.eval import load_policy_safely
    from kalshi_tui.eval.batched import _run_batch, _Tally
    from kalshi_tui.eval.policy_runner import single_threaded_torch
    from kalshi_tui.eval.session_replay import load_session_tapes

    started = time.perf_counter()
    policy = load_policy_safely(model_path)
    tapes, _ = load_session_tapes(config, session_ids)
    env = config.environment
    sim = BatchSimulator(tapes, env.layout, observation_low=env.observation_low,
                         observation_high=env.observation_high)
    tally = _Tally(policy.n_actions, 0, None)
    loop_started = time.perf_counter()
    with single_threaded_torch():
        _run_batch(sim, policy, True, np.random.default_rng(0), tally, None, model_path)
    loop = time.perf_counter() - loop_started
    return {"histogram": tally.histogram, "steps": int(tally.histogram.sum()), "episodes": sim.n,
            "loop_seconds": loop, "total_seconds": time.perf_counter() - started}


def cli_end_to_end(
    model_path: Path, sessions: str, sessions_db: Path, tmp: Path
) -> tuple[float, dict]:
    """`kalshi-tui validate` in a fresh process: what an operator waits for.

    Its own config points the result cache into the temporary folder, so a benchmark
    never leaves files beside the bundled models.
    """
    config = tmp / "bench.toml"
    config.write_text(f'[paths]\nmodels_dir = "{model_path.parent}"\n'
                      f'sessions_db = "{sessions_db}"\ncache_dir = "{tmp / "cache"}"\n')
    exe = Path(sys.executable).with_name("kalshi-tui")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "user-cache")}
    started = time.perf_counter()
    done = subprocess.run([str(exe), "validate", str(model_path), "--sessions", sessions, "--json",
                           "--config", str(config)],
                          capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a 21-action SB3 zip (default: a bundled demo "
                        "PPO from trained_models/, else a demo-sized PPO trained here)")
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
        model = args.model or bundled_demo_model() or demo_sized_model(Path(tmp))
        print(f"model {model.name} ({model.stat().st_size:,} bytes), sessions {args.sessions}, "
              f"store {config.sessions_db}, torch threads 1, {os.cpu_count()} cores")
        ours = batched(model, config, session_ids)
        theirs = baseline(model, config, session_ids)
        wall, cli = cli_end_to_end(model, args.sessions, config.sessions_db, Path(tmp))
    same = np.array_equal(ours["histogram"], theirs["histogram"])
    print(f"\n{'':28}{'SB3 evaluate_policy':>22}{'kalshi-tui batched':>20}{'ratio':>9}")
    for name, key in (("episodes", "episodes"), ("steps", "steps")):
        print(f"{name:28}{theirs[key]:>22,}{ours[key]:>20,}")
    for name, key in (
        ("stepping loop (s)", "loop_seconds"),
        ("load + replay + loop (s)", "total_seconds"),
    ):
        print(f"{name:28}{theirs[key]:>22.2f}{ours[key]:>20.2f}{theirs[key] / ours[key]:>8.1f}x")
    sps_theirs = theirs["steps"] / theirs["loop_seconds"]
    sps_ours = ours["steps"] / ours["loop_seconds"]
    print(
        f"{'steps per second (loop)':28}{sps_theirs:>22,.0f}{sps_ours:>20,.0f}"
        f"{sps_ours / sps_theirs:>8.1f}x"
    )
    print(f"\ndeterministic histograms identical: {same}")
    print(
        f"kalshi-tui validate, fresh process, end to end: {wall:.2f} s "
        f"(target <= 10 s; histogram "
        f"{'identical' if cli['histogram'] == theirs['histogram'].tolist() else 'DIFFERENT'})"
    )
    ok = same and sps_ours >= 10 * sps_theirs and wall <= 10.0
    print("PASS" if ok else "FAIL: see figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
