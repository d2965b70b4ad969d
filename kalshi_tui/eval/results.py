"""What a validation run found: plain data, stored as JSON and shown by the CLI and the TUI.

Kept free of torch and of the environment so the TUI can read stored results at listing
time without paying for either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.world.session_ids import session_ranges

# Bumped when the meaning of a stored figure changes, so older results read as stale.
# 2: figures carry their world (profile, layout, fill model, sessions); 3: trading % means
# filled orders, win rate counts the episodes that traded, P&L per market has a bootstrap CI
RESULT_FORMAT = 3

# Why an attempted order filled nothing (env.simulator's cause keys), in words.
UNFILLED_CAUSE_TEXT = {
    "nothing_to_sell": "nothing to sell",
    "no_cash": "no cash",
    "no_liquidity": "no liquidity at the price",
    "limit_below_ask": "limit below the ask (BUY_NO never fills on 2025-12-17)",
}
# The whole sentence when one cause explains every unfilled order.
_EVERY_ORDER = {
    "nothing_to_sell": "every SELL had nothing to sell",
    "no_cash": "every BUY lacked the cash for one contract",
    "no_liquidity": "no order found liquidity at its price",
    "limit_below_ask": "every BUY_NO's limit sat below the NO ask",
}


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
    profile: str | None = None  # the world the figures were measured in
    observation_layout: str | None = None
    fill_model: str | None = None
    session_source: str | None = None  # the session store, password-free
    # sells of contracts not held: "nothing to sell" (realistic) or sell-to-open (original)
    unheld_sells: int = 0
    seed: int | None = None  # the sampling seed of a stochastic run
    orders_attempted: int = 0  # non-HOLD actions; `fills` counts the orders that filled
    attempted_pct: float = 0.0  # orders attempted per step, 0..100 (`trading_pct`: filled)
    unfilled_by_cause: dict[str, int] = field(default_factory=dict)  # UNFILLED_CAUSE_TEXT keys
    episodes_traded: int = 0  # episodes with at least one fill; `win_rate` is over these
    # P&L of each market (one episode each) and the 95 % bootstrap CI of its mean
    market_pnl_cents: list[float] = field(default_factory=list)
    pnl_ci_low_cents: float | None = None
    pnl_ci_high_cents: float | None = None
    bootstrap_resamples: int = 0
    bootstrap_seed: int = 0
    skipped: list[str] = field(default_factory=list)  # markets that could not be replayed
    format: int = RESULT_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def never_traded(self) -> bool:
        return self.fills == 0

    def unfilled_text(self) -> str:
        """Why orders did not fill: '19,292 nothing to sell, 40 no cash'; '' when all filled."""
        parts = [f"{count:,} {UNFILLED_CAUSE_TEXT.get(cause, cause)}"
                 for cause, count in sorted(self.unfilled_by_cause.items(), key=lambda kv: -kv[1])
                 if count]
        return ", ".join(parts)

    def fill_line(self) -> str:
        """Orders attempted against orders filled, in words; says so when nothing filled."""
        if self.never_traded:
            if not self.orders_attempted:
                return f"never traded: held on all {self.steps:,} steps (0 orders attempted)"
            causes = {c: n for c, n in self.unfilled_by_cause.items() if n}
            if len(causes) == 1 and sum(causes.values()) == self.orders_attempted:
                why = _EVERY_ORDER.get(next(iter(causes)), self.unfilled_text())
            else:
                why = self.unfilled_text() or "cause not recorded"
            return (f"never traded: {self.orders_attempted:,} orders attempted, 0 filled: {why}")
        line = (
            f"{self.orders_attempted:,} orders attempted ({self.attempted_pct:.1f} % of steps), "
            f"{self.fills:,} filled ({self.trading_pct:.1f} %)"
        )
        unfilled = self.unfilled_text()
        return line + (f"; unfilled: {unfilled}" if unfilled else "")

    def win_rate_text(self) -> str:
        if not self.episodes_traded:
            return "none: no episode traded"
        return (f"{self.win_rate * 100:.1f} % of the {self.episodes_traded:,} episodes "
                f"that traded (of {self.episodes:,})")

    def pnl_ci_text(self) -> str:
        """Mean P&L per market with its 95 % bootstrap CI: '-5.97 $/market, 95 % CI [...]'."""
        mean = f"{self.mean_pnl_cents / 100:+,.2f} $/market"
        if self.pnl_ci_low_cents is None or self.pnl_ci_high_cents is None:
            return mean
        return (f"{mean}, 95 % CI [{self.pnl_ci_low_cents / 100:+,.2f}, "
                f"{self.pnl_ci_high_cents / 100:+,.2f}] over {len(self.market_pnl_cents)} markets")

    def headline(self) -> str:
        """One line for notifications, panes and reports: the fills first, then the money."""
        if self.never_traded:
            return self.fill_line()
        return (f"trading {self.trading_pct:.1f} % filled ({self.attempted_pct:.1f} % attempted), "
                f"win rate {self.win_rate_text()}, P&L {self.pnl_ci_text()}")

    def histogram_by_label(self) -> dict[str, int]:
        # A stored result's lists are shown as far as both go (its from_dict checks neither).
        return dict(zip(self.action_labels, self.histogram, strict=False))

    def summary_lines(self) -> list[str]:
        """The figures an operator reads, one per line, for the CLI and reports."""
        mode = "deterministic" if self.deterministic else f"stochastic (seed {self.seed})"
        lines = [
            f"model       {self.model_path} ({self.algorithm}, {self.n_actions} actions)",
            f"world       profile {self.profile}, layout {self.observation_layout}, "
            f"fill model {self.fill_model}, sessions from {self.session_source}",
            f"sessions    {session_ranges(self.session_ids)}  {mode}",
            f"episodes    {self.episodes} over {self.markets} markets, {self.steps} steps"
            f" ({self.seconds:.2f} s, {self.steps_per_second:,.0f} steps/s)",
            f"activity    hold {self.hold_pct:.1f} %  trading {self.trading_pct:.1f} % "
            f"(orders filled)  attempted {self.attempted_pct:.1f} %",
            f"orders      {self.fill_line()}",
            f"entropy     actions {self.histogram_entropy:.3f} (of ln {self.n_actions})"
            f"  policy {self.mean_policy_entropy_normalised:.3f}",
            f"win rate    {self.win_rate_text()}",
            f"P&L         total {self.total_pnl_cents / 100:+,.2f} $  {self.pnl_ci_text()}",
            f"drawdown    max {self.max_drawdown_cents / 100:,.2f} $ (worst episode, peak to "
            f"trough)",
            f"fees        {self.fees_cents / 100:,.2f} $ on {self.fills:,} filled orders",
        ]
        if self.unheld_sells and self.fill_model == "original-training":
            # realistic: already on the orders line as "nothing to sell"
            lines.append(f"sells       {self.unheld_sells:,} of contracts not held: sold without "
                         "holding (opened the other side and credited the proceeds, as the "
                         "original training did)")
        if self.skipped:
            lines.append(f"skipped     {len(self.skipped)} market(s) that could not be replayed")
        return lines

    def histogram_lines(self) -> list[str]:
        total = max(self.steps, 1)
        width = max(len(label) for label in self.action_labels)
        rows = enumerate(zip(self.action_labels, self.histogram, strict=False))
        return [f"{a:>3}  {label:<{width}}  {count:>9}  {100 * count / total:5.1f} %"
                for a, (label, count) in rows]


def bootstrap_mean_ci(values, *, resamples: int = 10_000, seed: int = 0,
                      level: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the mean; seeded, so the same values give the same CI."""
    import numpy as np

    data = np.asarray(values, np.float64)
    if len(data) < 2:
        return None, None  # one market says nothing about the spread
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), (resamples, len(data)))].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def fill_model_disagreement(realistic: ValidationResult | None,
                            original: ValidationResult | None) -> str | None:
    """One line when the two fill models tell different stories about one model, else None.

    Sharp means: the training world's accounting (`original-training`) made money while the
    realistic market did not, and either nothing filled there or the two 95 % CIs of P&L per
    market do not overlap. That is a model that earned its training reward from a defect.
    """
    if realistic is None or original is None:
        return None
    if original.mean_pnl_cents <= 0 or realistic.mean_pnl_cents > 0:
        return None
    disjoint = (original.pnl_ci_low_cents is not None and realistic.pnl_ci_high_cents is not None
                and original.pnl_ci_low_cents > realistic.pnl_ci_high_cents)
    if not (realistic.never_traded or disjoint):
        return None
    real = "never traded" if realistic.never_traded else f"{realistic.pnl_ci_text()}"
    if original.unheld_sells and original.unheld_sells >= original.fills / 2:
        defect = (f"{original.unheld_sells:,} of its {original.fills:,} training-world fills sold "
                  "contracts it did not hold, which the training environment paid for")
    else:
        defect = "the training environment's accounting paid for what a real market does not"
    return (f"fill models disagree: {original.total_pnl_cents / 100:+,.2f} $ under "
            f"original-training, {realistic.total_pnl_cents / 100:+,.2f} $ realistic ({real}): "
            f"it earned its training reward from a defect ({defect})")
