"""The model report on a real models folder with known figures: first screen, appendix, sources.

The evidence comes from the real stores (`kalshi_tui.eval.stored_evidence`); results are
stored through the real results cache. No model runs here (no check_health): the health
checks the report runs itself are tested end to end in tests/eval/test_report_health.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from report_registry import BROKEN, FINAL32, NOW, OBS54, RUN9, RUN10, RUN15, RUN32, build_registry

from kalshi_tui.core.catalog.scan import scan_catalog
from kalshi_tui.core.config import load_config
from kalshi_tui.core.evidence.ranking import RankingError
from kalshi_tui.core.report.build import generate_report, write_report
from kalshi_tui.core.report.markdown import APPENDIX_HEADING, render_markdown
from kalshi_tui.eval import stored_evidence, stored_validations
from kalshi_tui.eval.health_result import RECORDED, HealthResult, SourceHealth
from kalshi_tui.eval.health_store import health_key
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import (
    HEALTH,
    default_session_ids,
    load_validation,
    save_entry,
    save_validation,
    sessions_fingerprint,
)

RUN32_MODEL = f"{RUN32}/model.zip"
FIRST_SCREEN = [
    "## Current model",
    "## Recommendation: ",
    "## Alternative: ",
    "## Not recommended",
    "## Action items",
    "## Checklist",
]
APPENDIX = [
    "## Environment",
    "## Ranking",
    "## Every model, by run",
    "## Incompatible models",
    "## Unreadable models",
    "## Sources",
]


def report_for(config, **kwargs) -> dict:
    return generate_report(config, stored=stored_evidence, now=NOW, **kwargs)


@pytest.fixture(scope="module")
def registry(model_zoo, tmp_path_factory) -> Path:
    return build_registry(tmp_path_factory.mktemp("report"), model_zoo)


@pytest.fixture(scope="module")
def report(registry) -> dict:
    return report_for(load_config(registry))


def first_screen(text: str) -> list[str]:
    return text[: text.index(APPENDIX_HEADING)].splitlines()


def test_first_screen_then_appendix_in_order(report):
    text = render_markdown(report)
    assert text.startswith("# Model report: 21-action environment\n")
    positions = [text.index(h) for h in FIRST_SCREEN + [APPENDIX_HEADING] + APPENDIX]
    assert positions == sorted(positions)
    assert len(first_screen(text)) <= 60


def test_json_and_markdown_carry_the_same_content(report):
    assert render_markdown(json.loads(json.dumps(report))) == render_markdown(report)


def test_prose_has_no_key_paths_and_every_footnote_is_defined(report):
    text = render_markdown(report)
    key_path = re.compile(r"\b(portfolio_statistics|final_statistics|action_statistics)\b")
    for line in first_screen(text):
        prose = line.split(" | ")[:2] if line.startswith("| ") else [line]  # not the Source column
        assert not any(key_path.search(part) for part in prose), line
    refs = set(re.findall(r"\[\^(\d+)\](?!:)", text))
    defined = set(re.findall(r"^\[\^(\d+)\]: ", text, re.M))
    assert refs and refs == defined
    assert "training_results.json portfolio_statistics.unique_markets" in text  # in the sources


def test_current_model_is_the_outdated_five_action_model_with_an_alarm(report):
    current = report["current_model"]
    assert current["state"] == "OUTDATED" and current["alarm"]
    assert current["model"] == f"{RUN9}/trained_model.zip"
    assert current["action_space"] == "Discrete(5)"
    text = render_markdown(report)
    assert f"**ALARM: `{RUN9}/trained_model.zip` is OUTDATED**: " in text


def test_the_choice_and_the_facts_that_decide_it(report):
    rec = report["recommendations"]
    primary, alternative = rec["primary"], rec["alternative"]
    # The session 32 run and its flat final are one candidate; the run's file speaks for both.
    assert primary["path"] == RUN32_MODEL and primary["copies"] == [FINAL32]
    assert alternative["path"] == f"{RUN10}/model.zip"
    facts = {f["label"]: f for f in primary["deciding_facts"]}
    assert list(facts) == [
        "Policy health",
        "Validation",
        "Against the current model",
        "Training summary",
        "Ranking",
    ]
    assert facts["Policy health"]["text"].startswith("not checked")
    assert facts["Validation"]["text"] == "not validated on sessions 5-10"
    assert facts["Against the current model"]["text"] == (
        "no A/B against the current model: it cannot run in this environment (OUTDATED: "
        + report["current_model"]["reasons"][0]
        + ")"
    )
    assert facts["Training summary"]["text"] == (
        "session 32, 1,234 episodes over 120 markets, orders on 95.5 % of steps, win rate 35.9 % "
        "(counted while the policy sampled)"
    )
    assert (
        facts["Training summary"]["source"]
        == "training_results.json portfolio_statistics.total_episodes"
    )
    assert facts["Ranking"]["text"].startswith("rank 1 of 3 candidates, score ")
    text = render_markdown(report)
    assert (
        f"## Recommendation: `{RUN32_MODEL}` (one model with its identical copy `{FINAL32}`)"
        in text
    )
    assert "| Validation | not validated on sessions 5-10 | - |" in text
    assert 3 <= len(primary["deciding_facts"]) <= 5


def test_action_items_are_ready_commands(report):
    commands = [item["command"] for item in report["action_items"]]
    assert commands == [
        f"kalshi-tui health {RUN32_MODEL}",
        f"kalshi-tui validate {RUN32_MODEL}",
        f"kalshi-tui promote {RUN32_MODEL} --reason 'recommended by kalshi-tui report'",
        f"kalshi-tui compare {RUN32_MODEL} {RUN10}/model.zip",
    ]
    text = render_markdown(report)
    assert (
        f"1. Check {RUN32_MODEL} in the trader's mode before anything else: `kalshi-tui health"
        in text
    )


def test_checklist_is_ticked_only_for_what_was_done(report):
    done = {c["item"]: (c["done"], c["result"]) for c in report["checklist"]}
    assert done["Confirmed current environment uses 21-action space"][0] is True
    assert done["Found models trained after action space expansion"] == (
        True,
        "4 compatible (3 distinct), 2 incompatible",
    )
    assert done[f"Verified {RUN32_MODEL} exists and is valid"][0] is True
    assert done["Analyzed training summaries for action distribution"] == (
        True,
        "orders on 95.5 % of steps while sampling",
    )
    assert done["Update CURRENT_MODEL.json"] == (
        False,
        f"not done: the pointer names {RUN9}/trained_model.zip",
    )
    assert done["Test model loading and inference"] == (False, "not done")
    assert done["Validate on target sessions (5-10)"] == (False, "not done")
    text = render_markdown(report)
    assert "- [ ] Validate on target sessions (5-10): not done" in text


def test_appendix_groups_every_model_under_its_run(report, registry):
    runs = {run["run"]: run["models"] for run in report["runs"]}
    assert set(runs) == {
        RUN32,
        RUN15,
        RUN10,
        RUN9,
        OBS54.split("/")[0],
        "(flat files in the models folder)",
    }
    assert [(m["path"], m["role"]) for m in runs[RUN32]] == [
        (RUN32_MODEL, "run model"),
        (FINAL32, f"identical copy of {RUN32_MODEL}"),
    ]
    assert [m["path"] for m in runs["(flat files in the models folder)"]] == [BROKEN]
    legacy = runs[RUN9][0]
    assert legacy["standing"].startswith("incompatible: ") and legacy["rank"] is None
    models_dir = load_config(registry).models_dir
    for models in runs.values():
        for m in models:
            assert m["size_bytes"] == (models_dir / m["path"]).stat().st_size
            assert all(f["source"] for f in m["figures"])
    text = render_markdown(report)
    assert f"| `{FINAL32}` | identical copy of {RUN32_MODEL} | rank 1, score " in text


def test_rejected_models_are_listed_with_their_reasons(report):
    assert {m["path"] for m in report["incompatible_models"]} == {
        f"{RUN9}/trained_model.zip",
        OBS54,
    }
    assert {m["path"] for m in report["unreadable_models"]} == {BROKEN}
    text = render_markdown(report)
    assert "- Never eligible: 2 incompatible, 1 unreadable; each with why in the appendix." in text


def _store_health(config, record, top_share: float) -> None:
    """A health result stored under exactly the key the config asks for, through the real store."""
    sessions = default_session_ids(config)
    fingerprint = sessions_fingerprint(config.sessions_db, sessions)
    top = round(1000 * top_share)
    histogram = [0] * 21
    histogram[19], histogram[2], histogram[7] = (
        top,
        (1000 - top) // 2,
        1000 - top - (1000 - top) // 2,
    )
    result = HealthResult(
        record.path,
        record.sha256,
        "PPO",
        21,
        sessions,
        True,
        config.environment.fingerprint(),
        fingerprint,
        "kalshiflow-2025-12-15",
        "A",
        "realistic",
        "sessions.db",
        config.environment.layout.labels,
        config.health_collapse_share,
        [SourceHealth(RECORDED, 1000, histogram, histogram, 0.5, 0.5, 0.1)],
        0,
        1.0,
        "2025-12-16T09:30:00Z",
        extra={"key": health_key(config, sessions, fingerprint)},
    )
    stored, problem = save_entry(
        HEALTH, record.sha256, result.extra["key"], result.to_dict(), config.cache_dir
    )
    assert stored is not None, problem


def _store_validation(
    config, record, *, win_rate: float, mean_pnl: float, fills: int = 800
) -> ValidationResult:
    """A stored result under exactly the key the config asks for, through the real results cache."""
    sessions = default_session_ids(config)
    histogram = [200] + [40] * 20
    result = ValidationResult(
        model_path=record.path,
        sha256=record.sha256,
        algorithm="DQN",
        n_actions=21,
        session_ids=sessions,
        deterministic=config.validation_deterministic,
        environment_fingerprint=config.environment.fingerprint(),
        sessions_fingerprint=sessions_fingerprint(config.sessions_db, sessions),
        action_labels=config.environment.layout.labels,
        histogram=histogram,
        steps=sum(histogram),
        hold_pct=20.0,
        trading_pct=fills / 10,
        histogram_entropy=0.95,
        mean_policy_entropy=2.0,
        mean_policy_entropy_normalised=0.66,
        episodes=50,
        markets=50,
        win_rate=win_rate,
        total_pnl_cents=mean_pnl * 50,
        mean_pnl_cents=mean_pnl,
        max_drawdown_cents=420.0,
        fills=fills,
        fees_cents=950.0,
        seconds=2.0,
        steps_per_second=500.0,
        created_at="2025-12-16T09:00:00Z",
        orders_attempted=1000,
        attempted_pct=80.0,
        episodes_traded=40 if fills else 0,
        unfilled_by_cause={} if fills else {"nothing_to_sell": 1000},
        market_pnl_cents=[mean_pnl] * 50,
        pnl_ci_low_cents=mean_pnl - 20,
        pnl_ci_high_cents=mean_pnl + 20,
    )
    stored, problem = save_validation(result, config.cache_dir)
    assert stored is not None, problem
    return result


def test_a_collapsed_model_is_not_recommended_and_the_first_screen_says_why(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    catalog = scan_catalog(config)
    _store_health(config, catalog.find(FINAL32), 1.0)  # stored under the flat copy's bytes
    report = report_for(config)
    rec = report["recommendations"]
    assert rec["primary"]["path"] == f"{RUN10}/model.zip"
    barred = {m["path"]: m for m in report["not_recommended_models"]}
    assert set(barred) == {RUN32_MODEL} and barred[RUN32_MODEL]["copies"] == [FINAL32]
    facts = [f["text"] for f in barred[RUN32_MODEL]["facts"]]
    assert (
        facts[0]
        == "COLLAPSED: SELL_NO x50 on 100.0 % of 1,000 recorded steps "
        "(deterministic, as the trader predicts)"
    )
    assert facts[1] == (
        "its training summary, counted while the policy sampled, showed orders on "
        "95.5 % of steps and a win rate of 35.9 %: it hid this"
    )
    text = render_markdown(report)
    screen = "\n".join(first_screen(text))
    assert (
        f"- `{RUN32_MODEL}` (one model with its identical copy `{FINAL32}`): COLLAPSED: SELL_NO x50"
        in screen
    )
    assert len(first_screen(text)) <= 60


def test_a_stored_validation_decides_with_its_ci_and_ticks_the_checklist(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    catalog = scan_catalog(config)
    run10 = catalog.find(f"{RUN10}/model.zip")
    _store_validation(config, run10, win_rate=0.75, mean_pnl=90.0)
    _store_health(config, run10, 0.3)
    records = catalog.records
    expected = {
        r.path: load_validation(Path(r.abs_path), r.sha256, config) for r in records if r.sha256
    }
    assert stored_validations(records, config) == {
        p: v for p, v in expected.items() if v is not None
    }
    report = report_for(config)
    primary = report["recommendations"]["primary"]
    assert primary["path"] == f"{RUN10}/model.zip" and primary["evidence_level"] == "validated"
    facts = {f["label"]: f for f in primary["deciding_facts"]}
    assert facts["Validation"]["text"].endswith(
        "P&L +0.90 $/market, 95 % CI [+0.70, +1.10] over 50 markets"
    )
    assert facts["Validation"]["source"].startswith("validation on sessions 5-10, deterministic")
    assert facts["Policy health"]["text"].startswith("HEALTHY: 3 distinct actions")
    done = {c["item"]: (c["done"], c["result"]) for c in report["checklist"]}
    assert done["Validate on target sessions (5-10)"][0] is True
    assert done["Test model loading and inference"] == (
        True,
        "loaded safely and ran 1,000 recorded steps",
    )
    assert not any(i["command"].startswith("kalshi-tui validate") for i in report["action_items"])
    assert not any(i["command"].startswith("kalshi-tui health") for i in report["action_items"])


def test_a_validation_with_no_fill_bars_the_model(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    _store_validation(
        config, scan_catalog(config).find(RUN32_MODEL), win_rate=0.0, mean_pnl=0.0, fills=0
    )
    report = report_for(config)
    assert report["recommendations"]["primary"]["path"] == f"{RUN10}/model.zip"
    barred = report["not_recommended_models"][0]
    assert barred["path"] == RUN32_MODEL
    assert barred["facts"][0]["text"] == (
        "never traded: 1,000 orders attempted, 0 filled: every SELL had nothing to sell"
    )


def test_a_folder_with_no_compatible_model_recommends_nothing(model_zoo, tmp_path):
    config_file = build_registry(tmp_path, model_zoo)
    models = load_config(config_file).models_dir
    for folder in (RUN32, RUN15, RUN10, OBS54.split("/")[0]):
        shutil.rmtree(models / folder)
    (models / FINAL32).unlink()
    report = report_for(load_config(config_file))
    rec = report["recommendations"]
    assert rec["primary"] is None and rec["alternative"] is None
    assert "nothing is recommended" in rec["none_reason"]
    assert [i["command"] for i in report["action_items"]] == ["kalshi-tui train --session N"]
    text = render_markdown(report)
    assert "## No recommendation" in text and "kalshi-tui promote" not in text
    assert len(first_screen(text)) <= 60


def test_weights_from_the_config_change_the_recommendation(model_zoo, tmp_path):
    config_file = build_registry(tmp_path, model_zoo)
    with config_file.open("a", encoding="utf-8") as out:
        out.write("\n[ranking]\nweights = { diversity = 10.0 }\n")
    report = report_for(load_config(config_file))
    assert report["recommendations"]["primary"]["path"] == f"{RUN10}/model.zip"
    assert report["recommendations"]["weights_set"] == ["diversity"]
    assert "diversity 10 (config)" in render_markdown(report)
    config_file.write_text(config_file.read_text().replace("diversity = 10.0", "final_name = 1"))
    with pytest.raises(
        RankingError,
        match=re.escape(f"{config_file}: [ranking] weights: ranking weight 'final_name' is gone"),
    ):
        report_for(load_config(config_file))


def test_report_is_stable_across_runs(report, registry):
    again = report_for(load_config(registry))
    assert json.dumps(again, sort_keys=True) == json.dumps(report, sort_keys=True)


def test_write_report_for_the_tui_key_goes_to_the_cache_folder(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    path, report = write_report(config, stored=stored_evidence, now=NOW)
    assert path == config.cache_dir / "reports" / "model_report_20251216_120000.md"
    assert path.read_text(encoding="utf-8") == render_markdown(report)
    json_path, again = write_report(
        config, tmp_path / "r.json", stored=stored_evidence, fmt="json", now=NOW
    )
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(again))
    assert not list(tmp_path.glob(".r.json.tmp*"))
    with pytest.raises(OSError):
        write_report(config, tmp_path / "missing" / "r.md", stored=stored_evidence, now=NOW)


def test_after_promoting_the_recommendation_the_checklist_says_so(model_zoo, tmp_path):
    from kalshi_tui.core.pointer import PointerEngine

    config = load_config(build_registry(tmp_path, model_zoo))
    PointerEngine(config).promote(scan_catalog(config).find(FINAL32), "report recommended it")
    report = report_for(config)
    current = report["current_model"]
    assert (current["state"], current["alarm"], current["model"]) == ("OK", False, FINAL32)
    primary = report["recommendations"]["primary"]
    assert primary["path"] == RUN32_MODEL  # the same bytes as the pointer's file
    done = {c["item"]: c["done"] for c in report["checklist"]}
    assert done["Update CURRENT_MODEL.json"] is True
    assert "`" + FINAL32 + "` is **OK**." in render_markdown(report)


def test_a_damaged_pointer_is_an_alarm_and_the_report_still_stands(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    config.pointer_file.write_text('{"current_model": {"full_path": ', encoding="utf-8")
    report = report_for(config)
    current = report["current_model"]
    assert current["state"] == "UNREADABLE POINTER" and current["alarm"]
    assert report["recommendations"]["primary"]["path"] == RUN32_MODEL
    facts = {f["label"]: f["text"] for f in report["recommendations"]["primary"]["deciding_facts"]}
    assert facts["Against the current model"].startswith(
        "no A/B against the current model: it cannot run in this environment (UNREADABLE POINTER"
    )


def test_the_ab_against_the_current_model_is_a_deciding_fact_when_the_face_knows_it(
    model_zoo, tmp_path
):
    """The face's lookup (eval's stored A/B tests) answers for the two choices only; its line
    is the fact, and an A/B that could run now is an action item."""
    from kalshi_tui.core.pointer import PointerEngine
    from kalshi_tui.core.report import ABFinding

    config = load_config(build_registry(tmp_path, model_zoo))
    PointerEngine(config).promote(scan_catalog(config).find(f"{RUN15}/model.zip"), "an A2C run")
    asked: list[str] = []

    def lookup(record) -> ABFinding:
        asked.append(record.path)
        if record.path == RUN32_MODEL:
            return ABFinding(
                "vs current: +1.20 $/market, 95 % CI [-0.30, +2.70], 35 markets",
                "abtest on sessions 5-10, 2025-12-16T09:00:00Z",
                False,
            )
        return ABFinding("no A/B against the current model", "-", True)

    report = generate_report(config, stored=stored_evidence, ab_against_current=lookup, now=NOW)
    assert asked == [RUN32_MODEL, f"{RUN10}/model.zip"]
    facts = {f["label"]: f for f in report["recommendations"]["primary"]["deciding_facts"]}
    assert facts["Against the current model"] == {
        "label": "Against the current model",
        "text": "vs current: +1.20 $/market, 95 % CI [-0.30, +2.70], 35 markets",
        "source": "abtest on sessions 5-10, 2025-12-16T09:00:00Z",
    }
    commands = [i["command"] for i in report["action_items"]]
    assert f"kalshi-tui abtest {RUN32_MODEL}" not in commands  # stored already
    # without the lookup, the report says plainly that no A/B was run
    plain = report_for(config)
    facts = {f["label"]: f for f in plain["recommendations"]["primary"]["deciding_facts"]}
    assert (
        facts["Against the current model"]["text"] == "no A/B against the current model (not run)"
    )


def test_a_choice_on_training_figures_alone_says_it_is_unchecked(report):
    """Nothing health-checked or validated (report --stored-only on a fresh registry): the
    recommendation says, before its facts, that it stands on training figures alone."""
    text = render_markdown(report)
    primary = report["recommendations"]["primary"]
    assert primary["evidence_level"] == "training figures"
    heading = text.index("## Recommendation: ")
    unchecked = text.index("**Unchecked: this choice stands on training figures alone**")
    assert heading < unchecked < text.index("| Deciding fact |", heading)
    assert len(first_screen(text)) <= 60
