"""A model whose readable settings nest hundreds of lists deep: listed, shown and cached like
any other, the value replaced by a note (copying it would exhaust Python's stack)."""

from __future__ import annotations

import json
import zipfile

from model_factory import rewrite_member

from hostile.hostile_cli import cli, text_of
from kalshi_tui.cli import exit_codes

DEPTH = 900  # json reads it (its limit is ~1,000); anything copying it recursively would not


def _deep_model(src, dst):
    with zipfile.ZipFile(src) as z:
        raw = z.read("data").decode()
    nested = "[" * DEPTH + "1" + "]" * DEPTH
    assert '"gamma": ' in raw
    raw = raw.replace('"gamma": ', f'"gamma": {nested}, "gamma_was": ', 1)
    return rewrite_member(src, dst, "data", raw.encode())


def test_a_setting_nested_900_deep_is_listed_shown_and_cached(model_zoo, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    _deep_model(model_zoo["ppo21"], models / "deep.zip")
    config = tmp_path / "kalshi_tui.toml"
    config.write_text('[paths]\nmodels_dir = "models"\n')
    for args in (("list", "--no-cache"), ("list",), ("list",), ("list", "--json")):
        result = cli(config, *args)
        assert result.returncode == exit_codes.OK, text_of(result.stderr)
        assert b"Traceback" not in result.stderr
    (record,) = json.loads(result.stdout)
    assert record["verdict"] == "compatible"
    assert record["hyperparameters"]["gamma"] == "(nested deeper than 8 levels: not shown)"
    shown = cli(config, "show", "deep")
    assert shown.returncode == exit_codes.OK, text_of(shown.stderr)
    assert b"gamma: (nested deeper than 8 levels: not shown)" in shown.stdout
