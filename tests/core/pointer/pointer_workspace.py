"""A trader's folder for pointer tests: real zips from the model zoo in the original layout.

    <tmp>/backend/                      base_dir (the trader's working directory)
        kalshi_tui.toml
        trained_models/
            session32_ppo_20251215_001549/model.zip      ppo21, compatible
            session10_a2c_20251215_071301/model.zip      a2c21, compatible
            session15_ppo_final.zip                      ppo21 retrained copy, compatible
            session9_ppo_20251211_221054/trained_model.zip  ppo5, legacy: incompatible
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from model_factory import edit_data

from kalshi_tui.core.config import Config, load_config

MODELS = {
    "ppo21": "session32_ppo_20251215_001549/model.zip",
    "a2c21": "session10_a2c_20251215_071301/model.zip",
    "ppo21b": "session15_ppo_final.zip",
    "ppo5": "session9_ppo_20251211_221054/trained_model.zip",
}


@dataclass
class Workspace:
    base: Path
    models_dir: Path
    config_file: Path
    config: Config

    @property
    def pointer(self) -> Path:
        return self.config.pointer_file

    def model(self, name: str) -> Path:
        return self.models_dir / MODELS[name]

    def reload(self, **settings) -> Config:
        """Rewrite the config with extra [pointer] settings and load it again."""
        write_config(self.config_file, **settings)
        self.config = load_config(self.config_file)
        return self.config


def write_config(path: Path, **pointer_settings) -> None:
    doc = {"paths": {"models_dir": "trained_models"},
           "pointer": {"lock_timeout_seconds": 5, **pointer_settings}}
    path.write_text(tomlkit.dumps(doc))


def make_workspace(root: Path, zoo: dict[str, Path]) -> Workspace:
    base = root / "backend"
    models = base / "trained_models"
    for name, relative in MODELS.items():
        target = models / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == "ppo21b":
            # Same spaces, different bytes: a distinct compatible model.
            edit_data(zoo["ppo21"], target, lambda data: data.update(num_timesteps=4096))
        else:
            shutil.copy2(zoo[name], target)
    config_file = base / "kalshi_tui.toml"
    write_config(config_file)
    return Workspace(base, models, config_file, load_config(config_file))
