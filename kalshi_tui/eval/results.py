"""What a validation run found: plain data, stored as JSON and shown by the CLI and the TUI.

Kept free of torch and of the environment so the TUI can read stored results at listing
time without paying for either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.session_ids import session_ranges

# Bumped when the meaning of a stored figure changes, so older results read as stale.
RESULT_FORMAT = 2


@dataclass
class ValidationResult:
    """One model run over every market of some recorded sessions, and what it did there."""

    model_path: str
    sha256: str
    algorithm: str
    n_actions: int
    session_ids: list[int]
    deterministic: bool
    environment_fingerprint: str
    sessions_fingerprint: str  # sha256 of the sessions' rows the run replayed
    action_labels: list[str]  # decode_action label of each action id
    histogram: list[int]  # how often each action id was played
    steps: int  # decisions taken, over all episodes
    hold_pct: float  # 0..100
    trading_pct: float  # 0..100
    histogram_entropy: float  # entropy of `histogram` / ln(n), 0..1
    mean_policy_entropy: float  # mean entropy (nats) of the policy's distribution per step
    mean_policy_entropy_normalised: float  # the same / ln(n), 0..1
    episodes: int
    markets: int
    win_rate: float  # share of episodes that ended with positive P&L, 0..1
    total_pnl_cents: float
    mean_pnl_cents: float
    max_drawdown_cents: float  # worst peak-to-trough fall of portfolio value in any episode
    fills: int
    fees_cents: float
    seconds: float  # wall time of the run, load included
    steps_per_second: float
    created_at: str  # ISO UTC
    seed: int | None = None  # the sampling seed of a stochastic run
    skipped: list[str] = field(default_factory=list)  # markets that could not be replayed
    format: int = RESULT_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def histogram_by_label(self) -> dict[str, int]:
        return dict(zip(self.action_labels, self.histogram))

    def summary_lines(self) -> list[str]:
        """The figures an operator reads, one per line, for the CLI and reports."""
        mode = "deterministic" if self.deterministic else f"stochastic (seed {self.seed})"
        lines = [
            f"model       {self.model_path} ({self.algorithm}, {self.n_actions} actions)",
            f"sessions    {session_ranges(self.session_ids)}  {mode}",
            f"episodes    {self.episodes} over {self.markets} markets, {self.steps} steps"
            f" ({self.seconds:.2f} s, {self.steps_per_second:,.0f} steps/s)",
            f"activity    hold {self.hold_pct:.1f} %  trading {self.trading_pct:.1f} %",
            f"entropy     actions {self.histogram_entropy:.3f} (of ln {self.n_actions})"
            f"  policy {self.mean_policy_entropy_normalised:.3f}",
            f"win rate    {self.win_rate * 100:.1f} % of episodes",
            f"P&L         total {self.total_pnl_cents / 100:+,.2f} $"
            f"  mean {self.mean_pnl_cents / 100:+,.4f} $/episode"
            f"  max drawdown {self.max_drawdown_cents / 100:,.2f} $",
            f"fills       {self.fills}  fees {self.fees_cents / 100:,.2f} $",
        ]
        if self.skipped:
            lines.append(f"skipped     {len(self.skipped)} market(s) that could not be replayed")
        return lines

    def histogram_lines(self) -> list[str]:
        total = max(self.steps, 1)
        width = max(len(label) for label in self.action_labels)
        return [f"{a:>3}  {label:<{width}}  {count:>9}  {100 * count / total:5.1f} %"
                for a, (label, count) in enumerate(zip(self.action_labels, self.histogram))]
