"""The CLI on the original system's last real pointer, as an operator runs it (fresh processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "pointer"))

from original_layout import FIVE_ACTIONS, POINTERS, SESSION12, make_original_layout, write_config  # noqa: E402

from kalshi_tui.cli import exit_codes  # noqa: E402


def cli(config, *args):
    return subprocess.run([sys.executable, "-m", "kalshi_tui", "--config", str(config.file), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          cwd=config.base_dir, timeout=120)


def v3_layout(tmp_path, model_zoo, reference_pointers, environment=None):
    source = next(p for p in reference_pointers if p.name == POINTERS[4])
    return make_original_layout(tmp_path, model_zoo, source, environment)


def test_history_and_rollback_on_the_v3_pointer(tmp_path, model_zoo, reference_pointers):
    config = v3_layout(tmp_path, model_zoo, reference_pointers)
    history = cli(config, "history")
    assert history.returncode == exit_codes.OK, history.stderr
    lines = history.stdout.splitlines()
    assert lines[1].split()[:4] == ["3", "2025-12-17T15:54:00Z", "imported", "v3.0"]
    assert any(
        line.split()[:4] == ["2", "2025-12-16T13:30:00Z", "imported", "v2.1"] for line in lines
    )
    assert "backend/trained_models/session9_ppo_20251211_221054/" in history.stdout
    assert "written to the journal at the first promote or rollback" in history.stdout
    dry = cli(config, "rollback", "--dry-run", "--reason", "back to 21 actions")
    assert dry.returncode == exit_codes.OK, dry.stderr
    assert "rolling back to revision 2" in dry.stdout
    assert "to:   trained_models/session32_final.zip" in dry.stdout
    assert "first records the pointer's version_history as revisions 1-3 (imported)" in dry.stdout
    assert not config.pointer_file.with_name("CURRENT_MODEL.history.jsonl").exists()
    done = cli(config, "rollback", "--yes", "--reason", "back to 21 actions", "--json")
    assert done.returncode == exit_codes.OK, done.stderr
    result = json.loads(done.stdout)
    assert result["revision"] == 5 and result["plan"]["target_revision"] == 2
    assert result["plan"]["imported"] == 3 and result["adopted_revision"] == 4
    listed = json.loads(cli(config, "history", "--json").stdout)
    assert [(r["revision"], r["action"]) for r in listed] == [
        (5, "rollback"), (4, "adopt"), (3, "import"), (2, "import"), (1, "import")]
    assert listed[2]["imported"]["date"] == "2025-12-17T15:54:00Z" and listed[2]["journalled"]


def test_rollback_to_session32_refused_under_5_actions(tmp_path, model_zoo, reference_pointers):
    config = v3_layout(tmp_path, model_zoo, reference_pointers, FIVE_ACTIONS)
    refused = cli(config, "rollback", "--to", "2", "--dry-run", "--reason", "try 21")
    assert refused.returncode == exit_codes.REFUSED
    assert refused.stderr.count("\n") == 1
    assert ("cannot roll back to revision 2: src/kalshiflow_rl/BEST_MODEL/session32_final.zip is "
            "incompatible now") in refused.stderr


def test_status_and_show_name_the_contradicted_figures(tmp_path, model_zoo, reference_pointers):
    config = v3_layout(tmp_path, model_zoo, reference_pointers, FIVE_ACTIONS)
    status = cli(config, "status")
    assert status.returncode == exit_codes.OK, status.stdout + status.stderr
    timesteps = ("model_metadata.training_session.total_timesteps: the pointer says 1,003,520, "
                 "the model zip (data num_timesteps) says 970,752")
    start = "(trained on 2025-12-17), the model zip (data start_time) says 2025-12-11 23:59:39 UTC"
    assert f"CONTRADICTED by the model file: {timesteps}" in status.stdout
    assert start in status.stdout
    assert "Eastern" not in status.stdout  # v3.0's Z time is real UTC: no evidence, no note
    assert status.stdout.rstrip().endswith(
        "ok: the trader will load a compatible model (unchanged cannot be told); the pointer's "
        "metadata about it is wrong where marked CONTRADICTED")
    shown = cli(config, "show", str(config.base_dir / SESSION12))
    assert shown.returncode == 0, shown.stderr
    assert "the pointer (" in shown.stdout and timesteps in shown.stdout and start in shown.stdout
    as_json = json.loads(cli(config, "show", str(config.base_dir / SESSION12), "--json").stdout)
    assert timesteps in as_json["pointer_contradictions"]


def test_promote_over_the_v3_pointer_in_a_fresh_process(tmp_path, model_zoo, reference_pointers):
    config = v3_layout(tmp_path, model_zoo, reference_pointers)
    config = write_config(config.base_dir)
    done = cli(config, "promote", "session32_final.zip", "--yes", "--reason", "21 actions")
    assert done.returncode == exit_codes.OK, done.stderr
    assert "imported the pointer's version_history as revisions 1-3" in done.stdout
    doc = json.loads(config.pointer_file.read_text())
    assert "Ready for immediate paper trading deployment" not in json.dumps(
        {k: v for k, v in doc.items() if k != "previous_model"})
    assert "Ready for immediate paper trading deployment" in json.dumps(doc["previous_model"])


def test_control_characters_in_a_version_history_never_reach_the_terminal(tmp_path, model_zoo,
                                                                           reference_pointers):
    config = v3_layout(tmp_path, model_zoo, reference_pointers)
    doc = json.loads(config.pointer_file.read_text())
    doc["version_history"][1]["description"] = "clears the screen\x1b[2J\x07 here"
    doc["model_metadata"]["training_session"]["algorithm"] = "A2C\x1b]0;title\x07"
    config.pointer_file.write_text(json.dumps(doc))
    for args in (["history"], ["status"]):
        out = cli(config, *args)
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout, args
    assert "clears the screen\\x1b[2J\\x07 here" in cli(config, "history").stdout
    assert "A2C\\x1b]0;title\\x07" in cli(config, "status").stdout
