"""TrainingStats: every action id counted, entropy over ln(n), outcomes per episode."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.train.stats import (
    TrainingStats,
    entropy_nats,
    normalised_entropy,
    trading_activity_level,
)
from kalshi_tui.train.writer import to_jsonable

BASES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
LAYOUT_21 = ActionLayout(BASES, (5, 10, 20, 50, 100))
LAYOUT_5 = ActionLayout(BASES, (10,))


def test_entropy_is_normalised_by_ln_n():
    assert normalised_entropy([7] * 21, 21) == pytest.approx(1.0)
    assert normalised_entropy([0] * 20 + [9], 21) == 0.0
    # Two equally used actions of 21: ln 2 / ln 21, not ln 2 / ln 5 as the original had.
    assert normalised_entropy([5, 5] + [0] * 19, 21) == pytest.approx(math.log(2) / math.log(21))
    assert entropy_nats([], 21) == 0.0
    assert entropy_nats([3, 3, 0, 0, 0], 5) == pytest.approx(math.log(2))


def test_activity_levels_keep_the_original_thresholds():
    assert [trading_activity_level(p) for p in (99.5, 96, 85, 50)] == [
        "none",
        "minimal",
        "low",
        "normal",
    ]


def _feed(stats: TrainingStats, episodes: list[tuple[str, list[int], float]]) -> None:
    """Each episode: market, actions, final portfolio change (cents)."""
    for market, actions, change in episodes:
        for step, action in enumerate(actions, start=1):
            value = 10000.0 + change * step / len(actions)
            stats.record_step(0, action, 0.0 if action == 0 else 0.5, portfolio_value=value,
                              market_ticker=market, observation=np.zeros(52, np.float32))
        stats.end_episode(0)


def test_counts_every_action_id_of_a_21_action_layout():
    stats = TrainingStats(LAYOUT_21)
    _feed(stats, [("M1", [0, 0, 20, 20, 20, 17, 6], 30.0), ("M2", [0, 13, 13], -5.0)])
    summary = stats.action_summary(stats.episodes[0])
    assert summary["action_distribution"] == {
        str(i): {0: 2, 20: 3, 17: 1, 6: 1}.get(i, 0) for i in range(21)
    }
    overall = stats.action_statistics()
    assert overall["overall_distribution_by_id"]["20"] == 3
    assert overall["overall_distribution"]["SELL_NO x100"] == 3
    assert overall["overall_distribution"]["BUY_NO x20"] == 2
    assert sum(overall["overall_distribution"].values()) == 10
    assert overall["steps_in_unfinished_episodes"] == 0
    assert overall["hold_dominance"]["hold_percentage"] == pytest.approx(30.0)
    assert overall["exploration_analysis"]["max_entropy_possible"] == pytest.approx(math.log(21))
    expected = np.mean([normalised_entropy(e.action_counts, 21) for e in stats.episodes])
    assert overall["exploration_analysis"]["exploration_ratio"] == pytest.approx(expected)


def test_exploration_ratio_uses_the_last_ten_episodes():
    stats = TrainingStats(LAYOUT_5)
    _feed(stats, [("M", [0, 0, 0, 0], 0.0)] * 5 + [("M", [0, 1, 2, 3, 4], 0.0)] * 10)
    ratio = stats.action_statistics()["exploration_analysis"]["exploration_ratio"]
    assert ratio == pytest.approx(1.0)  # the five single-action episodes are older than ten


def test_outcomes_win_rate_and_markets():
    stats = TrainingStats(LAYOUT_5)
    _feed(stats, [("A", [1, 2], 40.0), ("B", [3], -10.0), ("A", [0], 0.0), ("C", [4, 4], 5.0)])
    portfolio = stats.portfolio_statistics()
    outcomes = portfolio["dynamics_statistics"]["trading_outcomes"]
    assert (
        outcomes["positive_episodes"],
        outcomes["negative_episodes"],
        outcomes["neutral_episodes"],
    ) == (2, 1, 1)
    assert outcomes["win_rate"] == 0.5
    assert portfolio["unique_markets"] == 3
    assert portfolio["episodes_by_market"] == {"A": 2, "B": 1, "C": 1}


def test_env_reported_episode_pnl_wins_over_marks():
    stats = TrainingStats(LAYOUT_5)
    stats.record_step(0, 1, -1.0, portfolio_value=9990.0, market_ticker="X")
    record = stats.end_episode(0, episode_pnl=12.5)
    assert record.portfolio_change == 12.5


def test_observation_problems_are_counted():
    stats = TrainingStats(LAYOUT_5)
    bad = np.zeros(52, np.float32)
    bad[3] = np.nan
    stats.record_step(0, 0, 0.0, observation=bad)
    stats.record_step(0, 0, 0.0, observation=np.full(52, 3.0, np.float32))
    stats.record_step(0, 0, 0.0, observation=np.zeros(52, np.float32))
    rates = stats.observation_statistics(52)["validation_rates"]
    assert rates["nan_rate_pct"] == pytest.approx(100 / 3)
    assert rates["out_of_range_rate_pct"] == pytest.approx(100 / 3)


def test_out_of_layout_action_is_refused():
    with pytest.raises(ValueError, match="outside 0-4"):
        TrainingStats(LAYOUT_5).record_step(0, 7, 0.0)


def test_everything_serialises_as_plain_json_numbers():
    stats = TrainingStats(LAYOUT_21, n_envs=2)
    _feed(stats, [("M", [0, 3, 3], 1.0)])
    blob = json.dumps(to_jsonable({"a": stats.action_statistics(), "r": stats.reward_statistics(),
                                   "p": stats.portfolio_statistics()}), allow_nan=False)
    assert '"10000"' not in blob and "NaN" not in blob
    assert json.loads(blob)["a"]["total_actions_tracked"] == 3
