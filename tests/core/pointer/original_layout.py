"""The original system's folders with its four real pointers: real zips where its files were.

    <tmp>/backend/                                    base_dir (the trader's working directory)
        kalshi_tui.toml
        src/kalshiflow_rl/BEST_MODEL/session12_ppo_final.zip   5 actions, dated as the real zip
        trained_models/
            CURRENT_MODEL.json                        one of tests/fixtures/kalshiflow's pointers
            session32_final.zip                       21 actions (v2.0 / v2.1's model)
            session9_ppo_20251211_221054/trained_model.zip   5 actions (v1.0 names the folder)

The session 12 zip says what the real one says (start_time 2025-12-11 23:59:39 UTC,
970,752 timesteps), which contradicts the last pointer's metadata. The session 9 zip's
start_time is the pointer's training_start read as US Eastern time (EST, +5 h), as the
original machine's clock had it, and its settings are the ones that pointer names.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import tomlkit
from model_factory import edit_data

from kalshi_tui.core.config import Config, load_config

SESSION12 = "src/kalshiflow_rl/BEST_MODEL/session12_ppo_final.zip"
SESSION32 = "trained_models/session32_final.zip"
SESSION9_RUN = "trained_models/session9_ppo_20251211_221054"
SESSION9 = f"{SESSION9_RUN}/trained_model.zip"
POINTERS = {
    1: "CURRENT_MODEL.1-session9-5actions.json",
    2: "CURRENT_MODEL.2-session32-21actions.json",
    3: "CURRENT_MODEL.3-session32-best-model-folder.json",
    4: "CURRENT_MODEL.4-session12-5actions.json",
}
# The 5-action environment of the last original trader: 4 sides x one size (20) + HOLD.
FIVE_ACTIONS = {"position_sizes": [20], "n_actions": 5}


def _ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def write_config(
    base: Path, environment: dict | None = None, base_dir: str | None = None
) -> Config:
    """kalshi_tui.toml in backend/; `base_dir` ".." runs the trader from the repository root."""
    doc = {"paths": {"models_dir": "trained_models"}, "pointer": {"lock_timeout_seconds": 5}}
    if base_dir:
        doc["paths"]["base_dir"] = base_dir
    if environment:
        doc["environment"] = environment
    path = base / "kalshi_tui.toml"
    path.write_text(tomlkit.dumps(doc))
    return load_config(path)


def make_original_layout(root: Path, zoo: dict[str, Path], pointer: Path,
                         environment: dict | None = None) -> Config:
    base = root / "backend"
    edit_data(zoo["ppo5"], _parent(base / SESSION12),
              lambda d: d.update(start_time=_ns("2025-12-11T23:59:39Z"), num_timesteps=970752))
    edit_data(zoo["ppo21"], _parent(base / SESSION32),
              lambda d: d.update(start_time=_ns("2025-12-15T05:15:49Z")))
    edit_data(
        zoo["ppo5"],
        _parent(base / SESSION9),
        lambda d: d.update(
            start_time=_ns("2025-12-12T03:10:54.137069Z"),
            num_timesteps=200704,
            learning_rate=1e-4,
            batch_size=256,
            n_steps=4096,
            ent_coef=0.05,
        ),
    )
    config = write_config(base, environment)
    shutil.copy(pointer, config.pointer_file)
    return config


def _parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
