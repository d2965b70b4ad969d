"""Config: discovery, provenance, validation messages that name the key and file, comment-keeping
writes."""

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
    ("[environment]\nposition_sizes = [5, 10, 20]\nn_actions = 21\n",
     "'environment.n_actions' is 21 but 4 trading sides x 3 sizes"),
    ("[environment]\nprofile = 'kalshiflow-2025-12-99'\n",
     "'environment.profile' 'kalshiflow-2025-12-99' is not a profile"),
    ("[environment]\nobservation_layout = 'C'\n",
     "'environment.observation_layout' must be one of A, B"),
    ("[environment]\nfill_model = 'magic'\n", "'environment.fill_model' must be one of realistic"),
    ("[environment]\nprofile = 'kalshi-tui-demo'\nfill_model = 'original-training'\n",
     "profile kalshi-tui-demo has no original training rules"),
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


def test_profile_supplies_layout_sizes_and_complement(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text("[environment]\nprofile = \"kalshiflow-2025-12-17\"\n")
    env = load_config(path).environment
    assert (env.observation_layout, env.position_sizes, env.n_actions, env.complement) == (
        "B",
        (20,),
        5,
        100,
    )
    config = load_config(path)
    assert config.sources["environment.position_sizes"] == "profile kalshiflow-2025-12-17"
    path.write_text("[environment]\nprofile = \"kalshiflow-2025-12-11\"\n")
    env = load_config(path).environment
    assert (env.observation_layout, env.position_sizes, env.n_actions, env.complement) == (
        "A",
        (10,),
        5,
        99,
    )


def test_explicit_keys_override_the_profile_and_say_so(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text(
        '[environment]\nprofile = "kalshiflow-2025-12-17"\nobservation_layout = "A"\n'
        "position_sizes = [5, 10]\n"
    )
    config = load_config(path)
    env = config.environment
    assert (env.observation_layout, env.position_sizes, env.n_actions) == ("A", (5, 10), 9)
    assert config.sources["environment.observation_layout"] == f"{path}:3"
    assert config.sources["environment.position_sizes"] == f"{path}:4"
    # a different world is a different fingerprint: no stored result crosses it
    other = tmp_path / "other.toml"
    other.write_text('[environment]\nprofile = "kalshiflow-2025-12-17"\nposition_sizes = [5, 10]\n')
    assert load_config(other).environment.fingerprint() != env.fingerprint()


def test_sessions_db_url_is_kept_and_shown_without_its_password(tmp_path):
    path = tmp_path / "kalshi_tui.toml"
    path.write_text('[paths]\nsessions_db = "postgresql://reader:s3cret@db.example:5432/sessions"\n')
    config = load_config(path)
    assert config.sessions_db == "postgresql://reader:s3cret@db.example:5432/sessions"
    assert config.values["paths.sessions_db"] == "postgresql://reader@db.example:5432/sessions"
    assert config.sessions_name == "postgresql://reader@db.example:5432/sessions"
    assert "s3cret" not in repr(config.values)
