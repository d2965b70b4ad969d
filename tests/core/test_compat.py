"""Verdicts, reasons, warnings and badges on real zips against the configured environment."""

from __future__ import annotations

import re
import zipfile

import pytest
from model_factory import edit_data, plant_malicious_field, rewrite_member

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.config import load_config
from kalshi_tui.core.evidence.compat import badge, is_suspicious_global, judge
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNREADABLE


@pytest.fixture
def config(tmp_path):
    (tmp_path / "models").mkdir()
    cfg = tmp_path / "kalshi_tui.toml"
    cfg.write_text("[paths]\nmodels_dir = \"models\"\n")
    return load_config(cfg)


EXPECTED = {  # zoo name -> (verdict, reasons, badge)
    "ppo21": (COMPATIBLE, (), "OK"),
    "a2c21": (COMPATIBLE, (), "OK"),
    "dqn21": (COMPATIBLE, (), "OK"),
    "ppo5": (INCOMPATIBLE, ("legacy 5-action model (environment has 21)",), "LEGACY 5-ACT"),
    "dqn5": (INCOMPATIBLE, ("legacy 5-action model (environment has 21)",), "LEGACY 5-ACT"),
    "ppo21_obs54": (INCOMPATIBLE, ("observation has 54 features, environment 52",), "OBS 54"),
    "ppo_multidiscrete": (
        INCOMPATIBLE, ("action space is MultiDiscrete, environment Discrete(21)",), "MULTIDISCRETE"
    ),
    "ppo_box": (INCOMPATIBLE, ("action space is Box, environment Discrete(21)",), "BOX"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zoo_verdicts(model_zoo, config, name):
    record = inspect_model(model_zoo[name], config)
    verdict, reasons, shown = EXPECTED[name]
    assert (record.verdict, record.reasons, badge(record, config.environment)) == (
        verdict,
        reasons,
        shown,
    )
    assert record.warnings == ()


def test_21_action_metadata_with_5_action_weights(model_zoo, config, tmp_path):
    """The 5-action model's weights under 21-action metadata: the weights tell the truth."""
    def claim_21(data):
        data["action_space"]["n"] = "21"

    lying = edit_data(model_zoo["ppo5"], tmp_path / "lying.zip", claim_21)
    record = inspect_model(lying, config)
    assert record.verdict == INCOMPATIBLE
    assert record.reasons == ("weights have 5 action outputs but metadata says 21",)
    assert badge(record, config.environment) == "BAD WEIGHTS"


def test_obs_metadata_that_contradicts_the_weights(model_zoo, config, tmp_path):
    def claim_52(data):
        data["observation_space"]["_shape"] = [52]

    record = inspect_model(
        edit_data(model_zoo["ppo21_obs54"], tmp_path / "o.zip", claim_52), config
    )
    assert record.reasons == ("weights take 54 observation inputs but metadata says 52",)


def test_bounds_that_differ_warn_but_do_not_block(model_zoo, config, tmp_path):
    def widen(data):
        data["observation_space"]["low"] = "[" + " ".join(["-5."] * 52) + "]"

    record = inspect_model(edit_data(model_zoo["ppo21"], tmp_path / "b.zip", widen), config)
    assert record.verdict == COMPATIBLE
    assert record.warnings == ("observation low bound -5 differs from the configured -2",)


def test_sb3_major_version_differs_warns(model_zoo, config, tmp_path):
    with zipfile.ZipFile(model_zoo["ppo21"]) as zf:
        text = zf.read("system_info.txt").decode()
    old_info = re.sub(r"Stable-Baselines3: \S+", "Stable-Baselines3: 1.8.0", text).encode()
    older = rewrite_member(model_zoo["ppo21"], tmp_path / "o1.zip", "system_info.txt", old_info)
    older = rewrite_member(older, tmp_path / "o2.zip", "_stable_baselines3_version", b"1.8.0")
    record = inspect_model(older, config)
    assert record.verdict == COMPATIBLE and record.versions["sb3"] == "1.8.0"
    assert len(record.warnings) == 1 and "saved with SB3 1.8.0" in record.warnings[0]
    assert "major version differs" in record.warnings[0]


def test_suspicious_pickle_global_warns_and_never_runs(model_zoo, config, tmp_path):
    canary = tmp_path / "canary"
    bad = plant_malicious_field(model_zoo["ppo21"], tmp_path / "m.zip", canary, field="lr_schedule")
    record = inspect_model(bad, config)
    # The spaces fit, but the trader's PPO.load would run it: UNSAFE, the reason first.
    assert record.verdict == "unsafe"
    assert record.reasons == ("UNSAFE data/lr_schedule: calls builtins.eval: the trader's PPO.load "
                              "would unpickle it",)
    assert record.warnings == ("suspicious pickle globals (listed, never run): builtins.eval",)
    assert not canary.exists()


def test_suspicious_global_allowlist():
    for harmless in ("stable_baselines3.common.policies.ActorCriticPolicy", "numpy.dtype",
                     "collections.OrderedDict", "gymnasium.spaces.box.Box", "builtins.getattr"):
        assert not is_suspicious_global(harmless), harmless
    for bad in ("os.system", "posix.system", "nt.system", "subprocess.Popen", "builtins.eval",
                "builtins.exec", "socket.socket", "torch.hub.load", "<malformed pickle>"):
        assert is_suspicious_global(bad), bad


def test_changed_environment_rejudges(model_zoo, tmp_path):
    (tmp_path / "models").mkdir()
    cfg = tmp_path / "five.toml"
    cfg.write_text(
        '[paths]\nmodels_dir = "models"\n[environment]\nposition_sizes = [10]\n'
        "n_actions = 5\nlegacy_position_sizes = [5, 10, 20, 50, 100]\nlegacy_n_actions = 21\n"
    )
    five = load_config(cfg)
    record = inspect_model(model_zoo["ppo5"], five)
    assert record.verdict == COMPATIBLE
    judge(record, load_config(None, models_dir=tmp_path / "models").environment)
    assert record.reasons == ("legacy 5-action model (environment has 21)",)


def test_unreadable_keeps_its_reason(config, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 cut")
    record = inspect_model(junk, config)
    judge(record, config.environment)
    assert (record.verdict, record.reasons, badge(record, config.environment)) == \
        (UNREADABLE, ("truncated zip",), "UNREADABLE")


def test_installed_sb3_version_read_without_importing_it():
    from importlib import metadata

    from kalshi_tui.core.evidence.compat import installed_sb3_version

    assert installed_sb3_version() == metadata.version("stable-baselines3")


def test_alike_records_share_a_verdict_but_not_its_dates_and_nobody_can_change_it(
    model_zoo, tmp_path
):
    """The verdict memo is keyed by every fact a reason quotes: two checkpoints alike but for
    their training date each get their own date in the reason. Alike records share the
    memo's reasons, which are immutable: no caller can change another record's."""
    (tmp_path / "models").mkdir()
    cfg = tmp_path / "b.toml"
    cfg.write_text('[paths]\nmodels_dir = "models"\n'
                   '[environment]\nprofile = "kalshiflow-2025-12-17"\n')
    env = load_config(cfg).environment
    assert env.observation_layout == "B"
    first = inspect_model(model_zoo["ppo5"], load_config(cfg))
    second = inspect_model(model_zoo["ppo5"], load_config(cfg))
    for record, when in ((first, "2025-12-11T09:00:00"), (second, "2025-12-12T09:00:00")):
        record.obs_layout, record.trained_at = None, when
        judge(record, env)
    assert first.verdict == second.verdict == INCOMPATIBLE
    assert "trained 2025-12-11, before layout B" in first.reasons[0]
    assert "trained 2025-12-12, before layout B" in second.reasons[0]
    third = inspect_model(model_zoo["ppo5"], load_config(cfg))
    third.obs_layout, third.trained_at = None, "2025-12-11T09:00:00"
    judge(third, env)
    assert third.reasons == first.reasons and type(third.reasons) is tuple
    with pytest.raises(AttributeError):
        first.reasons.append("changed by a caller")  # type: ignore[attr-defined]
    first.reasons += ("changed by a caller",)  # a new tuple for `first` only
    first.warnings += ("changed by a caller",)
    judge(third, env)
    assert "changed by a caller" not in third.reasons + third.warnings
