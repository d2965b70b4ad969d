"""`kalshi-tui report` checks the health of the models it is about to recommend, for real.

A deliberately collapsed policy (its argmax is SELL_YES x100 everywhere, yet sampling
spreads over every action) with flattering training figures, its byte-identical flat
"final", and a healthy policy with plainer figures: the report must check the collapsed
one first (it ranks first on training figures), bar it, and recommend the healthy one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eval_helpers import collapsed_but_sampling_widely, healthy_policy
from model_factory import edit_data

from kalshi_tui.cli import main
from kalshi_tui.core.report.markdown import APPENDIX_HEADING

SELL_YES_X100 = 10
RUN32 = "session32_ppo_20251215_001549"
RUN7 = "session7_ppo_20251215_082705"
FINAL = "session32_final.zip"
CHECKPOINT = f"{RUN32}/checkpoints/model_15000_steps.zip"


def _results(run: Path, *, win_rate: float, markets: int, hold: float) -> None:
    (run / "diagnostics").mkdir(parents=True, exist_ok=True)
    (run / "training_results.json").write_text(
        json.dumps(
            {
                "training_completed": True,
                "total_timesteps": 30000,
                "session_ids": [int(run.name[7:9].strip("_"))],
                "portfolio_statistics": {
                    "total_episodes": 40,
                    "unique_markets": markets,
                    "dynamics_statistics": {"trading_outcomes": {"win_rate": win_rate}},
                },
            }
        )
    )
    (run / "diagnostics" / "training_summary.json").write_text(
        json.dumps(
            {
                "final_statistics": {
                    "action_statistics": {
                        "hold_dominance": {"hold_percentage": hold},
                        "overall_entropy_normalized": 0.8,
                    }
                }
            }
        )
    )


@pytest.fixture()
def folder(model_zoo, small_config) -> Path:
    models = small_config.models_dir
    run32, run7 = models / RUN32, models / RUN7
    run32.mkdir(parents=True)
    run7.mkdir(parents=True)
    collapsed_but_sampling_widely(model_zoo["ppo21"], run32 / "model.zip", SELL_YES_X100)
    shutil.copyfile(run32 / "model.zip", models / FINAL)
    # A mid-run checkpoint with the same collapsed head (other bytes: another step count)
    (run32 / "checkpoints").mkdir()
    edit_data(run32 / "model.zip", models / CHECKPOINT,
              lambda data: data.update(num_timesteps=15000))
    healthy_policy(model_zoo["ppo21"], run7 / "model.zip")
    # The collapsed run's summary flatters it, as the original's did.
    _results(run32, win_rate=0.81, markets=6, hold=2.1)
    _results(run7, win_rate=0.10, markets=6, hold=8.5)
    return small_config.file


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_checks_its_choices_bars_the_collapsed_and_recommends_the_healthy(folder, capsys):
    code, out, err = run(capsys, "report", "--format", "json", "--config", str(folder))
    assert code == 0, err
    report = json.loads(out)
    # The collapsed run leads on training figures, is checked and barred; then the healthy
    # run leads, and the alternative must be another run: the collapsed run's checkpoint.
    checked = [f"{RUN32}/model.zip", f"{RUN7}/model.zip", CHECKPOINT]
    assert report["health_checked_now"] == checked
    assert err.splitlines() == [
        f"kalshi-tui report: checking the health of {path} in the trader's mode (sessions 1-3) ..."
        for path in checked
    ]
    primary = report["recommendations"]["primary"]
    assert primary["path"] == f"{RUN7}/model.zip"
    health = next(f for f in primary["deciding_facts"] if f["label"] == "Policy health")
    assert health["text"].startswith("HEALTHY: ") and health["text"].endswith(
        "(checked for this report)"
    )
    barred = report["not_recommended_models"]
    assert [(b["path"], b["copies"], b["checkpoints"]) for b in barred] == [
        (f"{RUN32}/model.zip", [FINAL], [CHECKPOINT])]  # barred for the same reason: one line
    assert report["recommendations"]["alternative"] is None
    assert barred[0]["facts"][0]["text"].startswith("COLLAPSED: SELL_YES x100 on 100.0 % of ")
    assert barred[0]["facts"][1]["text"] == (
        "its training summary, counted while the policy sampled, showed orders on 97.9 % of steps "
        "and a win rate of 81.0 %: it hid this"
    )
    # The checks were stored: the next report runs none and says the same.
    code, again, err = run(capsys, "report", "--format", "json", "--config", str(folder))
    assert code == 0 and err == ""
    second = json.loads(again)
    assert second["health_checked_now"] == []
    assert second["recommendations"]["primary"]["path"] == primary["path"]
    code, text, err = run(capsys, "report", "--config", str(folder))
    screen = text[: text.index(APPENDIX_HEADING)].splitlines()
    assert len(screen) <= 60
    assert any(
        line.startswith(
            f"- `{RUN32}/model.zip` (one model with its identical copy `{FINAL}`): "
            "COLLAPSED: SELL_YES x100"
        )
        and line.endswith(f"; its checkpoints `{CHECKPOINT}`: the same.")
        for line in screen
    )


def test_stored_only_runs_no_check_and_says_the_choice_is_unchecked(folder, capsys):
    code, out, err = run(
        capsys, "report", "--format", "json", "--stored-only", "--config", str(folder)
    )
    assert code == 0 and err == ""
    report = json.loads(out)
    primary = report["recommendations"]["primary"]
    # On training figures alone the collapsed run leads: exactly why the report checks.
    assert primary["path"] == f"{RUN32}/model.zip"
    health = next(f for f in primary["deciding_facts"] if f["label"] == "Policy health")
    assert health["text"] == "not checked: how it acts in the trader's mode is unknown"
    assert report["action_items"][0]["command"] == f"kalshi-tui health {RUN32}/model.zip"


def test_list_show_and_compare_show_the_stored_health(folder, capsys):
    run(capsys, "report", "--format", "json", "--config", str(folder))  # stores both checks
    code, out, err = run(capsys, "list", "--config", str(folder))
    assert code == 0, err
    header, *rows = out.splitlines()[:5]
    assert "HEALTH" in header
    by_name = {row.split()[-1]: row for row in rows}
    assert "COLLAPSED" in by_name[FINAL] and "COLLAPSED" in by_name[f"{RUN32}/model.zip"]
    assert "COLLAPSED" in by_name[CHECKPOINT]
    assert "HEALTHY" in by_name[f"{RUN7}/model.zip"]
    code, out, _ = run(capsys, "list", "--json", "--config", str(folder))
    states = {r["path"]: r["health"] for r in json.loads(out)}
    assert (
        states[FINAL]["state"] == "COLLAPSED" and states[f"{RUN7}/model.zip"]["state"] == "HEALTHY"
    )
    code, out, _ = run(capsys, "show", FINAL, "--config", str(folder))
    assert "health      COLLAPSED: SELL_YES x100" in out
    code, out, _ = run(capsys, "compare", FINAL, RUN7, "--config", str(folder))
    assert code == 0
    state_row = next(line for line in out.splitlines() if line.startswith("state "))
    assert "COLLAPSED" in state_row and state_row.rstrip().endswith("HEALTHY*")
    code, out, _ = run(capsys, "compare", FINAL, RUN7, "--json", "--config", str(folder))
    rows = {(r["section"], r["label"]): r for r in json.loads(out)["rows"]}
    assert rows[("health", "distinct actions")]["a_value"] == 1
    assert rows[("health", "state")]["better"] == "b"


def test_no_sessions_to_check_on_is_said_and_nothing_is_barred(folder, capsys):
    """A config whose validation sessions the store lacks: the report still stands, says why
    nothing was checked, and bars no model for it (it is not the model's fault)."""
    text = folder.read_text().replace('sessions = "1-3"', 'sessions = "7"')
    folder.write_text(text)
    code, out, err = run(capsys, "report", "--format", "json", "--config", str(folder))
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["health_checked_now"] == []
    assert any(note.startswith("no health check could run: ") and "sessions 7" in note
               for note in report["notes"])
    assert report["not_recommended_models"] == []
    assert report["recommendations"]["primary"]["path"] == f"{RUN32}/model.zip"


def test_the_ab_against_the_current_model_decides_once_it_is_run(folder, capsys):
    """The collapsed run is what the trader follows: the report says COLLAPSED in the current
    model's alarm, asks for the A/B of its healthy recommendation, then quotes it."""
    code, _, err = run(capsys, "promote", FINAL, "--reason", "the seed said so", "--yes",
                       "--config", str(folder))
    assert code == 0, err
    code, out, err = run(capsys, "report", "--format", "json", "--config", str(folder))
    report = json.loads(out)
    current = report["current_model"]
    assert current["state"] == "COLLAPSED" and current["alarm"]
    assert current["alarms"][-1].startswith("current model is COLLAPSED: SELL_YES x100")
    primary = report["recommendations"]["primary"]
    assert primary["path"] == f"{RUN7}/model.zip"
    facts = {f["label"]: f for f in primary["deciding_facts"]}
    assert facts["Against the current model"]["text"] == "no A/B against the current model"
    assert f"kalshi-tui abtest {RUN7}/model.zip" in [i["command"] for i in report["action_items"]]
    code, _, err = run(capsys, "abtest", f"{RUN7}/model.zip", "--config", str(folder))
    assert code == 0, err
    code, out, _ = run(capsys, "report", "--format", "json", "--config", str(folder))
    report = json.loads(out)
    facts = {f["label"]: f for f in report["recommendations"]["primary"]["deciding_facts"]}
    ab = facts["Against the current model"]
    assert ab["text"].startswith("vs current: ") and " 95 % CI [" in ab["text"]
    assert ab["source"].startswith("A/B test on sessions 1-3, ")
    assert not any(i["command"].startswith("kalshi-tui abtest") for i in report["action_items"])
