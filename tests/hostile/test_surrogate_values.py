"""A model whose readable settings hold a lone surrogate (JSON's "\\ud800", which json reads
into a str UTF-8 cannot encode): promoted like any other, the pointer and its journal
written as JSON that reads back the same value, not a UnicodeEncodeError traceback."""

from __future__ import annotations

import json
import zipfile

from model_factory import rewrite_member

from hostile.hostile_cli import cli, text_of
from kalshi_tui.cli import exit_codes

SETTING = "k\ud800"


def test_a_model_with_a_lone_surrogate_in_its_settings_is_promoted(model_zoo, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    with zipfile.ZipFile(model_zoo["ppo21"]) as z:
        data = json.loads(z.read("data"))
    data["policy_kwargs"] = {SETTING: "\udfff"}
    rewrite_member(model_zoo["ppo21"], models / "odd.zip", "data", json.dumps(data).encode())
    config = tmp_path / "kalshi_tui.toml"
    config.write_text('[paths]\nmodels_dir = "models"\n')

    result = cli(config, "promote", "--yes", "--reason", "settings with a surrogate", "odd")
    assert result.returncode == exit_codes.OK, text_of(result.stderr)
    assert b"Traceback" not in result.stderr
    pointer = json.loads((models / "CURRENT_MODEL.json").read_bytes().decode("utf-8"))
    assert pointer["model_metadata"]["hyperparameters"]["policy_kwargs"] == {SETTING: "\udfff"}
    status = cli(config, "status", "--json")
    assert status.returncode == exit_codes.OK, text_of(status.stderr)
    assert json.loads(status.stdout)["revision"] == 1
    history = cli(config, "history")
    assert history.returncode == exit_codes.OK, text_of(history.stderr)
    assert b"odd.zip" in history.stdout
