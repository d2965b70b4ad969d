"""Hostile models, made once per session from the real zoo: each would create its canary
file if anything ever ran its payload."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostile.payloads import (
    TORCH_MEMBERS,
    bomb,
    plant_data_payload,
    plant_torch_payload,
    system_pickle,
    with_stray_bang,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hostile_zoo(model_zoo, tmp_path_factory) -> dict[str, Path]:
    """name -> hostile zip, all in one folder with one clean model; canary beside it."""
    root = tmp_path_factory.mktemp("hostile")
    models = root / "models"
    models.mkdir()
    canary = root / "CANARY"
    src = model_zoo["ppo21"]
    made = {"clean": models / "clean.zip"}
    made["clean"].write_bytes(src.read_bytes())
    made["action_space_bang"] = plant_data_payload(
        src,
        models / "action_space_bang.zip",
        "action_space",
        with_stray_bang(system_pickle(canary)),
    )
    made["policy_class"] = plant_data_payload(
        src, models / "policy_class.zip", "policy_class",
        base64.b64encode(system_pickle(canary)).decode())
    for member in TORCH_MEMBERS:
        made[member] = plant_torch_payload(src, models / f"payload_{member}.zip", member, canary)
    made["bomb"] = bomb(src, models / "bomb.zip")
    made["bomb_understated"] = bomb(src, models / "bomb_understated.zip", understate=True)
    made["bomb_variables"] = bomb(
        src, models / "bomb_variables.zip", member="pytorch_variables.pth"
    )
    return {**made, "_canary": canary, "_models": models}


def run_cli(models: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    config = models.parent / "kalshi_tui.toml"
    if not config.exists():
        config.write_text(f'[paths]\nmodels_dir = "{models}"\n')
    return subprocess.run(
        [sys.executable, "-m", "kalshi_tui", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=models.parent,
    )
