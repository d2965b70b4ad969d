"""The demo's CURRENT_MODEL.json and the note that explains the demo registry.

The pointer is written as the original system's operators wrote theirs by hand
(schema of /work/shared/reference/kalshiflow/CURRENT_MODEL.1-session9-5actions.json):
no kalshi-tui revision block and no journal, because the demo shows the tool meeting a
registry it has never touched. Unlike the hand-written originals, its figures are the
pointed run's real ones, read from the files the run wrote, and its dates are true UTC.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kalshi_tui.core.world import ActionLayout
from kalshi_tui.train.pipeline import TrainResult
from kalshi_tui.train.writer import write_json


def _relative(path: Path, base_dir: Path) -> str:
    return path.resolve().relative_to(base_dir.resolve()).as_posix()


def pointer_document(
    result: TrainResult, *, base_dir: Path, layout: ActionLayout
) -> dict[str, Any]:
    """The original-schema pointer at `result`'s model, paths relative to `base_dir`."""
    summary = json.loads(result.layout.summary_path.read_text(encoding="utf-8"))
    results = json.loads(result.layout.results_path.read_text(encoding="utf-8"))
    actions = summary["final_statistics"]["action_statistics"]
    rewards = summary["final_statistics"]["reward_statistics"]
    observations = summary["final_statistics"]["observation_statistics"]
    hold = actions["hold_dominance"]["hold_percentage"]
    counts = actions["overall_distribution"]
    dominant = max(counts, key=counts.get)
    dominant_pct = actions["overall_percentages"][dominant]
    session = results["session_ids"][0]
    run_dir = _relative(result.run_dir, base_dir) + "/"
    hyper = results["hyperparameters"]
    completed = results["training_end"]
    return {
        "current_model": {
            "model_path": run_dir,
            "model_file": result.model_path.name,
            "full_path": _relative(result.model_path, base_dir),
            "status": "breakthrough_model",
            "description": f"First model to trade actively on session {session}: "
            f"{layout.describe()}, {dominant} its most frequent action",
            "last_updated": completed,
            "selected_reason": f"Trades {100 - hold:.1f}% of steps "
            f"({dominant} {dominant_pct:.1f}%) "
            f"after {results['total_timesteps']:,} steps on session {session}",
        },
        "model_metadata": {
            "training_session": {
                "session_id": session,
                "algorithm": results["algorithm"].upper(),
                "total_timesteps": results["total_timesteps"],
                "total_episodes": results["portfolio_statistics"]["total_episodes"],
                "training_duration_seconds": round(results["training_duration_seconds"], 2),
                "training_start": results["training_start"],
                "training_completion": completed,
            },
            "performance_metrics": {
                "action_space": layout.describe(),
                "position_sizes": list(layout.sizes),
                "dominant_action": {"action": dominant, "percentage": round(dominant_pct, 2)},
                "trading_activity": {
                    "hold_percentage": round(hold, 2),
                    "trading_percentage": round(100 - hold, 2),
                    "trading_activity_level": actions["hold_dominance"]["trading_activity_level"],
                    "exploration_ratio": round(
                        actions["exploration_analysis"]["exploration_ratio"], 3
                    ),
                },
                "action_distribution": {
                    "actions_used": sum(1 for c in counts.values() if c),
                    "entropy": round(actions["overall_entropy_normalized"], 3),
                    "balanced": actions["overall_entropy_normalized"] > 0.9,
                    "distribution": {
                        k: round(v, 2) for k, v in actions["overall_percentages"].items()
                    },
                },
                "learning_signal": {
                    "signal_strength": rewards["learning_signal_analysis"]["signal_strength"],
                    "reward_sparsity": round(rewards["reward_quality"]["overall_sparsity_pct"], 2),
                    "gradient_availability": round(
                        rewards["learning_signal_analysis"]["gradient_availability"] * 100, 2
                    ),
                    "portfolio_progression": rewards["portfolio_analysis"]["progression_trend"],
                },
            },
            "hyperparameters": {
                "learning_rate": hyper.get("learning_rate"),
                "batch_size": hyper.get("batch_size"),
                "n_steps": hyper.get("n_steps"),
                "entropy_coefficient": hyper.get("ent_coef"),
                "net_arch": hyper.get("net_arch"),
            },
            "data_quality": {
                "observation_error_rate": round(
                    100 - observations["validation_rates"]["valid_rate_pct"], 4
                ),
                "nan_rate": observations["validation_rates"]["nan_rate_pct"],
                "inf_rate": observations["validation_rates"]["inf_rate_pct"],
            },
        },
        "production_readiness": {
            "status": "candidate",
            "risk_level": "medium",
            "deployment_notes": [
                "First actively trading model - requires careful monitoring",
                f"Trained on session {session} only - may not generalise to other markets",
                "Recommend paper trading validation before live deployment",
            ],
            "validation_required": [
                "Cross-session validation (test on sessions 5-8)",
                "Out-of-sample performance verification",
                "Position sizing validation",
            ],
        },
        "diagnostics_files": {
            "training_summary": _relative(result.layout.summary_path, base_dir),
            "detailed_log": _relative(result.layout.log_path, base_dir),
            "structured_log": _relative(result.layout.jsonl_path, base_dir),
        },
        "version_history": [
            {
                "version": "1.0",
                "date": completed,
                "model_path": run_dir,
                "milestone": "breakthrough_model",
                "description": f"Initial model trained on session {session}",
                "key_improvements": [
                    f"Achieved {100 - hold:.2f}% trading activity vs {hold:.2f}% HOLD",
                    f"Exploration ratio {actions['exploration_analysis']['exploration_ratio']:.3f}",
                ],
            }
        ],
        "notes": [
            f"This model uses the {layout.n}-action layout ({', '.join(layout.labels)}).",
            "Ready for next phase: cross-session validation and production testing",
        ],
    }


def write_demo_pointer(
    path: Path, result: TrainResult, *, base_dir: Path, layout: ActionLayout
) -> Path:
    return write_json(path, pointer_document(result, base_dir=base_dir, layout=layout))


def write_registry_readme(path: Path, lines: list[dict[str, Any]], *, seed: int, scale: float,
                          final_name: str, unreadable_name: str) -> Path:
    """DEMO_REGISTRY.md: what each file of the demo is for; also marks the folder as a demo."""
    rows = "\n".join(
        f"| `{line['path']}` | {line['algorithm'].upper()} | {line['n_actions']} | "
        f"{line['timesteps']:,} | {line.get('fill_model', 'realistic')} | "
        f"{line['hold_pct']:.1f} | {line['entropy']:.3f} | {line['purpose']} |"
        for line in lines
    )
    scale_note = "" if scale == 1.0 else f" --scale {scale}"
    final_row = (f"| `{final_name}` | PPO | 21 | | original-training | | | a byte copy of the "
                 "session 32 run's model.zip, as the original kept its finals: COLLAPSED |")
    text = f"""# The kalshi-tui demo registry

Built by `kalshi-tui demo build --seed {seed}{scale_note}` from the bundled sessions
(`kalshi_tui/env/data/sessions.db`). Every model here was trained by kalshi-tui's own
training pipeline; nothing is hand-made. Rebuilding replaces this folder (only a folder
holding this file, or an empty one, is ever replaced).

It re-creates what the seed analysis found: `CURRENT_MODEL.json` points at a legacy
5-action model trained before the action space grew to 21, while compatible 21-action
models sit beside it. Runs are dated with the pipeline's `--as-of` option so the story's
order holds; each run's `training_results.json` and `training_summary.json` carry a
`backdated` block giving the real training time. Training durations are real.

## Which is which

- **The collapsed model**: `{final_name}` and the session 32 run it was copied from. It was
  trained under the `original-training` fill model, the original's training-time
  accounting in which a SELL without a position opened the other side and was paid for,
  so it learned to sell on every step. Its training summary, counted while the policy
  *samples*, looks busy and varied; in the trader's deterministic mode it plays one SELL
  on every step (`kalshi-tui health {final_name}` says COLLAPSED) and never fills an
  order in a real market (`kalshi-tui validate {final_name}`: 0 filled). This is the
  original team's lost day, reproduced: the model the seed analysis recommended.
- **The healthy models**: the session 7 and session 10 PPO runs were trained in the
  realistic market; in the trader's mode they play several actions and fill orders on
  sessions 5-10 (`kalshi-tui health`, `kalshi-tui validate`). `kalshi-tui report`
  recommends one of them and lists the collapsed model under "Not recommended".
- **The outdated current model**: the session 9 run (5 actions), which CURRENT_MODEL.json
  names, as in the seed analysis.

Hold % and entropy below are the training summary's, counted while the policy samples:
they are exactly the figures that hid the collapse.

| Model | Algorithm | Actions | Steps | Trained under | Hold % | Entropy (ln n) | Why it is here |
|---|---|---|---|---|---|---|---|
{rows}
{final_row}
| `{unreadable_name}` | | | | | | | the first half of a model zip: deliberately unreadable |

`CURRENT_MODEL.json` is in the original hand-written schema, without a kalshi-tui
revision block or journal: the tool meets it as it would meet a registry it has never
touched.
"""
    path.write_text(text, encoding="utf-8")
    return path
