"""Two policies' P&L on the same markets, market by market: the paired difference.

What the A/B test and the ensemble's "against its best member" both report. The markets
are paired (each model traded the same recorded market), so the mean of the per-market
differences and its 95 % bootstrap CI (the validation's seeded bootstrap, resampling
markets) say more than two separate CIs would. Plain data: no torch, no numpy at import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kalshi_tui.eval.results import bootstrap_mean_ci

# The validation's bootstrap settings: the same markets give the same CI.
PAIRED_RESAMPLES = 10_000
PAIRED_SEED = 0


@dataclass
class PairedDifference:
    """Per-market P&L of A minus B (cents) and what they add up to."""

    differences_cents: list[float]
    mean_cents: float
    ci_low_cents: float | None  # None with fewer than 2 markets: no spread to resample
    ci_high_cents: float | None
    a_wins: int  # markets where A made more than B
    b_wins: int
    ties: int
    resamples: int = PAIRED_RESAMPLES
    seed: int = PAIRED_SEED

    @property
    def markets(self) -> int:
        return len(self.differences_cents)

    @property
    def a_win_share(self) -> float:
        return self.a_wins / self.markets if self.markets else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairedDifference:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def figure_text(self) -> str:
        """'+1.20 $/market, 95 % CI [-0.30, +2.70], 35 markets' (the CI 'unknown' for 1)."""
        markets = f"{self.markets} market{'s' if self.markets != 1 else ''}"
        mean = f"{self.mean_cents / 100:+,.2f} $/market"
        if self.ci_low_cents is None or self.ci_high_cents is None:
            return f"{mean}, 95 % CI unknown, {markets}"
        return (f"{mean}, 95 % CI [{self.ci_low_cents / 100:+,.2f}, "
                f"{self.ci_high_cents / 100:+,.2f}], {markets}")

    def verdict_text(self, a: str, b: str) -> str:
        """Which side the evidence is on, without claiming more than the CI says."""
        if self.markets and self.ties == self.markets:
            return f"{a} and {b} made the same on every market"
        if self.ci_low_cents is None or self.ci_high_cents is None:
            return f"too few markets to tell {a} from {b}"
        if self.ci_low_cents > 0:
            return f"{a} made more than {b} (the whole 95 % CI is above 0)"
        if self.ci_high_cents < 0:
            return f"{a} made less than {b} (the whole 95 % CI is below 0)"
        return f"no clear difference between {a} and {b} (the 95 % CI spans 0)"


def paired_difference(a_pnl_cents, b_pnl_cents) -> PairedDifference:
    """A minus B, market by market; both lists in the same market order."""
    import numpy as np

    a = np.asarray(a_pnl_cents, np.float64)
    b = np.asarray(b_pnl_cents, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired markets differ: {len(a)} against {len(b)}")
    diff = a - b
    low, high = bootstrap_mean_ci(diff, resamples=PAIRED_RESAMPLES, seed=PAIRED_SEED)
    return PairedDifference(
        differences_cents=[float(x) for x in diff],
        mean_cents=float(diff.mean()) if len(diff) else 0.0,
        ci_low_cents=low, ci_high_cents=high, a_wins=int((diff > 0).sum()),
        b_wins=int((diff < 0).sum()), ties=int((diff == 0).sum()))
