"""Ranking on records with the seed analysis's real figures: order, reasons, weights, ties."""

from __future__ import annotations

import math
import random
import re

import pytest
from ranking_records import NOW, record, seed_records, spread_histogram, validation

from kalshi_tui.core.evidence.ranking import (
    DEFAULT_WEIGHTS,
    NOT_VALIDATED_FILE,
    NOT_VALIDATED_TRAINING,
    RankingError,
    effective_weights,
    rank_models,
    ranking_by_path,
)
from kalshi_tui.core.model_record import COMPATIBLE


def test_seed_candidates_rank_on_training_figures_and_final_is_no_bonus():
    ranked = rank_models(seed_records(), weights={}, now=NOW)
    eligible = [r for r in ranked if r.eligible]
    assert [r.path for r in eligible] == [
        "session32_final.zip",
        "session10_ppo_20251215_071301/model.zip",
        "session15_ppo_20251215_065053/model.zip",
    ]
    assert [r.rank for r in eligible] == [1, 2, 3]
    primary, alternative = eligible[0], eligible[1]
    assert primary.evidence == "training figures"
    assert primary.reasons[0] == NOT_VALIDATED_TRAINING
    assert primary.reasons[1].startswith("policy health not checked")
    assert "final_name" not in primary.components and "validated" not in primary.components
    assert not any('named "final"' in reason for reason in primary.reasons)
    assert (
        "training win rate 35.9 % (counted while the policy sampled) (training_results.json)"
        in primary.reasons
    )
    assert any(
        "558 unique markets (the most of the candidates) (training_results.json)" in reason
        for reason in alternative.reasons
    )
    # Every scoring fact keeps its text and its source apart, for the report's Source column.
    assert {f["source"] for f in primary.facts} >= {
        "training_results.json",
        "model zip: data start_time",
    }
    assert all("(" + f["source"] + ")" not in f["text"] for f in primary.facts)
    # Score is the weighted sum of its parts; diversity is log-scaled against the most markets.
    for r in eligible:
        assert r.score == pytest.approx(sum(r.components.values()), abs=1e-5)
        assert r.score == pytest.approx(sum(f["points"] for f in r.facts), abs=1e-5)
    assert primary.components["diversity"] == pytest.approx(
        math.log1p(120) / math.log1p(558), abs=1e-6
    )
    assert alternative.components["diversity"] == pytest.approx(1.0)


def test_incompatible_and_unreadable_are_never_ranked_however_good_their_figures():
    ranked = ranking_by_path(rank_models(seed_records(), weights={"win_rate": 100}, now=NOW))
    legacy = ranked["session9_ppo_20251211_221054/trained_model.zip"]
    assert legacy.rank is None and legacy.score is None and not legacy.eligible
    assert legacy.reasons == [
        "never recommended: incompatible (action space Discrete(5), environment has 21)"
    ]
    assert ranked["broken.zip"].rank is None
    assert ranked["session32_final.zip"].rank == 1


def test_weights_change_the_order_as_documented():
    heavy_diversity = rank_models(seed_records(), weights={"diversity": 10.0}, now=NOW)
    assert heavy_diversity[0].path == "session10_ppo_20251215_071301/model.zip"
    plain = rank_models(seed_records(), weights={"win_rate": 0}, now=NOW)
    assert plain[0].path == "session10_ppo_20251215_071301/model.zip"


@pytest.mark.parametrize(
    "key, why",
    [
        ("validated", "a stored validation is not a bonus in itself"),
        ("final_name", 'the name "final" only breaks ties'),
        ("training_win_rate", "the win rate is one criterion, 'win_rate'"),
        ("validated_win_rate", "the win rate is one criterion, 'win_rate'"),
    ],
)
def test_a_removed_weight_is_refused_saying_why(key, why):
    with pytest.raises(RankingError, match=f"ranking weight '{key}' is gone: {re.escape(why)}"):
        effective_weights({key: 1.0}, where="kalshi_tui.toml: [ranking] weights")


def test_unknown_or_bad_weight_is_refused_naming_the_key():
    with pytest.raises(RankingError, match="unknown ranking weight 'win_rat'"):
        rank_models(seed_records(), weights={"win_rat": 1.0}, now=NOW)
    with pytest.raises(RankingError, match="'recency' must be a number"):
        effective_weights({"recency": "soon"})
    with pytest.raises(RankingError, match="'recency' must be finite"):
        effective_weights({"recency": float("nan")})
    assert effective_weights({"recency": 3}) == {**DEFAULT_WEIGHTS, "recency": 3.0}


def test_validation_replaces_the_training_figures_and_is_quoted():
    records = seed_records()
    checked = "session15_ppo_20251215_065053/model.zip"
    validations = {checked: validation(checked, win_rate=0.412, mean_pnl=37.5, drawdown=250.0)}
    ranked = rank_models(records, validations=validations, weights={}, now=NOW)
    top = ranking_by_path(ranked)[checked]
    assert top.evidence == "validated"
    assert "validated" not in top.components  # existing is worth nothing
    assert any(
        r.startswith(
            "validation win rate 41.2 % over 0 episodes that traded (validation on "
            "sessions 5-10, deterministic"
        )
        for r in top.reasons
    )
    assert any(
        "worst validation drawdown 2.50 $ (2.5 % of the starting cash)" in r for r in top.reasons
    )
    assert top.components["validated_pnl"] == pytest.approx(2.0 * math.tanh(0.375), abs=1e-6)
    assert top.components["validated_drawdown"] == pytest.approx(-0.025, abs=1e-6)
    assert top.components["win_rate"] == pytest.approx(3.0 * 0.412, abs=1e-6)
    assert NOT_VALIDATED_TRAINING not in top.reasons


def test_all_hold_and_degenerate_models_get_no_activity_credit():
    lazy = record("lazy/model.zip", trading_pct=0.4, histogram=spread_histogram(9960, 2))
    spammer = record(
        "spam/model.zip",
        trading_pct=99.0,
        histogram={"0": 10, "1": 10, "7": 9000, **{str(a): 5 for a in range(8, 21)}},
    )
    fine = record("fine/model.zip", trading_pct=60.0, histogram=spread_histogram(400, 30))
    ranked = ranking_by_path(rank_models([lazy, spammer, fine], weights={}, now=NOW))
    assert ranked["lazy/model.zip"].components["activity"] == 0
    assert any(
        r.startswith("all HOLD: orders on only 0.4 % of decisions (training_summary.json)")
        for r in ranked["lazy/model.zip"].reasons
    )
    assert ranked["spam/model.zip"].components["activity"] == 0
    assert any(r.startswith("degenerate: action 7 takes") for r in ranked["spam/model.zip"].reasons)
    assert ranked["fine/model.zip"].components["activity"] == 1.0
    assert ranked["fine/model.zip"].rank == 1


def test_balance_is_the_normalised_entropy_of_the_histogram():
    uniform = record("uniform/model.zip", histogram={str(a): 10 for a in range(21)})
    two = record("two/model.zip", histogram={"0": 50, "1": 50})
    ranked = ranking_by_path(rank_models([uniform, two], weights={}, now=NOW))
    assert ranked["uniform/model.zip"].components["balance"] == pytest.approx(1.0)
    assert ranked["two/model.zip"].components["balance"] == pytest.approx(
        math.log(2) / math.log(21), abs=1e-6
    )
    assert any(
        "well balanced: normalised entropy 1.000 (diagnostics.jsonl (recounted))" in r
        for r in ranked["uniform/model.zip"].reasons
    )


def test_ties_are_broken_by_path_said_plainly_and_stable_under_shuffling():
    twins = [
        record(
            f"{name}/model.zip", markets=40, trading_pct=50.0, histogram=spread_histogram(100, 10)
        )
        for name in ("run_b", "run_a", "run_c")
    ]
    others = seed_records()
    first = rank_models(twins + others, weights={}, now=NOW)
    twin_ranks = [r for r in first if r.path.startswith("run_")]
    assert [r.path for r in twin_ranks] == ["run_a/model.zip", "run_b/model.zip", "run_c/model.zip"]
    assert twin_ranks[0].tied_with == ["run_b/model.zip", "run_c/model.zip"]
    assert twin_ranks[0].reasons[0].startswith("tied on score")
    assert twin_ranks[0].reasons[0].endswith("ordered by path")
    everything = twins + others
    for seed in range(5):
        random.Random(seed).shuffle(everything)
        again = rank_models(everything, weights={}, now=NOW)
        assert [r.to_dict() for r in again] == [r.to_dict() for r in first]


def test_thin_evidence_and_checkpoints_are_said_plainly():
    bare = record("bare.zip", metrics=False, kind="final")
    checkpoint = record(
        "run/checkpoints/model_5000_steps.zip",
        kind="checkpoint",
        trading_pct=50.0,
        win_rate=0.9,
        markets=10,
    )
    ranked = ranking_by_path(rank_models([bare, checkpoint], weights={}, now=NOW))
    # The run's training figures describe the run, not this checkpoint: no win rate or activity
    # from them; the markets it saw still count.
    assert "win_rate" not in ranked["run/checkpoints/model_5000_steps.zip"].components
    assert ranked["run/checkpoints/model_5000_steps.zip"].components["activity"] == 0
    assert ranked["run/checkpoints/model_5000_steps.zip"].components["diversity"] == pytest.approx(
        1.0
    )
    assert ranked["bare.zip"].evidence == "model file only"
    assert ranked["bare.zip"].reasons[0] == NOT_VALIDATED_FILE
    assert ranked["run/checkpoints/model_5000_steps.zip"].components["checkpoint"] == -0.5
    assert (
        "a mid-run checkpoint, not the run's finished model: the run's training figures are not "
        "its own (file system)"
    ) in ranked["run/checkpoints/model_5000_steps.zip"].reasons


def test_recency_halves_every_thirty_days_behind_the_newest_candidate():
    new = record("new/model.zip", trained_at="2025-12-16T12:00:00Z")
    old = record("old/model.zip", trained_at="2025-11-16T12:00:00Z")
    ranked = ranking_by_path(rank_models([new, old], weights={}, now=NOW))
    assert ranked["new/model.zip"].components["recency"] == pytest.approx(1.0)
    assert ranked["old/model.zip"].components["recency"] == pytest.approx(0.5)
    assert ranked["new/model.zip"].rank == 1
    assert any(
        r.startswith("trained 2025-12-16 12:00 UTC, the newest of the candidates (0 days ago)")
        for r in ranked["new/model.zip"].reasons
    )
    assert any(
        r.startswith("trained 2025-11-16 12:00 UTC, 30.0 days before the newest candidate")
        for r in ranked["old/model.zip"].reasons
    )
    # Relative, so a folder left alone for a year ranks the same way.
    later = ranking_by_path(rank_models([new, old], weights={}, now=NOW.replace(year=2026)))
    assert later["new/model.zip"].components == ranked["new/model.zip"].components
    assert later["old/model.zip"].components["recency"] == pytest.approx(0.5)


def test_a_run_that_finished_no_episode_is_not_training_evidence():
    empty = record(
        "empty/model.zip",
        episodes=0,
        markets=0,
        win_rate=0.0,
        trading_pct=0.0,
        histogram={str(a): 0 for a in range(21)},
    )
    one = record(
        "one/model.zip", episodes=1, markets=1, trading_pct=40.0, histogram=spread_histogram(60, 2)
    )
    ranked = ranking_by_path(rank_models([empty, one], weights={}, now=NOW))
    nothing = ranked["empty/model.zip"]
    assert nothing.evidence == "model file only" and nothing.reasons[0] == NOT_VALIDATED_FILE
    assert (
        "training artifacts record no finished episode: their figures are not evidence"
        in nothing.reasons
    )
    assert (
        set(nothing.components) == {"activity", "recency"} and nothing.components["activity"] == 0
    )
    assert not any(r.startswith("all HOLD") for r in nothing.reasons)
    assert any(
        "trained on 1 unique market (the most of the candidates)" in r
        for r in ranked["one/model.zip"].reasons
    )


def test_no_compatible_model_ranks_nothing():
    ranked = rank_models(
        [r for r in seed_records() if r.verdict != COMPATIBLE], weights={}, now=NOW
    )
    assert ranked and all(r.rank is None for r in ranked)
    assert rank_models([], weights={}, now=NOW) == []


def test_damaged_histogram_entries_are_skipped_not_fatal():
    odd = record(
        "odd/model.zip",
        trading_pct=50.0,
        histogram={"0": 10, "1": 10, "x": 5, "2": "many", "-3": 4, "3": -1, "4": 10},
    )
    ranked = rank_models([odd], weights={}, now=NOW)[0]
    # Read as 0:10, 1:10, 4:10 over 21 actions.
    assert ranked.components["balance"] == pytest.approx(math.log(3) / math.log(21), abs=1e-6)
    assert ranked.components["activity"] == 1.0


def test_rank_for_config_uses_the_config_weights_and_names_its_file(tmp_path):
    from kalshi_tui.core.config import load_config
    from kalshi_tui.core.evidence.ranking import rank_for_config

    config_file = tmp_path / "kalshi_tui.toml"
    config_file.write_text("[ranking]\nweights = { diversity = 10.0 }\n")
    ranked = rank_for_config(seed_records(), load_config(config_file), now=NOW)
    assert ranked[0].path == "session10_ppo_20251215_071301/model.zip"
    assert [r.to_dict() for r in ranked] == [
        r.to_dict() for r in rank_models(seed_records(), weights={"diversity": 10.0}, now=NOW)
    ]
    config_file.write_text("[ranking]\nweights = { diversty = 10.0 }\n")
    with pytest.raises(
        RankingError,
        match=f"^{config_file}: \\[ranking\\] weights: unknown ranking weight 'diversty'",
    ):
        rank_for_config(seed_records(), load_config(config_file), now=NOW)
