"""The original system's four real pointers: their version_history, rollback, prose and times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from original_layout import (
    FIVE_ACTIONS,
    POINTERS,
    SESSION9,
    SESSION9_RUN,
    SESSION32,
    make_original_layout,
    write_config,
)

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine, Refused
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.state import CONSISTENT


def pointer_file(reference_pointers, number: int) -> Path:
    return next(p for p in reference_pointers if p.name == POINTERS[number])


@pytest.fixture
def layout(tmp_path, model_zoo, reference_pointers):
    def make(number: int, environment: dict | None = None):
        source = pointer_file(reference_pointers, number)
        config = make_original_layout(tmp_path, model_zoo, source, environment)
        return config, json.loads(source.read_text())
    return make


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_history_shows_every_version_history_entry_as_an_imported_revision(layout, number):
    config, original = layout(number)
    engine = PointerEngine(config)
    shown = engine.history()
    entries = original["version_history"]  # newest first, as history() is
    assert [r.revision for r in shown] == list(range(len(entries), 0, -1))
    for record, entry in zip(shown, entries, strict=True):
        assert record.action == "import" and not record.journalled
        assert record.imported["version"] == entry["version"]
        assert record.imported["date"] == entry["date"]  # as written, not converted
        assert record.imported["milestone"] == entry["milestone"]
        assert record.imported["description"] == entry["description"]
        assert record.to.path == entry["model_path"] and record.to.sha256 is None
    assert not journal_path_for(config.pointer_file).exists()  # showing writes nothing


def test_v3_pointer_rolls_back_to_session32_under_21_actions(layout):
    config, original = layout(4)
    engine = PointerEngine(config)
    plan = engine.plan_rollback()
    assert plan.target_revision == 2 and plan.imported == 3 and plan.adopt
    assert plan.record.abs_path == str(config.base_dir / SESSION32)
    assert [(s.revision, s.reason) for s in plan.skipped] == [
        (3, "src/kalshiflow_rl/BEST_MODEL/session12_ppo_final.zip is already the current model")]
    # v2.1 wrote a backend-relative BEST_MODEL path; the file is in the models folder.
    assert any("it is found at" in w and "session32_final.zip" in w for w in plan.warnings)
    assert any("recorded no sha256" in w for w in plan.warnings)
    result = engine.rollback("back to the 21-action model", expect_revision=0)
    assert (result.adopted_revision, result.revision) == (4, 5)
    records = read_records(journal_path_for(config.pointer_file))
    assert [r["action"] for r in records] == ["import", "import", "import", "adopt", "rollback"]
    assert records[-1]["target_revision"] == 2
    doc = json.loads(config.pointer_file.read_text())
    current = doc["current_model"]
    # What the trader's launch script reads: full_path, and folder + file beside it.
    assert current["full_path"] == "trained_models/session32_final.zip"
    assert (current["model_path"], current["model_file"]) == (
        "trained_models/",
        "session32_final.zip",
    )
    assert (config.base_dir / current["full_path"]).is_file()
    assert engine.status().relation == CONSISTENT
    history = engine.history()
    assert [r.revision for r in history] == [5, 4, 3, 2, 1] and all(r.journalled for r in history)
    assert history[-1].imported["date"] == original["version_history"][-1]["date"]


def test_v3_pointer_refuses_session32_under_5_actions_with_the_reason(layout):
    config, _ = layout(4, FIVE_ACTIONS)
    engine = PointerEngine(config)
    with pytest.raises(
        Refused,
        match=r"cannot roll back to revision 2: src/kalshiflow_rl/BEST_MODEL/"
        r"session32_final.zip is incompatible now: .*21",
    ):
        engine.plan_rollback(2)
    # By default it passes over v2.1, saying why, and goes to v1.0's run model, which fits.
    plan = engine.plan_rollback()
    assert plan.target_revision == 1 and plan.record.abs_path == str(config.base_dir / SESSION9)
    skipped = {s.revision: s.reason for s in plan.skipped}
    assert "already the current model" in skipped[3] and "is incompatible now" in skipped[2]
    assert any("names a folder, not a model file; its run model is trained_model.zip" in w
               for w in plan.warnings)


def test_a_folder_without_a_run_model_cannot_be_resolved_and_says_so(layout):
    config, _ = layout(4, FIVE_ACTIONS)
    (config.base_dir / SESSION9).unlink()
    with pytest.raises(Refused) as refused:
        PointerEngine(config).plan_rollback()
    message = str(refused.value)
    assert (
        "revision 2: src/kalshiflow_rl/BEST_MODEL/session32_final.zip is incompatible now"
        in message
    )
    assert (f"revision 1: backend/trained_models/session9_ppo_20251211_221054/ names the folder "
            f"{config.base_dir / SESSION9_RUN}, which holds no model.zip or trained_model.zip: "
            "it cannot be resolved to a model") in message


@pytest.mark.parametrize("number", [1, 2, 3])
def test_earlier_pointers_roll_back_as_their_models_allow(layout, number):
    # v1.0 names session 9's folder, whose run model is 5-action: under 21 actions no target.
    config, _ = layout(number)
    with pytest.raises(Refused) as refused:
        PointerEngine(config).plan_rollback()
    assert "revision 1:" in str(refused.value)
    reason = "already the current model" if number == 1 else "is incompatible now"
    assert reason in str(refused.value)
    if number == 1:
        return
    # Under 5 actions pointers 2 and 3 (session 32 now) go back to v1.0's session 9 model.
    five = write_config(config.base_dir, FIVE_ACTIONS)
    plan = PointerEngine(five).plan_rollback()
    assert plan.target_revision == 1 and plan.record.abs_path == str(five.base_dir / SESSION9)
    assert [s.revision for s in plan.skipped] == [2]
    assert "already the current model" in plan.skipped[0].reason


def _words(value, path=()):
    """Every string in a JSON value with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _words(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _words(item, path + (index,))
    elif isinstance(value, str):
        yield path, value


def test_promote_over_the_v3_pointer_leaves_no_word_about_session12(layout):
    config, original = layout(4)
    engine = PointerEngine(config)
    model = inspect_model(config.base_dir / SESSION32, config)
    engine.promote(model, "21-action model again")
    doc = json.loads(config.pointer_file.read_text())
    stale = ("session 12", "session12", "5-action", "5 action", "Ready for immediate", "11,001",
             "session12_ppo_20251217_095541")
    for path, text in _words(doc):
        if path[0] == "previous_model" or (path[0] == "version_history" and path[1] != 0):
            continue  # a named record of the previous model, and entries naming their models
        assert not any(s in text for s in stale), (path, text)
    previous = doc["previous_model"]
    assert previous["full_path"] == original["current_model"]["full_path"]
    for key in ("model_metadata", "production_readiness", "notes", "diagnostics_files"):
        assert previous[key] == original[key]
    assert "production_readiness" not in doc and "notes" not in doc
    entry = doc["version_history"][0]
    assert entry["model_path"] == "trained_models/session32_final.zip"
    assert entry["version"] == "r5" and entry["date"] == doc["current_model"]["last_updated"]
    assert doc["version_history"][1:] == original["version_history"]
    training = doc["model_metadata"]["training_session"]
    assert training["session_id"] == 32 and training["total_timesteps"] == model.num_timesteps
    assert training["training_start"] == "2025-12-15T05:15:49Z"
    assert doc["model_metadata"]["sources"]["session_id"] == "the name session32_final.zip"
    assert doc["model_metadata"]["model_file"]["sha256"] == doc["kalshi_tui"]["model_sha256"]
    # Unknown keys survive: a key only this operator's tools know.
    doc["operator_ticket"] = "OPS-17"
    config.pointer_file.write_text(json.dumps(doc))
    engine.rollback("session 12 after all", to_revision=3, force=True)
    again = json.loads(config.pointer_file.read_text())
    assert again["operator_ticket"] == "OPS-17"
    assert again["previous_model"]["full_path"] == "trained_models/session32_final.zip"
    assert again["previous_model"]["model_metadata"] == doc["model_metadata"]
    assert [e["version"] for e in again["version_history"][:3]] == ["r7", "r5", "3.0"]
    assert again["version_history"][0]["milestone"] == "rollback to revision 3"


def test_model_metadata_keeps_every_fact_of_the_run(layout):
    config, _ = layout(4)
    run = config.base_dir / SESSION9_RUN
    (run / "training_results.json").write_text(
        json.dumps(
            {
                "total_timesteps": "200704",
                "session_ids": [9],
                "training_duration_seconds": "156.42",
                "training_start": "2025-12-11 22:10:54.137069",
                "training_end": "2025-12-11 22:13:30.747450",
                "portfolio_statistics": {"total_episodes": 1915, "unique_markets": 300},
            }
        )
    )
    five = write_config(config.base_dir, FIVE_ACTIONS)
    PointerEngine(five).promote(inspect_model(config.base_dir / SESSION9, five), "session 9")
    training = json.loads(five.pointer_file.read_text())["model_metadata"]["training_session"]
    assert training == {
        "session_id": 9, "algorithm": "PPO", "total_timesteps": 200704, "total_episodes": 1915,
        "unique_markets": 300, "training_duration_seconds": 156.42,
        "training_start": "2025-12-12T03:10:54Z",  # the zip's start_time
        "training_completion": "2025-12-12T03:13:30.747450Z"}  # zone-less Eastern -> UTC


def test_status_names_what_the_session12_zip_contradicts(layout):
    config, _ = layout(4, FIVE_ACTIONS)
    status = PointerEngine(config).status()
    assert status.verdict == "compatible"
    assert ("model_metadata.training_session.total_timesteps: the pointer says 1,003,520, the "
            "model zip (data num_timesteps) says 970,752") in status.contradictions
    assert ("model_metadata.training_session.training_start: the pointer says "
            "2025-12-17T09:55:41.548613Z (trained on 2025-12-17), the model zip (data start_time) "
            "says 2025-12-11 23:59:39 UTC (trained on 2025-12-11)") in status.contradictions
    # v3.0's `Z` times are real UTC (read as Eastern its last_updated would fall after the
    # commit that wrote it); nothing here shows otherwise, so no zone note.
    assert not any("Eastern" in n for n in status.notes)


def test_eastern_note_only_with_the_zips_evidence(layout):
    config, _ = layout(1, FIVE_ACTIONS)
    # v1.0's paths are repository-root-relative: the trader ran from the repository root.
    config = write_config(config.base_dir, FIVE_ACTIONS, base_dir="..")
    status = PointerEngine(config).status()
    assert status.model_exists and status.verdict == "compatible"
    assert status.contradictions == []
    notes = [n for n in status.notes if "US Eastern" in n]
    assert notes[0] == (
        "model_metadata.training_session.training_start 2025-12-11T22:10:54.137069Z "
        "is US Eastern local time marked 'Z' (true UTC 2025-12-12 03:10:54 UTC): "
        "the model zip's own start_time is 2025-12-12 03:10:54 UTC, 5 h (the US "
        "Eastern offset on that date) after it"
    )
    assert "training_completion 2025-12-11T22:13:30.747450Z is on the same clock" in notes[1]
    assert notes[2].startswith("current_model.last_updated 2025-12-11T22:13:30.747450Z equals")
    # The same pointer with a zip started at its training_start read as UTC: no note.
    from model_factory import edit_data

    model = config.models_dir / "session9_ppo_20251211_221054" / "trained_model.zip"
    edit_data(model, model.with_suffix(".tmp"), lambda d: d.update(start_time=1765491054137069000))
    model.with_suffix(".tmp").replace(model)
    assert not any("US Eastern" in n for n in PointerEngine(config).status().notes)


def test_hyperparameters_written_as_words_are_checked_against_the_zip(layout):
    config, original = layout(2, FIVE_ACTIONS)
    from kalshi_tui.core.pointer.evidence import contradictions

    # v2.0 says "default" for every setting; this session 32 zip was trained with others.
    record = inspect_model(config.base_dir / SESSION32, config)
    found = contradictions(original, record)
    assert ("model_metadata.hyperparameters.n_steps: the pointer says 'default' (PPO's default), "
            f"the model zip (data n_steps) says {record.hyperparameters['n_steps']}") in found
    # "1e-4 (tuned)" is read as 0.0001; agreeing figures are not listed.
    doc = json.loads(json.dumps(original))
    doc["model_metadata"]["hyperparameters"] = {"learning_rate": "3e-4 (tuned)", "n_steps": "32"}
    doc["model_metadata"]["training_session"].update(total_timesteps=record.num_timesteps,
                                                      training_start="2025-12-15T05:15:49Z")
    doc["model_metadata"]["performance_metrics"]["action_space"] = "21 actions (5 position sizes)"
    assert contradictions(doc, record) == []
    doc["model_metadata"]["performance_metrics"]["action_space"] = "5 actions"
    assert contradictions(doc, record) == [
        "model_metadata.performance_metrics.action_space: the pointer says '5 actions', "
        "the model zip says Discrete(21)"]


def test_prune_keeps_the_models_the_imported_history_can_roll_back_to(layout):
    from kalshi_tui.core.pointer.prune import plan_prune

    config, _ = layout(4)
    plan = plan_prune(config, 0)
    kept = {unit.key: unit.kept_because for unit in plan.kept}
    # v2.1's BEST_MODEL path leads to the models folder's session32_final.zip; v1.0's folder
    # to session 9's run: both stay, though nothing is journalled yet.
    assert "named by journal revision 2" in kept["session32_final.zip"]
    assert "named by journal revision 1" in kept["session9_ppo_20251211_221054"]
    assert plan.removed == []
