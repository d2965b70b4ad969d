"""Validation figures that say what happened: attempted against filled, why orders did not
fill, win rate over the episodes that traded, a reproducible CI, and the fill-model line."""

from __future__ import annotations

import json

import pytest
from eval_helpers import always_action, write_config, write_hand_built_store

from kalshi_tui.cli import main
from kalshi_tui.cli.eval_commands import with_fill_model
from kalshi_tui.eval.batched import BOOTSTRAP_SEED, validate_model
from kalshi_tui.eval.results import bootstrap_mean_ci, fill_model_disagreement

SELL_YES_X10, BUY_YES_X10 = 7, 2


@pytest.fixture()
def hand(tmp_path, monkeypatch, model_zoo):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    config = write_config(tmp_path / "site", write_hand_built_store(tmp_path / "hand.db"),
                          sessions="1")
    models = {name: always_action(model_zoo["ppo21"], config.models_dir / f"{name}.zip", action)
              for name, action in (("seller", SELL_YES_X10), ("buyer", BUY_YES_X10))}
    return config, models


def test_zero_fills_say_so_in_words(hand):
    config, models = hand
    result = validate_model(models["seller"], config, [1])
    assert (result.orders_attempted, result.fills, result.episodes_traded) == (3, 0, 0)
    assert result.unfilled_by_cause == {"nothing_to_sell": 3}
    assert (result.trading_pct, result.attempted_pct) == (0.0, 100.0)
    line = "never traded: 3 orders attempted, 0 filled: every SELL had nothing to sell"
    assert result.fill_line() == line == result.headline()
    assert result.win_rate_text() == "none: no episode traded"
    text = "\n".join(result.summary_lines())
    assert line in text and "win rate    none: no episode traded" in text


def test_a_filling_model_counts_the_worked_figures(hand):
    config, models = hand
    result = validate_model(models["buyer"], config, [1])
    # UP: +426 c, DOWN: -238 c (test_validate works them out): one winner of two traded.
    assert (result.orders_attempted, result.fills, result.episodes_traded) == (3, 3, 2)
    assert result.unfilled_by_cause == {}
    assert result.win_rate == 0.5 and result.win_rate_text() == (
        "50.0 % of the 2 episodes that traded (of 2)")
    assert sorted(result.market_pnl_cents) == [-238.0, 426.0]
    low, high = bootstrap_mean_ci([-238.0, 426.0], seed=BOOTSTRAP_SEED)
    assert (result.pnl_ci_low_cents, result.pnl_ci_high_cents) == (low, high)
    assert -238.0 <= low < result.mean_pnl_cents < high <= 426.0
    assert result.fill_line() == "3 orders attempted (100.0 % of steps), 3 filled (100.0 %)"
    assert result.pnl_ci_text() == (f"+0.94 $/market, 95 % CI [{low / 100:+,.2f}, "
                                    f"{high / 100:+,.2f}] over 2 markets")
    again = validate_model(models["buyer"], config, [1])
    assert (again.pnl_ci_low_cents, again.pnl_ci_high_cents) == (low, high)


def test_bootstrap_is_seeded_and_honest_about_one_market():
    values = [float(v) for v in range(-50, 70, 3)]
    assert bootstrap_mean_ci(values, seed=0) == bootstrap_mean_ci(values, seed=0)
    assert bootstrap_mean_ci(values, seed=0) != bootstrap_mean_ci(values, seed=1)
    low, high = bootstrap_mean_ci(values, seed=0)
    mean = sum(values) / len(values)
    assert low < mean < high and high - low < max(values) - min(values)
    assert bootstrap_mean_ci([5.0]) == (None, None)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fill_models_disagree_in_one_line_where_they_appear(capsys, hand):
    config, models = hand
    cfg = str(config.file)
    code, out, err = run(capsys, "validate", "seller.zip", "--fill-model", "both", "--json",
                         "--config", cfg)
    assert code == 0, err
    payload = json.loads(out)
    realistic, original = payload["results"]
    assert (realistic["fill_model"], original["fill_model"]) == ("realistic", "original-training")
    assert realistic["fills"] == 0 and original["fills"] == 5 and original["total_pnl_cents"] > 0
    line = payload["fill_model_disagreement"]
    assert line.startswith("fill models disagree: +19.00 $ under original-training, "
                           "+0.00 $ realistic (never traded): it earned its training reward "
                           "from a defect (5 of its 5 training-world fills sold contracts it "
                           "did not hold")
    # Known from the two stored results: `show` and the report find it without running.
    code, out, _ = run(capsys, "show", "seller.zip", "--config", cfg)
    assert code == 0 and line in out
    assert "never traded: 3 orders attempted, 0 filled: every SELL had nothing to sell" in out
    code, out, _ = run(capsys, "report", "--format", "json", "--config", cfg)
    report = json.loads(out)
    # The hard rule: a validation with 0 fills is never recommended, and says why, with the
    # fill-model line beside the reason.
    barred = {m["path"]: m for m in report["not_recommended_models"]}
    assert barred["seller.zip"]["reasons"] == [
        "never recommended: validation on sessions 1: never traded: 3 orders attempted, 0 filled: "
        "every SELL had nothing to sell"]
    assert [f["text"] for f in barred["seller.zip"]["facts"]] == [
        "never traded: 3 orders attempted, 0 filled: every SELL had nothing to sell", line]
    assert all(c["path"] != "seller.zip" for c in report["candidates"])
    assert (report["recommendations"]["primary"] or {}).get("path") != "seller.zip"
    code, out, _ = run(capsys, "report", "--config", cfg)
    assert code == 0 and "## Not recommended" in out
    assert ("- `seller.zip`: never traded: 3 orders attempted, 0 filled: every SELL had nothing "
            "to sell") in out
    code, out, _ = run(capsys, "validate", "buyer.zip", "--fill-model", "both", "--config", cfg)
    assert code == 0 and "fill models disagree" not in out
    code, out, _ = run(capsys, "report", "--format", "json", "--config", cfg)
    models = {m["path"]: m for run in json.loads(out)["runs"] for m in run["models"]}
    assert any(f["text"].startswith("trading 100.0 % filled (100.0 % attempted), win rate ")
               for f in models["buyer.zip"]["figures"])


def test_the_disagreement_rule(hand):
    config, models = hand
    seller = {fm: validate_model(models["seller"], with_fill_model(config, fm), [1],
                                 store_result=False)
              for fm in ("realistic", "original-training")}
    buyer = {fm: validate_model(models["buyer"], with_fill_model(config, fm), [1],
                                store_result=False)
             for fm in ("realistic", "original-training")}
    assert fill_model_disagreement(seller["realistic"], seller["original-training"]) is not None
    assert fill_model_disagreement(seller["realistic"], None) is None
    # The buyer loses under the training accounting: no training reward from a defect.
    assert buyer["original-training"].total_pnl_cents < 0
    assert fill_model_disagreement(buyer["realistic"], buyer["original-training"]) is None
