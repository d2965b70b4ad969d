"""`kalshi-tui config`: effective values with their sources, comment-keeping `config set`, one-line
errors."""

from __future__ import annotations

import json

from kalshi_tui.cli import main

CONFIG = """# operator: shared models on NFS
[paths]
models_dir = "models"   # keep this comment

[validation]
sessions = "5-10"
"""


def test_config_prints_values_and_sources(tmp_path, capsys):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(CONFIG)
    assert main(["config", "--config", str(path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["file"] == str(path)
    assert shown["values"]["paths.models_dir"] == {
        "value": str(tmp_path / "models"),
        "source": f"{path}:3",
    }
    assert shown["values"]["environment.n_actions"]["value"] == 21
    assert shown["values"]["environment.n_actions"]["source"].startswith("derived")
    assert shown["values"]["environment.profile"] == {"value": "kalshiflow-2025-12-15",
                                                      "source": "default"}
    assert shown["values"]["environment.observation_layout"] == {
        "value": "A", "source": "profile kalshiflow-2025-12-15"}
    assert shown["values"]["paths.pointer"]["source"].startswith("default: CURRENT_MODEL.json")


def test_models_dir_flag_is_named_as_the_source(tmp_path, capsys):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(CONFIG)
    assert main(["config", "--config", str(path), "--models-dir", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out.splitlines()
    line = next(text for text in out if text.startswith("paths.models_dir"))
    assert "--models-dir" in line and str(tmp_path / "x") in line


def test_config_set_keeps_comments(tmp_path, capsys):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(CONFIG)
    assert main(["config", "--config", str(path), "set", "validation.sessions", '"5,7,32"']) == 0
    text = path.read_text()
    assert "# operator: shared models on NFS" in text and "# keep this comment" in text
    assert 'sessions = "5,7,32"' in text


def test_bad_config_is_one_line_naming_file_and_key(tmp_path, capsys):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text("[environment]\nposition_sizes = [5, 10]\nn_actions = 21\n")
    assert main(["list", "--config", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and "environment.n_actions" in err


def test_config_set_refuses_unknown_key_and_keeps_file(tmp_path, capsys):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(CONFIG)
    assert main(["config", "--config", str(path), "set", "paths.modelz", '"x"']) == 1
    assert "unknown key 'paths.modelz'" in capsys.readouterr().err
    assert path.read_text() == CONFIG
