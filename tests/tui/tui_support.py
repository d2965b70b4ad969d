"""Helpers for the TUI tests: a real models folder built from the zoo, a config file, a frozen
clock.

Paths shown on screen are relative to the models folder, so snapshots taken from a fresh
tmp folder each run stay byte-identical; the clock is frozen for the same reason.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from model_factory import edit_data

from kalshi_tui.core.config import Config, load_config

FROZEN_NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)

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


# 2025-12-11 17:34:19 UTC in SB3's nanoseconds: the "trained at" every model shows.
TRAINED_AT_NS = 1_765_474_459_000_000_000


def _fixed_start_time(data: dict) -> None:
    data["start_time"] = TRAINED_AT_NS


def write_run_artifacts(run_dir: Path, layout_n: int = 21) -> None:
    """Training artifacts as the original system wrote them, so panes have figures to show."""
    diagnostics = run_dir / "diagnostics"
    diagnostics.mkdir(parents=True, exist_ok=True)
    (run_dir / "training_results.json").write_text(json.dumps({
        "training_completed": True, "total_timesteps": "10000", "algorithm": "A2C",
        "training_duration_seconds": 321.5, "session_ids": [10],
        "portfolio_statistics": {
            "total_episodes": "558", "unique_markets": 473,
            "dynamics_statistics": {"trading_outcomes": {
                "positive_episodes": 200, "negative_episodes": 300, "neutral_episodes": 58,
                "win_rate": 0.3584}}}}), encoding="utf-8")
    episodes = []
    for episode in range(3):
        counts = {str(a): (60 if a == 0 else (a * 3 + episode) % 11) for a in range(layout_n)}
        episodes.append(json.dumps({
            "timestamp": f"2025-12-11T17:{40 + episode}:00", "category": "episode",
            "event_type": "episode_complete", "level": "INFO",
            "data": {"category": "action_summary", "episode": episode,
                     "action_distribution": counts}}))
    (diagnostics / "diagnostics.jsonl").write_text("\n".join(episodes) + "\n", encoding="utf-8")


def build_workspace(root: Path, zoo: dict[str, Path], *, sessions: str = "5",
                    layout: dict[str, str] | None = None) -> Workspace:
    models = root / "trained_models"
    models.mkdir(parents=True)
    for rel, zoo_name in (layout or LAYOUT).items():
        target = models / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # A fixed training time: nothing on screen may depend on when the zoo was built.
        edit_data(zoo[zoo_name], target, _fixed_start_time)
        os.utime(target, (1_765_000_000, 1_765_000_000))
    write_run_artifacts(models / "session10_ppo_20251211_173419")
    config_file = root / "kalshi_tui.toml"
    config_file.write_text(
        '[paths]\nmodels_dir = "trained_models"\n\n'
        f'[validation]\nsessions = "{sessions}"\n\n'
        "[tui]\nrefresh_seconds = 2\n", encoding="utf-8")
    return Workspace(root, models, config_file)


async def settle(app, pilot) -> None:
    """Let every worker finish and every message they posted be handled.

    A worker's message can start the next worker (scan -> validations -> ranking), so this
    waits until a pause starts none, then gives the screen one more pause to repaint.
    """
    for _ in range(12):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.is_running for worker in app.workers):
            break
    await pilot.pause()


async def shown(app, pilot, text: str, tries: int = 100) -> str:
    """The screen once `text` is painted on it, waiting up to ~5 s of frames.

    A busy 2-core CI box can take many frames to repaint a table after a worker's message;
    the wait ends as soon as the text is there, so a fast machine pays nothing.
    """
    for _ in range(tries):
        screen = screen_text(app)
        if text in screen:
            break
        await pilot.pause(0.05)
    return screen


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def screen_text(app) -> str:
    """Everything on screen now, as plain text (what an operator would read)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def async_test(fn):
    """Run an async test on a fresh event loop (no asyncio plugin is installed for pytest)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper
