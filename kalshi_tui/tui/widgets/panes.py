"""The panes about the selected model: compatibility, metrics, histogram, readiness, provenance.

Each pane is a Static fed a `PaneContext` (the record plus what the App knows about it);
the text is built by plain functions so the compare screen and tests reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.dom import DOMNode
from textual.widgets import Static

from kalshi_tui.core.catalog import COMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.report import world_words
from kalshi_tui.core.sb3 import layout_words
from kalshi_tui.tui import formatting as fmt
from kalshi_tui.tui.plan_text import health_lines

HISTOGRAM_BAR = 11  # two histograms of 25 cells side by side fit the 120-column tab
PANE_TITLES = {"compatibility": "Compatibility", "readiness": "Readiness", "metrics": "Metrics",
               "histogram": "Actions", "provenance": "Provenance", "ranking": "Ranking reasons"}


@dataclass
class PaneContext:
    record: ModelRecord | None
    environment: Any
    badge: str = ""
    validation: Any = None  # ValidationResult from kalshi_tui.eval, when one is stored
    smoke: Any = None  # SmokeResult, when the operator ran T this session
    is_current: bool = False
    now: datetime | None = None
    ranked: Any = (
        None  # RankedModel from kalshi_tui.core.evidence.ranking, once the ranking is computed
    )
    ranking_ready: bool = False
    eligible_count: int = 0
    health: Any = None  # stored HealthResult from kalshi_tui.eval, when one is current
    ab_line: str | None = None  # the stored A/B against the current model, or why there is none


def _row(label: str, value: str, source: str | None = None, width: int = 16) -> Text:
    # Labels too may come from a file: the keys of versions and hyperparameters.
    line = fmt.file_text(f"{label:<{width}}", style="bold")
    line.append(fmt.file_text(value))
    if source:
        line.append(fmt.file_text(f"  {fmt.short_source(source)}", style="dim"))
    return line


def compatibility_lines(ctx: PaneContext) -> list[Text]:
    record = ctx.record
    if record is None:
        return [Text("no model selected", style="dim")]
    head = Text()
    head.append_text(fmt.badge_text(record, ctx.badge or record.verdict.upper()))
    head.append(fmt.file_text(f"  {record.verdict}", style="dim"))
    if ctx.is_current:
        head.append("  ▶ current model", style="bold green")
    lines = [head]
    env = ctx.environment
    lines.append(
        fmt.file_text(
            f"environment: {world_words(env.world())}, Discrete({env.n_actions}), "
            f"{tuple(env.observation_shape)} {env.observation_dtype}",
            style="dim",
        )
    )
    for reason in record.reasons:
        lines.append(Text("✗ ", style="bold red") + fmt.file_text(reason))
    for warning in record.warnings:
        lines.append(Text("! ", style="bold yellow") + fmt.file_text(warning))
    if not record.reasons and not record.warnings:
        lines.append(Text("✓ fits the configured environment", style="green"))
    lines += rank_lines(ctx)
    lines += health_lines(ctx.health)
    if ctx.ab_line:
        # A figure reads plain; "no A/B ..." or why none can be run reads dim, like "not checked".
        style = "" if ctx.ab_line.startswith("vs ") else "dim"
        lines.append(Text(f"{'A/B':<10}", style="bold") + fmt.file_text(ctx.ab_line, style=style))
    # Last: the evidence runs long, and the rank above must stay in view at 80 columns.
    trained_on = layout_words(record)
    if trained_on:
        lines.append(Text("obs layout: ", style="bold") + Text(trained_on, style="dim"))
    return lines


def rank_lines(ctx: PaneContext, *, hint: bool = True) -> list[Text]:
    """"rank 2 of 4 compatible, score 5.120" and "evidence validated" (or why there is none)."""
    line = Text(f"{'rank':<10}", style="bold")
    ranked = ctx.ranked
    if ranked is None:
        line.append("ranking…" if not ctx.ranking_ready else "not ranked yet", style="dim")
        return [line]
    if ranked.rank is None:
        line.append("— never recommended (", style="dim")
        line.append(
            fmt.file_text(ctx.record.verdict if ctx.record else "not eligible", style="dim")
        )
        line.append(")", style="dim")
        return [line]
    line.append(f"{ranked.rank}", style="bold green" if ranked.rank == 1 else "bold")
    line.append(f" of {ctx.eligible_count:,} compatible, score {ranked.score:.3f}")
    evidence = Text(f"{'evidence':<10}", style="bold")
    evidence.append(
        fmt.file_text(
            ranked.evidence, style="green" if ranked.evidence == "validated" else "yellow"
        )
    )
    if hint:
        evidence.append("  (4: why)", style="dim")
    return [line, evidence]


def ranking_lines(ctx: PaneContext) -> list[Text]:
    """Why the model ranks where it does, strongest reason first, as the ranking said it."""
    if ctx.record is None:
        return [Text("no model selected", style="dim")]
    lines: list[Text] = []
    ranked = ctx.ranked
    if ranked is None:
        lines.append(Text("ranking the models…" if not ctx.ranking_ready else "not ranked yet",
                          style="dim"))
        return lines
    lines += rank_lines(ctx, hint=False)
    for reason in ranked.reasons:
        lines.append(Text("· ", style="dim") + fmt.file_text(reason))
    return lines


def metrics_lines(ctx: PaneContext) -> list[Text]:
    record = ctx.record
    if record is None:
        return [Text("no model selected", style="dim")]
    m = record.metrics
    sources = m.sources if m else {}
    lines = [Text("Training", style="bold underline")]
    if m is None:
        lines.append(Text("no training artifacts beside this model", style="dim"))
    else:
        lines += [
            _row("episodes", fmt.fmt_int(m.episodes), sources.get("episodes")),
            _row("markets", fmt.fmt_int(m.unique_markets), sources.get("unique_markets")),
            _row("win rate", fmt.fmt_pct(m.win_rate, fraction=True), sources.get("win_rate")),
            _row("trading", fmt.fmt_pct(m.trading_pct), sources.get("trading_pct")),
            _row("hold", fmt.fmt_pct(m.hold_pct), sources.get("hold_pct")),
            _row("entropy", fmt.fmt_float(m.entropy), sources.get("entropy")),
            _row(
                "exploration", fmt.fmt_float(m.exploration_ratio), sources.get("exploration_ratio")
            ),
            _row(
                "timesteps",
                fmt.fmt_int(m.total_timesteps or record.num_timesteps),
                sources.get("total_timesteps"),
            ),
        ]
        lines += [Text("note: ", style="yellow") + fmt.file_text(n) for n in m.notes]
    lines.append(Text("Validation", style="bold underline"))
    v = ctx.validation
    if v is None:
        lines.append(Text("not validated on sessions (press V)", style="dim"))
    else:
        source = f"validation, sessions {fmt.session_ranges(v.session_ids)}"
        mode = "deterministic" if v.deterministic else "stochastic"
        lines += [
            _row("world", world_words(v)),
            _row("episodes", fmt.fmt_int(v.episodes), source),
            _row("markets", fmt.fmt_int(v.markets), mode),
            _row("orders", v.fill_line()),
            _row("win rate", v.win_rate_text()),
            _row(
                "trading",
                f"{fmt.fmt_pct(v.trading_pct)} filled, {fmt.fmt_pct(v.attempted_pct)} attempted",
            ),
            _row("entropy", fmt.fmt_float(v.histogram_entropy)),
            _row("P&L total", fmt.fmt_dollars(v.total_pnl_cents)),
            _row("P&L/market", v.pnl_ci_text()),
            _row("max drawdown", fmt.fmt_dollars(v.max_drawdown_cents, signed=False)),
            _row(
                "fills / fees",
                f"{fmt.fmt_int(v.fills)} / {fmt.fmt_dollars(v.fees_cents, signed=False)}",
            ),
        ]
    return lines


def histogram_lines(ctx: PaneContext) -> list[Text]:
    record = ctx.record
    if record is None:
        return [Text("no model selected", style="dim")]
    layout = fmt.layout_for_record(record, ctx.environment)
    width = fmt.histogram_width(HISTOGRAM_BAR)
    training = [Text(f"{'Training':<{width}}", style="bold underline")]
    training += fmt.histogram_columns(record.metrics.action_histogram if record.metrics else None,
                                      layout, HISTOGRAM_BAR)
    validation = [Text(f"{'Validation':<{width}}", style="bold underline")]
    if ctx.validation is None:
        validation.append(Text("not validated (V)", style="dim"))
    else:
        validation += fmt.histogram_columns(dict(enumerate(ctx.validation.histogram)), layout,
                                            HISTOGRAM_BAR)
    # Side by side: the same action on the same line in both, so differences jump out.
    return fmt.side_by_side(training, validation, width)


def readiness_items(ctx: PaneContext) -> list[tuple[bool | None, str, str]]:
    """The seed analysis's checklist, answered from evidence: (done?, item, detail)."""
    record = ctx.record
    if record is None:
        return []
    env = ctx.environment
    space_ok = record.action_space_type in (None, "Discrete") and record.n_actions == env.n_actions
    items: list[tuple[bool | None, str, str]] = [
        (
            space_ok,
            "action space confirmed",
            f"{fmt.actions_text(record)} actions, env {env.n_actions}",
        ),
        (
            record.verdict != UNREADABLE,
            "file valid",
            "readable SB3 zip"
            if record.verdict != UNREADABLE
            else "; ".join(record.reasons) or "unreadable",
        ),
        (
            record.verdict != UNSAFE,
            "safe for the trader to load",
            "nothing it would run"
            if record.verdict != UNSAFE
            else "; ".join(r for r in record.reasons if r.startswith("UNSAFE")),
        ),
        (
            record.metrics is not None and bool(record.metrics.sources),
            "training summary analysed",
            ", ".join(
                sorted(
                    {
                        fmt.short_source(s) or s
                        for s in (record.metrics.sources if record.metrics else {}).values()
                    }
                )
            )
            or "no artifacts",
        ),
    ]
    if ctx.smoke is None and ctx.validation is not None:
        # A current validation loaded this very file (same sha256) safely and ran it on every
        # market.
        items.append((True, "loads and infers", "by its validation run (T for latencies)"))
    elif ctx.smoke is None:
        items.append((None, "loads and infers", "not run (T runs it)"))
    else:
        ok = bool(ctx.smoke.ok)
        problems = ctx.smoke.problems or []
        items.append(
            (ok, "loads and infers", "smoke test passed" if ok else "; ".join(map(str, problems)))
        )
    if ctx.validation is None:
        items.append((None, "validated on sessions", "no (V validates)"))
    else:
        items.append((True, "validated on sessions",
                      f"sessions {fmt.session_ranges(ctx.validation.session_ids)}, "
                      f"{ctx.validation.headline()}"))
    items.append((record.verdict == COMPATIBLE, "fits the environment",
                  "yes" if record.verdict == COMPATIBLE else record.verdict))
    return items


def readiness_lines(ctx: PaneContext) -> list[Text]:
    if ctx.record is None:
        return [Text("no model selected", style="dim")]
    lines = []
    items = readiness_items(ctx)
    # One space at least after the longest item ("safe for the trader to load").
    width = max(len(item) for _, item, _ in items) + 1
    for done, item, detail in items:
        mark = {True: ("[x] ", "green"), False: ("[✗] ", "bold red"), None: ("[ ] ", "dim")}[done]
        line = Text(mark[0], style=mark[1]) + Text(f"{item:<{width}}")
        line.append(fmt.file_text(detail, style="dim"))
        lines.append(line)
    return lines


def provenance_lines(ctx: PaneContext) -> list[Text]:
    record = ctx.record
    if record is None:
        return [Text("no model selected", style="dim")]
    lines = [
        _row("path", record.path),
        _row("kind", record.kind),
        # The listing reads no file whole; hashes follow it in the background.
        _row("sha256", record.sha256 or ("hashing..." if record.verdict != UNREADABLE else "-")),
        _row("size", f"{record.size_bytes:,} bytes"),
        _row("trained at", fmt.short_time(record.trained_at)),
        _row("algorithm", record.algorithm or "-"),
        _row("policy", record.policy_class or "-"),
        _row("observation", f"{record.plain('obs_shape')} {record.obs_dtype or ''}".strip()),
    ]
    if record.versions:
        lines.append(Text("Versions", style="bold underline"))
        lines += [_row(k, str(v)) for k, v in sorted(record.versions.items())]
    if record.hyperparameters:
        lines.append(Text("Hyperparameters", style="bold underline"))
        lines += [_row(k, str(v)[:60], width=20)
                  for k, v in sorted(record.plain("hyperparameters").items())]
    if record.artifacts:
        lines.append(Text("Artifacts", style="bold underline"))
        lines += [_row(k, str(v), width=20) for k, v in sorted(record.artifacts.items())]
    return lines


BUILDERS = {
    "compatibility": compatibility_lines,
    "metrics": metrics_lines,
    "histogram": histogram_lines,
    "readiness": readiness_lines,
    "provenance": provenance_lines,
    "ranking": ranking_lines,
}


class RecordPane(Static):
    """One pane; `kind` picks its builder from BUILDERS."""

    def __init__(self, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind

    def is_shown(self) -> bool:
        """Whether the pane and every container up to its screen are displayed."""
        node: DOMNode | None = self
        while node is not None and node is not self.screen:
            if not node.display:
                return False
            node = node.parent
        return True

    def show(self, ctx: PaneContext) -> None:
        self.update(fmt.screen_lines([pane_title(self.kind, ctx)] + BUILDERS[self.kind](ctx)))


def pane_title(kind: str, ctx: PaneContext) -> Text:
    """"Metrics: session10 (current)": every pane names the model it is about."""
    title = Text(f"{PANE_TITLES[kind]}: ", style="bold reverse")
    if ctx.record is None:
        return title + Text("no model", style="dim")
    title.append_text(fmt.file_text(ctx.record.name, style="bold reverse"))
    if ctx.is_current:
        title.append(" ▶ current", style="bold green")
    return title
