"""Fixtures for the TUI tests: a real models folder built from the zoo, a config file, a frozen clock.

Paths shown on screen are relative to the models folder, so snapshots taken from a fresh
tmp folder each run stay byte-identical; the clock is frozen for the same reason.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kalshi_tui.core.config import Config, load_config

FROZEN_NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=timezone.utc)

# Where each zoo model goes, laid out like a real trained_models/ folder.
LAYOUT = {
    "session32_final.zip": "ppo21",
    "session10_ppo_20251211_173419/model.zip": "a2c21",
    "session5_ppo_20251120_101500/trained_model.zip": "ppo5",
    "session12_ppo_20251201_080000/model.zip": "ppo21_obs54",
    "[@click=app.quit]crafted.zip": "dqn21",
}


@dataclass
class Workspace:
    root: Path
    models: Path
    config_file: Path

    def config(self) -> Config:
        return load_config(self.config_file)

    @property
    def pointer(self) -> Path:
        return self.models / "CURRENT_MODEL.json"

    @property
    def journal(self) -> Path:
        return self.models / "CURRENT_MODEL.history.jsonl"

    def pointer_doc(self) -> dict:
        return json.loads(self.pointer.read_text())

    def current_full_path(self) -> str | None:
        return self.pointer_doc()["current_model"]["full_path"]

    def journal_records(self) -> list[dict]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line.strip()]


def build_workspace(root: Path, zoo: dict[str, Path], *, sessions: str = "5",
                    layout: dict[str, str] | None = None) -> Workspace:
    models = root / "trained_models"
    models.mkdir(parents=True)
    for rel, zoo_name in (layout or LAYOUT).items():
        target = models / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(zoo[zoo_name], target)
        # Fixed mtimes: nothing on screen may depend on when the test ran.
        os.utime(target, (1_765_000_000, 1_765_000_000))
    config_file = root / "kalshi_tui.toml"
    config_file.write_text(
        '[paths]\nmodels_dir = "trained_models"\n\n'
        f'[validation]\nsessions = "{sessions}"\n\n'
        "[tui]\nrefresh_seconds = 2\n", encoding="utf-8")
    return Workspace(root, models, config_file)


@pytest.fixture
def workspace(tmp_path, model_zoo) -> Workspace:
    return build_workspace(tmp_path / "ws", model_zoo)


@pytest.fixture
def frozen_clock():
    return lambda: FROZEN_NOW


async def settle(app, pilot) -> None:
    """Let every worker finish and every message they posted be handled."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def screen_text(app) -> str:
    """Everything on screen now, as plain text (what an operator would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
