"""A models folder like the one the seed analysis looked at, with known figures in real files.

Real SB3 zips from the `model_zoo` fixture, dated through their `data` start_time, with
training artifacts in the original formats (numbers as strings where the original wrote
them so), and the original system's real CURRENT_MODEL.json pointing at the 5-action
session 9 model. The report and compare tests check every figure against these.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from model_factory import edit_data

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "kalshiflow"
SESSION9_POINTER = REFERENCE / "CURRENT_MODEL.1-session9-5actions.json"

RUN32 = "session32_ppo_20251215_001549"
RUN15 = "session15_ppo_20251215_065053"
RUN10 = "session10_ppo_20251215_071301"
RUN9 = "session9_ppo_20251211_221054"
FINAL32 = "session32_final.zip"
OBS54 = "session40_ppo_20251216_010101/model.zip"
BROKEN = "broken_truncated.zip"
NOW = datetime(2025, 12, 16, 12, 0, tzinfo=UTC)

# action id -> count in session 32's diagnostics.jsonl, summed over its two episode lines
HIST32 = {"0": 45, **{str(a): 45 + a for a in range(1, 21)}}


def _dated(src: Path, dst: Path, iso: str) -> Path:
    stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))

    def edit(data):
        data["start_time"] = int(stamp.timestamp() * 1_000_000_000)

    dst.parent.mkdir(parents=True, exist_ok=True)
    return edit_data(src, dst, edit)


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")


def _results(
    path: Path, *, episodes, markets, win_rate=None, timesteps="100000", sessions=None
) -> None:
    outcomes = {"positive_episodes": 1, "negative_episodes": 1}
    if win_rate is not None:
        outcomes = {"win_rate": win_rate}
    _write(path, {"training_completed": True, "total_timesteps": timesteps, "algorithm": "PPO",
                  "session_ids": sessions, "training_duration_seconds": "412.5",
                  "portfolio_statistics": {"total_episodes": episodes, "unique_markets": markets,
                                           "dynamics_statistics": {"trading_outcomes": outcomes}}})


def _summary(path: Path, *, hold_pct: float, exploration: float) -> None:
    _write(path, {"training_metadata": {"session_id": 32, "algorithm": "PPO"},
                  "final_statistics": {"action_statistics": {
                      "hold_dominance": {"hold_percentage": hold_pct, "is_hold_dominant": False},
                      "exploration_analysis": {"exploration_ratio": exploration,
                                               "max_entropy_possible": 3.044522437723423}}}})


def _diagnostics(path: Path, histogram: dict[str, int]) -> None:
    first = {k: v // 2 for k, v in histogram.items()}
    second = {k: v - first[k] for k, v in histogram.items()}
    lines = [json.dumps({"timestamp": f"2025-12-15T00:1{i}:00", "category": "episode",
                         "event_type": "episode_complete", "level": "INFO",
                         "data": {"category": "action_summary", "action_distribution": part,
                                  "market_ticker": f"KXTEST-{i}"}})
             for i, part in enumerate((first, second))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_registry(root: Path, zoo: dict[str, Path], *, with_pointer: bool = True) -> Path:
    """`root/backend/trained_models` with the seed's situation; returns a config file for it."""
    models = root / "backend" / "trained_models"
    models.mkdir(parents=True)
    run32 = _dated(zoo["ppo21"], models / RUN32 / "model.zip", "2025-12-15T05:15:49Z")
    shutil.copy2(run32, models / FINAL32)  # a flat final, byte-identical to its run's model
    _results(models / RUN32 / "training_results.json", episodes="1234", markets=120, win_rate=0.359,
             sessions=[32])
    _summary(
        models / RUN32 / "diagnostics" / "training_summary.json", hold_pct=4.5, exploration=0.385
    )
    _diagnostics(models / RUN32 / "diagnostics" / "diagnostics.jsonl", HIST32)

    _dated(zoo["a2c21"], models / RUN15 / "model.zip", "2025-12-15T11:50:53Z")
    _results(models / RUN15 / "training_results.json", episodes=73015, markets="26", sessions=[15],
             timesteps="1000000")
    _dated(zoo["dqn21"], models / RUN10 / "model.zip", "2025-12-15T12:13:01Z")
    _results(models / RUN10 / "training_results.json", episodes="20886", markets=558, sessions=[10],
             timesteps="1000000")

    _dated(zoo["ppo5"], models / RUN9 / "trained_model.zip", "2025-12-12T03:10:54Z")
    _dated(zoo["ppo21_obs54"], models / OBS54, "2025-12-16T06:01:01Z")
    (models / BROKEN).write_bytes(run32.read_bytes()[:700])
    config = root / "kalshi_tui.toml"
    config.write_text(f'[paths]\nmodels_dir = "{models}"\nbase_dir = "{root}"\n'
                      f'pointer = "{models / "CURRENT_MODEL.json"}"\n', encoding="utf-8")
    if with_pointer:
        shutil.copy2(SESSION9_POINTER, models / "CURRENT_MODEL.json")
    return config
