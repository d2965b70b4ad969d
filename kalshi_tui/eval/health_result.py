"""What a policy-health check found: plain data, stored as JSON, judged by one rule.

The trader predicts deterministically, so a policy whose argmax is the same on nearly every
observation sends one order forever, however varied its *sampled* training histogram looks.
Kept free of torch and of the environment so `show`, `status` and the TUI read stored
results at listing time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.world.session_ids import session_ranges

HEALTH_FORMAT = 1
HEALTH_SEED = 0  # probes and stochastic draws: the same model gives the same figures

HEALTHY, NARROW, COLLAPSED = "HEALTHY", "NARROW", "COLLAPSED"
# NARROW: at most this many distinct actions on the recorded steps, or a top share this big.
NARROW_DISTINCT = 2
NARROW_SHARE = 0.8
# "Wide margin": the top logit beats the runner-up by this many nats (p_top >= e^2 = 7.4 x
# p_second), so small changes of the observation cannot change the argmax.
WIDE_MARGIN_NATS = 2.0

RECORDED, UNIFORM, NOISE, ZERO = "recorded", "uniform", "noise", "zero"
SOURCE_TEXT = {
    RECORDED: "recorded steps of the validation sessions",
    UNIFORM: "drawn uniformly inside the observation bounds",
    NOISE: "recorded observations plus noise",
    ZERO: "the all-zero observation",
}


@dataclass
class SourceHealth:
    """How the policy acts on one source of observations."""

    source: str  # RECORDED, UNIFORM, NOISE or ZERO
    observations: int
    deterministic_histogram: list[int]  # argmax per observation: what the trader plays
    stochastic_histogram: list[int]  # one seeded draw per observation: what sampling plays
    mean_entropy_normalised: float  # mean policy entropy / ln n, 0..1
    mean_top_probability: float
    wide_margin_share: float  # share of observations whose top logit wins by WIDE_MARGIN_NATS

    def top(self, deterministic: bool = True) -> tuple[int, float]:
        """(action id, share) of the most played action in that mode."""
        counts = self.deterministic_histogram if deterministic else self.stochastic_histogram
        total = sum(counts)
        best = max(range(len(counts)), key=lambda a: (counts[a], -a))
        return best, (counts[best] / total if total else 0.0)

    def distinct(self, deterministic: bool = True) -> int:
        counts = self.deterministic_histogram if deterministic else self.stochastic_histogram
        return sum(1 for c in counts if c)


@dataclass
class HealthResult:
    """A policy run in the trader's mode over recorded steps and probe observations."""

    model_path: str
    sha256: str
    algorithm: str
    n_actions: int
    session_ids: list[int]
    deterministic: bool  # the trader's mode (trader.deterministic): what the state judges
    environment_fingerprint: str
    sessions_fingerprint: str
    profile: str
    observation_layout: str
    fill_model: str
    session_source: str
    action_labels: list[str]
    collapse_share: float  # health.collapse_share the state was judged with
    sources: list[SourceHealth]
    seed: int
    seconds: float
    created_at: str
    format: int = HEALTH_FORMAT
    state: str = ""
    state_line: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sources = [
            s if isinstance(s, SourceHealth) else SourceHealth(**s) for s in self.sources
        ]
        self.state, self.state_line = judge(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def source(self, name: str) -> SourceHealth | None:
        return next((s for s in self.sources if s.source == name), None)

    @property
    def mode(self) -> str:
        return "deterministic, as the trader predicts" if self.deterministic \
            else "stochastic, as the trader samples"

    def label(self, action: int) -> str:
        return (
            self.action_labels[action] if 0 <= action < len(self.action_labels) else f"id {action}"
        )

    def summary_lines(self) -> list[str]:
        lines = [
            f"model       {self.model_path} ({self.algorithm}, {self.n_actions} actions)",
            f"world       profile {self.profile}, layout {self.observation_layout}, "
            f"fill model {self.fill_model}, sessions from {self.session_source}",
            f"sessions    {session_ranges(self.session_ids)}  trader mode: {self.mode}",
            f"health      {self.state_line}",
        ]
        for s in self.sources:
            top, share = s.top(True)
            stop, sshare = s.top(False)
            lines.append(
                f"  {s.source:<9} {s.observations:>7,} obs ({SOURCE_TEXT[s.source]})")
            lines.append(
                f"            deterministic: top {self.label(top)} {share * 100:.1f} %, "
                f"{s.distinct(True)} distinct; stochastic: top {self.label(stop)} "
                f"{sshare * 100:.1f} %, {s.distinct(False)} distinct")
            lines.append(
                f"            entropy/ln n {s.mean_entropy_normalised:.3f}, mean top probability "
                f"{s.mean_top_probability:.3f}, top logit wins by >= {WIDE_MARGIN_NATS:g} nats on "
                f"{s.wide_margin_share * 100:.1f} %")
        return lines

    def histogram_lines(self, source: str = RECORDED) -> list[str]:
        """Both histograms of one source, labelled, side by side."""
        s = self.source(source)
        if s is None:
            return []
        width = max(len(label) for label in self.action_labels)
        det_total, sto_total = (
            max(sum(s.deterministic_histogram), 1),
            max(sum(s.stochastic_histogram), 1),
        )
        lines = [f"{'':>3}  {'action':<{width}}  {'deterministic':>22}  {'stochastic':>22}"]
        for a, label in enumerate(self.action_labels):
            d, st = s.deterministic_histogram[a], s.stochastic_histogram[a]
            lines.append(f"{a:>3}  {label:<{width}}  {d:>13,} {100 * d / det_total:5.1f} %  "
                         f"{st:>13,} {100 * st / sto_total:5.1f} %")
        return lines


def judge(result: HealthResult) -> tuple[str, str]:
    """HEALTHY, NARROW or COLLAPSED from the recorded steps in the trader's mode, with why."""
    recorded = result.source(RECORDED)
    if recorded is None or not recorded.observations:
        return "", "no recorded steps: health unknown"
    top, share = recorded.top(result.deterministic)
    distinct = recorded.distinct(result.deterministic)
    mode = ("deterministic, as the trader predicts" if result.deterministic
            else "stochastic, as the trader samples")
    steps = f"{recorded.observations:,} recorded steps"
    if share >= result.collapse_share:
        return COLLAPSED, (f"COLLAPSED: {result.label(top)} on {share * 100:.1f} % of {steps} "
                           f"({mode})")
    if distinct <= NARROW_DISTINCT or share >= NARROW_SHARE:
        return NARROW, (f"NARROW: {distinct} distinct action{'s' if distinct != 1 else ''}, "
                        f"{result.label(top)} on {share * 100:.1f} % of {steps} ({mode})")
    return HEALTHY, (f"HEALTHY: {distinct} distinct actions, the most played "
                     f"{result.label(top)} on {share * 100:.1f} % of {steps} ({mode})")
