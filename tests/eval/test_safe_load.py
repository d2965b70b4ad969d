"""Safe loading gives what `PPO.load` gives, and refuses what it cannot build, without running
pickles."""

from __future__ import annotations

import base64
import io
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from model_factory import (
    _CreatesFile,
    edit_data,
    plant_malicious_field,
    rewrite_member,
    to_old_sb3_encoding,
)

from kalshi_tui.eval.safe_load import PolicyLoadError, PolicyRefused, load_policy_safely

ALGORITHM_OF = {"ppo21": "PPO", "ppo5": "PPO", "a2c21": "A2C", "dqn21": "DQN", "dqn5": "DQN"}


def sb3_load(path: Path, algorithm: str):
    """The model as SB3 users load it: unpickling, trusted."""
    import stable_baselines3

    return getattr(stable_baselines3, algorithm).load(path, device="cpu")


def thousand_observations(obs_dim: int = 52) -> np.ndarray:
    # Spread wider than the env's [-2, 2] so many different actions are chosen.
    return np.random.default_rng(7).uniform(-3, 3, (1000, obs_dim)).astype(np.float32)


def assert_same_as_sb3(safe, sb3_model, obs: np.ndarray) -> None:
    import torch

    ours = safe.predict(obs, deterministic=True)
    theirs, _ = sb3_model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours)) > 1, "a policy that plays one action proves little"
    with torch.no_grad():
        tensor = torch.as_tensor(obs)
        if safe.algorithm == "DQN":
            q_theirs = sb3_model.q_net(tensor).numpy()
            np.testing.assert_array_equal(safe.q_values(obs), q_theirs)
            np.testing.assert_array_equal(ours, q_theirs.argmax(axis=1))
        else:
            p_theirs = sb3_model.policy.get_distribution(tensor).distribution.probs.numpy()
            np.testing.assert_array_equal(
                safe.action_probabilities(obs), p_theirs.astype(np.float64)
            )


@pytest.mark.parametrize("name", ["ppo21", "ppo5", "a2c21", "dqn21", "dqn5"])
def test_safe_loading_matches_sb3_load(model_zoo, name):
    safe = load_policy_safely(model_zoo[name])
    assert safe.algorithm == ALGORITHM_OF[name]
    assert safe.n_actions == int(name[-2:] if name.endswith("21") else 5)
    assert safe.obs_shape == (52,)
    assert safe.load_seconds > 0
    assert_same_as_sb3(safe, sb3_load(model_zoo[name], ALGORITHM_OF[name]), thousand_observations())


def test_old_sb3_encoding_loads_the_same(model_zoo, tmp_path):
    old = to_old_sb3_encoding(model_zoo["ppo21"], tmp_path / "old.zip")
    with zipfile.ZipFile(old) as z:
        assert "_stable_baselines3_version" not in z.namelist()
    safe = load_policy_safely(old)
    assert safe.n_actions == 21 and safe.obs_shape == (52,)
    assert_same_as_sb3(safe, sb3_load(model_zoo["ppo21"], "PPO"), thousand_observations())


def test_stochastic_probabilities_and_entropy_are_a_distribution(model_zoo):
    safe = load_policy_safely(model_zoo["ppo21"])
    obs = thousand_observations()
    probs = safe.action_probabilities(obs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    entropy = safe.entropy(obs)
    assert ((entropy > 0) & (entropy <= np.log(21) + 1e-9)).all()
    sampled = safe.predict(obs, deterministic=False, rng=np.random.default_rng(0))
    assert sampled.min() >= 0 and sampled.max() < 21
    assert not np.array_equal(sampled, safe.predict(obs))


def test_dqn_stochastic_is_epsilon_greedy_like_dqn_predict(model_zoo):
    safe = load_policy_safely(model_zoo["dqn21"])
    eps = safe.spec.exploration_rate
    assert 0 < eps < 1  # read from the readable JSON
    probs = safe.action_probabilities(thousand_observations()[:5])
    greedy = safe.predict(thousand_observations()[:5])
    np.testing.assert_allclose(probs[np.arange(5), greedy], 1 - eps + eps / 21)


def test_activation_and_separate_nets_come_from_policy_kwargs(tmp_path):
    import torch
    from model_factory import _space_env
    from stable_baselines3 import PPO

    env = _space_env(21, 52, "discrete")
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=1, device="cpu",
                policy_kwargs=dict(net_arch=dict(pi=[12, 8], vf=[6]), activation_fn=torch.nn.ReLU))
    model.learn(32)
    model.save(tmp_path / "relu.zip")
    safe = load_policy_safely(tmp_path / "relu.zip")
    assert safe.spec.policy_kwargs["activation_fn"] == "ReLU"
    assert safe.spec.policy_kwargs["net_arch"] == {"pi": [12, 8], "vf": [6]}
    assert_same_as_sb3(safe, PPO.load(tmp_path / "relu.zip", device="cpu"), thousand_observations())


def test_malicious_policy_class_is_refused_without_running_it(model_zoo, tmp_path):
    canary = tmp_path / "canary"
    bad = plant_malicious_field(model_zoo["ppo21"], tmp_path / "bad.zip", canary)
    with pytest.raises(PolicyRefused) as err:
        load_policy_safely(bad)
    assert str(err.value).startswith(f"{bad}: UNSAFE data/policy_class: calls builtins.eval")
    assert not canary.exists()


def test_malicious_field_the_loader_does_not_need_is_refused_too(model_zoo, tmp_path):
    """The loader would never unpickle lr_schedule, but the trader's PPO.load would: UNSAFE."""
    canary = tmp_path / "canary"
    bad = plant_malicious_field(
        model_zoo["ppo21"], tmp_path / "bad.zip", canary, field="lr_schedule"
    )
    with pytest.raises(PolicyRefused, match="UNSAFE data/lr_schedule: calls builtins.eval"):
        load_policy_safely(bad)
    assert not canary.exists()


def test_malicious_policy_kwargs_is_never_run(model_zoo, tmp_path):
    canary = tmp_path / "canary"
    bad = plant_malicious_field(
        model_zoo["a2c21"], tmp_path / "bad.zip", canary, field="policy_kwargs"
    )
    with pytest.raises(PolicyRefused, match="UNSAFE data/policy_kwargs"):
        load_policy_safely(bad)
    assert not canary.exists()


def test_malicious_weights_are_refused_by_weights_only(model_zoo, tmp_path):
    import torch

    canary = tmp_path / "canary"
    buffer = io.BytesIO()
    torch.save({"action_net.weight": _CreatesFile(str(canary))}, buffer)
    bad = rewrite_member(model_zoo["ppo21"], tmp_path / "bad.zip", "policy.pth", buffer.getvalue())
    with pytest.raises(
        PolicyRefused, match="UNSAFE policy.pth: .*torch.load.weights_only=True. refuses it"
    ):
        load_policy_safely(bad)
    assert not canary.exists()


def _set_policy_class(src: Path, dst: Path, cls: type) -> Path:
    def edit(data):
        data["policy_class"] = {":type:": "<class 'abc.ABCMeta'>",
                                ":serialized:": base64.b64encode(pickle.dumps(cls)).decode()}

    return edit_data(src, dst, edit)


def test_policy_class_outside_allowlist_is_refused_with_the_reason(model_zoo, tmp_path):
    from stable_baselines3.common.policies import ActorCriticCnnPolicy

    bad = _set_policy_class(model_zoo["ppo21"], tmp_path / "cnn.zip", ActorCriticCnnPolicy)
    with pytest.raises(PolicyRefused) as err:
        load_policy_safely(bad)
    assert "stable_baselines3.common.policies.ActorCriticCnnPolicy is not on the allowlist" in str(
        err.value
    )
    other = _set_policy_class(model_zoo["ppo21"], tmp_path / "dict.zip", dict)
    with pytest.raises(PolicyRefused, match="builtins.dict is not on the allowlist"):
        load_policy_safely(other)


def test_activation_outside_allowlist_is_refused(model_zoo, tmp_path):
    import torch

    def edit(data):
        kwargs = {"net_arch": [16], "activation_fn": torch.nn.Linear}
        data["policy_kwargs"] = {":type:": "<class 'dict'>", "net_arch": "[16]",
                                 "activation_fn": "<class 'torch.nn.modules.linear.Linear'>",
                                 ":serialized:": base64.b64encode(pickle.dumps(kwargs)).decode()}

    bad = edit_data(model_zoo["ppo21"], tmp_path / "act.zip", edit)
    with pytest.raises(
        PolicyRefused, match="UNSAFE data/policy_kwargs: imports torch.nn.modules.linear.Linear"
    ):
        load_policy_safely(bad)


@pytest.mark.parametrize("name,kind", [("ppo_multidiscrete", "MultiDiscrete"), ("ppo_box", "Box")])
def test_non_discrete_action_spaces_are_refused(model_zoo, name, kind):
    with pytest.raises(PolicyRefused, match=f"action space {kind} is not supported"):
        load_policy_safely(model_zoo[name])


def test_weights_that_do_not_fit_the_spaces_are_an_error(model_zoo, tmp_path):
    with zipfile.ZipFile(model_zoo["ppo5"]) as z:
        five_action_weights = z.read("policy.pth")
    bad = rewrite_member(
        model_zoo["ppo21"], tmp_path / "mixed.zip", "policy.pth", five_action_weights
    )
    with pytest.raises(PolicyLoadError, match="weights do not fit the declared spaces") as err:
        load_policy_safely(bad)
    assert "\n" not in str(err.value)


def test_damaged_and_missing_files_are_one_line_errors(model_zoo, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(PolicyLoadError, match="junk.zip: not a zip file"):
        load_policy_safely(junk)
    with pytest.raises(PolicyLoadError, match="absent.zip: file not found"):
        load_policy_safely(tmp_path / "absent.zip")
    no_weights = rewrite_member(model_zoo["ppo21"], tmp_path / "nw.zip", "policy.pth", None)
    with pytest.raises(PolicyLoadError, match="no 'policy.pth' member"):
        load_policy_safely(no_weights)
    with pytest.raises(PolicyLoadError, match="ppo21.zip: data member over 100 bytes, refused"):
        load_policy_safely(model_zoo["ppo21"], max_data_bytes=100)


def test_importing_the_loader_does_not_import_torch():
    code = ("import sys, kalshi_tui.eval.safe_load, kalshi_tui.eval.policy_runner; "
            "assert 'torch' not in sys.modules and 'stable_baselines3' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_custom_policy_class_pickled_by_value_is_refused(model_zoo, tmp_path):
    import cloudpickle
    from stable_baselines3.common.policies import ActorCriticPolicy

    class HomeMadePolicy(ActorCriticPolicy):  # defined here, so cloudpickle stores its code
        pass

    def edit(data):
        data["policy_class"] = {
            ":type:": "<class 'abc.ABCMeta'>",
            ":serialized:": base64.b64encode(cloudpickle.dumps(HomeMadePolicy)).decode(),
        }

    bad = edit_data(model_zoo["ppo21"], tmp_path / "custom.zip", edit)
    with pytest.raises(
        PolicyRefused,
        match="UNSAFE data/policy_class: calls cloudpickle.cloudpickle._make_skeleton_class",
    ):
        load_policy_safely(bad)
