"""Turning a run's artifacts into TrainingMetrics, each figure with the file it came from.

Where the figures come from (FORMATS.md section 2): episodes, markets, win rate, timesteps,
duration and sessions from training_results.json (or curriculum_training_results.json)
(the summary and the log as fallbacks);
hold % from training_summary.json (it is right even for 21-action runs); trading % =
100 - hold %; the per-action histogram summed from diagnostics.jsonl. The original
tracker counted only action ids 0-4 and divided by ln 5, so for a model of any other
action count the summary's entropy and exploration ratio are recomputed from
diagnostics.jsonl, or left blank when there is no log to recompute them from.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, TypeVar

from kalshi_tui.core.artifacts.stream import (
    RECENT_EPISODES,
    DiagnosticsScan,
    entropy_of_counts,
    scan_diagnostics,
)
from kalshi_tui.core.artifacts.values import (
    as_float,
    as_int,
    as_session_ids,
    as_utc_iso,
    dig,
    load_json_file,
)
from kalshi_tui.core.model_record import TrainingMetrics

SUMMARY_NAME = "training_summary.json"
RESULTS_NAME = "training_results.json"
JSONL_NAME = "diagnostics.jsonl"
# The original tracker's fixed scale: ids 0-4, max entropy ln 5.
ORIGINAL_TRACKER_ACTIONS = 5
# The original 5-action names, for summaries that only count by name.
LEGACY_ACTION_NAMES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
# A summary hold % and a recounted one further apart than this deserve a note.
HOLD_DISAGREEMENT_PCT = 1.0


def compose_metrics(artifacts: dict[str, Path], n_actions: int | None) -> TrainingMetrics | None:
    """TrainingMetrics from whichever artifacts exist; None when there are none at all."""
    summary_path = artifacts.get("training_summary")
    results_path = artifacts.get("training_results")
    jsonl_path = artifacts.get("diagnostics_jsonl")
    if not (summary_path or results_path or jsonl_path):
        return None
    figures = _Figures()
    notes = figures.notes
    summary = load_json_file(summary_path, notes) if summary_path else None
    results = load_json_file(results_path, notes) if results_path else None
    scan = None
    if jsonl_path:
        scan = scan_diagnostics(Path(jsonl_path))
        notes.extend(scan.describe_problems(JSONL_NAME))
    results_name = Path(results_path).name if results_path else RESULTS_NAME
    _fill_run_figures(figures, results or {}, summary or {}, scan, results_name)
    _fill_action_figures(figures, summary or {}, scan, n_actions)
    return TrainingMetrics.from_dict(
        {**figures.values, "sources": figures.sources, "notes": figures.notes}
    )


class _Figures:
    """Sets each figure from the first source that has it, recording the source; the
    TrainingMetrics (immutable) is made from them at the end."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.notes: list[str] = []

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def offer(self, name: str, value: Any, source: str) -> bool:
        if value is None or self.values.get(name) is not None:
            return False
        self.values[name] = value
        self.sources[name] = source
        return True

    def note(self, text: str) -> None:
        self.notes.append(text)


def _fill_run_figures(
    figures: _Figures,
    results: dict[str, Any],
    summary: dict[str, Any],
    scan: DiagnosticsScan | None,
    results_name: str = RESULTS_NAME,
) -> None:
    portfolio = results.get("portfolio_statistics")
    markets = (
        results.get("market_results") if isinstance(results.get("market_results"), dict) else {}
    )
    run_meta = dig(summary, "final_statistics", "training_metadata")
    r, s = results_name, SUMMARY_NAME

    figures.offer(
        "episodes",
        _non_negative(as_int(dig(portfolio, "total_episodes"))),
        f"{r} portfolio_statistics.total_episodes",
    )
    if markets:
        figures.offer(
            "episodes",
            _sum_over(markets, "portfolio_statistics", "total_episodes"),
            f"{r} (summed over {len(markets):,} market_results)",
        )
    figures.offer(
        "episodes",
        _non_negative(as_int(dig(run_meta, "total_episodes"))),
        f"{s} final_statistics.training_metadata.total_episodes",
    )
    if scan is not None and scan.episodes:
        figures.offer(
            "episodes", scan.episodes, f"{JSONL_NAME} (counted {scan.episodes:,} episode lines)"
        )

    figures.offer(
        "unique_markets",
        _non_negative(as_int(dig(portfolio, "unique_markets"))),
        f"{r} portfolio_statistics.unique_markets",
    )
    figures.offer(
        "unique_markets",
        _non_negative(as_int(dig(results, "environment_info", "total_markets"))),
        f"{r} environment_info.total_markets",
    )
    by_market = dig(portfolio, "episodes_by_market")
    if isinstance(by_market, dict) and by_market:
        figures.offer(
            "unique_markets", len(by_market), f"{r} len(portfolio_statistics.episodes_by_market)"
        )
    figures.offer(
        "unique_markets", _non_negative(as_int(results.get("total_markets"))), f"{r} total_markets"
    )
    if markets:
        figures.offer("unique_markets", len(markets), f"{r} len(market_results)")
    if scan is not None and scan.markets:
        figures.offer(
            "unique_markets",
            len(scan.markets),
            f"{JSONL_NAME} (distinct market_ticker of episode lines)",
        )

    _fill_win_rate(figures, dig(portfolio, "dynamics_statistics", "trading_outcomes"), r)

    figures.offer(
        "total_timesteps",
        _non_negative(as_int(results.get("total_timesteps"))),
        f"{r} total_timesteps",
    )
    figures.offer(
        "total_timesteps",
        _non_negative(as_int(dig(run_meta, "total_timesteps"))),
        f"{s} final_statistics.training_metadata.total_timesteps",
    )
    if markets:
        figures.offer(
            "total_timesteps",
            _sum_over(markets, "timesteps_trained"),
            f"{r} (timesteps_trained summed over market_results)",
        )

    for key in ("training_duration_seconds", "total_duration"):
        figures.offer(
            "training_duration_seconds", _non_negative(as_float(results.get(key))), f"{r} {key}"
        )
    figures.offer(
        "training_duration_seconds",
        _non_negative(as_float(dig(run_meta, "total_training_time"))),
        f"{s} final_statistics.training_metadata.total_training_time",
    )

    for key in ("session_ids", "session_id"):
        figures.offer("session_ids", as_session_ids(results.get(key)), f"{r} {key}")
    figures.offer(
        "session_ids",
        as_session_ids(dig(summary, "training_metadata", "session_id")),
        f"{s} training_metadata.session_id",
    )

    _offer_time(
        figures,
        "training_start",
        [
            (dig(summary, "training_metadata", "start_time"), f"{s} training_metadata.start_time"),
            (results.get("training_start"), f"{r} training_start"),
            (results.get("start_time"), f"{r} start_time"),
            (scan.first_timestamp if scan else None, f"{JSONL_NAME} first line timestamp"),
        ],
    )
    _offer_time(
        figures,
        "training_completion",
        [
            (summary.get("completion_time"), f"{s} completion_time"),
            (results.get("training_completion"), f"{r} training_completion"),
            (results.get("training_end"), f"{r} training_end"),
            (results.get("completion_time"), f"{r} completion_time"),
            (scan.last_timestamp if scan else None, f"{JSONL_NAME} last episode line timestamp"),
        ],
    )


def _fill_win_rate(figures: _Figures, outcomes: Any, results_name: str) -> None:
    where = f"{results_name} portfolio_statistics.dynamics_statistics.trading_outcomes"
    if not isinstance(outcomes, dict):
        return
    rate = as_float(outcomes.get("win_rate"))
    if rate is not None and 1.0 < rate <= 100.0:
        figures.note(f"{results_name}: win_rate {rate:g} read as a percentage")
        rate /= 100.0
    if rate is not None and 0.0 <= rate <= 1.0:
        figures.offer("win_rate", rate, f"{where}.win_rate")
        return
    if rate is not None:
        figures.note(f"{results_name}: win_rate {rate:g} is not a rate; ignored")
    counts = [
        _non_negative(as_int(outcomes.get(f"{kind}_episodes")))
        for kind in ("positive", "negative", "neutral")
    ]
    if counts[0] is not None and counts[1] is not None:
        total = sum(c or 0 for c in counts)
        if total:
            figures.offer(
                "win_rate",
                counts[0] / total,
                f"{where} positive / (positive + negative + neutral) episodes",
            )


def _offer_time(figures: _Figures, name: str, candidates: list[tuple[Any, str]]) -> None:
    for value, source in candidates:
        text, zone_note = as_utc_iso(value)
        if text is None:
            if isinstance(value, str) and value.strip():
                figures.note(
                    f"{source.split(' ')[0]}: {source.split(' ', 1)[-1]} {value[:40]!r} "
                    f"is not a readable time; ignored"
                )
            continue
        if figures.offer(name, text, source) and zone_note:
            figures.note(
                f"{source.split(' ')[0]}: {source.split(' ', 1)[-1]} {zone_note} -> {text}"
            )
        return


def _fill_action_figures(
    figures: _Figures, summary: dict[str, Any], scan: DiagnosticsScan | None, n_actions: int | None
) -> None:
    stats = dig(summary, "final_statistics", "action_statistics")
    stats = stats if isinstance(stats, dict) else {}
    histogram = scan.histogram if scan is not None and scan.episodes else None
    n = n_actions
    if (
        scan is not None
        and scan.declared_n_actions
        and n is not None
        and scan.declared_n_actions != n
    ):
        figures.note(
            f"{JSONL_NAME}: episode lines say {scan.declared_n_actions} actions, the model has {n}"
        )
    if scan is not None and histogram is not None:
        highest = max(histogram) + 1 if histogram else 0
        if n is None:
            n = scan.declared_n_actions or highest
            figures.note(f"model action count unknown; {JSONL_NAME} figures use {n} actions")
        elif highest > n:
            figures.note(
                f"{JSONL_NAME}: counts actions up to {highest - 1} but the model has {n}; "
                f"extra ids kept in the histogram"
            )
        size = max(n, highest)
        figures.offer(
            "action_histogram",
            {str(i): int(histogram.get(i, 0)) for i in range(size)},
            f"{JSONL_NAME} (summed from {scan.episodes:,} episode lines)",
        )
    else:
        _offer_summary_histogram(figures, stats, n)

    summary_scale = _summary_scale(stats)
    summary_ok = n is None or summary_scale == n
    _fill_hold(figures, stats)
    _fill_entropy(figures, stats, scan, n, summary_scale, summary_ok)


def _summary_scale(stats: dict[str, Any]) -> int:
    """How many actions the summary's entropy figures were computed over.

    This project's tracker writes `n_actions`; the original wrote none and always used
    ln 5, which its `max_entropy_possible` shows.
    """
    declared = as_int(stats.get("n_actions"))
    if declared and declared > 0:
        return declared
    max_entropy = as_float(dig(stats, "exploration_analysis", "max_entropy_possible"))
    if max_entropy and max_entropy > 0:
        return int(round(math.exp(max_entropy)))
    return ORIGINAL_TRACKER_ACTIONS


def _fill_hold(figures: _Figures, stats: dict[str, Any]) -> None:
    hold = as_float(dig(stats, "hold_dominance", "hold_percentage"))
    if hold is not None and not 0.0 <= hold <= 100.0:
        figures.note(f"{SUMMARY_NAME}: hold_percentage {hold:g} is outside 0-100; ignored")
        hold = None
    recount = _hold_from_histogram(figures.get("action_histogram"))
    if hold is not None:
        figures.offer(
            "hold_pct",
            hold,
            f"{SUMMARY_NAME} final_statistics.action_statistics.hold_dominance.hold_percentage",
        )
        if recount is not None and abs(recount - hold) > HOLD_DISAGREEMENT_PCT:
            figures.note(
                f"{SUMMARY_NAME} hold {hold:.2f}% differs from {recount:.2f}% recounted "
                f"from {figures.sources.get('action_histogram', 'the histogram')}"
            )
    elif recount is not None:
        figures.offer(
            "hold_pct", recount, f"{figures.sources['action_histogram']}: action 0 share"
        )
    if figures.get("hold_pct") is not None:
        figures.offer(
            "trading_pct",
            100.0 - figures.get("hold_pct"),
            f"100 - hold % ({figures.sources['hold_pct']})",
        )


def _hold_from_histogram(histogram: dict[str, int] | None) -> float | None:
    if not histogram:
        return None
    total = sum(histogram.values())
    return histogram.get("0", 0) / total * 100 if total else None


def _fill_entropy(
    figures: _Figures,
    stats: dict[str, Any],
    scan: DiagnosticsScan | None,
    n: int | None,
    summary_scale: int,
    summary_ok: bool,
) -> None:
    where = f"{SUMMARY_NAME} final_statistics.action_statistics"
    summary_entropy, entropy_source = _summary_entropy(stats, summary_scale)
    summary_ratio = as_float(dig(stats, "exploration_analysis", "exploration_ratio"))
    if summary_ratio is not None and not 0.0 <= summary_ratio <= 1.0:
        figures.note(f"{SUMMARY_NAME}: exploration_ratio {summary_ratio:g} is outside 0-1; ignored")
        summary_ratio = None
    if summary_ok:
        figures.offer("entropy", summary_entropy, entropy_source)
        figures.offer(
            "exploration_ratio", summary_ratio, f"{where}.exploration_analysis.exploration_ratio"
        )
    elif summary_entropy is not None or summary_ratio is not None:
        shown = f"{summary_entropy:.3f}" if summary_entropy is not None else "-"
        if scan is not None and scan.episodes:
            fix = f"recomputed from {JSONL_NAME}"
        elif scan is not None:
            fix = f"{JSONL_NAME} has no episode action counts to recompute from; left blank"
        else:
            fix = f"no {JSONL_NAME} to recompute from; left blank"
        figures.note(
            f"{SUMMARY_NAME} entropy {shown} used ln {summary_scale} and counted only actions "
            f"0-{summary_scale - 1}, the model has {n}; {fix}"
        )
    if scan is None or not scan.episodes or not n:
        return
    histogram = figures.get("action_histogram") or {}
    figures.offer(
        "entropy",
        entropy_of_counts(list(histogram.values()), n),
        f"{JSONL_NAME} (recounted from {scan.episodes:,} episode lines, ln {n})",
    )
    recent = list(scan.recent)
    if recent:
        ratio = sum(entropy_of_counts(list(ep.values()), n) for ep in recent) / len(recent)
        figures.offer(
            "exploration_ratio",
            ratio,
            f"{JSONL_NAME} (mean entropy of the {_last_episodes(len(recent))}, / ln {n})",
        )


def _last_episodes(count: int) -> str:
    if count >= RECENT_EPISODES:
        return f"last {count} episode lines"
    return f"only {count} episode line{'s' if count != 1 else ''} (fewer than {RECENT_EPISODES})"


def _summary_entropy(stats: dict[str, Any], scale: int) -> tuple[float | None, str]:
    """The summary's overall entropy as a 0..1 figure, and where it came from."""
    where = f"{SUMMARY_NAME} final_statistics.action_statistics"
    normalised = as_float(stats.get("overall_entropy_normalized"))
    if normalised is not None and 0.0 <= normalised <= 1.0:
        return normalised, f"{where}.overall_entropy_normalized"
    nats = as_float(stats.get("overall_entropy"))
    if nats is None or nats < 0 or scale < 2:
        return None, ""
    # The original wrote entropy in nats beside max_entropy_possible (ln of its action count).
    value = nats / math.log(scale)
    if value > 1.0 + 1e-9:
        return None, ""
    return min(value, 1.0), f"{where}.overall_entropy / ln {scale}"


def _offer_summary_histogram(figures: _Figures, stats: dict[str, Any], n: int | None) -> None:
    """A histogram from the summary when there is no log: by id, or by the 5 legacy names."""
    by_id = stats.get("overall_distribution_by_id")
    if isinstance(by_id, dict) and by_id:
        read = {as_int(k): _non_negative(as_int(v)) for k, v in by_id.items()}
        counts = {k: v for k, v in read.items() if k is not None and k >= 0 and v is not None}
        if counts:
            size = max(n or 0, max(counts) + 1)
            figures.offer(
                "action_histogram",
                {str(i): counts.get(i, 0) for i in range(size)},
                f"{SUMMARY_NAME} final_statistics.action_statistics.overall_distribution_by_id",
            )
            return
    by_name = stats.get("overall_distribution")
    if not isinstance(by_name, dict) or not by_name:
        return
    if n not in (None, ORIGINAL_TRACKER_ACTIONS):
        figures.note(
            f"{SUMMARY_NAME}: overall_distribution counts only the original 5 actions; "
            f"no per-action histogram for this {n}-action model without {JSONL_NAME}"
        )
        return
    named = [_non_negative(as_int(by_name.get(name))) for name in LEGACY_ACTION_NAMES]
    if all(c is not None for c in named):
        figures.offer(
            "action_histogram",
            {str(i): c for i, c in enumerate(named)},
            f"{SUMMARY_NAME} final_statistics.action_statistics.overall_distribution (by name)",
        )


def _sum_over(markets: dict[str, Any], *keys: str) -> int | None:
    read = (_non_negative(as_int(dig(m, *keys))) for m in markets.values())
    values = [v for v in read if v is not None]
    return sum(values) if values else None


_Number = TypeVar("_Number", int, float)


def _non_negative(value: _Number | None) -> _Number | None:
    return value if value is not None and value >= 0 else None
