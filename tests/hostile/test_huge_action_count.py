"""A crafted model that claims 10**30 actions: the TUI's compare screen draws its histogram
table in bounded rows instead of one row per claimed action id (it hung, then took every
byte of memory the machine had)."""

from __future__ import annotations

from model_factory import edit_data
from rich.console import Console

from kalshi_tui.core.catalog import inspect_model
from kalshi_tui.core.config import load_config
from kalshi_tui.tui.screens.compare import MAX_HISTOGRAM_ROWS, histogram_columns

CLAIMED = 10**30


def test_compare_histogram_of_a_model_claiming_10_30_actions_is_bounded(model_zoo, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    edit_data(model_zoo["ppo21"], models / "huge.zip",
              lambda data: data["action_space"].update(n=CLAIMED))
    config_file = tmp_path / "kalshi_tui.toml"
    config_file.write_text('[paths]\nmodels_dir = "models"\n')
    config = load_config(config_file)
    huge = inspect_model(models / "huge.zip", config)
    normal = inspect_model(model_zoo["ppo21"], config)
    assert huge.n_actions == CLAIMED and huge.verdict == "incompatible"

    console = Console(width=140, record=True)
    console.print(histogram_columns(huge, normal, config.environment))
    lines = console.export_text().splitlines()
    ids = [line.split()[0] for line in lines if line.strip() and line.split()[0].isdigit()]
    assert ids == [str(i) for i in range(MAX_HISTOGRAM_ROWS)]
    assert any(f"{CLAIMED - MAX_HISTOGRAM_ROWS:,} more action ids not shown" in line
               for line in lines)
