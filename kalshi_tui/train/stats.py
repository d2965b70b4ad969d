"""Running statistics of a training run: actions, rewards, portfolio outcomes, observations.

Plain Python and numpy, no SB3, so the figures a run writes can be tested on their own.
Memory stays bounded however long the run: totals are counters and running sums, and
only one number per episode is kept (the original kept 50,000 step events per tracker).

The original tracker counted action ids 0-4 and divided by ln 5 even for 21-action
models; here every id 0..n-1 is counted and entropy is normalised by ln(n). Action
figures cover finished episodes only, so the summary equals a recount of the
episode lines in diagnostics.jsonl (the steps of the episode still open when training
stops are reported as `steps_in_unfinished_episodes`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kalshi_tui.core.artifacts import entropy_normalised
from kalshi_tui.core.world import ActionLayout


def normalised_entropy(counts: list[int] | np.ndarray, n_actions: int) -> float:
    """Entropy divided by ln(n): 1.0 for a uniform policy over all n actions, 0 for one action.

    The project's one entropy (core.artifacts), so what training writes and what the
    catalog recomputes from the logs are the same number.
    """
    return entropy_normalised([int(c) for c in counts], n_actions)


def entropy_nats(counts: list[int] | np.ndarray, n_actions: int) -> float:
    """The same entropy in nats, as the original's `overall_entropy` held it."""
    return normalised_entropy(counts, n_actions) * math.log(n_actions) if n_actions > 1 else 0.0


def trading_activity_level(hold_pct: float) -> str:
    """The original's words for how much a policy trades (thresholds kept as they were)."""
    if hold_pct > 99:
        return "none"
    if hold_pct > 95:
        return "minimal"
    if hold_pct > 80:
        return "low"
    return "normal"


def _signal_strength(sparsity_pct: float) -> str:
    if sparsity_pct < 30:
        return "strong"
    if sparsity_pct < 70:
        return "moderate"
    if sparsity_pct < 95:
        return "weak"
    return "critical"


@dataclass
class _Running:
    """Count, mean and variance by Welford's method, plus min and max."""

    count: int = 0
    total: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        delta = value - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (value - self.mean)
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    @property
    def variance(self) -> float:
        return self.m2 / self.count if self.count else 0.0

    def as_dict(self) -> dict[str, float]:
        if not self.count:
            return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
        return {
            "mean": self.mean,
            "std": math.sqrt(self.variance),
            "min": self.low,
            "max": self.high,
        }


@dataclass
class EpisodeRecord:
    """What is kept of one finished episode."""

    episode: int
    length: int
    market_ticker: str
    action_counts: list[int]
    total_reward: float
    zero_rewards: int
    start_value: float
    end_value: float

    @property
    def portfolio_change(self) -> float:
        return self.end_value - self.start_value


@dataclass
class _OpenEpisode:
    """An episode in progress in one of the vectorised environments."""

    action_counts: np.ndarray
    rewards: list[float] = field(default_factory=list)
    market_ticker: str = "unknown"
    start_value: float | None = None
    end_value: float | None = None


class TrainingStats:
    """Accumulates every step of a run and writes the original's summaries from it."""

    def __init__(self, layout: ActionLayout, *, n_envs: int = 1, initial_cash: float = 10000.0,
                 obs_low: float = -2.0, obs_high: float = 2.0):
        self.layout = layout
        self.n_actions = layout.n
        self.labels = layout.labels
        self.initial_cash = float(initial_cash)
        self.obs_low, self.obs_high = obs_low, obs_high
        self.action_counts = np.zeros(self.n_actions, dtype=np.int64)
        self.rewards = _Running()
        self.non_zero_rewards = _Running()
        self.zero_rewards = 0
        self.reward_by_action = [_Running() for _ in range(self.n_actions)]
        self.zero_reward_by_action = np.zeros(self.n_actions, dtype=np.int64)
        self.step_value_change = _Running()
        self.value_range = _Running()
        self.positive_value_changes = 0
        self.negative_value_changes = 0
        self.observations = 0
        self.nan_observations = 0
        self.inf_observations = 0
        self.out_of_range_observations = 0
        self.episodes: list[EpisodeRecord] = []
        self.episode_entropies: list[float] = []  # normalised, one per finished episode
        self._open = [self._new_episode() for _ in range(n_envs)]
        # Each env's last portfolio value; every episode starts from the initial cash.
        self._last_value = [float(self.initial_cash)] * n_envs

    def _new_episode(self) -> _OpenEpisode:
        return _OpenEpisode(action_counts=np.zeros(self.n_actions, dtype=np.int64))

    # --- feeding -------------------------------------------------------------------------

    def record_step(self, env_index: int, action: int, reward: float, *,
                    portfolio_value: float | None = None, market_ticker: str | None = None,
                    observation: np.ndarray | None = None) -> None:
        """One step of one environment: the action taken and what it earned."""
        action = int(action)
        if not 0 <= action < self.n_actions:
            raise ValueError(f"action {action} is outside 0-{self.n_actions - 1}")
        reward = float(reward)
        episode = self._open[env_index]
        episode.action_counts[action] += 1
        episode.rewards.append(reward)
        if market_ticker:
            episode.market_ticker = str(market_ticker)
        self.rewards.add(reward)
        self.reward_by_action[action].add(reward)
        if reward == 0.0:
            self.zero_rewards += 1
            self.zero_reward_by_action[action] += 1
        else:
            self.non_zero_rewards.add(reward)
        if portfolio_value is not None:
            value = float(portfolio_value)
            if episode.start_value is None:
                # The first step's value is already after an action; the episode
                # started from the initial cash, so that is the reference.
                episode.start_value = self.initial_cash
                self._last_value[env_index] = self.initial_cash
            change = value - self._last_value[env_index]
            self.step_value_change.add(change)
            self.positive_value_changes += change > 0
            self.negative_value_changes += change < 0
            self.value_range.add(value)
            self._last_value[env_index] = value
            episode.end_value = value
        if observation is not None:
            self._check_observation(observation)

    def _check_observation(self, observation: np.ndarray) -> None:
        obs = np.asarray(observation)
        self.observations += 1
        if np.isnan(obs).any():
            self.nan_observations += 1
        if np.isinf(obs).any():
            self.inf_observations += 1
        finite = obs[np.isfinite(obs)]
        if finite.size and (finite.min() < self.obs_low or finite.max() > self.obs_high):
            self.out_of_range_observations += 1

    def end_episode(self, env_index: int, *, episode_pnl: float | None = None) -> EpisodeRecord:
        """Close the episode of one environment; `episode_pnl` from the env wins if given."""
        open_episode = self._open[env_index]
        start = (
            open_episode.start_value if open_episode.start_value is not None else self.initial_cash
        )
        end = open_episode.end_value if open_episode.end_value is not None else start
        if episode_pnl is not None:
            end = start + float(episode_pnl)
        rewards = open_episode.rewards
        record = EpisodeRecord(
            episode=len(self.episodes) + 1,
            length=len(rewards),
            market_ticker=open_episode.market_ticker,
            action_counts=[int(c) for c in open_episode.action_counts],
            total_reward=float(sum(rewards)),
            zero_rewards=sum(1 for r in rewards if r == 0.0),
            start_value=float(start),
            end_value=float(end),
        )
        self.episodes.append(record)
        self.action_counts += open_episode.action_counts
        self.episode_entropies.append(normalised_entropy(record.action_counts, self.n_actions))
        self._open[env_index] = self._new_episode()
        self._last_value[env_index] = float(self.initial_cash)
        return record

    # --- per-episode lines for diagnostics.jsonl ------------------------------------------

    def action_summary(self, record: EpisodeRecord) -> dict[str, Any]:
        """The `action_summary` data of an episode_complete line: every action id counted."""
        length = max(record.length, 1)
        counts = record.action_counts
        return {
            "category": "action_summary",
            "episode": record.episode,
            "episode_length": record.length,
            "market_ticker": record.market_ticker,
            "n_actions": self.n_actions,
            "action_distribution": {str(i): counts[i] for i in range(self.n_actions)},
            "action_percentages": {
                self.labels[i]: counts[i] / length * 100 for i in range(self.n_actions)
            },
            "action_entropy": entropy_nats(counts, self.n_actions),
            "normalized_entropy": normalised_entropy(counts, self.n_actions),
            "non_hold_actions": int(sum(counts[1:])),
            "hold_percentage": counts[0] / length * 100 if record.length else 0.0,
        }

    def reward_summary(self, record: EpisodeRecord) -> dict[str, Any]:
        """The `reward_summary` data of an episode_complete line."""
        length = record.length
        sparsity = record.zero_rewards / length * 100 if length else 100.0
        return {
            "category": "reward_summary",
            "episode": record.episode,
            "episode_length": length,
            "market_ticker": record.market_ticker,
            "total_reward": record.total_reward,
            "average_reward": record.total_reward / length if length else 0.0,
            "portfolio_change_cents": record.portfolio_change,
            "portfolio_start_cents": record.start_value,
            "portfolio_end_cents": record.end_value,
            "reward_sparsity_pct": sparsity,
            "zero_rewards": record.zero_rewards,
            "non_zero_rewards": length - record.zero_rewards,
            "learning_signal": {
                "signal_strength": "strong"
                if sparsity < 50
                else "moderate"
                if sparsity < 80
                else "weak",
                "gradient_quality": "good"
                if (length - record.zero_rewards) > length * 0.2
                else "poor",
            },
        }

    # --- final statistics for training_summary.json ---------------------------------------

    def action_statistics(self) -> dict[str, Any]:
        """Figures over finished episodes only, so they equal a recount of the episode lines."""
        total = int(self.action_counts.sum())
        unfinished = int(sum(int(e.action_counts.sum()) for e in self._open))
        counts = [int(c) for c in self.action_counts]
        pct = [c / total * 100 if total else 0.0 for c in counts]
        hold_pct = pct[0] if total else 100.0
        recent = self.episode_entropies[-10:]
        if len(self.episode_entropies) >= 5:
            early, late = np.mean(self.episode_entropies[:5]), np.mean(self.episode_entropies[-5:])
            trend = "increasing" if late > early else "decreasing"
        else:
            trend = "insufficient_data"
        max_entropy = math.log(self.n_actions) if self.n_actions > 1 else 0.0
        avg_recent_nats = float(np.mean(recent)) * max_entropy if recent else 0.0
        return {
            "total_actions_tracked": total,
            "steps_in_unfinished_episodes": unfinished,
            "episodes_completed": len(self.episodes),
            "n_actions": self.n_actions,
            "action_labels": {str(i): self.labels[i] for i in range(self.n_actions)},
            "overall_distribution": {self.labels[i]: counts[i] for i in range(self.n_actions)},
            "overall_distribution_by_id": {str(i): counts[i] for i in range(self.n_actions)},
            "overall_percentages": {self.labels[i]: pct[i] for i in range(self.n_actions)},
            # The original wrote the entropy in nats; the normalised figure is the one to compare.
            "overall_entropy": entropy_nats(counts, self.n_actions),
            "overall_entropy_normalized": normalised_entropy(counts, self.n_actions),
            "hold_dominance": {
                "hold_percentage": hold_pct,
                "is_hold_dominant": hold_pct > 90.0,
                "non_hold_actions": total - counts[0],
                "trading_activity_level": trading_activity_level(hold_pct),
            },
            "exploration_analysis": {
                "avg_episode_entropy": avg_recent_nats,
                "avg_episode_entropy_normalized": float(np.mean(recent)) if recent else 0.0,
                "entropy_trend": trend,
                "max_entropy_possible": max_entropy,
                "exploration_ratio": float(np.mean(recent)) if recent else 0.0,
                "episodes_in_ratio": len(recent),
            },
        }

    def reward_statistics(self) -> dict[str, Any]:
        total = self.rewards.count
        sparsity = self.zero_rewards / total * 100 if total else 100.0
        finals = [e.end_value for e in self.episodes]
        if len(finals) > 10:
            third = len(finals) // 3
            early, late = np.mean(finals[:third]), np.mean(finals[-third:])
            trend = (
                "increasing"
                if late > early * 1.05
                else "decreasing"
                if late < early * 0.95
                else "stable"
            )
        else:
            trend = "insufficient_data"
        recent = self.episodes[-10:]
        return {
            "total_rewards_tracked": total,
            "episodes_completed": len(self.episodes),
            "reward_quality": {
                "overall_sparsity_pct": sparsity,
                "zero_rewards": self.zero_rewards,
                "non_zero_rewards": total - self.zero_rewards,
                "avg_reward": self.rewards.mean,
                "total_reward": self.rewards.total,
                "reward_range": [self.rewards.low, self.rewards.high] if total else [0.0, 0.0],
                "reward_std": math.sqrt(self.rewards.variance),
            },
            "learning_signal_analysis": {
                "signal_strength": _signal_strength(sparsity),
                "gradient_availability": (total - self.zero_rewards) / total if total else 0.0,
                "reward_variance": self.rewards.variance,
                "non_zero_reward_magnitude": self.non_zero_rewards.as_dict(),
            },
            "action_reward_correlation": {
                str(i): {
                    "count": r.count,
                    "avg_reward": r.mean,
                    "total_reward": r.total,
                    "non_zero_rewards": r.count - int(self.zero_reward_by_action[i]),
                    "sparsity_pct": int(self.zero_reward_by_action[i]) / r.count * 100,
                }
                for i, r in enumerate(self.reward_by_action)
                if r.count
            },
            "portfolio_analysis": {
                "progression_trend": trend,
                "volatility": math.sqrt(self.step_value_change.variance),
                "total_portfolio_change": float(sum(e.portfolio_change for e in self.episodes)),
                "portfolio_range": (
                    [self.value_range.low, self.value_range.high]
                    if self.value_range.count
                    else [0.0, 0.0]
                ),
                "positive_changes": int(self.positive_value_changes),
                "negative_changes": int(self.negative_value_changes),
            },
            "recent_trends": {
                "recent_episode_rewards": [e.total_reward for e in recent],
                "recent_portfolio_changes": [e.portfolio_change for e in recent],
                "avg_recent_reward": float(np.mean([e.total_reward for e in recent]))
                if recent
                else 0.0,
                "avg_recent_portfolio_change": (
                    float(np.mean([e.portfolio_change for e in recent])) if recent else 0.0
                ),
            },
        }

    def observation_statistics(self, expected_obs_dim: int | None = None) -> dict[str, Any]:
        total = self.observations

        def rate(n: int) -> float:
            return n / total * 100 if total else 0.0

        return {
            "total_observations_validated": total,
            "expected_obs_dim": expected_obs_dim,
            "bounds": [self.obs_low, self.obs_high],
            "issue_counts": {
                "nan": self.nan_observations,
                "inf": self.inf_observations,
                "out_of_range": self.out_of_range_observations,
            },
            "validation_rates": {
                "nan_rate_pct": rate(self.nan_observations),
                "inf_rate_pct": rate(self.inf_observations),
                "out_of_range_rate_pct": rate(self.out_of_range_observations),
                "valid_rate_pct": 100.0
                - rate(
                    max(
                        self.nan_observations + self.inf_observations,
                        self.out_of_range_observations,
                    )
                )
                if total
                else 0.0,
            },
        }

    def portfolio_statistics(self) -> dict[str, Any]:
        """The `portfolio_statistics` block of training_results.json: outcomes per episode."""
        episodes = self.episodes
        if not episodes:
            return {"total_episodes": 0, "unique_markets": 0, "episodes_by_market": {},
                    "dynamics_statistics": {"trading_outcomes": {
                        "positive_episodes": 0, "negative_episodes": 0, "neutral_episodes": 0,
                        "win_rate": 0.0}}}
        finals = np.array([e.end_value for e in episodes])
        lengths = np.array([e.length for e in episodes])
        changes = np.array([e.portfolio_change for e in episodes])
        by_market = Counter(e.market_ticker for e in episodes)
        positive, negative = int((changes > 0).sum()), int((changes < 0).sum())

        def describe(values: np.ndarray) -> dict[str, float]:
            return {"mean": float(values.mean()), "std": float(values.std()),
                    "min": float(values.min()), "max": float(values.max())}

        return {
            "total_episodes": len(episodes),
            "portfolio_stats": {**describe(finals), "median": float(np.median(finals))},
            "episode_length_stats": describe(lengths),
            "unique_markets": len(by_market),
            "episodes_by_market": dict(sorted(by_market.items())),
            "dynamics_statistics": {
                "total_change_stats": describe(changes),
                "trading_outcomes": {
                    "positive_episodes": positive,
                    "negative_episodes": negative,
                    "neutral_episodes": len(episodes) - positive - negative,
                    "win_rate": positive / len(episodes),
                },
            },
        }
