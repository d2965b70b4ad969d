"""Two models side by side: the A/B look the seed analysis asked for before choosing.

`compare_models` turns two records (and their stored validations) into plain rows the CLI
prints and the TUI can show: spaces, versions, hyperparameters, training and validation
figures, each with its source, which side is better where "better" means something, and
both action histograms labelled through the one action decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.config import EnvironmentSpec
from kalshi_tui.core.evidence.ranking_score import health_source
from kalshi_tui.core.figures import (
    FILE_SOURCE,
    WEIGHTS_SOURCE,
    ZIP_SOURCE,
    action_space_text,
    fmt_dollars,
    fmt_int,
    fmt_pct,
    fmt_time,
    histogram_rows,
    metric_source,
    validation_source,
)
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.safe_text import safe_lines
from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.session_ids import session_ranges

# Said before the rows, where an operator first meets a `*`.
STAR_LEGEND = ("* marks the better of the two values on rows where one direction is better "
               "(higher win rate, P&L, entropy, markets; lower drawdown, fees); "
               "no * means equal, unknown or neither is better")

HIGHER = "higher"
LOWER = "lower"


@dataclass
class CompareRow:
    """One figure for both models; `better` is "a", "b" or None (equal, unknown or not ranked)."""

    section: str
    label: str
    a: str
    b: str
    a_value: Any = None
    b_value: Any = None
    a_source: str | None = None
    b_source: str | None = None
    better: str | None = None

    @property
    def differs(self) -> bool:
        return self.a != self.b


@dataclass
class Comparison:
    """Everything `compare` shows, as data: rows by section and both labelled histograms."""

    a_path: str
    b_path: str
    a_name: str
    b_name: str
    rows: list[CompareRow] = field(default_factory=list)
    # "training" / "validation" -> side ("a"/"b") -> [{action, label, count, share}]
    histograms: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def section(self, name: str) -> list[CompareRow]:
        return [row for row in self.rows if row.section == name]

    def row(self, section: str, label: str) -> CompareRow:
        for row in self.rows:
            if row.section == section and row.label == label:
                return row
        raise KeyError(f"{section}/{label}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for row in data["rows"]:
            row["differs"] = row["a"] != row["b"]
        return data


def compare_models(a: ModelRecord, b: ModelRecord, layout: ActionLayout,
                   validations: dict[str, Any] | None = None, *,
                   environment: EnvironmentSpec | None = None,
                   healths: dict[str, Any] | None = None) -> Comparison:
    """Compare two records; `environment` (an EnvironmentSpec) labels a legacy model's actions.

    `validations` and `healths` map record path -> the stored result, when one is current.
    """
    validations = validations or {}
    healths = healths or {}
    va, vb = validations.get(a.path), validations.get(b.path)
    out = Comparison(a.path, b.path, a.name, b.name)

    def add(section: str, label: str, get: Callable[[ModelRecord], Any], *,
            fmt: Callable[[Any], str] = str, better: str | None = None,
            source: str | Callable[[ModelRecord], str | None] | None = None) -> None:
        values = [get(a), get(b)]
        texts = ["-" if v is None else fmt(v) for v in values]
        sources = (
            [source(r) if callable(source) else source for r in (a, b)] if source else [None, None]
        )
        out.rows.append(
            CompareRow(
                section,
                label,
                texts[0],
                texts[1],
                values[0],
                values[1],
                sources[0],
                sources[1],
                better_side(values[0], values[1], better),
            )
        )

    add("file", "path", lambda r: r.path)
    add("file", "verdict", lambda r: r.verdict)
    add("file", "why", lambda r: "; ".join(r.reasons) or None)
    add("file", "kind", lambda r: r.kind)
    add("file", "size", lambda r: r.size_bytes, fmt=lambda v: f"{v:,} bytes", source=FILE_SOURCE)
    add("file", "sha256", lambda r: r.sha256, fmt=lambda v: v[:12], source=FILE_SOURCE)
    add("file", "trained", lambda r: r.trained_at, fmt=fmt_time, source=f"{ZIP_SOURCE} start_time")
    add("spaces", "algorithm", lambda r: r.algorithm, source=ZIP_SOURCE)
    add("spaces", "policy", lambda r: r.policy_class, source=ZIP_SOURCE)
    add("spaces", "action space", lambda r: action_space_text(r) if r.action_space_type else None,
        source=f"{ZIP_SOURCE} action_space")
    add("spaces", "action outputs", lambda r: r.weights_n_actions, source=WEIGHTS_SOURCE)
    add("spaces", "observation", lambda r: tuple(r.obs_shape) if r.obs_shape else None,
        source=f"{ZIP_SOURCE} observation_space")
    add(
        "spaces",
        "observation dtype",
        lambda r: r.obs_dtype,
        source=f"{ZIP_SOURCE} observation_space",
    )
    for key in sorted(set(a.versions) | set(b.versions)):
        add("versions", key, _entry("versions", key), source="model zip: system_info.txt")
    for key in sorted(set(a.hyperparameters) | set(b.hyperparameters)):
        add("hyperparameters", key, _entry("hyperparameters", key), fmt=_plain,
            source=ZIP_SOURCE)

    def metric(name: str) -> Callable[[ModelRecord], Any]:
        return lambda r: getattr(r.metrics, name) if r.metrics is not None else None

    def msource(name: str) -> Callable[[ModelRecord], str | None]:
        return lambda r: metric_source(r, name) if r.metrics is not None else None

    add(
        "training",
        "timesteps",
        lambda r: r.num_timesteps,
        fmt=fmt_int,
        source=f"{ZIP_SOURCE} num_timesteps",
    )
    add(
        "training",
        "sessions",
        metric("session_ids"),
        fmt=session_ranges,
        source=msource("session_ids"),
    )
    add("training", "episodes", metric("episodes"), fmt=fmt_int, source=msource("episodes"))
    add("training", "unique markets", metric("unique_markets"), fmt=fmt_int, better=HIGHER,
        source=msource("unique_markets"))
    add("training", "win rate", metric("win_rate"), fmt=lambda v: fmt_pct(v, fraction=True),
        better=HIGHER, source=msource("win_rate"))
    add(
        "training",
        "trading activity",
        metric("trading_pct"),
        fmt=fmt_pct,
        source=msource("trading_pct"),
    )
    add("training", "HOLD", metric("hold_pct"), fmt=fmt_pct, source=msource("hold_pct"))
    add("training", "entropy", metric("entropy"), fmt=lambda v: f"{v:.3f}", better=HIGHER,
        source=msource("entropy"))
    add("training", "exploration ratio", metric("exploration_ratio"),
        fmt=lambda v: fmt_pct(v, fraction=True), source=msource("exploration_ratio"))
    add("training", "duration", metric("training_duration_seconds"), fmt=lambda v: f"{v:,.0f} s",
        source=msource("training_duration_seconds"))

    _health_rows(out, a, b, healths)

    def val(name: str) -> Callable[[ModelRecord], Any]:
        return lambda r: getattr(validations.get(r.path), name, None)

    def vsource(r: ModelRecord) -> str | None:
        v = validations.get(r.path)
        return validation_source(v) if v is not None else None

    if va is None and vb is None:
        out.rows.append(CompareRow("validation", "validated", "not validated", "not validated"))
    else:
        add(
            "validation",
            "validated",
            lambda r: "yes" if validations.get(r.path) else "not validated",
        )
        add("validation", "sessions", val("session_ids"), fmt=session_ranges, source=vsource)
        add("validation", "episodes", val("episodes"), fmt=fmt_int, source=vsource)
        add("validation", "win rate", val("win_rate"), fmt=lambda v: fmt_pct(v, fraction=True),
            better=HIGHER, source=vsource)
        add(
            "validation",
            "total P&L",
            val("total_pnl_cents"),
            fmt=fmt_dollars,
            better=HIGHER,
            source=vsource,
        )
        add(
            "validation",
            "mean P&L / episode",
            val("mean_pnl_cents"),
            fmt=fmt_dollars,
            better=HIGHER,
            source=vsource,
        )
        add("validation", "max drawdown", val("max_drawdown_cents"),
            fmt=lambda v: fmt_dollars(v, signed=False), better=LOWER, source=vsource)
        add("validation", "trading activity", val("trading_pct"), fmt=fmt_pct, source=vsource)
        add("validation", "action entropy", val("histogram_entropy"), fmt=lambda v: f"{v:.3f}",
            better=HIGHER, source=vsource)
        add("validation", "fees", val("fees_cents"), fmt=lambda v: fmt_dollars(v, signed=False),
            better=LOWER, source=vsource)

    for side, record, v in (("a", a, va), ("b", b, vb)):
        labels = _labels_for(record, layout, environment)
        if record.metrics is not None and record.metrics.action_histogram:
            out.histograms.setdefault("training", {})[side] = histogram_rows(
                record.metrics.action_histogram, labels)
        if v is not None:
            out.histograms.setdefault("validation", {})[side] = histogram_rows(
                list(v.histogram), list(v.action_labels) or labels)
    return out


def _health_rows(out: Comparison, a: ModelRecord, b: ModelRecord,
                 healths: dict[str, Any]) -> None:
    """Policy health in the trader's mode: the state (HEALTHY before NARROW before
    COLLAPSED), the top action's share and the distinct actions on the recorded steps."""
    ha, hb = healths.get(a.path), healths.get(b.path)
    if ha is None and hb is None:
        out.rows.append(CompareRow("health", "state", "not checked", "not checked"))
        return

    def recorded(h: Any) -> Any:
        return h.source("recorded") if h is not None else None

    def row(label: str, get: Callable[[Any], Any], fmt: Callable[[Any], str] = str,
            better: str | None = None) -> None:
        values = [get(h) if h is not None else None for h in (ha, hb)]
        texts = ["not checked" if h is None else "-" if v is None else fmt(v)
                 for h, v in zip((ha, hb), values, strict=True)]
        sources = [health_source(h) if h is not None else None for h in (ha, hb)]
        out.rows.append(CompareRow("health", label, texts[0], texts[1], values[0], values[1],
                                   sources[0], sources[1],
                                   better_side(values[0], values[1], better)))

    row("state", lambda h: h.state)
    order_a = HEALTH_ORDER.get(getattr(ha, "state", ""))
    order_b = HEALTH_ORDER.get(getattr(hb, "state", ""))
    out.rows[-1].better = better_side(order_a, order_b, HIGHER)
    row("top action share",
        lambda h: recorded(h).top(h.deterministic)[1] if recorded(h) else None,
        fmt=lambda v: fmt_pct(v, fraction=True), better=LOWER)
    row("distinct actions",
        lambda h: recorded(h).distinct(h.deterministic) if recorded(h) else None,
        fmt=fmt_int, better=HIGHER)


HEALTH_ORDER = {"COLLAPSED": 0, "NARROW": 1, "HEALTHY": 2}


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def better_side(a: Any, b: Any, direction: str | None) -> str | None:
    """"a" or "b" for the better of two figures by `direction` (HIGHER or LOWER); None when
    equal, unknown, not comparable, or when "better" means nothing for the figure."""
    if direction is None or a is None or b is None or a == b:
        return None
    try:
        a_wins = a > b if direction == HIGHER else a < b
    except TypeError:
        return None
    return "a" if a_wins else "b"


def _entry(table: str, key: str) -> Callable[[ModelRecord], Any]:
    """Reads `key` of a record's `table` (versions, hyperparameters); None when absent."""
    return lambda record: record.plain(table).get(key)


def _labels_for(record: ModelRecord, layout: ActionLayout,
                environment: EnvironmentSpec | None) -> list[str]:
    """Labels from the layout that has this model's action count, else the given layout."""
    if environment is not None and record.n_actions:
        fitting = environment.layout_for(record.n_actions)
        if fitting is not None:
            return fitting.labels
    return layout.labels


def render_comparison(comparison: Comparison) -> str:
    """Plain text for the terminal: sections of rows, a `*` on the better side, histograms."""
    width_label = max([len(r.label) for r in comparison.rows] + [18])
    width_a = min(34, max([len(r.a) for r in comparison.rows] + [8]))
    lines = [f"A: {comparison.a_path}", f"B: {comparison.b_path}", STAR_LEGEND]
    header = f"{'':<{width_label}}  {'A':<{width_a + 1}}  B"
    section = None
    for row in comparison.rows:
        if row.section != section:
            section = row.section
            lines += ["", section.upper(), header]
        mark_a = "*" if row.better == "a" else " "
        mark_b = "*" if row.better == "b" else " "
        diff = "" if row.differs else "  (same)"
        a_text = row.a if len(row.a) <= width_a else row.a[:width_a - 1] + "~"
        line = f"{row.label:<{width_label}}  {a_text:<{width_a}}{mark_a}  {row.b}{mark_b}{diff}"
        lines.append(line.rstrip())
    lines += ["", "sources of every figure: `kalshi-tui compare A B --json`"]
    for kind, sides in comparison.histograms.items():
        lines += ["", f"{kind.upper()} ACTION HISTOGRAM"]
        a_rows = {r["action"]: r for r in sides.get("a", [])}
        b_rows = {r["action"]: r for r in sides.get("b", [])}
        label_width = max(
            [len(r["label"]) for r in list(a_rows.values()) + list(b_rows.values())] + [5]
        )
        lines.append(
            f"{'id':>3}  {'label':<{label_width}}  {'A count':>9} {'A %':>6}  {'B count':>9} "
            f"{'B %':>6}"
        )
        for action in sorted(set(a_rows) | set(b_rows)):
            ra, rb = a_rows.get(action), b_rows.get(action)
            label = (ra if ra is not None else b_rows[action])["label"]
            cells = []
            for r in (ra, rb):
                cells.append(
                    f"{r['count']:>9,} {100 * r['share']:5.1f}%" if r else f"{'-':>9} {'-':>6}"
                )
            lines.append(f"{action:>3}  {label:<{label_width}}  {cells[0]}  {cells[1]}")
    return safe_lines(lines) + "\n"
