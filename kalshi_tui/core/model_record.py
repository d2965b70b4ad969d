"""What the catalog knows about one model file: the record every face of the tool shows.

Built from the zip's readable JSON and the training artifacts beside it, never by running
the model's pickles. A record's values are immutable: strings, numbers, tuples and
read-only mappings (`freeze`). So the TUI's threads, the CLI, the pointer engine and
reports can share them, the models of one run can share one copy of what they have in
common (the catalog cache does), and Python's cyclic collector, which must walk every list
and dict it tracks, skips them: a 10,000-model catalog holds ~10,000 tracked objects
instead of ~160,000, which took a warm listing with an earlier catalog still alive from
0.8-1.0 s to 0.3-0.4 s (benchmarks/scan.py). `to_dict` gives plain JSON-shaped values back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

COMPATIBLE = "compatible"
INCOMPATIBLE = "incompatible"
UNREADABLE = "unreadable"
# The trader's PPO.load would run code from it, torch would refuse it, or it is a bomb.
UNSAFE = "unsafe"
VERDICTS = (COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE)

# A finding the trader's PPO.load would act on: (where, why, the pickle globals at fault).
Finding = tuple[str, str, tuple[str, ...]]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


def freeze(value: Any) -> Any:
    """A JSON-shaped value made immutable: lists become tuples, dicts read-only mappings."""
    kind = type(value)
    if kind is list or kind is tuple:
        return tuple([freeze(v) if type(v) in _CONTAINERS else v for v in value])
    if kind is dict or kind is MappingProxyType:
        return MappingProxyType(
            {k: freeze(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
        )
    return value


def thaw(value: Any) -> Any:
    """`freeze` undone: plain lists and dicts (new ones), as JSON, pickle and displays want."""
    kind = type(value)
    if kind is tuple or kind is list:
        return [thaw(v) if type(v) in _CONTAINERS else v for v in value]
    if kind is MappingProxyType or kind is dict:
        return {k: thaw(v) if type(v) in _CONTAINERS else v for k, v in value.items()}
    return value


_CONTAINERS = (list, tuple, dict, MappingProxyType)


@dataclass(frozen=True, slots=True)
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
    session_ids: tuple[int, ...] | None = None
    training_start: str | None = None  # ISO UTC
    training_completion: str | None = None  # ISO UTC
    # action id (as str, JSON keys) -> count, summed from diagnostics.jsonl
    action_histogram: Mapping[str, int] | None = None
    # figure name -> "diagnostics.jsonl (recounted)", "training_summary.json", ...
    sources: Mapping[str, str] = field(default_factory=_empty)
    # things about the artifacts an operator should know ("summary entropy used ln 5 ...")
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: thaw(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingMetrics:
        """From JSON-shaped figures (unknown keys ignored), its values frozen."""
        return cls(**{k: freeze(v) for k, v in data.items() if k in _METRICS_FIELDS})


_METRICS_FIELDS = frozenset(TrainingMetrics.__dataclass_fields__)


@dataclass(slots=True)
class ModelRecord:
    path: str  # relative to the models folder, forward slashes
    abs_path: str
    name: str  # what an operator calls it: run folder name, or the file stem
    verdict: str = UNREADABLE
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    algorithm: str | None = None  # PPO, A2C, DQN, ...
    action_space_type: str | None = None  # Discrete, MultiDiscrete, Box, ...
    n_actions: int | None = None
    obs_shape: tuple[int, ...] | None = None
    obs_dtype: str | None = None
    obs_low: str | None = None  # numpy text, as stored
    obs_high: str | None = None
    # The observation layout it was trained on ("A", "B"; None: the evidence cannot tell)
    # and the evidence, from its saved last observation and start_time (core.layout_evidence).
    obs_layout: str | None = None
    obs_layout_evidence: str | None = None
    weights_n_actions: int | None = None  # from policy.pth tensor shapes
    weights_obs_dim: int | None = None
    # sb3, torch, gymnasium, python, numpy
    versions: Mapping[str, str] = field(default_factory=_empty)
    num_timesteps: int | None = None
    trained_at: str | None = None  # ISO UTC from start_time
    hyperparameters: Mapping[str, Any] = field(default_factory=_empty)
    policy_class: str | None = None  # module.Name from the pickle's globals, never imported
    pickle_globals: tuple[str, ...] = ()
    # What PPO.load would refuse or run (core.sb3.member_safety)
    trader_findings: tuple[Finding, ...] = ()
    size_bytes: int = 0
    mtime: float = 0.0
    sha256: str | None = None
    kind: str = "final"  # final | run | checkpoint
    run_dir: str | None = None  # relative run folder holding the artifacts, if any
    # artifact name -> relative path
    artifacts: Mapping[str, str] = field(default_factory=_empty)
    metrics: TrainingMetrics | None = None

    def plain(self, name: str) -> Any:
        """Field `name` as plain lists and dicts, as JSON and displays want them (a nested
        hyperparameter shows as {'net_arch': [64, 64]}, not as a read-only mapping)."""
        return thaw(getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-shaped values (new lists and dicts), figures as a dict."""
        data = {name: thaw(getattr(self, name)) for name in RECORD_FIELDS}
        data["metrics"] = None if self.metrics is None else self.metrics.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelRecord:
        """From JSON-shaped values (to_dict's; unknown keys ignored), its values frozen."""
        known = {k: freeze(v) for k, v in data.items() if k in _RECORD_FIELD_SET}
        metrics = data.get("metrics")
        known["metrics"] = TrainingMetrics.from_dict(metrics) if metrics else None
        return cls(**known)


RECORD_FIELDS = tuple(ModelRecord.__dataclass_fields__)
_RECORD_FIELD_SET = frozenset(RECORD_FIELDS)
