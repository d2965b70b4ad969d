"""`kalshi-tui smoke` and `kalshi-tui validate`: exit codes, one-line errors, JSON, stored
results."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

from eval_helpers import write_config  # noqa: E402
from model_factory import plant_malicious_field  # noqa: E402

from kalshi_tui.cli import main  # noqa: E402
from kalshi_tui.cli.eval_commands import ProgressBar  # noqa: E402
from kalshi_tui.env import GeneratorSettings, generate_sessions  # noqa: E402


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clistore") / "sessions.db"
    generate_sessions(
        path, [4, 5, 6], seed=1, markets=2, settings=GeneratorSettings(steps=(50, 120))
    )
    return path


@pytest.fixture()
def config_file(tmp_path, cli_store, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    return write_config(tmp_path / "site", cli_store, sessions="4-5").file


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_smoke_passes_a_fitting_model(capsys, model_zoo, config_file):
    code, out, err = run(capsys, "smoke", str(model_zoo["ppo21"]), "--config", str(config_file))
    assert code == 0, err
    assert "smoke       OK" in out and "every action in range" in out
    assert "ms for 1 observation" in out and err == ""
    assert "world       profile kalshiflow-2025-12-15, layout A, fill model realistic" in out


def test_smoke_json_reports_latency_and_actions(capsys, model_zoo, config_file):
    code, out, _ = run(
        capsys, "smoke", str(model_zoo["dqn21"]), "--config", str(config_file), "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["problems"] == []
    assert report["algorithm"] == "DQN" and report["n_actions"] == 21
    assert report["predict_latency_ms"] > 0 and report["batch_latency_ms"] > 0
    assert report["steps_run"] == sum(report["actions_seen"].values()) > 0
    assert all(label == "HOLD" or " x" in label for label in report["actions_seen"])
    assert (report["profile"], report["observation_layout"], report["fill_model"]) == (
        "kalshiflow-2025-12-15", "A", "realistic")
    assert report["session_source"].endswith(".db")


def test_smoke_reports_a_legacy_model_unusable(capsys, model_zoo, config_file):
    code, out, err = run(capsys, "smoke", str(model_zoo["ppo5"]), "--config", str(config_file))
    assert code == 1
    assert "smoke       FAILED" in out and "traded" not in out  # not run as if fine
    assert err.count("\n") == 1
    assert ("UNUSABLE: legacy 5-action model in the 21-action environment: it would silently "
            "emit only actions 0-4") in err
    code, out, _ = run(
        capsys, "smoke", str(model_zoo["ppo5"]), "--config", str(config_file), "--json"
    )
    assert code == 1 and json.loads(out)["ok"] is False and json.loads(out)["steps_run"] == 0


def test_smoke_refuses_a_malicious_model_without_running_it(
    capsys, model_zoo, config_file, tmp_path
):
    canary = tmp_path / "canary"
    bad = plant_malicious_field(model_zoo["ppo21"], tmp_path / "bad.zip", canary)
    code, _, err = run(capsys, "smoke", str(bad), "--config", str(config_file))
    assert (
        code == 1 and "UNSAFE data/policy_class: calls builtins.eval" in err and not canary.exists()
    )


def test_validate_runs_stores_and_reuses(capsys, model_zoo, config_file):
    code, out, err = run(
        capsys, "validate", str(model_zoo["ppo21"]), "--config", str(config_file), "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    assert first["session_ids"] == [4, 5] and first["deterministic"] is True
    assert first["episodes"] == 4 and len(first["histogram"]) == 21
    assert Path(first["stored_at"]).is_file()
    code, out, _ = run(capsys, "validate", str(model_zoo["ppo21"]), "--config", str(config_file),
                       "--json", "--reuse")
    again = json.loads(out)
    assert code == 0 and again["note"].startswith("stored result")
    assert again["created_at"] == first["created_at"] and again["histogram"] == first["histogram"]


def test_validate_text_shows_the_labelled_histogram(capsys, model_zoo, config_file):
    code, out, _ = run(capsys, "validate", str(model_zoo["a2c21"]), "--config", str(config_file),
                       "--sessions", "6", "--stochastic", "--seed", "3")
    assert code == 0
    assert "sessions    6  stochastic (seed 3)" in out
    assert "  0  HOLD" in out and " 20  SELL_NO x100" in out and "win rate" in out


@pytest.mark.parametrize("sessions,code,message", [
    ("4,9", 1, "session 9 is not in the store (available: 4-6)"),
    ("4-x", 2, "'4-x' is not a number or a range"),
])
def test_validate_names_a_bad_session(capsys, model_zoo, config_file, sessions, code, message):
    got, _, err = run(capsys, "validate", str(model_zoo["ppo21"]), "--config", str(config_file),
                      "--sessions", sessions)
    assert got == code and message in err and err.count("\n") == 1


def test_validate_refuses_a_legacy_model_with_the_reason(capsys, model_zoo, config_file, tmp_path):
    code, _, err = run(capsys, "validate", str(model_zoo["dqn5"]), "--config", str(config_file))
    assert code == 1 and "UNUSABLE: legacy 5-action model" in err
    assert not (tmp_path / "site" / "cache" / "validation").exists()


def test_unknown_model_is_a_one_line_error(capsys, config_file):
    code, _, err = run(capsys, "validate", "no-such-model.zip", "--config", str(config_file))
    assert code == 1 and "no-such-model.zip" in err and err.count("\n") == 1


def test_progress_bar_draws_and_clears():
    stream = io.StringIO()
    bar = ProgressBar("m.zip", stream)
    bar(50, 100)
    bar(100, 100)
    bar.close()
    text = stream.getvalue()
    assert "50.0 % 50/100 steps" in text and "100.0 % 100/100 steps" in text
    assert text.endswith("\r\033[K")


def test_the_installed_command_runs_smoke(model_zoo, config_file):
    exe = Path(sys.executable).with_name("kalshi-tui")
    done = subprocess.run(
        [str(exe), "smoke", str(model_zoo["ppo21"]), "--config", str(config_file)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert "smoke       OK" in done.stdout


def test_model_named_as_the_catalog_knows_it(capsys, model_zoo, config_file):
    from model_factory import copy_model

    run_dir = config_file.parent / "models" / "session9_ppo_20251211_221054"
    copy_model(model_zoo["ppo21"], run_dir / "model.zip")
    code, out, err = run(
        capsys, "smoke", "session9_ppo_20251211_221054", "--config", str(config_file)
    )
    assert code == 0, err
    assert f"model       {run_dir / 'model.zip'}" in out
