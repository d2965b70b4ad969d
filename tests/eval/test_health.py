"""Policy health on real SB3 models: a collapsed policy, a healthy one, the rule, the storage."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from eval_helpers import collapsed_but_sampling_widely, healthy_policy, write_config
from model_factory import copy_model, plant_malicious_field

from kalshi_tui.cli import main
from kalshi_tui.eval.batched import ModelChanged, ValidationCancelled
from kalshi_tui.eval.health import check_health
from kalshi_tui.eval.health_result import (
    COLLAPSED,
    HEALTHY,
    NARROW,
    NOISE,
    RECORDED,
    UNIFORM,
    ZERO,
    HealthResult,
    SourceHealth,
    judge,
)
from kalshi_tui.eval.health_store import load_health
from kalshi_tui.eval.results_cache import cache_folders

SELL_YES_X100 = 10


@pytest.fixture(scope="module")
def sick_and_well(model_zoo, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("health_models")
    return {
        "collapsed": collapsed_but_sampling_widely(model_zoo["ppo21"], folder / "collapsed.zip",
                                                   SELL_YES_X100),
        "healthy": healthy_policy(model_zoo["ppo21"], folder / "healthy.zip"),
    }


def nothing_stored(config) -> bool:
    return not any(folder.exists() and any(folder.iterdir())
                   for folder in cache_folders(config.cache_dir, "health"))


def test_a_collapsed_policy_is_collapsed_although_sampling_looks_varied(
    sick_and_well, small_config
):
    result = check_health(sick_and_well["collapsed"], small_config, [1, 2, 3])
    recorded = result.source(RECORDED)
    assert result.state == COLLAPSED
    assert result.state_line == (
        f"COLLAPSED: SELL_YES x100 on 100.0 % of {recorded.observations:,} "
        "recorded steps (deterministic, as the trader predicts)"
    )
    assert recorded.observations > 500
    assert recorded.distinct(True) == 1 and recorded.top(True) == (SELL_YES_X100, 1.0)
    # The trap: a sampled histogram uses every action, the trader's argmax only one.
    assert recorded.distinct(False) == 21 and recorded.top(False)[1] < 0.3
    assert recorded.mean_top_probability == pytest.approx(
        2.718281828 / (2.718281828 + 20), rel=1e-4
    )
    assert recorded.wide_margin_share == 0.0  # a margin of 1 nat, never 2
    assert recorded.mean_entropy_normalised > 0.9
    for name, count in ((UNIFORM, 4000), (NOISE, 4000), (ZERO, 1)):
        probe = result.source(name)
        assert probe.observations == count and probe.top(True) == (SELL_YES_X100, 1.0)
    text = "\n".join(result.summary_lines() + result.histogram_lines())
    assert "SELL_YES x100" in text and "stochastic" in text and "deterministic" in text
    assert sum(result.source(UNIFORM).stochastic_histogram) == 4000


def test_a_healthy_policy_plays_many_actions(sick_and_well, small_config):
    result = check_health(sick_and_well["healthy"], small_config, [1, 2, 3])
    recorded = result.source(RECORDED)
    top, share = recorded.top(True)
    assert result.state == HEALTHY and share < 0.8 and recorded.distinct(True) > 2
    assert result.state_line.startswith(f"HEALTHY: {recorded.distinct(True)} distinct actions, "
                                        f"the most played {result.action_labels[top]}")
    assert sum(recorded.deterministic_histogram) == recorded.observations
    assert result.source(UNIFORM).distinct(True) > 5


def test_the_trader_mode_is_config_and_named(sick_and_well, tmp_path, small_store, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    config = write_config(tmp_path / "site", small_store, sessions="1-3")
    text = config.file.read_text() + "[trader]\ndeterministic = false\n"
    config.file.write_text(text)
    from kalshi_tui.core.config import load_config

    config = load_config(config.file)
    result = check_health(sick_and_well["collapsed"], config, [1, 2, 3])
    # Sampling, as this trader would, spreads the orders: not collapsed in its mode.
    assert result.state == HEALTHY and result.deterministic is False
    assert result.state_line.endswith("(stochastic, as the trader samples)")


def test_stored_by_model_environment_and_sessions(sick_and_well, small_config, tmp_path):
    model = copy_model(sick_and_well["collapsed"], tmp_path / "c.zip")
    stored = []
    result = check_health(
        model, small_config, [1, 2, 3], on_stored=lambda f, why: stored.append((f, why))
    )
    (file, why), = stored
    assert (
        why is None
        and file == cache_folders(small_config.cache_dir, "health")[0] / f"{result.sha256}.json"
    )
    assert sorted(p.name for p in file.parent.iterdir()) == [file.name]  # no lock or temp left
    again = load_health(result.sha256, small_config, [1, 2, 3])
    assert again is not None and again.state == COLLAPSED and again.to_dict() == result.to_dict()
    assert load_health(result.sha256, small_config) is not None  # the config's sessions: 1-3
    assert load_health(result.sha256, small_config, [1, 2]) is None
    other_share = small_config.__class__(**{**small_config.__dict__, "health_collapse_share": 0.9})
    assert load_health(result.sha256, other_share, [1, 2, 3]) is None
    assert load_health("0" * 64, small_config, [1, 2, 3]) is None
    payload = json.loads(file.read_text())
    assert payload["sha256"] == result.sha256 and len(payload["results"]) == 1


def test_cancel_and_a_changing_model_store_nothing(sick_and_well, small_config, tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ValidationCancelled, match="health check cancelled; nothing stored"):
        check_health(sick_and_well["healthy"], small_config, [1, 2, 3], cancel=cancel)
    model = copy_model(sick_and_well["healthy"], tmp_path / "moving.zip")

    class ChangeOnce(threading.Event):
        def is_set(self) -> bool:
            if model.read_bytes() == sick_and_well["healthy"].read_bytes():
                copy_model(sick_and_well["collapsed"], model)
            return False

    with pytest.raises(
        ModelChanged, match="moving.zip: the model file changed during the health check"
    ):
        check_health(model, small_config, [1, 2, 3], cancel=ChangeOnce())
    assert nothing_stored(small_config)


def _source(hist: list[int]) -> SourceHealth:
    return SourceHealth(RECORDED, sum(hist), hist, hist, 0.5, 0.5, 0.0)


LABELS = ["HOLD", "BUY_YES x10", "SELL_YES x10", "BUY_NO x10", "SELL_NO x10"]


@pytest.mark.parametrize("hist, share, state, line", [
    ([0, 0, 100, 0, 0], 0.95, COLLAPSED,
     "COLLAPSED: SELL_YES x10 on 100.0 % of 100 recorded steps"),
    ([5, 0, 95, 0, 0], 0.95, COLLAPSED, "COLLAPSED: SELL_YES x10 on 95.0 %"),
    ([6, 0, 94, 0, 0], 0.95, NARROW, "NARROW: 2 distinct actions, SELL_YES x10 on 94.0 %"),
    ([6, 0, 94, 0, 0], 0.9, COLLAPSED, "COLLAPSED: SELL_YES x10 on 94.0 %"),
    ([10, 5, 5, 80, 0], 0.95, NARROW, "NARROW: 4 distinct actions, BUY_NO x10 on 80.0 %"),
    ([50, 50, 0, 0, 0], 0.95, NARROW, "NARROW: 2 distinct actions, HOLD on 50.0 %"),
    ([40, 30, 30, 0, 0], 0.95, HEALTHY,
     "HEALTHY: 3 distinct actions, the most played HOLD on 40.0 %"),
])
def test_the_rule(hist, share, state, line):
    result = HealthResult("m.zip", "a" * 64, "PPO", 5, [1], True, "env", "store", "p", "A",
                          "realistic", "db", LABELS, share, [_source(hist)], 0, 0.1, "t")
    assert judge(result)[0] == state == result.state
    assert result.state_line.startswith(line)
    assert result.state_line.endswith("(deterministic, as the trader predicts)")


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_health_json_show_and_status_alarm(capsys, sick_and_well, small_config):
    folder = small_config.models_dir
    model = copy_model(sick_and_well["collapsed"], folder / "sick.zip")
    cfg = str(small_config.file)
    code, out, err = run(capsys, "health", str(model), "--config", cfg, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["state"] == COLLAPSED and payload["stored_at"]
    assert payload["sources"][0]["source"] == RECORDED
    code, out, _ = run(capsys, "health", "sick.zip", "--config", cfg, "--reuse")
    assert code == 0 and "stored result" in out and "COLLAPSED: SELL_YES x100 on 100.0 %" in out
    assert "SELL_YES x100" in out and "deterministic" in out
    code, out, _ = run(capsys, "show", "sick.zip", "--config", cfg)
    assert code == 0 and "health (stored" in out and "COLLAPSED: SELL_YES x100" in out
    code, out, err = run(
        capsys, "promote", "sick.zip", "--reason", "test", "--yes", "--config", cfg
    )
    assert code == 0, err
    code, out, _ = run(capsys, "status", "--config", cfg)
    assert code == 6
    assert "ALARM: current model is COLLAPSED: SELL_YES x100 on 100.0 %" in out


def test_cli_refusals_are_one_line_and_store_nothing(capsys, model_zoo, small_config, tmp_path):
    cfg = str(small_config.file)
    code, out, err = run(capsys, "health", str(model_zoo["ppo5"]), "--config", cfg)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "UNUSABLE" in err
    code, _, err = run(
        capsys, "health", str(model_zoo["ppo21"]), "--sessions", "9", "--config", cfg
    )
    assert code == 1 and "session 9 is not in the store" in err
    canary = tmp_path / "canary"
    evil = plant_malicious_field(model_zoo["ppo21"], tmp_path / "evil.zip", canary)
    code, _, err = run(capsys, "health", str(evil), "--config", cfg)
    assert code == 1 and len(err.strip().splitlines()) == 1 and not canary.exists()
    assert nothing_stored(small_config)
