"""Training artifacts in the original system's format (FORMATS.md section 2), for the tests.

Each helper writes what the original tracker wrote, defects included: the ln 5 entropy of
21-action summaries, numbers as strings, zone-less datetimes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "kalshiflow"
LEGACY_NAMES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")


def nats(counts) -> float:
    total = sum(counts)
    return -sum(c / total * math.log(c / total) for c in counts if c)


def episode_counts(n_actions: int, episodes: int) -> list[list[int]]:
    """Deterministic per-episode action counts, HOLD-heavy, trading mostly with the top ids."""
    out = []
    for e in range(episodes):
        counts = [0] * n_actions
        counts[0] = 10 + e % 5
        counts[1 + e % (n_actions - 1)] += 3
        counts[n_actions - 1] += 6 + e % 3
        counts[2] += 1 if e % 4 == 0 else 0
        out.append(counts)
    return out


def action_line(episode: int, counts: list[int], ticker: str = "KXMARKET-1") -> str:
    data = {
        "category": "action_summary",
        "episode": episode,
        "market_ticker": ticker,
        "episode_length": sum(counts),
        "action_distribution": {str(i): c for i, c in enumerate(counts)},
        "action_entropy": nats(counts),
    }
    return json.dumps(
        {
            "timestamp": f"2025-12-15T00:{15 + episode // 60:02d}:{episode % 60:02d}.5Z",
            "category": "episode",
            "event_type": "episode_complete",
            "level": "INFO",
            "data": data,
        }
    )


def reward_line(episode: int) -> str:
    return json.dumps(
        {
            "timestamp": "2025-12-15T00:16:00Z",
            "category": "episode",
            "event_type": "episode_complete",
            "level": "INFO",
            "data": {"category": "reward_summary", "episode": episode, "total_reward": 1.5},
        }
    )


def original_summary(episodes: list[list[int]], *, session_id=32, ln5_defect=True) -> dict:
    """A training_summary.json as the original tracker wrote it: ids 0-4 only, ln 5."""
    n = len(episodes[0])
    tracked = 5 if ln5_defect else n
    totals = [sum(ep[a] for ep in episodes) for a in range(n)]
    counted = totals[:tracked]
    recent = [nats(ep[:tracked]) for ep in episodes[-10:]]
    hold = totals[0] / sum(totals) * 100  # right even for 21 actions
    return {
        "training_metadata": {
            "session_id": session_id,
            "algorithm": "ppo",
            "start_time": "2025-12-15T00:15:49.260508",
            "output_directory": "trained_models/run",
        },
        "completion_time": "2025-12-15T00:22:35.948265",
        "final_statistics": {
            "training_metadata": {"total_timesteps": sum(totals), "total_episodes": len(episodes)},
            "action_statistics": {
                "overall_distribution": dict(zip(LEGACY_NAMES, counted, strict=False)),
                "overall_percentages": {
                    k: c / sum(counted) * 100 for k, c in zip(LEGACY_NAMES, counted, strict=False)
                },
                "overall_entropy": nats(counted),
                "hold_dominance": {
                    "hold_percentage": hold,
                    "is_hold_dominant": hold > 90,
                    "trading_activity_level": "normal",
                },
                "exploration_analysis": {
                    "avg_episode_entropy": sum(recent) / len(recent),
                    "max_entropy_possible": math.log(5),
                    "exploration_ratio": sum(recent) / len(recent) / math.log(5),
                },
            },
        },
    }


def original_results(**overrides) -> dict:
    results = {
        "training_completed": True,
        "total_timesteps": "10000",
        "training_duration_seconds": "406.5",
        "timesteps_per_second": "24.6",
        "algorithm": "ppo",
        "session_ids": [32],
        "final_model_path": "trained_models/session32_ppo_20251215_001549/model.zip",
        "environment_info": {"total_markets": "600"},
        "portfolio_statistics": {
            "total_episodes": "1204",
            "unique_markets": "558",
            "episodes_by_market": {"A": 1, "B": 2},
            "dynamics_statistics": {
                "trading_outcomes": {
                    "positive_episodes": "359",
                    "negative_episodes": "500",
                    "neutral_episodes": "141",
                    "win_rate": "0.359",
                }
            },
        },
    }
    results.update(overrides)
    return results


def write_run(
    root: Path,
    name: str,
    episodes: list[list[int]] | None,
    *,
    summary: dict | None = None,
    results: dict | None = None,
    legacy: bool = False,
    extra_lines: list[str] = (),
    model_bytes: bytes | None = None,
) -> Path:
    """A run folder in the original layout: model, results, diagnostics (subfolder or beside)."""
    run = root / name
    diagnostics = run if legacy else run / "diagnostics"
    diagnostics.mkdir(parents=True, exist_ok=True)
    (run / ("trained_model.zip" if legacy else "model.zip")).write_bytes(
        model_bytes or b"PK-not-a-real-zip"
    )
    if results is not None:
        (run / "training_results.json").write_text(json.dumps(results))
    if summary is not None:
        (diagnostics / "training_summary.json").write_text(json.dumps(summary, indent=2))
    if episodes is not None:
        lines = [
            json.dumps(
                {
                    "timestamp": "2025-12-15T00:15:49.3Z",
                    "category": "system",
                    "event_type": "logging_initialized",
                    "level": "INFO",
                    "data": {},
                }
            )
        ]
        for e, counts in enumerate(episodes):
            lines += [action_line(e, counts, f"KXMARKET-{e % 7}"), reward_line(e)]
        (diagnostics / "diagnostics.jsonl").write_text("\n".join(lines + list(extra_lines)) + "\n")
        (diagnostics / "diagnostics.log").write_text("Diagnostics Log - Training Session Started\n")
    return run
