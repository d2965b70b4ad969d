"""What the catalog knows about one model file: the record every face of the tool shows.

Built from the zip's readable JSON and the training artifacts beside it, never by running
the model's pickles. Plain data, so the TUI, the CLI, the pointer engine and reports can
share it and the catalog cache can store it as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

COMPATIBLE = "compatible"
INCOMPATIBLE = "incompatible"
UNREADABLE = "unreadable"
# The trader's PPO.load would run code from it, torch would refuse it, or it is a bomb.
UNSAFE = "unsafe"
VERDICTS = (COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE)


@dataclass
class TrainingMetrics:
    """Figures from a run's training artifacts; `sources` says which file each came from."""

    episodes: int | None = None
    unique_markets: int | None = None
    win_rate: float | None = None  # 0..1
    hold_pct: float | None = None  # 0..100
    trading_pct: float | None = None  # 0..100
    entropy: float | None = None  # normalised by ln(n), 0..1
    exploration_ratio: float | None = None  # 0..1
    total_timesteps: int | None = None
    training_duration_seconds: float | None = None
    session_ids: list[int] | None = None
    training_start: str | None = None  # ISO UTC
    training_completion: str | None = None  # ISO UTC
    # action id (as str, JSON keys) -> count, summed from diagnostics.jsonl
    action_histogram: dict[str, int] | None = None
    # figure name -> "diagnostics.jsonl (recounted)", "training_summary.json", ...
    sources: dict[str, str] = field(default_factory=dict)
    # things about the artifacts an operator should know ("summary entropy used ln 5 ...")
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingMetrics:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class ModelRecord:
    path: str  # relative to the models folder, forward slashes
    abs_path: str
    name: str  # what an operator calls it: run folder name, or the file stem
    verdict: str = UNREADABLE
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    algorithm: str | None = None  # PPO, A2C, DQN, ...
    action_space_type: str | None = None  # Discrete, MultiDiscrete, Box, ...
    n_actions: int | None = None
    obs_shape: list[int] | None = None
    obs_dtype: str | None = None
    obs_low: str | None = None  # numpy text, as stored
    obs_high: str | None = None
    # The observation layout it was trained on ("A", "B"; None: the evidence cannot tell)
    # and the evidence, from its saved last observation and start_time (core.layout_evidence).
    obs_layout: str | None = None
    obs_layout_evidence: str | None = None
    weights_n_actions: int | None = None  # from policy.pth tensor shapes
    weights_obs_dim: int | None = None
    versions: dict[str, str] = field(default_factory=dict)  # sb3, torch, gymnasium, python, numpy
    num_timesteps: int | None = None
    trained_at: str | None = None  # ISO UTC from start_time
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    policy_class: str | None = None  # module.Name from the pickle's globals, never imported
    pickle_globals: list[str] = field(default_factory=list)
    # [where, why, globals at fault] for what PPO.load would refuse or run (core.member_safety)
    trader_findings: list[list[Any]] = field(default_factory=list)
    size_bytes: int = 0
    mtime: float = 0.0
    sha256: str | None = None
    kind: str = "final"  # final | run | checkpoint
    run_dir: str | None = None  # relative run folder holding the artifacts, if any
    artifacts: dict[str, str] = field(default_factory=dict)  # artifact name -> relative path
    metrics: TrainingMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = self.metrics.to_dict() if self.metrics else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        metrics = known.get("metrics")
        known["metrics"] = TrainingMetrics.from_dict(metrics) if metrics else None
        return cls(**known)
