"""Ranking on records with the seed analysis's real figures: order, reasons, weights, ties."""

from __future__ import annotations

import math
import random
import re
from datetime import UTC, datetime

import pytest

from kalshi_tui.core.catalog.record import (
    COMPATIBLE,
    INCOMPATIBLE,
    UNREADABLE,
    ModelRecord,
    TrainingMetrics,
)
from kalshi_tui.core.evidence.ranking import (
    DEFAULT_WEIGHTS,
    NOT_VALIDATED_FILE,
    NOT_VALIDATED_TRAINING,
    RankingError,
    effective_weights,
    rank_models,
    ranking_by_path,
)
from kalshi_tui.eval.health_result import HealthResult
from kalshi_tui.eval.results import ValidationResult

NOW = datetime(2025, 12, 16, 12, 0, tzinfo=UTC)
LABELS21 = ["HOLD"] + [
    f"{side} x{size}"
    for side in ("BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
    for size in (5, 10, 20, 50, 100)
]


def spread_histogram(hold: int, each: int, n: int = 21) -> dict[str, int]:
    return {"0": hold, **{str(a): each for a in range(1, n)}}


def record(
    path: str,
    *,
    verdict: str = COMPATIBLE,
    trained_at: str = "2025-12-15T07:13:01Z",
    markets: int | None = None,
    episodes: int | None = None,
    win_rate: float | None = None,
    trading_pct: float | None = None,
    histogram: dict[str, int] | None = None,
    kind: str = "run",
    n_actions: int = 21,
    metrics: bool = True,
) -> ModelRecord:
    m = None
    if metrics:
        m = TrainingMetrics(
            episodes=episodes,
            unique_markets=markets,
            win_rate=win_rate,
            trading_pct=trading_pct,
            hold_pct=None if trading_pct is None else 100 - trading_pct,
            action_histogram=histogram,
            sources={
                "episodes": "training_results.json",
                "unique_markets": "training_results.json",
                "win_rate": "training_results.json",
                "trading_pct": "training_summary.json",
                "action_histogram": "diagnostics.jsonl (recounted)",
            },
        )
    name = path.split("/")[0] if "/" in path else path.rsplit(".", 1)[0]
    return ModelRecord(
        path=path,
        abs_path=f"/models/{path}",
        name=name,
        verdict=verdict,
        reasons=[] if verdict == COMPATIBLE else ["action space Discrete(5), environment has 21"],
        algorithm="PPO",
        action_space_type="Discrete",
        n_actions=n_actions,
        trained_at=trained_at,
        kind=kind,
        metrics=m,
        size_bytes=230_860,
    )


def seed_records() -> list[ModelRecord]:
    """The seed's candidates with the figures it quotes (and where FORMATS.md says they were)."""
    return [
        record(
            "session32_final.zip",
            kind="final",
            trained_at="2025-12-15T05:15:49Z",
            markets=120,
            win_rate=0.359,
            trading_pct=95.5,
            histogram=spread_histogram(450, 480),
        ),
        record(
            "session15_ppo_20251215_065053/model.zip",
            trained_at="2025-12-15T11:50:53Z",
            markets=26,
            episodes=73_015,
            trading_pct=95.8,
            histogram=spread_histogram(420, 480),
        ),
        record(
            "session10_ppo_20251215_071301/model.zip",
            trained_at="2025-12-15T12:13:01Z",
            markets=558,
            episodes=20_886,
            histogram=spread_histogram(500, 470),
        ),
        record(
            "session9_ppo_20251211_221054/trained_model.zip",
            verdict=INCOMPATIBLE,
            trained_at="2025-12-12T03:10:54Z",
            n_actions=5,
            markets=300,
            win_rate=0.9,
        ),
        record("broken.zip", verdict=UNREADABLE, metrics=False),
    ]


def validation(
    path: str,
    *,
    win_rate: float,
    mean_pnl: float,
    drawdown: float,
    histogram: list[int] | None = None,
) -> ValidationResult:
    histogram = histogram or [300] + [35] * 20
    steps = sum(histogram)
    episodes = 120
    counts = [c for c in histogram if c]
    entropy = -sum(c / steps * math.log(c / steps) for c in counts) / math.log(21)
    return ValidationResult(
        model_path=path,
        sha256="ab" * 32,
        algorithm="PPO",
        n_actions=21,
        session_ids=[5, 6, 7, 8, 9, 10],
        deterministic=True,
        environment_fingerprint="fp",
        sessions_fingerprint="store",
        action_labels=LABELS21,
        histogram=histogram,
        steps=steps,
        hold_pct=100 * histogram[0] / steps,
        trading_pct=100 * (1 - histogram[0] / steps),
        histogram_entropy=entropy,
        mean_policy_entropy=1.0,
        mean_policy_entropy_normalised=0.3,
        episodes=episodes,
        markets=60,
        win_rate=win_rate,
        total_pnl_cents=mean_pnl * episodes,
        mean_pnl_cents=mean_pnl,
        max_drawdown_cents=drawdown,
        fills=900,
        fees_cents=1234.0,
        seconds=3.0,
        steps_per_second=1000.0,
        created_at="2025-12-16T10:00:00Z",
    )


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


def _health(path: str, top_share: float) -> HealthResult:
    from kalshi_tui.eval.health_result import RECORDED, HealthResult, SourceHealth

    top = round(1000 * top_share)
    hist = [0] * 21
    hist[10], hist[3], hist[14], hist[20] = top, *(3 * [(1000 - top) // 3])
    source = SourceHealth(RECORDED, sum(hist), hist, hist, 0.5, 0.5, 0.0)
    return HealthResult(
        path,
        "cd" * 32,
        "PPO",
        21,
        [5, 6, 7, 8, 9, 10],
        True,
        "fp",
        "store",
        "kalshiflow-2025-12-15",
        "A",
        "realistic",
        "db",
        LABELS21,
        0.95,
        [source],
        0,
        1.0,
        "2025-12-16T10:00:00Z",
    )


TOP = "session32_final.zip"  # first by score on training figures (test_seed_order above)
OTHER = "session15_ppo_20251215_065053/model.zip"


@pytest.mark.parametrize(
    "case, healths, fills, barred, why",
    [
        ("healthy top model stays first", {TOP: 0.5}, {}, None, None),
        (
            "collapsed top model is never recommended",
            {TOP: 1.0},
            {},
            TOP,
            "never recommended: COLLAPSED: SELL_YES x100 on 100.0 % of 1,000 recorded steps",
        ),
        ("narrow is a warning, not a bar", {TOP: 0.9}, {}, None, None),
        (
            "a validation with 0 fills bars the model",
            {},
            {TOP: 0},
            TOP,
            "never recommended: validation on sessions 5-10: never traded",
        ),
        ("a validation that filled does not", {}, {TOP: 50}, None, None),
        (
            "the other model collapsed, the top one stays",
            {OTHER: 0.99},
            {},
            OTHER,
            "never recommended: COLLAPSED",
        ),
    ],
)
def test_hard_rules_before_weights(case, healths, fills, barred, why):
    records = seed_records()
    validations = {}
    for path, count in fills.items():
        result = validation(path, win_rate=0.9, mean_pnl=500.0, drawdown=0.0)
        result.fills, result.orders_attempted = count, 3000
        result.unfilled_by_cause = {"nothing_to_sell": 3000 - count}
        validations[path] = result
    ranked = rank_models(
        records,
        validations=validations,
        weights={},
        now=NOW,
        healths={p: _health(p, share) for p, share in healths.items()},
    )
    by_path = ranking_by_path(ranked)
    eligible = [r.path for r in ranked if r.eligible]
    if barred is None:
        assert len(eligible) == 3, case
    else:
        assert barred not in eligible and by_path[barred].rank is None, case
        assert by_path[barred].reasons[0].startswith(why), case
        assert len(eligible) == 2 and ranked[0].path != barred, case


# ---- the scenarios of issue 18, table-driven ----------------------------------------------


def _twin(path: str, sha: str, **figures) -> ModelRecord:
    base = dict(
        markets=40,
        win_rate=0.4,
        trading_pct=90.0,
        histogram=spread_histogram(100, 45),
        episodes=300,
    )
    made = record(path, **{**base, **figures})
    made.sha256 = sha
    return made


def _scenario(name: str):
    a, b = _twin("run_a/model.zip", "a" * 64), _twin("run_b/model.zip", "b" * 64)
    validations, healths, unrunnable = {}, {}, {}
    records = [a, b]
    if name == "healthy vs collapsed":
        healths = {a.path: _health(a.path, 1.0), b.path: _health(b.path, 0.4)}
    elif name == "healthy vs narrow":
        healths = {a.path: _health(a.path, 0.9), b.path: _health(b.path, 0.4)}
    elif name == "validated worse vs unvalidated":
        validations = {a.path: validation(a.path, win_rate=0.2, mean_pnl=-300.0, drawdown=2000.0)}
    elif name == "validated better vs unvalidated":
        validations = {a.path: validation(a.path, win_rate=0.7, mean_pnl=150.0, drawdown=100.0)}
        records = [b, a]
    elif name == "0 fills with great figures":
        result = validation(a.path, win_rate=0.9, mean_pnl=900.0, drawdown=0.0)
        result.fills, result.orders_attempted = 0, result.steps
        result.unfilled_by_cause = {"nothing_to_sell": result.steps}
        validations = {a.path: result}
    elif name == "cannot be run safely":
        unrunnable = {a.path: "policy class outside the allowlist"}
    elif name == "identical copies":
        flat = _twin("session_a_final.zip", "a" * 64, win_rate=0.4)
        flat.kind = "final"
        records = [a, b, flat]
        # evidence stored under one of the two names is the other's too (same bytes)
        healths = {flat.path: _health(flat.path, 1.0)}
    elif name == "only incompatible models":
        a.verdict = b.verdict = INCOMPATIBLE
        a.reasons = b.reasons = ["action space Discrete(5), environment has 21"]
    elif name == "final only breaks a tie":
        a = _twin("zzz_final.zip", "c" * 64)
        a.kind = "final"
        records = [a, b]
    return records, validations, healths, unrunnable


# scenario -> (expected candidates in rank order, barred path -> start of its reason)
SCENARIOS = {
    "healthy vs collapsed": (
        ["run_b/model.zip"],
        {"run_a/model.zip": "never recommended: COLLAPSED: SELL_YES x100"},
    ),
    "healthy vs narrow": (["run_b/model.zip", "run_a/model.zip"], {}),
    "validated worse vs unvalidated": (["run_b/model.zip", "run_a/model.zip"], {}),
    "validated better vs unvalidated": (["run_a/model.zip", "run_b/model.zip"], {}),
    "0 fills with great figures": (
        ["run_b/model.zip"],
        {"run_a/model.zip": "never recommended: validation on sessions 5-10: never traded: "},
    ),
    "cannot be run safely": (
        ["run_b/model.zip"],
        {"run_a/model.zip": "never recommended: cannot be run safely: policy class outside"},
    ),
    "identical copies": (["run_b/model.zip"], {"run_a/model.zip": "never recommended: COLLAPSED"}),
    "only incompatible models": (
        [],
        {
            "run_a/model.zip": "never recommended: incompatible",
            "run_b/model.zip": "never recommended: incompatible",
        },
    ),
    "final only breaks a tie": (["zzz_final.zip", "run_b/model.zip"], {}),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_ranking_scenarios(name):
    expected, barred = SCENARIOS[name]
    records, validations, healths, unrunnable = _scenario(name)
    ranked = rank_models(
        records,
        validations=validations,
        healths=healths,
        unrunnable=unrunnable,
        weights={},
        now=NOW,
    )
    assert [r.path for r in ranked if r.candidate] == expected, name
    by_path = ranking_by_path(ranked)
    for path, why in barred.items():
        assert by_path[path].rank is None and by_path[path].reasons[0].startswith(why), name
    for r in ranked:
        if r.candidate:
            assert r.score == pytest.approx(sum(r.components.values()), abs=1e-5)


def test_a_worse_validation_lowers_the_score_it_does_not_raise_it():
    plain = ranking_by_path(rank_models([_twin("run_a/model.zip", "a" * 64)], weights={}, now=NOW))
    records, validations, _, _ = _scenario("validated worse vs unvalidated")
    checked = ranking_by_path(rank_models(records, validations=validations, weights={}, now=NOW))
    assert checked["run_a/model.zip"].score < plain["run_a/model.zip"].score
    assert checked["run_a/model.zip"].evidence == "validated"
    # the validation's win rate replaced the training one: one win_rate criterion, one source
    facts = [f for f in checked["run_a/model.zip"].facts if f["criterion"] == "win_rate"]
    assert len(facts) == 1 and facts[0]["source"].startswith("validation on sessions 5-10")


def test_identical_copies_are_one_candidate_with_the_same_evidence():
    a, flat = _twin("run_a/model.zip", "a" * 64), _twin("run_a_final.zip", "a" * 64)
    flat.kind = "final"
    b = _twin("run_b/model.zip", "b" * 64, win_rate=0.1)
    checked = "run_a_final.zip"
    validations = {checked: validation(checked, win_rate=0.6, mean_pnl=80.0, drawdown=100.0)}
    ranked = rank_models([flat, b, a], validations=validations, weights={}, now=NOW)
    by_path = ranking_by_path(ranked)
    lead, copy = by_path["run_a/model.zip"], by_path[checked]
    assert lead.candidate and lead.copies == [checked] and lead.evidence == "validated"
    assert copy.copy_of == "run_a/model.zip" and not copy.candidate
    assert (copy.rank, copy.score, copy.components) == (lead.rank, lead.score, lead.components)
    assert copy.reasons[0].startswith("identical copy of run_a/model.zip (same sha256)")
    assert [r.path for r in ranked if r.candidate] == ["run_a/model.zip", "run_b/model.zip"]
    assert [r.rank for r in ranked if r.candidate] == [1, 2]


def test_final_breaks_a_tie_and_says_so_but_never_outranks_a_better_score():
    records, *_ = _scenario("final only breaks a tie")
    ranked = rank_models(records, weights={}, now=NOW)
    assert ranked[0].path == "zzz_final.zip"
    assert ranked[0].reasons[0].endswith('ordered the one named "final" first, then by path')
    worse_final = _twin("aaa_final.zip", "d" * 64, win_rate=0.1)
    worse_final.kind = "final"
    again = rank_models([worse_final, _twin("run_b/model.zip", "b" * 64)], weights={}, now=NOW)
    assert again[0].path == "run_b/model.zip"
