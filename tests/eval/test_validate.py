"""Batched validation counts what a step-by-step run counts, and its figures are the hand-worked
ones."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import always_action, write_config, write_hand_built_store
from model_factory import copy_model

from kalshi_tui.env import KalshiTradingEnv, SessionStore, load_tapes
from kalshi_tui.eval.batched import (
    ModelChanged,
    ValidationCancelled,
    ValidationError,
    validate_model,
)
from kalshi_tui.eval.model_fit import IncompatibleModel, file_sha256
from kalshi_tui.eval.results_cache import cache_folders, load_validation
from kalshi_tui.eval.safe_load import PolicyRefused


def step_by_step(model_path: Path, config, session_ids):
    """The SB3 user's way: PPO.load, one market at a time in the gym env, predict per step."""
    from stable_baselines3 import PPO

    model = PPO.load(model_path, device="cpu")
    with SessionStore(config.sessions_db) as store:
        tapes, _ = load_tapes(store, session_ids)
    env = KalshiTradingEnv(tapes, config.environment.layout)
    histogram = np.zeros(env.action_space.n, np.int64)
    pnls, fills, fees, traded = [], 0, 0.0, []
    for index in range(len(tapes)):
        obs, _ = env.reset(options={"market_index": index})
        terminated = False
        while not terminated:
            action, _ = model.predict(obs, deterministic=True)
            histogram[int(action)] += 1
            obs, _reward, terminated, _truncated, info = env.step(int(action))
        pnls.append(info["episode_pnl"])
        fills += info["fill_count"]
        traded.append(info["fill_count"] > 0)
        fees += info["fees"]
    return histogram, np.array(pnls), fills, fees, np.array(traded)


def test_histogram_equals_a_step_by_step_recount(model_zoo, small_config):
    result = validate_model(model_zoo["ppo21"], small_config, [1, 2, 3])
    histogram, pnls, fills, fees, traded = step_by_step(model_zoo["ppo21"], small_config, [1, 2, 3])
    assert result.histogram == histogram.tolist()
    assert np.count_nonzero(histogram) > 1
    assert result.steps == histogram.sum() > 100
    assert result.episodes == len(pnls) == 9
    assert result.total_pnl_cents == pytest.approx(pnls.sum())
    # win rate over the episodes that traded; trading % = orders filled, attempted % beside it
    assert traded.any() and result.episodes_traded == traded.sum()
    assert result.win_rate == pytest.approx((pnls[traded] > 0).mean())
    assert result.fills == fills and result.fees_cents == pytest.approx(fees)
    assert result.action_labels[0] == "HOLD" and result.action_labels[20] == "SELL_NO x100"
    assert result.orders_attempted == histogram[1:].sum()
    assert result.hold_pct + result.attempted_pct == pytest.approx(100.0)
    assert result.trading_pct == pytest.approx(100.0 * fills / histogram.sum())
    assert sum(result.unfilled_by_cause.values()) == result.orders_attempted - result.fills
    assert sorted(result.market_pnl_cents) == pytest.approx(sorted(pnls.tolist()))
    assert 0 < result.histogram_entropy < 1
    assert 0 < result.mean_policy_entropy_normalised <= 1


def test_figures_on_a_hand_built_session_equal_the_worked_ones(model_zoo, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    store = write_hand_built_store(tmp_path / "hand.db")
    config = write_config(tmp_path / "site", store)
    model = always_action(model_zoo["ppo21"], tmp_path / "buy_yes_x10.zip", action=2)
    result = validate_model(model, config, [1])
    # UP: buy 10 at 44 (fee ceil(0.07*10*44*56/100) = 18) -> cash 9542, marked 32: 9862;
    #     buy 10 at 34 (fee ceil(15.708) = 16) -> cash 9186, 20 marked 62: 10426, P&L +426,
    #     drawdown 10000 - 9862 = 138.
    # DOWN: buy 10 at 44 (fee 18) -> cash 9542, 10 marked 22: 9762, P&L -238, drawdown 238.
    assert result.histogram == [0, 0, 3] + [0] * 18
    assert result.action_labels[2] == "BUY_YES x10"
    assert (result.steps, result.episodes, result.markets) == (3, 2, 2)
    assert (result.hold_pct, result.trading_pct, result.histogram_entropy) == (0.0, 100.0, 0.0)
    assert result.total_pnl_cents == pytest.approx(426 - 238)
    assert result.mean_pnl_cents == pytest.approx(94.0)
    assert result.win_rate == pytest.approx(0.5)
    assert result.max_drawdown_cents == pytest.approx(238.0)
    assert result.fills == 3
    assert result.fees_cents == pytest.approx(18 + 16 + 18)
    assert result.mean_policy_entropy < 1e-6  # the edited policy is certain


def test_stochastic_runs_are_seeded(model_zoo, small_config):
    first = validate_model(model_zoo["ppo21"], small_config, [1], deterministic=False, seed=5)
    again = validate_model(model_zoo["ppo21"], small_config, [1], deterministic=False, seed=5)
    other = validate_model(model_zoo["ppo21"], small_config, [1], deterministic=False, seed=6)
    greedy = validate_model(model_zoo["ppo21"], small_config, [1], deterministic=True)
    assert first.histogram == again.histogram
    assert first.histogram != other.histogram
    assert first.histogram != greedy.histogram
    assert first.histogram_entropy > greedy.histogram_entropy  # sampling spreads the actions
    assert first.seed == 5 and greedy.seed is None


def nothing_stored(config) -> bool:
    return not any(folder.exists() and any(folder.glob("*.json"))
                   for folder in cache_folders(config.cache_dir))


def test_legacy_model_is_refused_and_nothing_is_stored(model_zoo, small_config):
    with pytest.raises(IncompatibleModel, match="UNUSABLE: legacy 5-action model in the "
                                                "21-action environment: it would silently "
                                                "emit only actions 0-4"):
        validate_model(model_zoo["dqn5"], small_config, [1])
    assert nothing_stored(small_config)


def test_refused_policy_class_stores_nothing(model_zoo, small_config, tmp_path):
    from model_factory import plant_malicious_field

    canary = tmp_path / "canary"
    bad = plant_malicious_field(model_zoo["ppo21"], tmp_path / "bad.zip", canary)
    with pytest.raises(PolicyRefused):
        validate_model(bad, small_config, [1])
    assert not canary.exists() and nothing_stored(small_config)


def test_unknown_and_empty_sessions_are_errors_naming_them(model_zoo, tmp_path, small_config):
    with pytest.raises(ValidationError, match="no session 9 in the store"):
        validate_model(model_zoo["ppo21"], small_config, [1, 9])
    store = write_hand_built_store(tmp_path / "hand.db")
    config = write_config(tmp_path / "hand", store)
    with pytest.raises(ValidationError, match="session 2 has no market that can be replayed"):
        validate_model(model_zoo["ppo21"], config, [1, 2])
    assert nothing_stored(small_config) and nothing_stored(config)


def test_a_model_changed_mid_run_is_an_error_and_nothing_is_stored(
    model_zoo, small_config, tmp_path
):
    model = copy_model(model_zoo["ppo21"], tmp_path / "moving.zip")

    def overwrite_once(done, total):
        if done < total and not overwrite_once.done:
            copy_model(model_zoo["a2c21"], model)  # another training run saves over it
            overwrite_once.done = True
    overwrite_once.done = False

    with pytest.raises(ModelChanged, match="moving.zip: the model file changed during validation"):
        validate_model(model, small_config, [1, 2, 3], progress=overwrite_once)
    assert overwrite_once.done and nothing_stored(small_config)


def test_cancel_raises_and_stores_nothing(model_zoo, small_config):
    cancel = threading.Event()
    calls = []

    def cancel_after_first_report(done, total):
        calls.append(done)
        cancel.set()

    with pytest.raises(ValidationCancelled):
        validate_model(
            model_zoo["ppo21"],
            small_config,
            [1, 2, 3],
            progress=cancel_after_first_report,
            cancel=cancel,
        )
    assert len(calls) == 1 and nothing_stored(small_config)


def test_progress_reaches_the_total(model_zoo, small_config):
    seen = []
    result = validate_model(
        model_zoo["ppo21"], small_config, [1], progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (result.steps, result.steps)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_finished_result_is_stored_and_found(model_zoo, small_config):
    stored = []
    result = validate_model(model_zoo["ppo21"], small_config, [1, 2],
                            on_stored=lambda file, why: stored.append((file, why)))
    assert stored[0][1] is None and stored[0][0].parent == small_config.cache_dir / "validation"
    found = load_validation(
        model_zoo["ppo21"], file_sha256(model_zoo["ppo21"]), small_config, [2, 1]
    )
    assert found is not None and found.to_dict() == result.to_dict()


def test_grouping_markets_into_small_batches_changes_no_figure(model_zoo, small_config):
    from kalshi_tui.eval.batched import market_batches
    from kalshi_tui.eval.session_replay import load_session_tapes

    whole = validate_model(model_zoo["ppo21"], small_config, [1, 2, 3], store_result=False)
    tapes, _ = load_session_tapes(small_config, [1, 2, 3])
    budget = 2 * max(t.length for t in tapes)  # at most two markets a batch
    groups = market_batches(tapes, budget)
    assert len(groups) >= 3 and sorted(t.length for g in groups for t in g) == sorted(
        t.length for t in tapes
    )
    assert all(len(g) * max(t.length for t in g) <= budget for g in groups)
    split = validate_model(model_zoo["ppo21"], small_config, [1, 2, 3], store_result=False,
                           budget_steps=budget)
    for name in ("histogram", "steps", "episodes", "markets", "win_rate", "fills",
                 "max_drawdown_cents"):
        assert getattr(split, name) == getattr(whole, name), name
    for name in ("total_pnl_cents", "fees_cents", "mean_policy_entropy"):
        assert getattr(split, name) == pytest.approx(getattr(whole, name)), name


def test_histogram_entropy_is_normalised_by_ln_n():
    from kalshi_tui.eval.batched import entropy_normalised

    assert entropy_normalised([1, 1, 0, 0, 0], 5) == pytest.approx(np.log(2) / np.log(5))
    assert entropy_normalised([7] + [0] * 20, 21) == 0.0
    assert entropy_normalised([3] * 21, 21) == pytest.approx(1.0)
    assert entropy_normalised([0] * 21, 21) == 0.0


def step_by_step_in(model_path: Path, config, session_ids):
    """PPO.load in the gym env of the config's world (layout, complement, fill model)."""
    from stable_baselines3 import PPO

    from kalshi_tui.env.world import tape_options

    env_spec = config.environment
    model = PPO.load(model_path, device="cpu")
    with SessionStore(config.sessions_db) as store:
        tapes, _ = load_tapes(store, session_ids, **tape_options(env_spec))
    env = KalshiTradingEnv(tapes, env_spec.layout, fill_model=env_spec.fill_model,
                           training_rules=env_spec.profile.training_rules)
    pnls, histogram = [], np.zeros(env.action_space.n, np.int64)
    for index in range(len(tapes)):
        obs, _ = env.reset(options={"market_index": index})
        terminated = False
        while not terminated:
            action, _ = model.predict(obs, deterministic=True)
            histogram[int(action)] += 1
            obs, _reward, terminated, _truncated, info = env.step(int(action))
        pnls.append(info["episode_pnl"])
    return histogram, np.array(pnls)


@pytest.mark.parametrize("profile", ["kalshiflow-2025-12-15", "kalshiflow-2025-12-17"])
def test_original_training_world_matches_the_gym_env_and_names_itself(
    model_zoo, tmp_path, small_store, monkeypatch, profile
):
    from eval_helpers import write_config

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    config_text = ['[paths]', f'sessions_db = "{small_store}"', 'cache_dir = "cache"',
                   'models_dir = "models"', '[environment]', f'profile = "{profile}"',
                   'fill_model = "original-training"']
    if profile.endswith("17"):
        config_text.append("position_sizes = [5, 10, 20, 50, 100]")  # explicit key over the profile
    site = tmp_path / "site"
    (site / "models").mkdir(parents=True)
    (site / "kalshi_tui.toml").write_text("\n".join(config_text) + "\n")
    from kalshi_tui.core.config import load_config

    config = load_config(site / "kalshi_tui.toml")
    result = validate_model(model_zoo["ppo21"], config, [1, 2])
    histogram, pnls = step_by_step_in(model_zoo["ppo21"], config, [1, 2])
    assert result.histogram == histogram.tolist()
    assert result.total_pnl_cents == pytest.approx(pnls.sum())
    assert (result.profile, result.fill_model) == (profile, "original-training")
    assert result.observation_layout == ("B" if profile.endswith("17") else "A")
    assert result.session_source == str(small_store.resolve())
    assert any(line.startswith("world") and profile in line for line in result.summary_lines())
    assert result.unheld_sells >= 0
    # the realistic world's stored result is a different entry: neither is reused for the other
    realistic = write_config(tmp_path / "site2", small_store, environment={"profile": profile})
    assert load_validation(model_zoo["ppo21"], result.sha256, realistic, [1, 2]) is None
    assert load_validation(model_zoo["ppo21"], result.sha256, config, [1, 2]) is not None
