"""Environment speed: steps per second, single env, SB3-vectorised, and the batched simulator.

Run: .venv/bin/python benchmarks/env.py [--sessions 5-10] [--seconds 3] [--big 1000]

Prints steps/s side by side with ratios against the single gym env, then a policy in the
loop: SB3's evaluate_policy (the baseline validation would use) against a batched loop
(one policy forward for all markets, one BatchSimulator step), same model, same markets.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kalshi_tui.core import load_config  # noqa: E402
from kalshi_tui.env import (  # noqa: E402
    BatchSimulator,
    KalshiTradingEnv,
    SessionStore,
    load_tapes,
    parse_session_list,
)


def timed_steps(step_once, seconds: float) -> float:
    """Steps per second of `step_once` (which returns how many steps it took)."""
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        steps += step_once()
    return steps / (time.perf_counter() - start)


def single_env_rate(tapes, layout, seconds):
    env = KalshiTradingEnv(tapes, layout, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    actions = rng.integers(layout.n, size=1 << 16)
    cursor = [0]

    def step():
        for _ in range(256):
            cursor[0] = (cursor[0] + 1) & 0xFFFF
            _, _, terminated, _, _ = env.step(int(actions[cursor[0]]))
            if terminated:
                env.reset()
        return 256
    return timed_steps(step, seconds)


def dummy_vec_rate(tapes, layout, n_envs, seconds):
    from stable_baselines3.common.vec_env import DummyVecEnv

    vec = DummyVecEnv([lambda i=i: KalshiTradingEnv(tapes, layout, seed=i, market_order="random")
                       for i in range(n_envs)])
    vec.reset()
    rng = np.random.default_rng(0)

    def step():
        for _ in range(32):
            vec.step(rng.integers(layout.n, size=n_envs))
        return 32 * n_envs
    return timed_steps(step, seconds)


def batch_rate(tapes, layout, seconds):
    sim = BatchSimulator(tapes, layout)
    rng = np.random.default_rng(0)

    def step():
        if sim.all_done:
            sim.reset()
        live = int((~sim.done).sum())
        sim.step(rng.integers(layout.n, size=sim.n))
        return live
    return timed_steps(step, seconds)


def policy_loop(tapes, layout):
    """Evaluate one PPO policy over every market: SB3's evaluate_policy vs one batched loop."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(1)
    env = KalshiTradingEnv(tapes, layout)
    model = PPO("MlpPolicy", env, seed=0, device="cpu")
    total_steps = int(sum(t.length - 1 for t in tapes))

    start = time.perf_counter()
    rewards, _ = evaluate_policy(model, KalshiTradingEnv(tapes, layout), n_eval_episodes=len(tapes),
                                 deterministic=True, return_episode_rewards=True)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    sim = BatchSimulator(tapes, layout)
    obs = sim.reset()
    totals = np.zeros(sim.n)
    with torch.no_grad():
        while not sim.all_done:
            logits = model.policy.get_distribution(torch.as_tensor(obs)).distribution.logits
            obs, reward, _ = sim.step(logits.argmax(dim=1).numpy())
            totals += reward
    batched = time.perf_counter() - start
    assert np.allclose(sorted(rewards), sorted(totals)), "batched episodes differ from SB3's"
    return total_steps, baseline, batched


def big_session(markets: int) -> None:
    """Generate and load one session as large as the original's biggest (~1,000 markets)."""
    import tempfile

    from kalshi_tui.env import GeneratorSettings, generate_sessions

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.db"
        start = time.perf_counter()
        info = generate_sessions(path, [15], seed=1, settings=GeneratorSettings(
            markets=(markets, markets), steps=(150, 230)))[0]
        generated = time.perf_counter() - start
        start = time.perf_counter()
        tapes, skips = load_tapes(SessionStore(path), [15])
        loaded = time.perf_counter() - start
        states = sum(t.length for t in tapes)
        print(f"\nbig session: {info.markets} markets, {info.deltas:,} deltas, "
              f"{path.stat().st_size / 1e6:.1f} MB; generated in {generated:.1f} s; "
              f"replayed into tapes in {loaded:.1f} s ({states / loaded:,.0f} states/s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="5-10")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--skip-policy", action="store_true", help="skip the policy-in-the-loop part"
    )
    parser.add_argument("--big", type=int, metavar="MARKETS", default=0,
                        help="also generate and load one session of this many markets")
    args = parser.parse_args()
    config = load_config()
    layout = config.environment.layout
    store = SessionStore(config.sessions_db)
    ids = parse_session_list(args.sessions, store.session_ids())
    start = time.perf_counter()
    tapes, skips = load_tapes(store, ids)
    load_seconds = time.perf_counter() - start
    steps = sum(t.length for t in tapes)
    print(f"store {config.sessions_db}: sessions {args.sessions}, {len(tapes)} markets, "
          f"{steps} book states, {len(skips)} skipped; replay + tapes {load_seconds:.2f} s "
          f"({steps / load_seconds:,.0f} states/s)")

    single = single_env_rate(tapes, layout, args.seconds)
    rows = [("KalshiTradingEnv, one env", single)]
    for n in (4, 16):
        rows.append((f"SB3 DummyVecEnv x{n}", dummy_vec_rate(tapes, layout, n, args.seconds)))
    rows.append((f"BatchSimulator, {len(tapes)} markets", batch_rate(tapes, layout, args.seconds)))
    print(f"\n{'environment steps (random actions)':<40} {'steps/s':>12} {'x single':>9}")
    for name, rate in rows:
        print(f"{name:<40} {rate:>12,.0f} {rate / single:>9.1f}")

    if not args.skip_policy:
        total, baseline, batched = policy_loop(tapes, layout)
        print(
            f"\npolicy in the loop, PPO MlpPolicy, {len(tapes)} markets, {total} steps, "
            f"deterministic"
        )
        print(f"{'SB3 evaluate_policy':<40} {total / baseline:>12,.0f} steps/s  {baseline:6.2f} s")
        print(f"{'batched policy + BatchSimulator':<40} {total / batched:>12,.0f} steps/s  "
              f"{batched:6.2f} s  {baseline / batched:.1f}x")
    if args.big:
        big_session(args.big)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
