"""The compatibility report on a real models folder with known figures: sections, figures,
ranking."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from report_registry import (
    BROKEN,
    FINAL32,
    HIST32,
    NOW,
    OBS54,
    RUN9,
    RUN10,
    RUN15,
    RUN32,
    build_registry,
)

from kalshi_tui.core.catalog.scan import scan_catalog
from kalshi_tui.core.config import load_config
from kalshi_tui.core.evidence.ranking import RankingError
from kalshi_tui.core.report.build import generate_report, write_report
from kalshi_tui.core.report.markdown import render_markdown
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import (
    default_session_ids,
    load_validation,
    save_validation,
    sessions_fingerprint,
)
from kalshi_tui.eval.stored import stored_evidence, stored_validations

SECTIONS = [
    "## Summary",
    "## Current Environment Configuration",
    "## Current Model Status",
    "## Available Compatible Models",
    "## Incompatible Models",
    "## Unreadable Models",
    "## Performance Analysis",
    "## Recommendations",
    "## Action Items",
    "## Validation Checklist",
]


@pytest.fixture(scope="module")
def registry(model_zoo, tmp_path_factory) -> Path:
    return build_registry(tmp_path_factory.mktemp("report"), model_zoo)


@pytest.fixture(scope="module")
def report(registry) -> dict:
    return generate_report(load_config(registry), stored=stored_evidence, now=NOW)


def by_path(entries: list[dict]) -> dict[str, dict]:
    return {e["path"]: e for e in entries}


def test_every_section_is_present_in_order(report):
    text = render_markdown(report)
    assert text.startswith("# Model Compatibility Analysis - 21-Action Space\n")
    positions = [text.index(section + "\n") for section in SECTIONS]
    assert positions == sorted(positions)
    for key in (
        "summary",
        "environment",
        "current_model",
        "compatible_models",
        "incompatible_models",
        "unreadable_models",
        "performance_analysis",
        "recommendations",
        "action_items",
        "validation_checklists",
    ):
        assert report[key] is not None


def test_json_and_markdown_carry_the_same_content(report):
    assert render_markdown(json.loads(json.dumps(report))) == render_markdown(report)


def test_environment_lists_every_action_with_its_label(report, registry):
    env = report["environment"]
    layout = load_config(registry).environment.layout
    assert env["action_space"] == "Discrete(21)" and env["position_sizes"] == [5, 10, 20, 50, 100]
    assert [a["label"] for a in env["actions"]] == [layout.label(a) for a in range(21)]
    assert env["actions"][3] == {"id": 3, "label": "BUY_YES x20", "side": "BUY_YES", "size": 20}
    text = render_markdown(report)
    for action in env["actions"]:
        assert f"| {action['id']} | {action['label']} |" in text
    assert [a["label"] for a in env["legacy"]["actions"]] == ["HOLD", "BUY_YES x10", "SELL_YES x10",
                                                              "BUY_NO x10", "SELL_NO x10"]


def test_current_model_is_the_outdated_five_action_model_with_an_alarm(report):
    current = report["current_model"]
    assert current["state"] == "OUTDATED" and current["alarm"]
    assert current["model"] == f"{RUN9}/trained_model.zip"
    assert current["full_path"] == f"backend/trained_models/{RUN9}/trained_model.zip"
    assert current["action_space"] == "Discrete(5)"
    assert current["trained_at"].startswith("2025-12-12T03:10:54")
    text = render_markdown(report)
    assert "**ALARM: the current model is OUTDATED.**" in text
    assert report["action_items"][0].startswith("Resolve the current model alarm (OUTDATED)")


def test_compatible_models_carry_their_figures_from_their_files(report, registry):
    models_dir = load_config(registry).models_dir
    entries = by_path(report["compatible_models"])
    assert set(entries) == {
        FINAL32,
        f"{RUN32}/model.zip",
        f"{RUN15}/model.zip",
        f"{RUN10}/model.zip",
    }
    for path, entry in entries.items():
        assert entry["size_bytes"] == os.stat(models_dir / path).st_size
        assert entry["action_space"] == "Discrete(21)"
        assert all(f["source"] for f in entry["figures"])
    final = entries[FINAL32]
    assert final["trained_at"].startswith("2025-12-15T05:15:49")
    assert final["sessions"] == [32] and final["episodes"] == 1234 and final["markets"] == 120
    assert final["artifact_timesteps"] == 100_000
    evidence = final["evidence"]
    assert ("win rate 35.9 % (training_results.json portfolio_statistics.dynamics_statistics."
            "trading_outcomes.win_rate)") in evidence
    assert any(
        e.startswith("trading activity 95.5 % (100 - hold % (training_summary.json")
        for e in evidence
    )
    assert any(e.startswith("exploration ratio 38.5 % (training_summary.json") for e in evidence)
    assert final["sources"] == {
        "size_bytes": "file system",
        "trained_at": "model zip: data start_time",
        "action_space": "model zip: data action_space",
        "num_timesteps": "model zip: data num_timesteps",
        "session_ids": "training_results.json session_ids",
        "total_timesteps": "training_results.json total_timesteps",
        "episodes": "training_results.json portfolio_statistics.total_episodes",
        "unique_markets": "training_results.json portfolio_statistics.unique_markets",
    }
    text = render_markdown(report)
    assert (
        f"- **File Size**: {final['size_bytes']:,} bytes (file system)\n"
        "- **Training Date**: 2025-12-15 05:15 UTC (model zip: data start_time)\n"
        "- **Action Space**: Discrete(21) (model zip: data action_space)\n"
        "- **Session**: 32 (training_results.json session_ids)\n"
        f"- **Training Steps**: {final['timesteps']:,} timesteps (model zip: data num_timesteps); "
        "100,000 according to training_results.json total_timesteps\n"
        "- **Episodes**: 1,234 (training_results.json portfolio_statistics.total_episodes)\n"
        "- **Markets**: 120 unique markets (training_results.json "
        "portfolio_statistics.unique_markets)\n"
    ) in text
    assert entries[f"{RUN10}/model.zip"]["markets"] == 558
    assert entries[f"{RUN10}/model.zip"]["sources"]["unique_markets"] == \
        "training_results.json portfolio_statistics.unique_markets"
    assert (
        "- **Markets**: 558 unique markets (training_results.json "
        "portfolio_statistics.unique_markets)"
        in text
    )
    assert entries[f"{RUN15}/model.zip"]["episodes"] == 73_015
    assert entries[f"{RUN15}/model.zip"]["timesteps"] != 1_000_000  # the zip's own count is shown
    assert entries[f"{RUN32}/model.zip"]["copy_of"] == FINAL32
    for entry in entries.values():
        for line in entry["evidence"]:
            assert f"  - {line}" in text


def test_rejected_models_are_listed_with_their_reasons_and_never_recommended(report):
    incompatible = by_path(report["incompatible_models"])
    assert set(incompatible) == {f"{RUN9}/trained_model.zip", OBS54}
    assert any("5" in r for r in incompatible[f"{RUN9}/trained_model.zip"]["reasons"])
    assert any("54" in r for r in incompatible[OBS54]["reasons"])
    unreadable = by_path(report["unreadable_models"])
    assert set(unreadable) == {BROKEN} and unreadable[BROKEN]["reasons"]
    recommended = {
        report["recommendations"]["primary"]["path"],
        report["recommendations"]["alternative"]["path"],
    }
    assert not recommended & (set(incompatible) | set(unreadable))


def test_recommendations_follow_the_seed_and_skip_an_identical_copy(report):
    rec = report["recommendations"]
    assert rec["primary"]["path"] == FINAL32
    # The run's own model.zip ranks second but is the same bytes: the alternative is session 10.
    assert rec["alternative"]["path"] == f"{RUN10}/model.zip"
    assert rec["primary"]["reasons"][0] == "not validated: recommendation rests on training figures"
    assert any('named "final"' in r for r in rec["primary"]["reasons"])
    assert any(
        "558 unique markets (the most of the candidates)" in r
        for r in rec["alternative"]["reasons"]
    )
    ranks = [e["rank"] for e in report["compatible_models"]]
    assert ranks == sorted(ranks) == list(range(1, 5))
    assert report["summary"]["primary"] == FINAL32
    text = render_markdown(report)
    assert f"### Primary Recommendation: `{FINAL32}`" in text
    assert "### 1. session32_final (RECOMMENDED)\n" in text
    assert f"### 2. {RUN32}\n" in text  # the identical copy is not the alternative
    assert f"### 3. {RUN10} (ALTERNATIVE)\n" in text
    assert any(
        item.startswith(f"Update CURRENT_MODEL.json to point to {FINAL32}: `kalshi-tui promote")
        for item in report["action_items"]
    )


def test_performance_analysis_histogram_equals_the_diagnostics(report, registry):
    analysis = by_path(report["performance_analysis"])[FINAL32]
    total = sum(HIST32.values())
    expected = sorted(((int(a), c) for a, c in HIST32.items()), key=lambda p: (-p[1], p[0]))[:5]
    layout = load_config(registry).environment.layout
    assert [(t["action"], t["count"]) for t in analysis["top_actions"]] == expected
    assert [t["label"] for t in analysis["top_actions"]] == [layout.label(a) for a, _ in expected]
    assert analysis["top_actions"][0]["share"] == pytest.approx(expected[0][1] / total)
    headings = {i["heading"]: i["text"] for i in analysis["items"]}
    assert headings["Action Distribution"].startswith("uses 21 of 21 actions (diagnostics.jsonl")
    assert "win rate 35.9 %" in headings["Portfolio Performance (training)"]


def test_checklist_says_what_is_done_and_what_is_not(report):
    checklist = report["validation_checklists"][0]
    assert checklist["path"] == FINAL32
    done = {i["item"]: i["done"] for i in checklist["items"]}
    assert done == {
        "action space confirmed": True,
        "file valid": True,
        "training summary analysed": True,
        "loads and infers (smoke)": False,
        "validated on sessions 5-10": False,
        "CURRENT_MODEL.json points to it": False,
    }
    details = {i["item"]: i["detail"] for i in checklist["items"]}
    assert details["training summary analysed"] == (
        "figures from diagnostics.jsonl, training_results.json, training_summary.json"
    )
    text = render_markdown(report)
    assert "- [x] action space confirmed: Discrete(21) matches the environment's 21 actions" in text
    assert (
        f"- [ ] validated on sessions 5-10: no current stored result: `kalshi-tui validate "
        f"{FINAL32}`"
        in text
    )


def _store_validation(
    config, record_sha: str, path: str, *, win_rate: float, mean_pnl: float
) -> ValidationResult:
    """A stored result under exactly the key the config asks for, through the real results cache."""
    sessions = default_session_ids(config)
    labels = config.environment.layout.labels
    histogram = [200] + [40] * 20
    result = ValidationResult(
        model_path=path,
        sha256=record_sha,
        algorithm="DQN",
        n_actions=21,
        session_ids=sessions,
        deterministic=config.validation_deterministic,
        environment_fingerprint=config.environment.fingerprint(),
        sessions_fingerprint=sessions_fingerprint(config.sessions_db, sessions),
        action_labels=labels,
        histogram=histogram,
        steps=sum(histogram),
        hold_pct=20.0,
        trading_pct=80.0,
        histogram_entropy=0.95,
        mean_policy_entropy=2.0,
        mean_policy_entropy_normalised=0.66,
        episodes=200,
        markets=50,
        win_rate=win_rate,
        total_pnl_cents=mean_pnl * 200,
        mean_pnl_cents=mean_pnl,
        max_drawdown_cents=420.0,
        fills=800,
        fees_cents=950.0,
        seconds=2.0,
        steps_per_second=500.0,
        created_at="2025-12-16T09:00:00Z",
    )
    stored, problem = save_validation(result, config.cache_dir)
    assert stored is not None, problem
    return result


def test_stored_validation_is_used_quoted_and_ticked(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    first = generate_report(config, stored=stored_evidence, now=NOW)
    run10 = by_path(first["compatible_models"])[f"{RUN10}/model.zip"]
    _store_validation(config, run10["sha256"], run10["path"], win_rate=0.55, mean_pnl=60.0)
    # The report's batched lookup finds exactly what the eval module's own reader finds.
    records = scan_catalog(config).records
    expected = {
        r.path: load_validation(Path(r.abs_path), r.sha256, config) for r in records if r.sha256
    }
    assert stored_validations(records, config) == {
        p: v for p, v in expected.items() if v is not None
    }
    assert set(stored_validations(records, config)) == {run10["path"]}
    report = generate_report(config, stored=stored_evidence, now=NOW)
    primary = report["recommendations"]["primary"]
    assert primary["path"] == f"{RUN10}/model.zip" and primary["evidence_level"] == "validated"
    assert primary["reasons"][0] == "validated on sessions 5-10 (200 episodes)"
    assert primary["reasons"][1].startswith(
        "validation win rate 55.0 % (validation on sessions 5-10, "
    )
    entry = by_path(report["compatible_models"])[primary["path"]]
    assert any(e.startswith("P&L +120.00 $ (validation on sessions") for e in entry["evidence"])
    done = {i["item"]: i["done"] for i in report["validation_checklists"][0]["items"]}
    assert done["validated on sessions 5-10"] is True
    assert not any(
        item.startswith(f"Validate performance on sessions 5-10: `kalshi-tui validate {RUN10}")
        for item in report["action_items"]
    )


def test_a_folder_with_no_compatible_model_recommends_nothing(model_zoo, tmp_path):
    config_file = build_registry(tmp_path, model_zoo)
    models = load_config(config_file).models_dir
    for folder in (RUN32, RUN15, RUN10, OBS54.split("/")[0]):
        shutil.rmtree(models / folder)
    (models / FINAL32).unlink()
    report = generate_report(load_config(config_file), stored=stored_evidence, now=NOW)
    assert report["compatible_models"] == [] and report["validation_checklists"] == []
    assert (
        report["recommendations"]["primary"] is None
        and report["recommendations"]["alternative"] is None
    )
    assert "nothing is recommended" in report["recommendations"]["none_reason"]
    assert "No compatible model: nothing is recommended." in report["summary"]["lines"]
    assert any(
        item.startswith("Train a model for the 21-action environment")
        for item in report["action_items"]
    )
    text = render_markdown(report)
    assert "No compatible model was found." in text and "**No recommendation.**" in text
    assert "No recommended model, so nothing to check." in text
    assert "kalshi-tui promote" not in text


def test_weights_from_the_config_change_the_recommendation(model_zoo, tmp_path):
    config_file = build_registry(tmp_path, model_zoo)
    with config_file.open("a", encoding="utf-8") as out:
        out.write("\n[ranking]\nweights = { diversity = 10.0 }\n")
    report = generate_report(load_config(config_file), stored=stored_evidence, now=NOW)
    assert report["recommendations"]["primary"]["path"] == f"{RUN10}/model.zip"
    assert report["recommendations"]["alternative"]["path"] == FINAL32
    config_file.write_text(config_file.read_text().replace("diversity = 10.0", "diversty = 10.0"))
    with pytest.raises(
        RankingError,
        match=re.escape(f"{config_file}: [ranking] weights: unknown ranking weight 'diversty'"),
    ):
        generate_report(load_config(config_file), stored=stored_evidence, now=NOW)


def test_no_pointer_is_an_alarm_and_the_report_still_recommends(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo, with_pointer=False))
    report = generate_report(config, stored=stored_evidence, now=NOW)
    assert report["current_model"]["state"] == "NO POINTER" and report["current_model"]["alarm"]
    assert report["recommendations"]["primary"]["path"] == FINAL32


def test_report_is_stable_across_runs(report, registry):
    again = generate_report(load_config(registry), stored=stored_evidence, now=NOW)
    assert json.dumps(again, sort_keys=True) == json.dumps(report, sort_keys=True)


DEMO = Path(__file__).resolve().parents[2] / "trained_models"


@pytest.mark.skipif(
    not (DEMO / "CURRENT_MODEL.json").is_file(), reason="demo registry not built yet"
)
def test_report_on_the_bundled_demo_registry(tmp_path):
    """The committed demo re-creates the seed's situation; the report must say what the seed
    said."""
    config_file = tmp_path / "kalshi_tui.toml"
    # The cache goes to tmp: the test must not write into the committed registry.
    config_file.write_text(f'[paths]\nmodels_dir = "{DEMO}"\ncache_dir = "{tmp_path / "cache"}"\n')
    config = load_config(config_file)
    report = generate_report(config, stored=stored_evidence, now=NOW)
    text = render_markdown(report)
    assert all(section + "\n" in text for section in SECTIONS)
    assert (
        report["current_model"]["state"] == "OUTDATED" and report["current_model"]["n_actions"] == 5
    )
    records = {r.path: r for r in scan_catalog(config, use_cache=False).records}
    primary = report["recommendations"]["primary"]
    assert (
        records[primary["path"]].verdict == "compatible"
        and records[primary["path"]].kind != "checkpoint"
    )
    alternative = report["recommendations"]["alternative"]
    assert (
        alternative is None
        or records[alternative["path"]].sha256 != records[primary["path"]].sha256
    )
    assert {e["path"] for e in report["unreadable_models"]} == {
        p for p, r in records.items() if r.verdict == "unreadable"}
    for entry in report["compatible_models"]:
        assert all(f["source"] for f in entry["figures"])
        record = records[entry["path"]]
        assert entry["size_bytes"] == record.size_bytes and entry["trained_at"] == record.trained_at
        if record.metrics and record.metrics.unique_markets is not None:
            assert entry["markets"] == record.metrics.unique_markets


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
    with pytest.raises(ValueError, match="unknown report format 'html'"):
        write_report(config, tmp_path / "r.html", stored=stored_evidence, fmt="html", now=NOW)


def test_after_promoting_the_recommendation_the_report_says_it_is_done(model_zoo, tmp_path):
    from kalshi_tui.core.pointer import PointerEngine

    config = load_config(build_registry(tmp_path, model_zoo))
    record = scan_catalog(config).find(FINAL32)
    PointerEngine(config).promote(record, "report recommended it")
    report = generate_report(config, stored=stored_evidence, now=NOW)
    current = report["current_model"]
    assert (current["state"], current["alarm"], current["model"]) == ("OK", False, FINAL32)
    assert report["recommendations"]["primary"]["path"] == FINAL32
    assert "The pointer already names the recommended model." in report["summary"]["lines"]
    assert not any(
        "Update CURRENT_MODEL.json" in item or item.startswith("Resolve")
        for item in report["action_items"]
    )
    done = {i["item"]: i["done"] for i in report["validation_checklists"][0]["items"]}
    assert done["CURRENT_MODEL.json points to it"] is True
    assert "The current model is **OK**." in render_markdown(report)
    # The model changed on disk after it was chosen: the report raises the pointer's alarm.
    models = config.models_dir
    shutil.copy2(models / f"{RUN10}/model.zip", models / FINAL32)
    changed = generate_report(config, stored=stored_evidence, now=NOW)["current_model"]
    assert changed["state"] == "CHANGED" and changed["alarm"]
    assert any("changed on disk" in alarm for alarm in changed["alarms"])


def test_a_damaged_pointer_is_an_alarm_and_the_report_still_stands(model_zoo, tmp_path):
    config = load_config(build_registry(tmp_path, model_zoo))
    config.pointer_file.write_text('{"current_model": {"full_path": ', encoding="utf-8")
    report = generate_report(config, stored=stored_evidence, now=NOW)
    current = report["current_model"]
    assert current["state"] == "UNREADABLE POINTER" and current["alarm"]
    assert str(config.pointer_file.name) in current["alarms"][0]
    assert report["action_items"][0].startswith(
        "Resolve the current model alarm (UNREADABLE POINTER)"
    )
    assert report["recommendations"]["primary"]["path"] == FINAL32


def test_the_report_says_which_weights_ranked_it(model_zoo, tmp_path):
    config_file = build_registry(tmp_path, model_zoo)
    with config_file.open("a", encoding="utf-8") as out:
        out.write("\n[ranking]\nweights = { recency = 0, final_name = 2.5 }\n")
    report = generate_report(load_config(config_file), stored=stored_evidence, now=NOW)
    rec = report["recommendations"]
    assert rec["weights"]["recency"] == 0 and rec["weights"]["final_name"] == 2.5
    assert rec["weights"]["diversity"] == 1.0 and rec["weights_set"] == ["final_name", "recency"]
    assert "recency 0 (config)" in render_markdown(
        report
    ) and "final_name 2.5 (config)" in render_markdown(report)
    assert (
        "recency" not in rec["primary"]["components"]
        or rec["primary"]["components"]["recency"] == 0
    )
