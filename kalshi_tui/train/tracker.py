"""The SB3 callback that watches every training step and writes the run's diagnostics.

It reads what SB3 already has in hand at each step (the actions, rewards, dones, infos
and new observations of every vectorised env), feeds `TrainingStats`, and writes two
`episode_complete` lines per finished episode to diagnostics.jsonl: an `action_summary`
counting every action id and a `reward_summary`. Imports SB3, so only the training
pipeline imports this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback

from kalshi_tui.train.stats import TrainingStats
from kalshi_tui.train.writer import DiagnosticsLog, RunClock


@dataclass(frozen=True)
class InfoKeys:
    """Names of the step-info entries the tracker reads from the trading environment."""

    portfolio_value: str = "portfolio_value"
    market_ticker: str = "market"
    episode_pnl: str = "episode_pnl"


class DiagnosticsCallback(BaseCallback):
    """Counts actions, rewards and episode outcomes; logs each finished episode."""

    def __init__(
        self,
        stats: TrainingStats,
        log: DiagnosticsLog,
        *,
        info_keys: InfoKeys = InfoKeys(),
        step_log_every: int = 1000,
        validate_observations: bool = True,
        verbose: int = 0,
    ):
        super().__init__(verbose)
        self.stats = stats
        self.log = log
        self.info_keys = info_keys
        self.step_log_every = step_log_every
        self.validate_observations = validate_observations
        self.overhead_seconds = 0.0
        self.started_at = time.perf_counter()

    def _on_training_start(self) -> None:
        self.started_at = time.perf_counter()
        self.log.event("training", "milestone", {
            "event": "training_started",
            "total_timesteps": int(getattr(self.model, "_total_timesteps", 0)),
            "n_envs": int(self.training_env.num_envs),
            "n_actions": self.stats.n_actions,
        })

    def _on_step(self) -> bool:
        began = time.perf_counter()
        actions = np.asarray(self.locals["actions"]).reshape(-1)
        rewards = np.asarray(self.locals["rewards"]).reshape(-1)
        dones = np.asarray(self.locals["dones"]).reshape(-1)
        infos: list[dict[str, Any]] = self.locals.get("infos") or [{}] * len(actions)
        new_obs = self.locals.get("new_obs") if self.validate_observations else None
        keys = self.info_keys
        for index, action in enumerate(actions):
            info = infos[index] if index < len(infos) else {}
            observation = None
            if new_obs is not None and isinstance(new_obs, np.ndarray):
                observation = new_obs[index]
            self.stats.record_step(index, int(action), float(rewards[index]),
                                   portfolio_value=info.get(keys.portfolio_value),
                                   market_ticker=info.get(keys.market_ticker),
                                   observation=observation)
            if dones[index]:
                record = self.stats.end_episode(index, episode_pnl=info.get(keys.episode_pnl))
                self.log.event("episode", "episode_complete", self.stats.action_summary(record))
                self.log.event("episode", "episode_complete", self.stats.reward_summary(record))
        if self.step_log_every and self.num_timesteps % self.step_log_every < len(actions):
            info = infos[0] if infos else {}
            self.log.event("training", "step_summary", {
                "global_step": int(self.num_timesteps),
                "action": int(actions[0]),
                "reward": float(rewards[0]),
                "portfolio_value": info.get(keys.portfolio_value),
                "market_ticker": info.get(keys.market_ticker),
            })
        self.overhead_seconds += time.perf_counter() - began
        return True

    def training_metadata(self) -> dict[str, Any]:
        """The `final_statistics.training_metadata` block: totals and the tracker's own cost."""
        elapsed = time.perf_counter() - self.started_at
        return {
            "total_timesteps": int(self.num_timesteps),
            "total_episodes": len(self.stats.episodes),
            "total_training_time": elapsed,
            "diagnostics_overhead": self.overhead_seconds,
            "diagnostics_overhead_pct": self.overhead_seconds / elapsed * 100
            if elapsed > 0
            else 0.0,
        }


class BackdatedCheckpoints(CheckpointCallback):
    """SB3's CheckpointCallback (same file names), saving with the run clock's start_time.

    SB3 writes `start_time` into every zip; a run stamped with --as-of must carry the
    same shifted date in its checkpoints as in its final model.
    """

    def __init__(self, clock: RunClock, **kwargs):
        super().__init__(**kwargs)
        self.clock = clock

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq:
            return True
        real = self.model.start_time
        # SB3 stores time.time_ns() (an int) though its annotation says float.
        self.model.start_time = self.clock.shift_ns(int(real))
        try:
            return super()._on_step()
        finally:
            self.model.start_time = real
