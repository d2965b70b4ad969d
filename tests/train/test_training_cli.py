"""`kalshi-tui train` and `kalshi-tui demo build` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kalshi_tui.cli import exit_codes, main

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "kalshi_tui.toml")


def test_train_writes_a_run_and_prints_its_figures(tmp_path, capsys):
    code = main(
        [
            "--config",
            CONFIG,
            "train",
            "--session",
            "7",
            "--timesteps",
            "300",
            "--actions",
            "5",
            "--out",
            str(tmp_path),
            "--seed",
            "2",
            "--net-arch",
            "16",
            "--checkpoint-every",
            "150",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == exit_codes.OK, captured.err
    figures = json.loads(captured.out)
    assert Path(figures["model_path"]).is_file()
    assert Path(figures["run_dir"]).name.startswith("session7_ppo_")
    assert figures["n_actions"] == 5
    assert [Path(p).name for p in figures["checkpoints"]] == [
        "model_150_steps.zip",
        "model_300_steps.zip",
    ]
    assert 0.0 <= figures["entropy"] <= 1.0


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    code = main(
        [
            "--config",
            CONFIG,
            "train",
            "--sessions",
            "5,6",
            "--algorithm",
            "a2c",
            "--timesteps",
            "200",
            "--out",
            str(tmp_path),
            "--net-arch",
            "16",
            "--checkpoint-every",
            "0",
        ]
    )
    captured = capsys.readouterr()
    assert code == exit_codes.OK, captured.err
    assert "100.0%" in captured.err and "[####" in captured.err
    assert "trained " in captured.out and "sessions5_6_a2c_" in captured.out


@pytest.mark.parametrize("argv, code, words", [
    (["--session", "99"], exit_codes.ERROR, "session 99 not in the store"),
    (["--session", "5", "--actions", "7"], exit_codes.ERROR, "--actions 7"),
    (["--sessions", "5,x"], exit_codes.USAGE, "'x' is not a number or a range a-b"),
    (["--session", "5", "--as-of", "yesterday"], exit_codes.USAGE, "--as-of 'yesterday'"),
    (["--session", "5", "--net-arch", "0"], exit_codes.USAGE, "--net-arch"),
])
def test_bad_train_requests_fail_in_one_line(tmp_path, capsys, argv, code, words):
    out = tmp_path / "out"
    assert (
        main(["--config", CONFIG, "train", *argv, "--timesteps", "100", "--out", str(out)]) == code
    )
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_bad_store_fails_in_one_line(tmp_path, capsys):
    store = tmp_path / "broken.db"
    store.write_bytes(b"\0" * 4096)
    code = main(["--config", CONFIG, "train", "--session", "5", "--timesteps", "100",
                 "--out", str(tmp_path / "out"), "--sessions-db", str(store)])
    err = capsys.readouterr().err
    assert code == exit_codes.ERROR and str(store) in err and err.count("\n") == 1


def test_demo_build_refuses_a_folder_of_real_models(tmp_path, capsys):
    precious = tmp_path / "models"
    precious.mkdir()
    (precious / "session1_final.zip").write_bytes(b"operator's model")
    code = main(["--config", CONFIG, "demo", "build", "--out", str(precious)])
    err = capsys.readouterr().err
    assert code == exit_codes.ERROR and "not a demo registry" in err
    assert (precious / "session1_final.zip").read_bytes() == b"operator's model"


def test_train_runs_in_the_configured_world(tmp_path, capsys):
    config = tmp_path / "kalshi_tui.toml"
    config.write_text(
        '[environment]\nprofile = "kalshiflow-2025-12-17"\nfill_model = "original-training"\n'
    )
    code = main(
        [
            "--config",
            str(config),
            "train",
            "--session",
            "7",
            "--timesteps",
            "200",
            "--actions",
            "5",
            "--out",
            str(tmp_path / "out"),
            "--net-arch",
            "16",
            "--checkpoint-every",
            "0",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == exit_codes.OK, captured.err
    run_dir = Path(json.loads(captured.out)["run_dir"])
    info = json.loads((run_dir / "training_results.json").read_text())
    text = json.dumps(info)
    assert '"observation_layout": "B"' in text and '"fill_model": "original-training"' in text
    assert '"profile": "kalshiflow-2025-12-17"' in text and '"complement": 100' in text
