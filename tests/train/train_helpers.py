"""Helpers for the training tests: a small trading-shaped env and an independent recount.

`SimpleTradingEnv` speaks the trading env's info keys (portfolio_value, market,
episode_pnl) so the pipeline can be tested without the session store. `recount` reads a
run's diagnostics.jsonl without the pipeline's code, so comparing the two can fail.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np


class SimpleTradingEnv(gym.Env):
    """Episodes of 20-60 steps over three markets; action `favoured` earns, trading costs."""

    metadata = {"render_modes": []}

    def __init__(self, n_actions: int = 21, favoured: int = 3, seed: int = 0):
        self.action_space = gym.spaces.Discrete(n_actions)
        self.observation_space = gym.spaces.Box(-2.0, 2.0, (52,), np.float32)
        self.favoured = favoured
        self.markets = ["KXDEMO-A", "KXDEMO-B", "KXDEMO-C"]
        self._rng = np.random.default_rng(seed)
        self._episode = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._episode += 1
        self._t = 0
        self._length = int(self._rng.integers(20, 60))
        self._value = 10000.0
        return self._obs(), {}

    def _obs(self):
        return self._rng.uniform(-1, 1, 52).astype(np.float32)

    def step(self, action):
        self._t += 1
        gain = 20.0 if int(action) == self.favoured else (-10.0 if int(action) else 0.0)
        gain += float(self._rng.normal(0, 2))
        self._value += gain
        done = self._t >= self._length
        info = {"portfolio_value": self._value,
                "market": self.markets[self._episode % len(self.markets)]}
        if done:
            info["episode_pnl"] = self._value - 10000.0
        return self._obs(), gain / 10.0, done, False, info


def recount(jsonl: Path, n_actions: int) -> dict:
    histogram = [0] * n_actions
    per_episode_entropy = []
    markets = set()
    outcomes = []
    action_lines = 0
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["event_type"] != "episode_complete":
            continue
        data = entry["data"]
        if data["category"] == "action_summary":
            action_lines += 1
            counts = [data["action_distribution"][str(i)] for i in range(n_actions)]
            assert len(data["action_distribution"]) == n_actions
            for i, c in enumerate(counts):
                histogram[i] += c
            total = sum(counts)
            h = -sum(c / total * math.log(c / total) for c in counts if c)
            per_episode_entropy.append(h / math.log(n_actions))
            markets.add(data["market_ticker"])
        elif data["category"] == "reward_summary":
            outcomes.append(data["portfolio_change_cents"])
    total = sum(histogram)
    entropy = -sum(c / total * math.log(c / total) for c in histogram if c) / math.log(n_actions)
    last10 = per_episode_entropy[-10:]
    return {
        "histogram": histogram,
        "total": total,
        "hold_pct": histogram[0] / total * 100,
        "entropy": entropy,
        "exploration_ratio": sum(last10) / len(last10),
        "episodes": action_lines,
        "reward_lines": len(outcomes),
        "unique_markets": len(markets),
        "win_rate": sum(1 for o in outcomes if o > 0) / len(outcomes),
    }
