"""A small trading-shaped gymnasium env for training tests that do not need the session store.

It speaks the trading env's info keys (portfolio_value, market_ticker, episode_pnl) and
pays for one action more than the others, so a short run learns a clearly uneven policy.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class SimpleTradingEnv(gym.Env):
    """Episodes of 20-60 steps over three markets; action `favoured` earns, others cost."""

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
        gain = 5.0 if int(action) == self.favoured else (-1.0 if int(action) else 0.0)
        gain += float(self._rng.normal(0, 2))
        self._value += gain
        done = self._t >= self._length
        info = {"portfolio_value": self._value,
                "market": self.markets[self._episode % len(self.markets)]}
        if done:
            info["episode_pnl"] = self._value - 10000.0
        return self._obs(), gain / 10.0, done, False, info
