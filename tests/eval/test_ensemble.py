"""Ensembles of real SB3 models: the vote, the figures beside members and current, bad input."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import always_action, collapsed_but_sampling_widely, healthy_policy
from model_factory import copy_model, plant_malicious_field

from kalshi_tui.cli import main
from kalshi_tui.eval.batched import validate_model
from kalshi_tui.eval.ensemble import validate_ensemble
from kalshi_tui.eval.ensemble_result import (
    EVIDENCE_NOTE,
    MAJORITY,
    MEAN_PROB,
    stored_ensembles,
)
from kalshi_tui.eval.ensemble_vote import majority_vote
from kalshi_tui.eval.model_fit import (
    IncompatibleModel,
    ModelChanged,
    ValidationError,
    file_sha256,
)
from kalshi_tui.eval.results_cache import cache_folders, load_validation
from kalshi_tui.eval.safe_load import PolicyRefused

SESSIONS = [1, 2, 3]


@pytest.fixture(scope="module")
def voters(model_zoo, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ensemble_models")
    base = model_zoo["ppo21"]
    return {
        "buy2": always_action(base, folder / "buy2.zip", 2),
        "buy2_soft": collapsed_but_sampling_widely(base, folder / "buy2_soft.zip", 2),
        "buy3": always_action(base, folder / "buy3.zip", 3),
        "sell_nothing": always_action(base, folder / "sell_nothing.zip", 10),  # SELL_YES x100
        "buy3_soft": collapsed_but_sampling_widely(base, folder / "buy3_soft.zip", 3),
        "healthy": healthy_policy(base, folder / "healthy.zip"),
        "base": base,
    }


def stored_nothing(config) -> bool:
    return not any(folder.exists() and any(folder.iterdir())
                   for kind in ("ensemble", "validation")
                   for folder in cache_folders(config.cache_dir, kind))


@pytest.mark.parametrize("columns, expected", [
    ([[1, 1, 2]], 1),  # 2 of 3
    ([[4, 5, 6]], 0),  # three-way tie: HOLD
    ([[4, 4, 6, 6]], 0),  # two-way tie at the top: HOLD
    ([[7, 7, 7]], 7),
    ([[3, 3, 0, 0, 5]], 0),  # HOLD ties with 3: HOLD
    ([[9, 9, 9, 2, 2]], 9),
])
def test_majority_vote_and_its_tie_rule(columns, expected):
    actions = np.array(columns).T  # (members, batch of 1)
    out = majority_vote(actions, 21)
    assert out.greedy_actions.tolist() == [expected]
    assert out.probabilities.sum() == pytest.approx(1.0)
    assert out.probabilities[0, actions[0, 0]] >= 1 / actions.shape[0]


def test_a_majority_plays_what_most_members_play(voters, small_config):
    result = validate_ensemble([voters["buy2"], voters["buy2_soft"], voters["buy3"]], small_config,
                               SESSIONS, MAJORITY, store_result=False)
    buy2 = validate_model(voters["buy2"], small_config, SESSIONS, store_result=False)
    e = result.ensemble
    assert e.histogram == buy2.histogram and e.histogram[2] == e.steps > 500
    assert e.market_pnl_cents == buy2.market_pnl_cents
    assert [Path(m.model_path).name for m in result.members] == ["buy2.zip", "buy2_soft.zip",
                                                                   "buy3.zip"]
    assert result.members[0].market_pnl_cents == buy2.market_pnl_cents
    best = max(range(3), key=lambda i: (result.members[i].mean_pnl_cents, -i))
    assert result.best_member == best and all(not m.never_traded for m in result.members)
    diffs = np.array(e.market_pnl_cents) - np.array(result.members[best].market_pnl_cents)
    assert result.vs_best_member.differences_cents == pytest.approx(diffs.tolist())
    text = "\n".join(result.summary_lines())
    assert "majority vote of 3 models (a tie for the most votes plays HOLD)" in text
    assert EVIDENCE_NOTE in text and "(best member)" in text


def test_a_split_vote_holds_and_never_trades(voters, small_config):
    result = validate_ensemble([voters["buy2"], voters["buy3"]], small_config, SESSIONS, MAJORITY,
                               store_result=False)
    e = result.ensemble
    assert e.histogram[0] == e.steps and e.fills == 0 and e.never_traded
    assert e.fill_line().startswith("never traded: held on all")
    assert all(p == 0 for p in e.market_pnl_cents)


def test_the_best_member_is_one_that_traded(voters, small_config):
    result = validate_ensemble([voters["buy2"], voters["sell_nothing"], voters["buy3"]],
                               small_config, SESSIONS, MAJORITY, store_result=False)
    idle = result.members[1]
    assert idle.never_traded and idle.mean_pnl_cents == 0
    assert max(result.members[0].mean_pnl_cents, result.members[2].mean_pnl_cents) < 0
    # P&L 0 beats both, but a member that never filled an order is no strategy to beat
    assert result.best_member in (0, 2)
    assert result.member_names == ["buy2.zip", "sell_nothing.zip", "buy3.zip"]
    assert "sell_nothing.zip" in "\n".join(result.summary_lines())


def test_mean_prob_averages_probabilities(voters, small_config):
    # buy2: p(2) ~ 1; buy3_soft: p(3) = e/(e+20) ~ 0.12: the average's argmax is 2
    result = validate_ensemble([voters["buy2"], voters["buy3_soft"]], small_config, SESSIONS,
                               MEAN_PROB, store_result=False)
    assert result.ensemble.histogram[2] == result.ensemble.steps
    assert result.ensemble.market_pnl_cents == result.members[0].market_pnl_cents
    # two soft members: 0.12 for 2 and for 3 each; the exact tie goes to the lower id, 2
    tie = validate_ensemble([voters["buy3_soft"], voters["buy2_soft"]], small_config, SESSIONS,
                            MEAN_PROB, store_result=False)
    assert tie.ensemble.histogram[2] == tie.ensemble.steps


def promote(config, model: Path) -> None:
    assert main(["promote", str(model), "--reason", "test", "--yes",
                 "--config", str(config.file)]) == 0


def test_beside_the_current_model_and_stored(voters, small_config):
    folder = small_config.models_dir
    current = copy_model(voters["healthy"], folder / "current.zip")
    promote(small_config, current)
    members = [voters["buy2"], voters["buy3"], voters["base"]]
    stored = []
    result = validate_ensemble(members, small_config, SESSIONS, MAJORITY,
                               on_stored=lambda f, why: stored.append((f, why)))
    (file, why), = stored
    assert why is None and file.name == f"{result.ensemble_id}.json"
    alone = validate_model(current, small_config, SESSIONS, store_result=False)
    assert result.current is not None and result.current.market_pnl_cents == alone.market_pnl_cents
    assert result.current_note is None
    diffs = np.array(result.ensemble.market_pnl_cents) - np.array(alone.market_pnl_cents)
    assert result.vs_current.differences_cents == pytest.approx(diffs.tolist())
    assert "current current.zip" in "\n".join(result.summary_lines())
    # members and the current model ran as plain validations: stored as such too
    for member in members + [current]:
        found = load_validation(member, file_sha256(member), small_config, SESSIONS,
                                deterministic=True)
        assert found is not None and found.model_path == str(member)
    payload = json.loads(file.read_text())
    (entry,), = [payload["results"].values()]
    assert entry["note"] == EVIDENCE_NOTE and entry["ensemble"]["model_path"].startswith(
        "ensemble (majority) of buy2.zip + buy3.zip + ppo21.zip")
    sha_current = file_sha256(current)
    listed = stored_ensembles(small_config, sha_current)
    assert [r.ensemble_id for r in listed] == [result.ensemble_id]
    assert listed[0].to_dict() == result.to_dict()
    assert stored_ensembles(small_config, None) == []  # another current model: another key
    assert stored_ensembles(small_config, sha_current, [1, 2]) == []
    # the same ensemble named in another order is the same ensemble
    same = validate_ensemble(list(reversed(members)), small_config, SESSIONS, MAJORITY,
                             store_result=False)
    assert same.ensemble_id == result.ensemble_id


def test_the_current_model_as_a_member_is_said_not_run_twice(voters, small_config):
    folder = small_config.models_dir
    current = copy_model(voters["buy2"], folder / "cur.zip")
    promote(small_config, current)
    result = validate_ensemble([current, voters["buy3"]], small_config, SESSIONS, MAJORITY,
                               store_result=False)
    assert result.current_note == "the current model is the member cur.zip"
    assert result.current.market_pnl_cents == result.members[0].market_pnl_cents


def test_bad_input_names_the_model_and_stores_nothing(model_zoo, voters, small_config, tmp_path):
    with pytest.raises(ValidationError, match=r"at least 2 models, got 1 \(.*buy2.zip\)"):
        validate_ensemble([voters["buy2"]], small_config, SESSIONS, MAJORITY)
    twin = copy_model(voters["buy2"], tmp_path / "twin.zip")
    with pytest.raises(ValidationError, match="twin.zip: the same model as .*buy2.zip"):
        validate_ensemble([voters["buy2"], twin], small_config, SESSIONS, MAJORITY)
    with pytest.raises(IncompatibleModel, match="ppo5.zip: UNUSABLE"):
        validate_ensemble([voters["buy2"], model_zoo["ppo5"]], small_config, SESSIONS, MAJORITY)
    with pytest.raises(IncompatibleModel, match="ppo21_obs54.zip: UNUSABLE"):
        validate_ensemble([model_zoo["ppo21_obs54"], voters["buy2"]], small_config, SESSIONS,
                          MEAN_PROB)
    canary = tmp_path / "canary"
    evil = plant_malicious_field(model_zoo["ppo21"], tmp_path / "evil.zip", canary)
    with pytest.raises(PolicyRefused, match="evil.zip"):
        validate_ensemble([voters["buy2"], evil], small_config, SESSIONS, MAJORITY)
    assert not canary.exists()
    with pytest.raises(ValidationError, match="no session 9 in the store"):
        validate_ensemble([voters["buy2"], voters["buy3"]], small_config, [9], MAJORITY)
    with pytest.raises(ValidationError, match="--vote median"):
        validate_ensemble([voters["buy2"], voters["buy3"]], small_config, SESSIONS, "median")
    moving = copy_model(voters["buy3"], tmp_path / "moving.zip")
    original = moving.read_bytes()

    class ChangeOnce(threading.Event):
        def is_set(self) -> bool:
            if moving.read_bytes() == original:
                copy_model(voters["healthy"], moving)
            return False

    with pytest.raises(ModelChanged, match="moving.zip: the model file changed during the "
                                           "ensemble validation"):
        validate_ensemble([voters["buy2"], moving], small_config, SESSIONS, MAJORITY,
                          cancel=ChangeOnce())
    assert stored_nothing(small_config)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_validate_ensemble(model_zoo, voters, small_config, capsys):
    cfg = str(small_config.file)
    pair = f"{voters['buy2']},{voters['healthy']}"
    code, out, err = run(capsys, "validate", "--ensemble", pair, "--vote", "mean-prob",
                         "--config", cfg, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["pointer_target"] is False and payload["note"] == EVIDENCE_NOTE
    assert payload["vote"] == "mean-prob" and len(payload["members"]) == 2
    assert payload["current"] is None and payload["current_note"].startswith("no current model")
    assert payload["stored_at"]
    code, out, _ = run(capsys, "validate", "--ensemble", pair, "--vote", "mean-prob",
                       "--config", cfg, "--reuse")
    assert code == 0 and "stored result" in out and "vs best" in out
    code, out, err = run(capsys, "validate", "--ensemble", str(voters["buy2"]), "--config", cfg)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "an ensemble needs at least 2 models, got 1" in err
    code, out, err = run(capsys, "validate", "--ensemble", f"{voters['buy2']},{model_zoo['ppo5']}",
                         "--config", cfg)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "UNUSABLE" in err
    code, _, err = run(capsys, "validate", str(voters["buy2"]), "--ensemble", pair, "--config", cfg)
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "validate", "--config", cfg)
    assert code == 2 and "give MODEL" in err


def test_an_interrupted_run_stores_nothing(voters, small_config):
    def interrupt(done: int, total: int) -> None:
        if done > total * 2 // 3:  # the vote and the first member finished
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        validate_ensemble([voters["buy2"], voters["buy3"]], small_config, SESSIONS, MAJORITY,
                          progress=interrupt)
    assert stored_nothing(small_config)


def test_a_sampling_trader_draws_from_the_vote_shares(voters, small_config):
    members = [voters["buy2"], voters["buy2_soft"], voters["buy3"]]
    first, second = (validate_ensemble(members, small_config, SESSIONS, MAJORITY,
                                       deterministic=False, store_result=False)
                     for _ in range(2))
    e = first.ensemble
    assert e.deterministic is False and e.seed == 0
    played = {a for a, n in enumerate(e.histogram) if n}
    assert played == {2, 3}  # only what some member votes for
    assert 0.6 < e.histogram[2] / e.steps < 0.73  # two of three votes
    assert second.ensemble.histogram == e.histogram  # seeded
