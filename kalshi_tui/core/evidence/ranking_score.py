"""One candidate's score: each piece of evidence turned into a weighted component, with why.

The strongest evidence for each criterion wins and replaces the weaker: the trader's mode on
recorded sessions (a validation, a health check) before the training summary, which was
counted while the policy sampled. A validation adds no points for existing; its figures
replace the training figures, so a validation worse than the training summary lowers the
score. Plain data in, plain data out: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kalshi_tui.core.artifacts.find import entropy_normalised
from kalshi_tui.core.figures import (
    fmt_dollars,
    fmt_int,
    fmt_pct,
    metric_source,
    validation_source,
)
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.times import parse_time
from kalshi_tui.core.world.session_ids import session_ranges

ALL_HOLD_TRADING_PCT = 1.0  # below this share of trading decisions a model "only holds"
DEGENERATE_SHARE = 0.8  # one action taking this share of decisions is degenerate
FULL_ACTIVITY_PCT = 20.0  # trading % at which the activity component is full
PNL_SCALE_CENTS = 100.0  # mean P&L per market that counts as clearly good (tanh(1) = 0.76)
START_CASH_CENTS = 10_000.0  # an episode's starting cash in the environment
RECENCY_HALF_LIFE_DAYS = 30.0
NARROW = "NARROW"
RECORDED = "recorded"  # the health source measured on the validation sessions' steps


@dataclass(frozen=True)
class Fact:
    """One criterion's evidence: its component (before weighting), the sentence, the source."""

    criterion: str
    value: float
    text: str
    source: str


def health_source(health: Any) -> str:
    """Where a health figure came from: the check, its sessions, its mode and when."""
    mode = "deterministic" if getattr(health, "deterministic", True) else "stochastic"
    return (f"health check on sessions {session_ranges(health.session_ids)}, {mode}, "
            f"{health.created_at}")


def training_counts(record: ModelRecord) -> bool:
    """Whether the run's figures describe this file: not when the run finished no episode,
    and not for a mid-run checkpoint (they are the whole run's, measured after it)."""
    return (record.metrics is not None and record.metrics.episodes != 0
            and record.kind != "checkpoint")


def markets_of(record: ModelRecord) -> int | None:
    """The markets the run trained on: a checkpoint saw (some of) them too."""
    m = record.metrics
    return m.unique_markets if m is not None and m.episodes != 0 else None


def has_training_figures(record: ModelRecord) -> bool:
    m = record.metrics
    if m is None or not training_counts(record):
        return False
    return any(v is not None for v in (m.episodes, m.unique_markets, m.win_rate, m.trading_pct,
                                       m.hold_pct, m.entropy, m.action_histogram))


def plural(count: int, word: str) -> str:
    return f"{fmt_int(count)} {word}{'' if count == 1 else 's'}"


def score_facts(record: ModelRecord, validation: Any, health: Any, most_markets: int,
                newest: datetime | None, now: datetime) -> list[Fact]:
    """Every fact that scores `record`, strongest source first for each criterion."""
    facts: list[Fact] = []
    facts += _performance(record, validation)
    facts += _health(health)
    counts, hist_source = _histogram(record, validation, health)
    facts += _activity(record, validation, health, counts, hist_source)
    facts += _balance(record, counts, hist_source)
    markets = markets_of(record)
    if markets is not None and most_markets > 0:
        most = " (the most of the candidates)" if markets == most_markets else ""
        facts.append(Fact("diversity", math.log1p(markets) / math.log1p(most_markets),
                          f"trained on {plural(markets, 'unique market')}{most}",
                          metric_source(record, "unique_markets")))
    trained = parse_time(record.trained_at)
    if trained is not None and newest is not None:
        behind = max(0.0, (newest - trained).total_seconds() / 86400.0)
        age = max(0.0, (now - trained).total_seconds() / 86400.0)
        where = ("the newest of the candidates" if behind == 0
                 else f"{behind:.1f} days before the newest candidate")
        facts.append(Fact("recency", 0.5 ** (behind / RECENCY_HALF_LIFE_DAYS),
                          f"trained {trained:%Y-%m-%d %H:%M} UTC, {where} ({age:.0f} days ago)",
                          "model zip: data start_time"))
    if record.kind == "checkpoint":
        facts.append(Fact("checkpoint", -1.0, "a mid-run checkpoint, not the run's finished "
                          "model: the run's training figures are not its own", "file system"))
    return facts


def _performance(record: ModelRecord, validation: Any) -> list[Fact]:
    """Win rate, P&L and drawdown: the validation's when stored, else the training win rate."""
    if validation is not None:
        source = validation_source(validation)
        traded = int(getattr(validation, "episodes_traded", validation.episodes) or 0)
        facts = [Fact("win_rate", float(validation.win_rate),
                      f"validation win rate {fmt_pct(validation.win_rate, fraction=True)} over "
                      f"{plural(traded, 'episode')} that traded", source)]
        ci = (validation.pnl_ci_text() if hasattr(validation, "pnl_ci_text")
              else f"{fmt_dollars(validation.mean_pnl_cents)} per episode")
        facts.append(Fact("validated_pnl", math.tanh(validation.mean_pnl_cents / PNL_SCALE_CENTS),
                          f"validation P&L {ci}", source))
        share = min(1.0, max(0.0, validation.max_drawdown_cents / START_CASH_CENTS))
        facts.append(Fact("validated_drawdown", -share,
                          f"worst validation drawdown "
                          f"{fmt_dollars(validation.max_drawdown_cents, signed=False)} "
                          f"({fmt_pct(share, fraction=True)} of the starting cash)", source))
        return facts
    metrics = record.metrics if training_counts(record) else None
    if metrics is not None and metrics.win_rate is not None:
        return [Fact("win_rate", float(metrics.win_rate),
                     f"training win rate {fmt_pct(metrics.win_rate, fraction=True)} (counted "
                     "while the policy sampled)", metric_source(record, "win_rate"))]
    return []


def _health(health: Any) -> list[Fact]:
    if health is None or not getattr(health, "state", ""):
        return []
    penalty = -1.0 if health.state == NARROW else 0.0
    return [Fact("health", penalty, f"policy health {health.state_line}", health_source(health))]


def _recorded_histogram(health: Any) -> list[int] | None:
    source = health.source(RECORDED) if health is not None else None
    if source is None or not source.observations:
        return None
    counts = source.deterministic_histogram if health.deterministic else source.stochastic_histogram
    return [int(c) for c in counts]


def _histogram(record: ModelRecord, validation: Any, health: Any) -> tuple[list[int] | None, str]:
    """The action histogram to judge, and its source: the trader's mode first, then training."""
    if validation is not None:
        return [int(c) for c in validation.histogram], validation_source(validation)
    recorded = _recorded_histogram(health)
    if recorded is not None:
        return recorded, health_source(health)
    m = record.metrics
    if m is None or not m.action_histogram or not training_counts(record):
        return None, ""
    readable: dict[int, int] = {}
    for key, count in m.action_histogram.items():
        try:
            action, number = int(str(key)), int(count)
        except (TypeError, ValueError):
            continue  # a damaged entry is not an action; the catalog notes the damage
        if action >= 0 and number >= 0:
            readable[action] = readable.get(action, 0) + number
    n = max([record.n_actions or 0] + [a + 1 for a in readable])
    return [readable.get(a, 0) for a in range(n)], metric_source(record, "action_histogram")


def _activity(record: ModelRecord, validation: Any, health: Any, counts: list[int] | None,
              hist_source: str) -> list[Fact]:
    """How much it tries to trade (non-HOLD decisions): fills are judged by the hard rule."""
    m = record.metrics
    if validation is not None:
        trading = float(getattr(validation, "attempted_pct", validation.trading_pct))
        source = validation_source(validation)
    elif counts and sum(counts) and _recorded_histogram(health) is not None:
        trading, source = 100.0 * (1 - counts[0] / sum(counts)), hist_source
    elif m is not None and training_counts(record) and m.trading_pct is not None:
        trading, source = float(m.trading_pct), metric_source(record, "trading_pct")
    elif counts and sum(counts):
        trading, source = 100.0 * (1 - counts[0] / sum(counts)), hist_source
    else:
        return [Fact("activity", 0.0, "trading activity unknown: no histogram or training "
                     "summary", "-")]
    if trading < ALL_HOLD_TRADING_PCT:
        return [Fact("activity", 0.0, f"all HOLD: orders on only {fmt_pct(trading)} of decisions",
                     source)]
    if counts and sum(counts):
        top = max(range(len(counts)), key=lambda a: (counts[a], -a))
        share = counts[top] / sum(counts)
        if share >= DEGENERATE_SHARE:
            return [Fact("activity", 0.0, f"degenerate: action {top} takes "
                         f"{fmt_pct(share, fraction=True)} of decisions", hist_source)]
    return [Fact("activity", min(1.0, trading / FULL_ACTIVITY_PCT),
                 f"orders on {fmt_pct(trading)} of decisions (non-HOLD)", source)]


def _balance(record: ModelRecord, counts: list[int] | None, source: str) -> list[Fact]:
    m = record.metrics
    if counts and sum(counts):
        value = entropy_normalised(counts, max(len(counts), record.n_actions or 0))
    elif m is not None and training_counts(record) and m.entropy is not None:
        value, source = float(m.entropy), metric_source(record, "entropy")
    else:
        return []
    words = "well balanced" if value >= 0.6 else "narrow" if value < 0.3 else "moderately balanced"
    return [Fact("balance", value, f"action histogram {words}: normalised entropy {value:.3f}",
                 source)]
