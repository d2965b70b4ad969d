"""A/B tests on real SB3 models: paired figures, agreement, storage, the vs-current line, bad
input."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from eval_helpers import (
    always_action,
    collapsed_but_sampling_widely,
    healthy_policy,
    write_config,
    write_hand_built_store,
)
from model_factory import copy_model, plant_malicious_field

from kalshi_tui.cli import main
from kalshi_tui.core.config import load_config
from kalshi_tui.eval.abtest import run_abtest
from kalshi_tui.eval.abtest_result import NO_AB, against_current, load_abtest, vs_current_line
from kalshi_tui.eval.batched import validate_model
from kalshi_tui.eval.model_fit import (
    IncompatibleModel,
    ModelChanged,
    ValidationCancelled,
    ValidationError,
)
from kalshi_tui.eval.results import bootstrap_mean_ci
from kalshi_tui.eval.results_cache import cache_folders
from kalshi_tui.eval.safe_load import PolicyRefused

SESSIONS = [1, 2, 3]


@pytest.fixture(scope="module")
def contenders(model_zoo, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ab_models")
    base = model_zoo["ppo21"]
    return {
        "healthy": healthy_policy(base, folder / "healthy.zip"),
        "buy2": always_action(base, folder / "buy2.zip", 2),
        # the same argmax as buy2 everywhere (action 2), different bytes
        "buy2_soft": collapsed_but_sampling_widely(base, folder / "buy2_soft.zip", 2),
        "buy3": always_action(base, folder / "buy3.zip", 3),
        "base": base,
    }


def stored_nothing(config) -> bool:
    return not any(folder.exists() and any(folder.iterdir())
                   for folder in cache_folders(config.cache_dir, "abtest"))


def test_paired_figures_are_the_two_validations_market_by_market(contenders, small_config):
    result = run_abtest(contenders["healthy"], contenders["buy2"], small_config, SESSIONS,
                        store_result=False)
    alone = [validate_model(contenders[name], small_config, SESSIONS, store_result=False)
             for name in ("healthy", "buy2")]
    diffs = np.array(alone[0].market_pnl_cents) - np.array(alone[1].market_pnl_cents)
    p = result.paired
    assert p.markets == alone[0].episodes == 9
    assert p.differences_cents == pytest.approx(diffs.tolist())
    assert p.mean_cents == pytest.approx(diffs.mean())
    assert (p.ci_low_cents, p.ci_high_cents) == bootstrap_mean_ci(diffs, resamples=10_000, seed=0)
    assert p.ci_low_cents < p.mean_cents < p.ci_high_cents
    assert (p.a_wins, p.b_wins, p.ties) == ((diffs > 0).sum(), (diffs < 0).sum(),
                                            (diffs == 0).sum())
    assert result.candidate_fills == alone[0].fills and result.against_fills == alone[1].fills
    assert result.compared_steps == alone[0].steps
    # healthy plays many actions, buy2 only action 2: they agree where healthy plays 2
    assert result.agreement_steps == alone[0].histogram[2]
    again = run_abtest(contenders["healthy"], contenders["buy2"], small_config, SESSIONS,
                       store_result=False)
    assert again.paired.to_dict() == p.to_dict()  # seeded: the same CI every time
    line = result.vs_line()
    assert line == (f"vs current: {p.mean_cents / 100:+,.2f} $/market, 95 % CI "
                    f"[{p.ci_low_cents / 100:+,.2f}, {p.ci_high_cents / 100:+,.2f}], 9 markets")


def test_two_models_with_one_argmax_agree_on_every_step_and_tie_every_market(contenders,
                                                                            small_config):
    same = run_abtest(contenders["buy2_soft"], contenders["buy2"], small_config, SESSIONS,
                      store_result=False)
    assert same.agreement_steps == same.compared_steps > 500
    assert same.paired.ties == 9 and same.paired.mean_cents == 0.0
    assert "made the same on every market" in "\n".join(same.summary_lines())
    apart = run_abtest(contenders["buy3"], contenders["buy2"], small_config, SESSIONS,
                       store_result=False)
    assert apart.agreement_steps == 0 and apart.compared_steps == same.compared_steps


def test_the_trader_mode_is_config_and_sampling_is_seeded(contenders, small_config):
    text = small_config.file.read_text() + "[trader]\ndeterministic = false\n"
    small_config.file.write_text(text)
    config = load_config(small_config.file)
    first = run_abtest(contenders["buy2_soft"], contenders["buy2"], config, SESSIONS,
                       store_result=False)
    second = run_abtest(contenders["buy2_soft"], contenders["buy2"], config, SESSIONS,
                        store_result=False)
    assert first.deterministic is False and first.seed == 0
    # buy2_soft samples every action (12 % for its argmax): rarely what buy2 plays
    assert first.agreement_steps < 0.3 * first.compared_steps
    assert first.paired.to_dict() == second.paired.to_dict()
    assert first.agreement_steps == second.agreement_steps


def promote(config, model: Path) -> None:
    assert main(["promote", str(model), "--reason", "test", "--yes",
                 "--config", str(config.file)]) == 0


def test_stored_by_both_models_and_found_as_the_line_against_current(contenders, small_config,
                                                                    capsys):
    folder = small_config.models_dir
    candidate = copy_model(contenders["healthy"], folder / "candidate.zip")
    current = copy_model(contenders["buy2"], folder / "current.zip")
    third = copy_model(contenders["buy3"], folder / "third.zip")
    stored = []
    result = run_abtest(candidate, current, small_config, SESSIONS, against_is_current=True,
                        on_stored=lambda f, why: stored.append((f, why)))
    (file, why), = stored
    assert why is None and file.name == f"{result.candidate_sha256}.json"
    assert sorted(p.name for p in file.parent.iterdir()) == [file.name]
    found = load_abtest(result.candidate_sha256, result.against_sha256, small_config, SESSIONS)
    assert found is not None and found.to_dict() == result.to_dict()
    assert load_abtest(result.candidate_sha256, result.against_sha256, small_config) is not None
    assert load_abtest(result.candidate_sha256, result.against_sha256, small_config, [1, 2]) is None
    assert load_abtest(result.against_sha256, result.candidate_sha256, small_config) is None
    # no current model yet: the line says so instead of a number
    assert vs_current_line(result.candidate_sha256, small_config).startswith(
        "no current model to compare with")
    promote(small_config, current)
    assert vs_current_line(result.candidate_sha256, small_config) == result.vs_line("current")
    assert against_current(result.candidate_sha256, small_config).result is not None
    assert vs_current_line(result.against_sha256, small_config) == (
        "this is the current model: nothing to compare")
    code = main(["promote", str(candidate), "--reason", "t", "--dry-run",
                 "--config", str(small_config.file)])
    out = capsys.readouterr().out
    assert code == 0 and f"  {result.vs_line('current')}\n" in out
    code = main(["promote", str(candidate), "--reason", "t", "--dry-run", "--json",
                 "--config", str(small_config.file)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["ab_vs_current"] == result.vs_line("current")
    promote(small_config, third)
    assert vs_current_line(result.candidate_sha256, small_config) == NO_AB
    third.unlink()
    line = vs_current_line(result.candidate_sha256, small_config)
    assert line.startswith("current model missing:") and "third.zip" in line


def test_a_current_model_that_cannot_run_is_named_not_compared(model_zoo, contenders,
                                                              small_config, capsys):
    folder = small_config.models_dir
    legacy = copy_model(model_zoo["ppo5"], folder / "legacy5.zip")
    code = main(["promote", str(legacy), "--reason", "t", "--yes", "--force",
                 "--config", str(small_config.file)])
    assert code == 0, capsys.readouterr().err
    line = vs_current_line("0" * 64, small_config)
    assert line.startswith("current model legacy5.zip is incompatible:")
    assert "nothing is compared with it" in line
    capsys.readouterr()
    code = main(["abtest", str(contenders["healthy"]), "--config", str(small_config.file)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "legacy5.zip is incompatible" in err
    assert stored_nothing(small_config)


def test_bad_input_is_one_line_and_stores_nothing(model_zoo, contenders, small_config, tmp_path):
    canary = tmp_path / "canary"
    evil = plant_malicious_field(model_zoo["ppo21"], tmp_path / "evil.zip", canary)
    with pytest.raises(PolicyRefused, match="evil.zip"):
        run_abtest(evil, contenders["buy2"], small_config, SESSIONS)
    with pytest.raises(PolicyRefused, match="evil.zip"):
        run_abtest(contenders["buy2"], evil, small_config, SESSIONS)
    assert not canary.exists()
    with pytest.raises(IncompatibleModel, match="ppo5.zip: UNUSABLE"):
        run_abtest(contenders["buy2"], model_zoo["ppo5"], small_config, SESSIONS)
    with pytest.raises(ValidationError, match="no session 9 in the store"):
        run_abtest(contenders["buy2"], contenders["buy3"], small_config, [9])
    with pytest.raises(ValidationError, match="no sessions to run an A/B test on"):
        run_abtest(contenders["buy2"], contenders["buy3"], small_config, [])
    twin = copy_model(contenders["buy2"], tmp_path / "twin.zip")
    with pytest.raises(ValidationError, match="twin.zip: the same model as .*buy2.zip"):
        run_abtest(twin, contenders["buy2"], small_config, SESSIONS)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ValidationCancelled, match="A/B test cancelled; nothing stored"):
        run_abtest(contenders["buy2"], contenders["buy3"], small_config, SESSIONS, cancel=cancel)
    assert stored_nothing(small_config)


@pytest.mark.parametrize("which", ["candidate", "against"])
def test_a_model_changed_during_the_run_stores_nothing(which, contenders, small_config, tmp_path):
    moving = copy_model(contenders["buy2"], tmp_path / "moving.zip")
    original = moving.read_bytes()

    class ChangeOnce(threading.Event):
        def is_set(self) -> bool:
            if moving.read_bytes() == original:
                copy_model(contenders["buy3"], moving)
            return False

    pair = ((moving, contenders["healthy"]) if which == "candidate"
            else (contenders["healthy"], moving))
    with pytest.raises(ModelChanged,
                       match="moving.zip: the model file changed during the A/B test"):
        run_abtest(*pair, small_config, SESSIONS, cancel=ChangeOnce())
    assert stored_nothing(small_config)


def test_cli_abtest_json_and_reuse(contenders, small_config, capsys):
    folder = small_config.models_dir
    copy_model(contenders["healthy"], folder / "cand.zip")
    current = copy_model(contenders["buy2"], folder / "cur.zip")
    promote(small_config, current)
    capsys.readouterr()
    cfg = str(small_config.file)
    code = main(["abtest", "cand.zip", "--config", cfg, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert payload["against_is_current"] is True and payload["stored_at"]
    assert payload["against_sha256"] != payload["candidate_sha256"]
    assert payload["line"].startswith("vs current: ") and payload["line"].endswith(" 9 markets")
    code = main(["abtest", "cand.zip", "--config", cfg, "--reuse"])
    out, _ = capsys.readouterr()
    assert code == 0 and "stored result" in out and "difference  " in out
    assert payload["line"].split(": ", 1)[1].split(",")[0] in out
    code = main(["abtest", "cand.zip", "--against", "cur.zip", "--sessions", "9", "--config", cfg])
    _, err = capsys.readouterr()
    assert code == 1 and "session 9 is not in the store" in err


def test_a_store_under_another_environment_is_not_found(contenders, tmp_path, small_store,
                                                        monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    realistic = write_config(tmp_path / "site", small_store, sessions="1-3")
    result = run_abtest(contenders["healthy"], contenders["buy2"], realistic, SESSIONS)
    original = write_config(tmp_path / "site", small_store, sessions="1-3",
                            environment={"fill_model": "original-training"})
    assert load_abtest(result.candidate_sha256, result.against_sha256, realistic) is not None
    assert load_abtest(result.candidate_sha256, result.against_sha256, original) is None


def test_an_interrupted_run_stores_nothing(contenders, small_config):
    def interrupt(done: int, total: int) -> None:
        if done > total // 2:  # in the second model's run, the first one finished
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_abtest(contenders["healthy"], contenders["buy2"], small_config, SESSIONS,
                   progress=interrupt)
    assert stored_nothing(small_config)


def test_an_unsafe_current_model_is_never_run(model_zoo, contenders, small_config, tmp_path,
                                              capsys):
    canary = tmp_path / "canary"
    evil = plant_malicious_field(model_zoo["ppo21"], small_config.models_dir / "evil.zip", canary)
    # a hand-written pointer, as the original system's: no journal, no checks when written
    small_config.pointer_file.write_text(json.dumps({"current_model": {"full_path": str(evil)}}))
    line = vs_current_line("0" * 64, small_config)
    assert line.startswith("current model evil.zip is unsafe:") and "nothing is compared" in line
    code = main(["abtest", str(contenders["healthy"]), "--config", str(small_config.file)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "evil.zip is unsafe" in err
    code = main(["validate", "--ensemble", f"{contenders['buy2']},{contenders['buy3']}",
                 "--config", str(small_config.file), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = json.loads(out)
    assert payload["current"] is None and "evil.zip is unsafe" in payload["current_note"]
    assert not canary.exists() and stored_nothing(small_config)


def test_a_session_with_nothing_to_replay_is_named(contenders, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    store = write_hand_built_store(tmp_path / "hand.db")
    config = write_config(tmp_path / "site", store)
    with pytest.raises(ValidationError, match="session 2 has no market that can be replayed"):
        run_abtest(contenders["healthy"], contenders["buy2"], config, [1, 2])
    code = main(["validate", "--ensemble", f"{contenders['buy2']},{contenders['buy3']}",
                 "--sessions", "2", "--config", str(config.file)])
    _, err = capsys.readouterr()
    assert code == 1 and "session 2 has no market that can be replayed" in err
    assert stored_nothing(config)
    assert not (config.cache_dir / "ensemble").exists()
