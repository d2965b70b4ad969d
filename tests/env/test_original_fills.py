"""The `original-training` fill model against the specification's worked consequences."""

from __future__ import annotations

import numpy as np
import pytest

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.env import BookState, KalshiTradingEnv, build_tape
from kalshi_tui.env.world import make_simulator

SIDES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
TS = 1765900000000


def _tape(complement, layout, books):
    states = [BookState(TS + 1000 * i, i, dict(yes), dict(no)) for i, (yes, no) in enumerate(books)]
    return build_tape(1, "SPEC", states, obs_layout=layout, complement=complement)


SPEC_BOOK = ({40: 100, 39: 50}, {58: 100, 57: 50})


def run(rules, complement, layout, sizes, actions, books=None):
    books = books or [SPEC_BOOK] * len(actions)
    sim = make_simulator([_tape(complement, layout, books)], ActionLayout(SIDES, sizes),
                         fill_model="original-training", training_rules=rules)
    rewards, obs = [], None
    for action in actions:
        obs, reward, _ = sim.step([action])
        rewards.append(float(reward[0]))
    return sim, rewards, obs


def test_1211_sell_to_open_earns_995_then_loses_the_mark_at_the_end():
    sim, rewards, obs = run("2025-12-11", 99, "A", (10,), [2, 0])
    # sold 10 YES at 40 without holding any: +4 $ cash, 10 NO marked at 100 - 40.5
    assert rewards == [995.0, -595.0]
    assert sim.all_done and sim.row_info(0)["pnl"] == 400  # +q.YB per sale stays
    assert sim.row_info(0)["unheld_sells"] == 1
    assert (obs[0] == 0).all()  # the terminal observation is 52 zeros


def test_1215_sell_yes_5_earns_495_a_step():
    _, rewards, _ = run("2025-12-15", 99, "A", (5, 10, 20, 50, 100), [6, 6, 6])
    assert rewards[:2] == [495.0, 495.0]


def test_1215_buy_no_earns_about_nothing_and_fills_at_99_minus_bid():
    sim, rewards, _ = run("2025-12-15", 99, "A", (5, 10, 20, 50, 100), [11, 0, 0])
    assert sim.row_info(0)["cost_basis"] == 5 * 59 and abs(rewards[0]) <= 5


def test_1217_first_reward_is_zero_then_scaled_value_change_minus_penalties():
    sim, rewards, _ = run("2025-12-17", 100, "B", (20,), [2, 2, 2, 0])
    assert rewards[0] == 0
    # 0.001 x (800 + 20 x 58 - 1 truncated cent) - 0.001 x (0.007.20.40 + (20/150)^2.40.0.01 +
    # 0.5.2.20)
    penalty = 0.007 * 20 * 40 + (20 / 150) ** 2 * 40 * 0.01 + 0.5 * 2 * 20
    assert rewards[1] == pytest.approx(0.001 * 1959 - 0.001 * penalty, abs=2e-3)
    assert sim.row_info(0)["position"] == -60


def test_1217_buy_no_never_fills_but_pays_the_penalty():
    sim, rewards, _ = run("2025-12-17", 100, "B", (20,), [3, 3, 0])
    assert sim.row_info(0)["fill_count"] == 0 and sim.row_info(0)["cash"] == 10000
    assert rewards[1] < 0


def test_1217_twenty_fill_at_the_rounded_vwap_even_when_depth_is_short():
    thin = ({40: 5, 39: 50}, {58: 100})
    sim, _, _ = run("2025-12-17", 100, "B", (20,), [2, 0], books=[thin, thin])
    # walks 5 at 40 and 15 at 39 (limit is the best bid 40 for SELL_YES: only 40 is within)
    assert sim.row_info(0)["position"] == -20 and sim.row_info(0)["cost_basis"] == 20 * 40


def test_one_sided_book_counts_positions_zero():
    one_sided = ({40: 100}, {})
    sim, rewards, _ = run("2025-12-15", 99, "A", (5, 10, 20, 50, 100), [1, 0, 0, 0],
                          books=[SPEC_BOOK, SPEC_BOOK, SPEC_BOOK, one_sided])
    # bought 5 YES at 41: marked at the bid 40 on the two-sided book, at 0 on the one-sided
    assert rewards == [-5, 0, -200, 0]


def test_gym_env_runs_the_original_world(tmp_path):
    tape = _tape(100, "B", [SPEC_BOOK] * 5)
    env = KalshiTradingEnv([tape], ActionLayout(SIDES, (20,)), fill_model="original-training",
                           training_rules="2025-12-17")
    obs, _ = env.reset()
    assert obs.shape == (52,) and obs.dtype == np.float32 and obs[36] == 1.0
    steps = 0
    terminated = False
    while not terminated:
        obs, _, terminated, _, info = env.step(2)
        steps += 1
    assert steps == 5  # N points give N steps in the original


def test_original_training_needs_rules():
    with pytest.raises(ValueError, match="training rules"):
        make_simulator([_tape(99, "A", [SPEC_BOOK] * 2)], ActionLayout(SIDES, (10,)),
                       fill_model="original-training")


def test_original_training_env_passes_sb3s_env_checker():
    from stable_baselines3.common.env_checker import check_env

    tape = _tape(100, "B", [SPEC_BOOK, ({41: 30}, {57: 20}), SPEC_BOOK, ({}, {58: 5})])
    env = KalshiTradingEnv([tape], ActionLayout(SIDES, (20,)), fill_model="original-training",
                           training_rules="2025-12-17", seed=0)
    check_env(env)
