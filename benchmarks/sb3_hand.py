"""The hand way the benchmarks measure kalshi-tui against: SB3's own load, one gym env.

As an SB3 user (or the original team's scripts) would: `PPO.load` (A2C or DQN, as the
zip's data says), then one `KalshiTradingEnv` stepped market by market with one `predict`
call per observation. `PPO.load` unpickles: only ever call it on a copy of a trusted model.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def sb3_load(model_path: Path):
    """The model as SB3 loads it (unpickling: trusted files only), on the CPU."""
    import stable_baselines3

    with zipfile.ZipFile(model_path) as archive:
        data = json.loads(archive.read("data"))
    name = ("DQN" if "exploration_rate" in data else "PPO" if "clip_range" in data else "A2C")
    return getattr(stable_baselines3, name).load(model_path, device="cpu")


def trading_env(config, tapes):
    """The gym env of the configured world (layout, fill model, training rules, bounds)."""
    from kalshi_tui.env import KalshiTradingEnv

    spec = config.environment
    return KalshiTradingEnv(tapes, spec.layout, fill_model=spec.fill_model,
                            training_rules=spec.profile.training_rules,
                            observation_low=spec.observation_low,
                            observation_high=spec.observation_high)


def play_markets(model, env, n_markets: int,
                 on_observation: Callable[[np.ndarray, int], None] | None = None) -> dict:
    """Every market once, deterministic `predict` per step: the action histogram and each
    market's P&L (cents), in the env's market order. `on_observation(obs, action)` sees
    every step (a probability read, another model's predict)."""
    histogram = np.zeros(env.action_space.n, np.int64)
    pnl = []
    for index in range(n_markets):
        obs, _ = env.reset(options={"market_index": index})
        terminated = False
        info: dict = {}
        while not terminated:
            action, _ = model.predict(obs, deterministic=True)
            if on_observation is not None:
                on_observation(obs, int(action))
            histogram[int(action)] += 1
            obs, _reward, terminated, _truncated, info = env.step(int(action))
        pnl.append(float(info.get("episode_pnl", 0.0)))
    return {"histogram": histogram, "pnl": pnl}
