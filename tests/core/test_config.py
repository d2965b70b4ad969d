"""Config: discovery, provenance, validation messages that name the key and file, comment-keeping writes."""

from __future__ import annotations

import pytest

from kalshi_tui.core.config import ConfigError, load_config, set_setting

GOOD = """# operator's note: keep this
[paths]
models_dir = "models"  # the shared NFS folder

[environment]
position_sizes = [5, 10, 20, 50, 100]
n_actions = 21
"""


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KALSHI_TUI_CONFIG", raising=False)
    config = load_config()
    assert config.file is None
    assert config.models_dir == tmp_path / "trained_models"
    assert config.pointer_file == tmp_path / "trained_models" / "CURRENT_MODEL.json"
    assert config.base_dir == tmp_path
    assert config.environment.layout.n == 21
    assert config.environment.legacy_layout.n == 5
    assert config.sources["paths.models_dir"] == "default"


def test_file_values_carry_their_line(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(GOOD)
    config = load_config(path)
    assert config.models_dir == tmp_path / "models"
    assert config.sources["paths.models_dir"] == f"{path}:3"
    assert config.sources["environment.n_actions"] == f"{path}:7"


def test_env_var_and_flags_override(tmp_path, monkeypatch):
    path = tmp_path / "other.toml"
    path.write_text(GOOD)
    monkeypatch.setenv("KALSHI_TUI_CONFIG", str(path))
    config = load_config(models_dir=tmp_path / "elsewhere")
    assert config.file == path
    assert config.models_dir == tmp_path / "elsewhere"
    assert config.sources["paths.models_dir"] == "--models-dir"
    assert config.pointer_file == tmp_path / "elsewhere" / "CURRENT_MODEL.json"


@pytest.mark.parametrize("body, words", [
    ("[paths]\nmodel_dir = 'x'\n", "unknown key 'paths.model_dir'"),
    ("[pathz]\n", "unknown section [pathz]"),
    ("[environment]\nn_actions = '21'\n", "'environment.n_actions': must be an integer"),
    ("[environment]\nn_actions = true\n", "'environment.n_actions': must be an integer"),
    ("[environment]\nposition_sizes = [5, 10, 20]\n", "'environment.n_actions' is 21 but 4 trading sides x 3 sizes"),
    ("[environment]\nposition_sizes = [5, 5, 20, 50, 100]\n", "lists a size twice"),
    ("[paths\n", "not valid TOML"),
])
def test_bad_config_names_key_and_file(tmp_path, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert words in str(err.value)


def test_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_set_setting_keeps_comments(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(GOOD)
    set_setting(path, "validation.sessions", "5,7,32")
    text = path.read_text()
    assert "# operator's note: keep this" in text
    assert "# the shared NFS folder" in text
    assert load_config(path).validation_sessions == "5,7,32"


def test_set_setting_refuses_a_bad_value_and_keeps_the_file(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(GOOD)
    with pytest.raises(ConfigError):
        set_setting(path, "environment.n_actions", 22)
    assert path.read_text() == GOOD
    assert list(tmp_path.iterdir()) == [path]
