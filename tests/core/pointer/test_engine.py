"""Every rule of the pointer engine on real zips: adopt, promote, guard rails, CAS, rollback,
status."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from kalshi_tui import __version__
from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine, Refused, StaleRevision
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.lock import current_user
from kalshi_tui.core.pointer.state import CONSISTENT, DRIFTED, UNMANAGED

REFERENCE_21 = "CURRENT_MODEL.2-session32-21actions.json"


def record_of(ws, name):
    return inspect_model(ws.model(name), ws.config)


def pointer_doc(ws):
    return json.loads(ws.pointer.read_text())


def test_first_promote_without_a_pointer_is_revision_1(workspace):
    engine = PointerEngine(workspace.config)
    result = engine.promote(record_of(workspace, "ppo21"), "first model", expect_revision=0)
    assert result.revision == 1 and result.adopted_revision is None
    doc = pointer_doc(workspace)
    assert (
        doc["current_model"]["full_path"]
        == "trained_models/session32_ppo_20251215_001549/model.zip"
    )
    assert (workspace.base / doc["current_model"]["full_path"]).is_file()
    [record] = read_records(journal_path_for(workspace.pointer))
    assert record["from"] is None and record["to"]["sha256"] == doc["kalshi_tui"]["model_sha256"]
    assert record["user"] == current_user() and record["host"] == socket.gethostname()
    assert record["pid"] == os.getpid() and record["tool_version"] == __version__
    assert record["time"].endswith("Z") and record["forced"] is False
    assert engine.status().alarms == []


def test_hand_written_pointer_is_adopted_then_changed(workspace, reference_pointers):
    source = next(p for p in reference_pointers if p.name == REFERENCE_21)
    shutil.copy(source, workspace.pointer)
    original = json.loads(source.read_text())
    engine = PointerEngine(workspace.config)
    before = engine.status()
    assert before.relation == UNMANAGED and before.revision == 0
    assert any("missing" in a for a in before.alarms)  # its session32_final.zip is not here
    result = engine.promote(record_of(workspace, "ppo21"), "replace the hand-written pointer",
                            expect_revision=0)
    # Its version_history (v1.0, v2.0) is imported first as revisions 1-2, then it is adopted.
    assert (result.plan.imported, result.adopted_revision, result.revision) == (2, 3, 4)
    v1, v2, adopt, promote = read_records(journal_path_for(workspace.pointer))
    assert [v1["action"], v2["action"]] == ["import", "import"]
    assert v1["imported"]["version"] == "1.0" and v2["imported"]["date"] == "2025-12-16T00:00:00Z"
    assert v2["from"] == v1["to"] and adopt["from"] == v2["to"]
    assert (
        adopt["action"] == "adopt" and adopt["to"]["path"] == original["current_model"]["full_path"]
    )
    assert adopt["to"]["sha256"] is None  # the file was not there to hash
    assert promote["from"] == adopt["to"]
    doc = pointer_doc(workspace)
    for moved in ("production_readiness", "notes"):
        assert moved not in doc and doc["previous_model"][moved] == original[moved]
    assert doc["version_history"][1:] == original["version_history"]
    assert doc["kalshi_tui"]["revision"] == 4 and doc["kalshi_tui"]["previous_revision"] == 3
    assert (
        doc["model_metadata"]["performance_metrics"]["action_space"]
        == "21 actions (5 position sizes)"
    )
    assert doc["current_model"]["selected_reason"] == "replace the hand-written pointer"
    assert engine.status().relation == CONSISTENT


def test_guard_rails_refuse_and_change_nothing(workspace):
    engine = PointerEngine(workspace.config)
    engine.promote(record_of(workspace, "ppo21"), "start")
    snapshot = workspace.pointer.read_bytes()
    with pytest.raises(Refused, match="is incompatible"):
        engine.promote(record_of(workspace, "ppo5"), "legacy model")
    with pytest.raises(Refused, match="already the current model"):
        engine.promote(record_of(workspace, "ppo21"), "again")
    with pytest.raises(Refused, match="reason is required"):
        engine.promote(record_of(workspace, "a2c21"), "  ")
    listed = record_of(workspace, "a2c21")
    with pytest.raises(Refused, match="changed since it was listed"):
        engine.promote(listed, "stale listing", expect_sha256="0" * 64)
    broken = workspace.models_dir / "broken_final.zip"
    broken.write_bytes(b"PK\x03\x04 this is not a model")
    with pytest.raises(Refused, match="unreadable"):
        engine.promote(inspect_model(broken, workspace.config), "broken")
    assert workspace.pointer.read_bytes() == snapshot
    assert len(read_records(journal_path_for(workspace.pointer))) == 1


def test_model_changed_after_listing_is_refused(workspace):
    engine = PointerEngine(workspace.config)
    listed = record_of(workspace, "a2c21")
    with open(workspace.model("a2c21"), "ab") as handle:
        handle.write(b"appended after it was listed")
    with pytest.raises(Refused, match="changed since it was listed"):
        engine.promote(listed, "what list showed")
    assert not workspace.pointer.exists()


def test_force_promotes_incompatible_and_records_it(workspace):
    engine = PointerEngine(workspace.config)
    result = engine.promote(record_of(workspace, "ppo5"), "testing legacy on purpose", force=True)
    assert result.plan.forced and result.history.forced
    doc = pointer_doc(workspace)
    assert doc["kalshi_tui"]["forced"] is True and doc["current_model"]["status"] == "forced"
    assert (
        doc["model_metadata"]["performance_metrics"]["action_space"]
        == "5 actions (single position size)"
    )
    status = engine.status()
    assert any("incompatible" in a for a in status.alarms)


def test_stale_revision_names_who_changed_it(workspace):
    engine = PointerEngine(workspace.config)
    engine.promote(record_of(workspace, "ppo21"), "one")
    engine.promote(record_of(workspace, "a2c21"), "two: better win rate")
    with pytest.raises(StaleRevision) as info:
        engine.promote(record_of(workspace, "ppo21b"), "three", expect_revision=1)
    message = str(info.value)
    assert "revision 2, not 1" in message and current_user() in message
    assert "session10_a2c_20251215_071301/model.zip" in message and "better win rate" in message
    assert info.value.actual == 2 and info.value.when.endswith("Z")


def test_rollback_skips_missing_changed_and_incompatible_revisions(workspace):
    engine = PointerEngine(workspace.config)
    engine.promote(record_of(workspace, "ppo21"), "r1")          # 1: ppo21 (stays valid)
    engine.promote(record_of(workspace, "ppo21b"), "r2")         # 2: ppo21b (will change)
    engine.promote(record_of(workspace, "ppo5"), "r3", force=True)  # 3: incompatible
    engine.promote(record_of(workspace, "a2c21"), "r4")          # 4: current
    with open(workspace.model("ppo21b"), "ab") as handle:
        handle.write(b"retrained in place")
    plan = engine.plan_rollback()
    assert plan.target_revision == 1
    reasons = {s.revision: s.reason for s in plan.skipped}
    assert "incompatible now" in reasons[3] and "changed since revision 2" in reasons[2]
    result = engine.rollback("a2c misbehaves", expect_revision=4)
    assert result.revision == 5 and result.plan.target_revision == 1
    record = read_records(journal_path_for(workspace.pointer))[-1]
    assert record["action"] == "rollback" and record["target_revision"] == 1
    assert {s["revision"] for s in record["skipped"]} == {2, 3}
    assert pointer_doc(workspace)["current_model"]["full_path"].endswith(
        "session32_ppo_20251215_001549/model.zip"
    )
    # Missing: remove revision 1's model; with 2 changed, 3 incompatible and 4/5 current-ish,
    # the newest valid earlier revision is 4 (a2c21).
    plan = engine.plan_rollback()
    assert plan.target_revision == 4
    shutil.rmtree(workspace.model("a2c21").parent)
    with pytest.raises(Refused, match="no revision to roll back to") as info:
        engine.rollback("nothing valid")
    assert "missing" in str(info.value) and "\n" not in str(info.value)


def test_rollback_to_a_chosen_revision(workspace):
    engine = PointerEngine(workspace.config)
    engine.promote(record_of(workspace, "ppo5"), "legacy", force=True)
    engine.promote(record_of(workspace, "ppo21"), "modern")
    engine.promote(record_of(workspace, "a2c21"), "other")
    assert engine.rollback("back to 2", to_revision=2).plan.target_revision == 2
    with pytest.raises(Refused, match="is incompatible now"):
        engine.rollback("to legacy", to_revision=1)
    forced = engine.rollback("to legacy on purpose", to_revision=1, force=True)
    assert forced.plan.forced and forced.revision == 5
    with pytest.raises(Refused, match="no revision 42"):
        engine.rollback("nowhere", to_revision=42)
    with pytest.raises(Refused, match="already the current model"):
        engine.rollback("same", to_revision=5)


def test_rollback_to_a_chosen_revision_lists_every_revision_it_passes_over(workspace):
    engine = PointerEngine(workspace.config)
    for index, name in enumerate(["ppo21", "a2c21", "ppo21b", "a2c21", "ppo21", "ppo21b"], 1):
        engine.promote(record_of(workspace, name), f"r{index}")          # 1-6, 6 current
    plan = engine.plan_rollback(to_revision=2)
    assert [s.revision for s in plan.skipped] == [5, 4, 3]  # not 6 (left), not 2 (the target)
    assert all("revision 2 was chosen" in s.reason for s in plan.skipped)
    result = engine.rollback("back to the a2c", to_revision=2, expect_revision=6)
    record = read_records(journal_path_for(workspace.pointer))[-1]
    assert [s["revision"] for s in record["skipped"]] == [5, 4, 3]
    # Right after: 7 is current; a chosen 6 passes over nothing, a chosen 1 passes 2-6.
    assert result.revision == 7 and engine.plan_rollback(to_revision=6).skipped == []
    assert [s.revision for s in engine.plan_rollback(to_revision=1).skipped] == [6, 5, 4, 3, 2]


def test_rollback_without_history_is_refused(workspace, reference_pointers):
    doc = json.loads(reference_pointers[0].read_text())
    del doc["version_history"]
    workspace.pointer.write_text(json.dumps(doc))
    with pytest.raises(Refused, match="no history and CURRENT_MODEL.json has no version_history"):
        PointerEngine(workspace.config).rollback("undo")
    assert not journal_path_for(workspace.pointer).exists()


def test_hand_written_pointer_has_no_changed_alarm_and_says_so(workspace, reference_pointers):
    doc = json.loads(next(p for p in reference_pointers if p.name == REFERENCE_21).read_text())
    doc["current_model"]["full_path"] = "trained_models/session32_ppo_20251215_001549/model.zip"
    workspace.pointer.write_text(json.dumps(doc))
    status = PointerEngine(workspace.config).status()
    assert status.alarms == [] and status.verdict == "compatible"
    assert any("no sha256 recorded" in n for n in status.notes)
    # The zip was trained today, not on 2025-12-15 as the pointer's metadata claims: that is
    # named, and with no evidence either way its `Z` times get no time-zone note.
    assert any(c.startswith("model_metadata.training_session.training_start: the pointer says "
                            "2025-12-15T00:15:49.260508Z") for c in status.contradictions)
    assert not any("US Eastern" in n for n in status.notes)


def test_status_alarms(workspace):
    engine = PointerEngine(workspace.config)
    assert any("no pointer file" in a for a in engine.status().alarms)
    engine.promote(record_of(workspace, "ppo21"), "ok")
    assert engine.status().alarms == []
    model = workspace.model("ppo21")
    original = model.read_bytes()
    model.write_bytes(original + b"tampered")
    status = engine.status()
    assert any("changed on disk since revision 1" in a for a in status.alarms)
    model.unlink()
    assert any("current model missing" in a for a in engine.status().alarms)
    model.write_bytes(original)
    assert engine.status().alarms == []


def test_pointer_edited_by_hand_after_kalshi_tui_is_adopted(workspace):
    engine = PointerEngine(workspace.config)
    engine.promote(record_of(workspace, "ppo21"), "managed")
    doc = pointer_doc(workspace)
    doc["current_model"]["full_path"] = "trained_models/session10_a2c_20251215_071301/model.zip"
    workspace.pointer.write_text(json.dumps(doc, indent=2))
    status = engine.status()
    assert status.relation == DRIFTED and any("outside kalshi-tui" in n for n in status.notes)
    result = engine.promote(record_of(workspace, "ppo21b"), "after a hand edit", expect_revision=1)
    assert (result.adopted_revision, result.revision) == (2, 3)
    records = read_records(journal_path_for(workspace.pointer))
    assert records[1]["action"] == "adopt"
    assert records[1]["from"] == records[0]["to"]
    assert records[1]["to"]["path"].endswith("session10_a2c_20251215_071301/model.zip")
    assert records[2]["from"] == records[1]["to"]


def test_history_newest_first_with_limit(workspace):
    engine = PointerEngine(workspace.config)
    for name in ("ppo21", "a2c21", "ppo21b"):
        engine.promote(record_of(workspace, name), f"to {name}")
    history = engine.history()
    assert [h.revision for h in history] == [3, 2, 1]
    assert [h.revision for h in engine.history(limit=2)] == [3, 2]
    assert history[0].from_.same_as(history[1].to)


def test_hook_gets_the_new_model_and_its_failure_never_undoes(workspace):
    out = workspace.base / "hook.out"
    workspace.reload(
        post_change_hook=f'echo "$KALSHI_TUI_MODEL_PATH $KALSHI_TUI_REVISION" > {out}; exit 7'
    )
    engine = PointerEngine(workspace.config)
    result = engine.promote(record_of(workspace, "ppo21"), "with hook")
    assert result.revision == 1 and result.hook is not None and not result.hook.ok
    assert result.hook.returncode == 7
    assert out.read_text().split() == [str(workspace.model("ppo21")), "1"]
    log = [json.loads(line) for line in Path(result.hook.log_file).read_text().splitlines()]
    assert log[-1]["returncode"] == 7 and log[-1]["revision"] == 1
    assert engine.status().revision == 1


def test_hook_timeout_is_reported(workspace):
    workspace.reload(post_change_hook="sleep 30", hook_timeout_seconds=0.3)
    result = PointerEngine(workspace.config).promote(record_of(workspace, "ppo21"), "slow hook")
    assert result.hook.timed_out and "timed out" in result.hook.summary()
    assert result.revision == 1


def test_metadata_comes_from_the_zip_and_the_runs_artifacts(workspace):
    run = workspace.model("ppo21").parent
    (run / "training_results.json").write_text(
        json.dumps(
            {
                "training_completed": True,
                "total_timesteps": "1003520",
                "training_duration_seconds": "406.36",
                "algorithm": "PPO",
                "session_ids": [32],
                "portfolio_statistics": {
                    "total_episodes": "7721",
                    "unique_markets": 26,
                    "dynamics_statistics": {"trading_outcomes": {"win_rate": 0.359}},
                },
            }
        )
    )
    episode = {"timestamp": "2025-12-15 00:16:00", "category": "episode", "level": "INFO",
               "event_type": "episode_complete",
               "data": {"category": "action_summary",
                        "action_distribution": {str(a): 5 if a == 0 else 1 for a in range(21)}}}
    (run / "diagnostics.jsonl").write_text((json.dumps(episode) + "\n") * 3)
    PointerEngine(workspace.config).promote(record_of(workspace, "ppo21"), "with artifacts")
    doc = pointer_doc(workspace)
    meta = doc["model_metadata"]
    session = meta["training_session"]
    # Timesteps from the zip itself (the original pointers' prose contradicted their zips).
    assert session["total_timesteps"] == 64 and session["total_episodes"] == 7721
    assert session["session_id"] == 32 and session["algorithm"] == "PPO"
    activity = meta["performance_metrics"]["trading_activity"]
    assert activity["hold_percentage"] == 20.0 and activity["trading_percentage"] == 80.0
    assert activity["win_rate"] == 0.359
    distribution = meta["performance_metrics"]["action_distribution"]
    assert distribution["actions_used"] == "0-20 (all 21 actions)"
    assert distribution["distribution"].startswith("HOLD: 20.0%, BUY_YES x5: 4.0%")
    assert meta["hyperparameters"]["n_steps"] == 32 and meta["hyperparameters"]["gamma"] == 0.99
    assert doc["diagnostics_files"] == {
        "structured_log": "trained_models/session32_ppo_20251215_001549/diagnostics.jsonl",
        "training_results": "trained_models/session32_ppo_20251215_001549/training_results.json"}
