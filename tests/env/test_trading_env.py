"""The gym environment: both checkers, determinism, episodes, info, and a light import."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from kalshi_tui.env import FEATURE_NAMES, KalshiTradingEnv, SessionStore, build_tape, load_tapes
from kalshi_tui.env.orderbook import BookState


@pytest.fixture
def tapes(small_store):
    tapes, skips = load_tapes(SessionStore(small_store), [5, 6])
    assert skips == [] and len(tapes) == 6
    return tapes


def test_gymnasium_check_env(tapes, layout21):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*render.*")
        check_env(KalshiTradingEnv(tapes, layout21, seed=0))


@pytest.mark.parametrize("layout_name", ["layout21", "layout5"])
def test_stable_baselines3_check_env(tapes, layout_name, request):
    from stable_baselines3.common.env_checker import check_env

    layout = request.getfixturevalue(layout_name)
    env = KalshiTradingEnv(tapes, layout, seed=0)
    check_env(env, warn=True)
    assert env.action_space.n == layout.n
    assert env.observation_space.shape == (52,) and env.observation_space.dtype == np.float32


def _rollout(env, actions_seed: int, steps: int, reset_seed: int | None):
    rng = np.random.default_rng(actions_seed)
    obs, _ = env.reset(seed=reset_seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        trace += [obs, np.array([reward]), np.array([info["portfolio_value"]])]
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs)
    return np.concatenate([np.ravel(t) for t in trace])


@pytest.mark.parametrize("order", ["cycle", "random"])
def test_deterministic_for_a_seed(tapes, layout21, order):
    def run(seed):
        return _rollout(KalshiTradingEnv(tapes, layout21, market_order=order, seed=seed),
                        actions_seed=1, steps=1200, reset_seed=None)
    assert np.array_equal(run(7), run(7))
    if order == "random":
        assert not np.array_equal(run(7), run(8))


def test_random_order_visits_markets_by_the_seed(tapes, layout21):
    env = KalshiTradingEnv(tapes, layout21, market_order="random", seed=3)
    seen = []
    for _ in range(30):
        env.reset()
        seen.append(env.tape.ticker)
    assert len(set(seen)) == 6


def test_each_reset_moves_to_the_next_market_and_episodes_span_the_stream(tapes, layout21):
    env = KalshiTradingEnv(tapes, layout21)
    for tape in tapes + tapes[:1]:
        env.reset()
        assert env.tape is tape
    env.reset(options={"market_index": 2})
    steps, terminated = 0, False
    while not terminated:
        _, _, terminated, truncated, info = env.step(0)
        steps += 1
        assert not truncated
    assert steps == tapes[2].length - 1
    assert info["episode_pnl"] == 0 and info["episode_steps"] == steps
    assert info["market"] == tapes[2].ticker and info["session_id"] == 5
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_info_reports_the_portfolio(tapes, layout21):
    env = KalshiTradingEnv(tapes, layout21)
    env.reset()
    _, _, _, _, info = env.step(layout21.encode("BUY_YES", 20))
    for key in ("portfolio_value", "cash", "positions", "fill_count", "fees", "pnl", "market"):
        assert key in info
    assert info["positions"]["yes"] == 20 and info["fill_count"] == 1 and info["fees"] > 0
    assert info["cash"] < 10_000


def test_observations_are_clean_and_clipped(tapes, layout21):
    assert len(FEATURE_NAMES) == 52 and len(set(FEATURE_NAMES)) == 52
    env = KalshiTradingEnv(tapes, layout21)
    obs, _ = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(600):
        obs, _, terminated, _, _ = env.step(int(rng.integers(21)))
        assert obs.dtype == np.float32 and np.isfinite(obs).all()
        assert obs.min() >= -2 and obs.max() <= 2
        if terminated:
            obs, _ = env.reset()
    # the market features really move over a market (not a constant vector)
    varying = (tapes[0].features.std(axis=0) > 1e-6).sum()
    assert varying >= 28


def test_nan_features_from_an_empty_book_are_cleaned(layout5):
    empty = BookState(0, 0, {}, {})
    tape = build_tape(1, "EMPTY", [empty, BookState(1, 1, {}, {}), BookState(2, 2, {40: 1}, {})])
    env = KalshiTradingEnv([tape], layout5)
    obs, _ = env.reset()
    assert np.isfinite(obs).all()
    obs, reward, *_ = env.step(layout5.encode("BUY_YES", 10))  # nothing to buy
    assert np.isfinite(obs).all() and reward == 0


def test_refuses_an_empty_market_list(layout21):
    with pytest.raises(ValueError, match="at least one market"):
        KalshiTradingEnv([], layout21)


def test_sb3_trains_on_it(tapes, layout21):
    """PPO learns a few hundred steps in a vectorised env without complaint."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: threads only fight the other tests for 2 cores
    try:
        vec = DummyVecEnv([lambda i=i: KalshiTradingEnv(tapes, layout21, seed=i,
                                                        market_order="random") for i in range(2)])
        model = PPO("MlpPolicy", vec, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
        model.learn(128)
    finally:
        torch.set_num_threads(threads)
    assert model.num_timesteps >= 128


def test_import_is_light():
    code = (
        "import sys, kalshi_tui.env, kalshi_tui.cli.session_commands; "
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_constructor_seed_seeds_the_first_reset_only(tapes, layout21):
    env = KalshiTradingEnv(tapes, layout21, seed=3)
    env.reset(seed=5)
    env.reset()  # carries on from the seeded reset; does not restart the order
    assert env.tape is tapes[1]
    by_constructor = KalshiTradingEnv(tapes, layout21, seed=3, market_order="random")
    by_reset = KalshiTradingEnv(tapes, layout21, market_order="random")
    by_reset.reset(seed=3)
    by_constructor.reset()
    for _ in range(10):
        by_constructor.reset()
        by_reset.reset()
        assert by_constructor.tape is by_reset.tape
