"""Figures with their source: every number a report, a ranking reason or a comparison shows.

The seed analysis mixed figures from three runs without saying so; here each figure carries
the file it was read from ("win rate 35.9 % (training_results.json)"), so an operator can
check it. Plain data and string formatting only: no I/O, no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.times import parse_time
from kalshi_tui.core.world.session_ids import session_ranges

ZIP_SOURCE = "model zip: data"
WEIGHTS_SOURCE = "model zip: policy.pth"
FILE_SOURCE = "file system"
DEFAULT_ARTIFACT_SOURCE = "training artifacts"


@dataclass(frozen=True)
class Figure:
    """One number as shown (`text`), as stored (`value`) and where it came from (`source`)."""

    name: str
    value: Any
    text: str
    source: str

    def __str__(self) -> str:
        return f"{self.text} ({self.source})"

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies, and a report of 1,000 models makes ~10,000.
        return {"name": self.name, "value": self.value, "text": self.text, "source": self.source}


# ---- formatting ---------------------------------------------------------------------------

# Every face formats through these: a figure from a damaged file ("n/a") shows as "-".

def fmt_int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError, OverflowError):
        return "-"


def metric_text(name: str, value: Any) -> str:
    """A training figure (a TrainingMetrics field) as operators read it: percentages with
    one decimal, ratios with three, counts with thousands separators."""
    formatter = _METRIC_FORMATS.get(name)
    if formatter is None or value is None:
        return str(value)
    try:
        return formatter(value)
    except (TypeError, ValueError):
        return str(value)  # a figure of an unexpected type is shown as written


def _fraction_pct(value: Any) -> str:
    return fmt_pct(float(value), fraction=True)


_METRIC_FORMATS: dict[str, Callable[[Any], str]] = {
    "episodes": fmt_int, "unique_markets": fmt_int, "total_timesteps": fmt_int,
    "win_rate": _fraction_pct, "exploration_ratio": _fraction_pct,
    "hold_pct": lambda v: fmt_pct(float(v)), "trading_pct": lambda v: fmt_pct(float(v)),
    "entropy": lambda v: f"{float(v):.3f}",
    "training_duration_seconds": lambda v: f"{float(v):,.1f} s",
    "session_ids": lambda v: session_ranges(v),
}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmt_pct(value: Any, *, fraction: bool = False, unit: str = " %") -> str:
    """A percentage with one decimal; `fraction` when the value is 0..1 rather than 0..100.

    `unit="%"` is the compact form for screen columns."""
    number = _number(value)
    if number is None:
        return "-"
    return f"{number * 100 if fraction else number:.1f}{unit}"


def fmt_bytes(size: int | float) -> str:
    """A file size as operators read it: "512 B", "229.6 KB", "1.2 GB" (powers of 1024)."""
    amount = float(size)
    for unit in ("B", "KB", "MB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def fmt_float(value: Any, digits: int = 3) -> str:
    number = _number(value)
    return "-" if number is None else f"{number:.{digits}f}"


def fmt_dollars(cents: Any, *, signed: bool = True) -> str:
    number = _number(cents)
    if number is None:
        return "-"
    return f"{number / 100:+,.2f} $" if signed else f"{number / 100:,.2f} $"


def fmt_time(value: Any) -> str:
    moment = parse_time(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def action_space_text(record: ModelRecord) -> str:
    if record.action_space_type is None:
        return "unknown"
    if record.n_actions is None:
        return record.action_space_type
    return f"{record.action_space_type}({record.n_actions})"


# ---- figures of one model -----------------------------------------------------------------

def metric_source(record: ModelRecord, name: str) -> str:
    """The file a training figure came from, as the catalog recorded it."""
    metrics = record.metrics
    if metrics is not None and metrics.sources.get(name):
        return metrics.sources[name]
    return DEFAULT_ARTIFACT_SOURCE


def record_figures(record: ModelRecord) -> list[Figure]:
    """What the model zip itself says: size, date, spaces, timesteps."""
    figures = [Figure("size_bytes", record.size_bytes, f"{record.size_bytes:,} bytes", FILE_SOURCE)]
    if record.trained_at:
        figures.append(Figure("trained_at", record.trained_at, fmt_time(record.trained_at),
                              f"{ZIP_SOURCE} start_time"))
    if record.action_space_type:
        figures.append(Figure("action_space", record.n_actions, action_space_text(record),
                              f"{ZIP_SOURCE} action_space"))
    if record.weights_n_actions is not None:
        figures.append(Figure("weights_n_actions", record.weights_n_actions,
                              f"{record.weights_n_actions} action outputs", WEIGHTS_SOURCE))
    if record.obs_shape:
        figures.append(
            Figure(
                "obs_shape",
                record.obs_shape,
                f"observation {tuple(record.obs_shape)}",
                f"{ZIP_SOURCE} observation_space",
            )
        )
    if record.num_timesteps is not None:
        figures.append(
            Figure(
                "num_timesteps",
                record.num_timesteps,
                f"{fmt_int(record.num_timesteps)} timesteps",
                f"{ZIP_SOURCE} num_timesteps",
            )
        )
    return figures


def training_figures(record: ModelRecord) -> list[Figure]:
    """The run's training artifacts as figures, each naming its file; absent figures left out."""
    m = record.metrics
    if m is None:
        return []
    rows: list[tuple[str, Any, str | None]] = [
        (
            "session_ids",
            m.session_ids,
            f"session {session_ranges(m.session_ids)}" if m.session_ids else None,
        ),
        (
            "total_timesteps",
            m.total_timesteps,
            f"{fmt_int(m.total_timesteps)} timesteps" if m.total_timesteps is not None else None,
        ),
        (
            "episodes",
            m.episodes,
            f"{fmt_int(m.episodes)} episodes" if m.episodes is not None else None,
        ),
        (
            "unique_markets",
            m.unique_markets,
            f"{fmt_int(m.unique_markets)} unique markets" if m.unique_markets is not None else None,
        ),
        (
            "win_rate",
            m.win_rate,
            f"win rate {fmt_pct(m.win_rate, fraction=True)}" if m.win_rate is not None else None,
        ),
        (
            "trading_pct",
            m.trading_pct,
            f"trading activity {fmt_pct(m.trading_pct)}" if m.trading_pct is not None else None,
        ),
        ("hold_pct", m.hold_pct, f"HOLD {fmt_pct(m.hold_pct)}" if m.hold_pct is not None else None),
        ("entropy", m.entropy, f"entropy {m.entropy:.3f}" if m.entropy is not None else None),
        (
            "exploration_ratio",
            m.exploration_ratio,
            f"exploration ratio {fmt_pct(m.exploration_ratio, fraction=True)}"
            if m.exploration_ratio is not None
            else None,
        ),
        (
            "training_duration_seconds",
            m.training_duration_seconds,
            f"{m.training_duration_seconds:,.0f} s of training"
            if m.training_duration_seconds is not None
            else None,
        ),
    ]
    return [Figure(name, value, text, metric_source(record, name))
            for name, value, text in rows if text is not None]


def world_words(world: Any) -> str:
    """The world a figure was measured in (a result or `EnvironmentSpec.world()`), in words."""
    def get(key: str) -> Any:
        return world.get(key) if isinstance(world, dict) else getattr(world, key, None)

    return (f"profile {get('profile') or '-'}, layout {get('observation_layout') or '-'}, "
            f"fill model {get('fill_model') or '-'}")


def validation_source(validation: Any) -> str:
    """Where a validation figure came from: the stored run, its sessions and its world."""
    mode = "deterministic" if getattr(validation, "deterministic", True) else "stochastic"
    return (f"validation on sessions {session_ranges(validation.session_ids)}, {mode}, "
            f"{world_words(validation)}, {validation.created_at}")


def validation_figures(validation: Any) -> list[Figure]:
    """A stored `ValidationResult` as figures."""
    source = validation_source(validation)
    v = validation
    never = bool(getattr(v, "never_traded", False))
    rows = [
        (
            "episodes",
            v.episodes,
            f"{fmt_int(v.episodes)} episodes over {fmt_int(v.markets)} markets",
        ),
        (
            "orders",
            getattr(v, "orders_attempted", None),
            v.fill_line() if hasattr(v, "fill_line") else f"{fmt_int(v.fills)} fills",
        ),
        (
            "win_rate",
            None if never else v.win_rate,
            f"win rate {v.win_rate_text()}"
            if hasattr(v, "win_rate_text")
            else f"win rate {fmt_pct(v.win_rate, fraction=True)}",
        ),
        ("total_pnl_cents", v.total_pnl_cents, f"P&L {fmt_dollars(v.total_pnl_cents)}"),
        (
            "mean_pnl_cents",
            v.mean_pnl_cents,
            f"P&L {v.pnl_ci_text()}"
            if hasattr(v, "pnl_ci_text")
            else f"mean P&L {fmt_dollars(v.mean_pnl_cents)}/episode",
        ),
        (
            "max_drawdown_cents",
            v.max_drawdown_cents,
            f"max drawdown {fmt_dollars(v.max_drawdown_cents, signed=False)}",
        ),
        (
            "trading_pct",
            v.trading_pct,
            f"trading {fmt_pct(v.trading_pct)} of steps filled an order, "
            f"{fmt_pct(getattr(v, 'attempted_pct', None))} attempted one",
        ),
        ("histogram_entropy", v.histogram_entropy, f"action entropy {v.histogram_entropy:.3f}"),
        (
            "fills",
            v.fills,
            f"{fmt_int(v.fills)} fills, fees {fmt_dollars(v.fees_cents, signed=False)}",
        ),
    ]
    return [Figure(name, value, text, source) for name, value, text in rows]


def histogram_rows(
    histogram: Mapping[str, int] | list[int] | None, labels: list[str]
) -> list[dict[str, Any]]:
    """Each action id with its label, count and share; ids beyond the labels say so."""
    if histogram is None:
        return []
    if isinstance(histogram, list):
        counts = {i: int(c) for i, c in enumerate(histogram)}
    else:
        counts = {}
        for key, count in histogram.items():
            try:
                counts[int(key)] = int(count)
            except (TypeError, ValueError):
                continue  # a damaged key is not an action; the catalog notes the damage
    total = sum(counts.values()) or 1
    ids = sorted(set(counts) | set(range(len(labels))))
    return [{"action": a, "label": labels[a] if 0 <= a < len(labels) else f"id {a} (not in layout)",
             "count": counts.get(a, 0), "share": counts.get(a, 0) / total} for a in ids]
