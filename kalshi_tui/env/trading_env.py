"""The gymnasium environment the models were trained in: one market per episode.

A thin wrapper over `BatchSimulator` with a batch of one, so training, the gym checkers
and batched validation all run the same trading rules.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.profiles import REALISTIC
from kalshi_tui.env.features import N_FEATURES
from kalshi_tui.env.simulator import INITIAL_CASH_CENTS, BatchSimulator
from kalshi_tui.env.tape import MarketTape
from kalshi_tui.env.world import make_simulator

MARKET_ORDERS = ("cycle", "random")


class KalshiTradingEnv(gym.Env):
    """Trade one market's recorded book per episode; each reset moves to the next market."""

    metadata = {"render_modes": []}

    def __init__(self, tapes: list[MarketTape], layout: ActionLayout, *, seed: int | None = None,
                 market_order: str = "cycle", initial_cash: float = INITIAL_CASH_CENTS,
                 observation_low: float = -2.0, observation_high: float = 2.0,
                 fill_model: str = REALISTIC, training_rules: str | None = None):
        if not tapes:
            raise ValueError("KalshiTradingEnv needs at least one market tape "
                             "(every market of the chosen sessions was skipped?)")
        if market_order not in MARKET_ORDERS:
            raise ValueError(f"market_order must be one of {MARKET_ORDERS}, not {market_order!r}")
        short = [t.name for t in tapes if t.length < 2]
        if short:
            raise ValueError(f"market tapes too short for an episode: {', '.join(short)}")
        self.tapes = list(tapes)
        self.layout = layout
        self.market_order = market_order
        self.initial_cash = initial_cash
        # The world the tapes were built for (layout, complement) plus how orders fill.
        self.fill_model = fill_model
        self.training_rules = training_rules
        self._obs_bounds = (observation_low, observation_high)
        self.action_space = gym.spaces.Discrete(layout.n)
        self.observation_space = gym.spaces.Box(observation_low, observation_high,
                                                (N_FEATURES,), np.float32)
        self._next_index = 0
        self._sim: BatchSimulator | None = None
        self._episode_reward = 0.0
        self._episode_steps = 0
        self._initial_seed = seed

    @property
    def tape(self) -> MarketTape | None:
        """The market of the current episode."""
        return self._sim.tapes[0] if self._sim is not None else None

    def _choose_tape(self) -> MarketTape:
        if self.market_order == "random":
            index = int(self.np_random.integers(len(self.tapes)))
        else:
            index = self._next_index % len(self.tapes)
            self._next_index += 1
        return self.tapes[index]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        # The constructor's seed seeds the first reset only, unless that reset brings its own.
        if seed is None:
            seed = self._initial_seed
        self._initial_seed = None
        super().reset(seed=seed)
        if seed is not None:
            self._next_index = 0  # a seeded reset restarts the market order too
        options = options or {}
        if "market_index" in options:
            self._next_index = int(options["market_index"])
            tape = self.tapes[self._next_index % len(self.tapes)]
            self._next_index += 1
        else:
            tape = self._choose_tape()
        low, high = self._obs_bounds
        self._sim = make_simulator([tape], self.layout, fill_model=self.fill_model,
                                   training_rules=self.training_rules,
                                   initial_cash=self.initial_cash, observation_low=low,
                                   observation_high=high)
        self._episode_reward = 0.0
        self._episode_steps = 0
        return self._sim.observations()[0], self._sim.row_info(0)

    def step(self, action):
        if self._sim is None:
            raise RuntimeError("call reset() before step()")
        if self._sim.all_done:
            raise RuntimeError("the episode has ended: call reset()")
        obs, rewards, ended = self._sim.step(np.array([int(action)]))
        reward = float(rewards[0])
        self._episode_reward += reward
        self._episode_steps += 1
        info = self._sim.row_info(0)
        terminated = bool(ended[0])
        if terminated:
            info["episode_pnl"] = info["pnl"]
            info["episode_reward"] = self._episode_reward
            info["episode_steps"] = self._episode_steps
        return obs[0], reward, terminated, False, info
