"""Rank compatible models for promotion, with the reasons an operator would give.

Each criterion turns one piece of evidence into a component (0..1, or -1..0 for a penalty);
the score is the weighted sum. Weights come from `[ranking] weights = {...}` in the config;
a key left out keeps its default below. Incompatible and unreadable models are never
ranked: they get rank None and their verdict's reasons. Hard rules come before weights: a
compatible model whose stored health is COLLAPSED, or whose validation filled no order, is
never ranked either (`never_recommended`), whatever its score. Ties are broken by path, so the
order is the same on every run, and said plainly.

Weight keys (default in brackets):
- `validated` [2.0]: a current stored validation result exists (evidence, not opinion).
- `validated_win_rate` [3.0]: share of validation episodes that ended with positive P&L.
- `validated_pnl` [2.0]: mean validation P&L per episode, tanh(mean / 1 $), so -1..1.
- `validated_drawdown` [1.0]: penalty, worst validation drawdown as a share of the 100 $ start.
- `training_win_rate` [1.0]: the training win rate; only counted when not validated.
- `activity` [1.0]: trades at all: 0 when all-HOLD (under 1 % trading) or degenerate (one
  action over 80 % of decisions), else trading % / 20, capped at 1.
- `balance` [1.0]: normalised entropy of the action histogram (1 = every action equally).
- `diversity` [1.0]: unique markets in training, log-scaled against the most of any candidate.
- `recency` [1.0]: 0.5 ** (days older than the newest candidate / 30), from start_time; relative,
  so a folder left alone for a year still prefers its newest model.
- `final_name` [0.5]: the name says "final" (the original system's production candidates).
- `checkpoint` [0.5]: penalty for a mid-run checkpoint rather than the run's model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from kalshi_tui.core.artifacts.find import entropy_normalised
from kalshi_tui.core.figures import (
    fmt_dollars,
    fmt_int,
    fmt_pct,
    metric_source,
    validation_source,
)
from kalshi_tui.core.model_record import COMPATIBLE, ModelRecord, TrainingMetrics
from kalshi_tui.core.times import parse_time
from kalshi_tui.core.world.session_ids import session_ranges

DEFAULT_WEIGHTS: dict[str, float] = {
    "validated": 2.0,
    "validated_win_rate": 3.0,
    "validated_pnl": 2.0,
    "validated_drawdown": 1.0,
    "training_win_rate": 1.0,
    "activity": 1.0,
    "balance": 1.0,
    "diversity": 1.0,
    "recency": 1.0,
    "final_name": 0.5,
    "checkpoint": 0.5,
}

ALL_HOLD_TRADING_PCT = 1.0  # below this share of trading decisions a model "only holds"
DEGENERATE_SHARE = 0.8  # one action taking this share of decisions is degenerate
FULL_ACTIVITY_PCT = 20.0  # trading % at which the activity component is full
PNL_SCALE_CENTS = 100.0  # mean P&L per episode that counts as clearly good (tanh(1) = 0.76)
START_CASH_CENTS = 10_000.0  # an episode's starting cash in the environment
RECENCY_HALF_LIFE_DAYS = 30.0
TIE_DIGITS = 9  # scores equal to this many decimals are a tie

EVIDENCE_VALIDATED = "validated"
EVIDENCE_TRAINING = "training figures"
EVIDENCE_FILE = "model file only"
EVIDENCE_NONE = "not eligible"

NOT_VALIDATED_TRAINING = "not validated: recommendation rests on training figures"
NOT_VALIDATED_FILE = ("not validated and no training figures: recommendation rests on the "
                      "model file alone")


class RankingError(ValueError):
    """Bad ranking weights, phrased as one line naming the key."""


@dataclass
class RankedModel:
    """One model's place in the ranking: rank (None when not eligible), score and why."""

    path: str
    name: str
    rank: int | None
    score: float | None
    evidence: str
    reasons: list[str] = field(default_factory=list)
    # criterion -> weighted contribution to the score
    components: dict[str, float] = field(default_factory=dict)
    tied_with: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return self.rank is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["eligible"] = self.eligible
        return data


def effective_weights(
    weights: dict[str, float] | None, where: str = "ranking weights"
) -> dict[str, float]:
    """Defaults overlaid with the config's weights; an unknown or non-finite weight is refused."""
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key not in DEFAULT_WEIGHTS:
            raise RankingError(f"{where}: unknown ranking weight '{key}' "
                               f"(known: {', '.join(DEFAULT_WEIGHTS)})")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RankingError(
                f"{where}: ranking weight '{key}' must be a number, not {value!r}"
            ) from None
        if not math.isfinite(number):
            raise RankingError(f"{where}: ranking weight '{key}' must be finite, not {value!r}")
        merged[key] = number
    return merged


def never_recommended(validation: Any, health: Any) -> str | None:
    """The hard rule before any weight: why evidence bars a compatible model, or None.

    A policy COLLAPSED in the trader's mode sends one order forever; a validation in which
    no order filled shows a model that never traded. Neither is recommended, whatever its
    score.
    """
    if health is not None and getattr(health, "state", None) == "COLLAPSED":
        return f"never recommended: {health.state_line}"
    if validation is not None and getattr(validation, "fills", None) == 0:
        line = validation.fill_line() if hasattr(validation, "fill_line") else "0 fills"
        return (f"never recommended: validation on sessions "
                f"{session_ranges(validation.session_ids)}: {line}")
    return None


def rank_models(records: list[ModelRecord], *, validations: dict[str, Any] | None = None,
                weights: dict[str, float] | None = None, now: datetime,
                healths: dict[str, Any] | None = None) -> list[RankedModel]:
    """Every record, eligible ones ranked best first (ties by path), then the ineligible by path.

    `validations` maps record path -> current `ValidationResult` (or None), `healths` path ->
    current `HealthResult`; `now` is injected so recency, and so the order, is reproducible.
    A compatible model barred by `never_recommended` is scored but not ranked.
    """
    w = effective_weights(weights)
    validations = validations or {}
    healths = healths or {}
    barred = {r.path: why for r in records if r.verdict == COMPATIBLE
              for why in [never_recommended(validations.get(r.path), healths.get(r.path))] if why}
    eligible = [r for r in records if r.verdict == COMPATIBLE and r.path not in barred]
    most_markets = max((_markets(r) or 0 for r in eligible), default=0)
    times = [t for t in (parse_time(r.trained_at) for r in eligible) if t is not None]
    newest = max(times) if times else None
    scored: list[RankedModel] = []
    for record in eligible:
        scored.append(_score(record, validations.get(record.path), w, most_markets, newest, now))
    scored.sort(key=lambda m: (-round(m.score or 0.0, TIE_DIGITS), m.path))
    for position, ranked in enumerate(scored, start=1):
        ranked.rank = position
    _note_ties(scored)
    for record in sorted((r for r in records if r.path in barred), key=lambda r: r.path):
        scored.append(RankedModel(record.path, record.name, None, None, EVIDENCE_NONE,
                                  [barred[record.path]]))
    rest = sorted((r for r in records if r.verdict != COMPATIBLE), key=lambda r: r.path)
    for record in rest:
        why = "; ".join(record.reasons) or "no reason recorded"
        scored.append(RankedModel(record.path, record.name, None, None, EVIDENCE_NONE,
                                  [f"never recommended: {record.verdict} ({why})"]))
    return scored


def rank_for_config(
    records: list[ModelRecord],
    config: Any,
    *,
    validations: dict[str, Any] | None = None,
    healths: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[RankedModel]:
    """`rank_models` with the config's weights; a bad weight's error names the config file.

    What the TUI's ranking column calls (from a worker, with the stored validations it has).
    """
    where = f"{config.file}: [ranking] weights" if config.file else "[ranking] weights"
    weights = effective_weights(config.ranking_weights, where=where)
    return rank_models(records, validations=validations, weights=weights, healths=healths,
                       now=now or datetime.now(UTC))


def ranking_by_path(ranked: list[RankedModel]) -> dict[str, RankedModel]:
    """Lookup for a models table: record path -> its rank, score and reasons."""
    return {r.path: r for r in ranked}


# ---- scoring one model --------------------------------------------------------------------

def _markets(record: ModelRecord) -> int | None:
    metrics = _counting_metrics(record)
    return metrics.unique_markets if metrics is not None else None


def _counting_metrics(record: ModelRecord) -> TrainingMetrics | None:
    """The run's figures when they can be evidence: a run that finished no episode says nothing."""
    if record.metrics is None or record.metrics.episodes == 0:
        return None
    return record.metrics


def _training_counts(record: ModelRecord) -> bool:
    return _counting_metrics(record) is not None


def _plural(count: int, word: str) -> str:
    return f"{fmt_int(count)} {word}{'' if count == 1 else 's'}"


def _score(record: ModelRecord, validation: Any, w: dict[str, float], most_markets: int,
           newest: datetime | None, now: datetime) -> RankedModel:
    parts: list[tuple[str, float, str]] = []  # (criterion, component, sentence)
    metrics = record.metrics if _training_counts(record) else None
    if validation is not None:
        evidence = EVIDENCE_VALIDATED
        source = validation_source(validation)
        parts.append(
            (
                "validated",
                1.0,
                f"validated on sessions {session_ranges(validation.session_ids)} "
                f"({_plural(validation.episodes, 'episode')})",
            )
        )
        parts.append(
            (
                "validated_win_rate",
                float(validation.win_rate),
                f"validation win rate {fmt_pct(validation.win_rate, fraction=True)} ({source})",
            )
        )
        parts.append(("validated_pnl", math.tanh(validation.mean_pnl_cents / PNL_SCALE_CENTS),
                      f"validation P&L {fmt_dollars(validation.total_pnl_cents)}, "
                      f"{fmt_dollars(validation.mean_pnl_cents)} per episode ({source})"))
        share = min(1.0, max(0.0, validation.max_drawdown_cents / START_CASH_CENTS))
        parts.append(
            (
                "validated_drawdown",
                -share,
                f"worst validation drawdown "
                f"{fmt_dollars(validation.max_drawdown_cents, signed=False)} "
                f"({fmt_pct(share, fraction=True)} of the starting cash) ({source})",
            )
        )
    else:
        evidence = EVIDENCE_TRAINING if _has_training_figures(record) else EVIDENCE_FILE
        if metrics is not None and metrics.win_rate is not None:
            parts.append(("training_win_rate", float(metrics.win_rate),
                          f"training win rate {fmt_pct(metrics.win_rate, fraction=True)} "
                          f"({metric_source(record, 'win_rate')})"))
    counts, hist_source = _histogram(record, validation)
    parts.extend(_activity_parts(record, validation, counts, hist_source))
    parts.extend(_balance_parts(record, validation, counts, hist_source))
    markets = _markets(record)
    if markets is not None and most_markets > 0:
        most = " (the most of the candidates)" if markets == most_markets else ""
        parts.append(("diversity", math.log1p(markets) / math.log1p(most_markets),
                      f"trained on {_plural(markets, 'unique market')}{most} "
                      f"({metric_source(record, 'unique_markets')})"))
    trained = parse_time(record.trained_at)
    if trained is not None and newest is not None:
        behind = max(0.0, (newest - trained).total_seconds() / 86400.0)
        age = max(0.0, (now - trained).total_seconds() / 86400.0)
        where = (
            "the newest of the candidates"
            if behind == 0
            else f"{behind:.1f} days before the newest candidate"
        )
        parts.append(("recency", 0.5 ** (behind / RECENCY_HALF_LIFE_DAYS),
                      f"trained {trained:%Y-%m-%d %H:%M} UTC, {where} ({age:.0f} days ago) "
                      f"(model zip: data start_time)"))
    if "final" in record.name.lower() or "final" in record.path.rsplit("/", 1)[-1].lower():
        parts.append(
            (
                "final_name",
                1.0,
                'named "final", as the original system named its production candidates',
            )
        )
    if record.kind == "checkpoint":
        parts.append(("checkpoint", -1.0, "a mid-run checkpoint, not the run's finished model "
                      "(its training figures describe the whole run)"))

    components = {name: round(w[name] * value, 6) for name, value, _ in parts}
    score = round(sum(components.values()), 6)
    ranked = RankedModel(record.path, record.name, None, score, evidence, components=components)
    if evidence == EVIDENCE_TRAINING:
        ranked.reasons.append(NOT_VALIDATED_TRAINING)
    elif evidence == EVIDENCE_FILE:
        ranked.reasons.append(NOT_VALIDATED_FILE)
    if record.metrics is not None and not _training_counts(record):
        ranked.reasons.append(
            f"training artifacts record no finished episode "
            f"({metric_source(record, 'episodes')}): their figures are not evidence"
        )
    # Strongest contributions first: that is the order an operator argues in.
    for name, _, sentence in sorted(parts, key=lambda p: -components[p[0]]):
        if w[name] != 0:
            ranked.reasons.append(sentence)
    return ranked


def _has_training_figures(record: ModelRecord) -> bool:
    m = record.metrics
    if m is None or not _training_counts(record):
        return False
    return any(v is not None for v in (m.episodes, m.unique_markets, m.win_rate, m.trading_pct,
                                       m.hold_pct, m.entropy, m.action_histogram))


def _histogram(record: ModelRecord, validation: Any) -> tuple[list[int] | None, str]:
    """The action histogram to judge, and its source: validation first, then training."""
    if validation is not None:
        return [int(c) for c in validation.histogram], validation_source(validation)
    m = record.metrics
    if m is None or not m.action_histogram or not _training_counts(record):
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
    counts = [readable.get(a, 0) for a in range(n)]
    return counts, metric_source(record, "action_histogram")


def _activity_parts(record: ModelRecord, validation: Any, counts: list[int] | None,
                    hist_source: str) -> list[tuple[str, float, str]]:
    if validation is not None:
        trading, source = float(validation.trading_pct), validation_source(validation)
    elif (metrics := _counting_metrics(record)) is not None and metrics.trading_pct is not None:
        trading, source = float(metrics.trading_pct), metric_source(record, "trading_pct")
    elif counts and sum(counts):
        trading, source = 100.0 * (1 - counts[0] / sum(counts)), hist_source
    else:
        return [("activity", 0.0, "trading activity unknown: no histogram or training summary")]
    if trading < ALL_HOLD_TRADING_PCT:
        return [
            (
                "activity",
                0.0,
                f"all HOLD: trades in only {fmt_pct(trading)} of decisions ({source})",
            )
        ]
    if counts and sum(counts):
        top = max(range(len(counts)), key=lambda a: (counts[a], -a))
        share = counts[top] / sum(counts)
        if share >= DEGENERATE_SHARE:
            return [
                (
                    "activity",
                    0.0,
                    f"degenerate: action {top} takes {fmt_pct(share, fraction=True)} "
                    f"of decisions ({hist_source})",
                )
            ]
    return [("activity", min(1.0, trading / FULL_ACTIVITY_PCT),
             f"trading activity {fmt_pct(trading)} (non-HOLD decisions) ({source})")]


def _balance_parts(record: ModelRecord, validation: Any, counts: list[int] | None,
                   source: str) -> list[tuple[str, float, str]]:
    if validation is not None:
        value, source = float(validation.histogram_entropy), validation_source(validation)
    else:
        if counts and sum(counts):
            value = entropy_normalised(counts, max(len(counts), record.n_actions or 0))
        elif (metrics := _counting_metrics(record)) is not None and metrics.entropy is not None:
            value, source = float(metrics.entropy), metric_source(record, "entropy")
        else:
            return []
    words = "well balanced" if value >= 0.6 else "narrow" if value < 0.3 else "moderately balanced"
    return [
        ("balance", value, f"action histogram {words}: normalised entropy {value:.3f} ({source})")
    ]


def _note_ties(scored: list[RankedModel]) -> None:
    groups: dict[float, list[RankedModel]] = {}
    for ranked in scored:
        groups.setdefault(round(ranked.score or 0.0, TIE_DIGITS), []).append(ranked)
    for group in groups.values():
        if len(group) < 2:
            continue
        for ranked in group:
            ranked.tied_with = [other.path for other in group if other is not ranked]
            ranked.reasons.insert(0, f"tied on score {ranked.score:.3f} with "
                                     f"{', '.join(ranked.tied_with)}: order among them is by path")
