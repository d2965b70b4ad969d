"""The hard rules before the weights, and the ranking scenarios of issue 18, table-driven:
healthy vs collapsed or narrow, validated worse or better vs unvalidated, 0 fills, not
runnable safely, identical copies, only incompatible models, "final" as a tie-breaker."""

from __future__ import annotations

import pytest
from ranking_records import NOW, health, record, seed_records, spread_histogram, validation

from kalshi_tui.core.evidence.ranking import rank_models, ranking_by_path
from kalshi_tui.core.model_record import INCOMPATIBLE, ModelRecord

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
        healths={p: health(p, share) for p, share in healths.items()},
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
        healths = {a.path: health(a.path, 1.0), b.path: health(b.path, 0.4)}
    elif name == "healthy vs narrow":
        healths = {a.path: health(a.path, 0.9), b.path: health(b.path, 0.4)}
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
        healths = {flat.path: health(flat.path, 1.0)}
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
