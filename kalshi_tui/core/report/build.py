"""The model report: what the seed analysis did by hand, as data an engineer would write up.

`build_report` takes records, the ranking and the evidence (data, no paths to read) and
returns a plain JSON-able dict: first the current model, the recommendation with the facts
that decide it, the alternative, what is not recommended and why, the action items and the
seed's checklist; then the appendix. `markdown.render_markdown` turns that dict into the
Markdown an operator reads, so the JSON and the Markdown can never disagree.

`generate_report(config, stored=..., check_health=...)` reads the catalog and the pointer,
asks the face's reader for stored results and, for the models it is about to recommend, the
face's health check. The core runs no model itself and imports nothing from the evaluation
layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.config import Config, EnvironmentSpec
from kalshi_tui.core.evidence.ranking import RankedModel, effective_weights, rank_models
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.report import appendix, sections
from kalshi_tui.core.report.evidence import (
    ABLookup,
    EvidenceReader,
    HealthCheck,
    StoredEvidence,
    add_ab_findings,
    choices,
    gather_evidence,
    ranker,
)

REPORT_FORMAT = 2  # 2: first screen (choice, deciding facts, not recommended) and appendix


def build_report(records: list[ModelRecord], *, environment: EnvironmentSpec, now: datetime,
                 pointer_status: Any = None, evidence: StoredEvidence | None = None,
                 weights: dict[str, float] | None = None,
                 smoke_results: dict[str, Any] | None = None, models_dir: str = "",
                 config_file: str | None = None, validation_sessions: str = "5-10",
                 problems: list[str] | None = None,
                 ranked: list[RankedModel] | None = None) -> dict[str, Any]:
    """Every section of the report as data; `ranked` may be passed when already computed."""
    evidence = evidence or StoredEvidence()
    smoke_results = smoke_results or {}
    if ranked is None:
        ranked = rank_models(records, validations=evidence.validations, weights=weights, now=now,
                             healths=evidence.healths, unrunnable=evidence.unrunnable)
    by_path = {r.path: r for r in records}
    candidates = [r for r in ranked if r.candidate]
    primary, alternative = choices(ranked, by_path)
    current = sections.current_model(pointer_status, environment, evidence)
    counts = _counts(records, len(candidates))
    weights_source = (f"ranking weights from {config_file}" if weights
                      else "ranking weights: the defaults")

    def choice(ranked_model: RankedModel | None, is_primary: bool) -> dict[str, Any] | None:
        record = by_path.get(ranked_model.path) if ranked_model else None
        return sections.choice(ranked_model, record, evidence=evidence, current=current,
                               sessions=validation_sessions, candidates=len(candidates),
                               weights_source=weights_source, primary=is_primary)

    primary_entry, alternative_entry = choice(primary, True), choice(alternative, False)
    config_source = config_file or "built-in defaults"
    return {
        "format": REPORT_FORMAT,
        "title": f"Model report: {environment.n_actions}-action environment",
        "generated_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "models_dir": models_dir,
        "config_file": config_file,
        "summary": _summary(counts, primary, alternative, current),
        "current_model": current,
        "recommendations": {
            "primary": primary_entry,
            "alternative": alternative_entry,
            "none_reason": None if primary else _none_reason(counts, environment.n_actions),
            "weights": effective_weights(weights),
            "weights_set": sorted(weights or {}),
        },
        "not_recommended_models": sections.not_recommended(ranked, by_path, evidence),
        "action_items": sections.action_items(primary_entry, alternative_entry, current,
                                              evidence, environment.n_actions),
        "checklist": sections.checklist(
            primary_entry, by_path.get(primary.path) if primary else None, env=environment,
            current=current, evidence=evidence, counts=counts, sessions=validation_sessions,
            smoke=smoke_results.get(primary.path) if primary else None,
            config_source=config_source),
        "health_checked_now": list(evidence.health_checked_now),
        "notes": list(problems or []) + ([evidence.unchecked_note]
                                         if evidence.unchecked_note else []),
        # the appendix
        "environment": appendix.environment(environment, config_file),
        "runs": appendix.models_by_run(records, ranked, evidence),
        "candidates": appendix.candidate_details(ranked),
        "incompatible_models": appendix.rejected(records, INCOMPATIBLE),
        "unreadable_models": appendix.rejected(records, UNREADABLE),
        "unsafe_models": appendix.rejected(records, UNSAFE),
    }


def _counts(records: list[ModelRecord], candidates: int) -> dict[str, int]:
    return {"models": len(records),
            "compatible": sum(1 for r in records if r.verdict == COMPATIBLE),
            "candidates": len({r.sha256 or r.path for r in records if r.verdict == COMPATIBLE}),
            "ranked": candidates,
            "incompatible": sum(1 for r in records if r.verdict == INCOMPATIBLE),
            "unreadable": sum(1 for r in records if r.verdict == UNREADABLE),
            "unsafe": sum(1 for r in records if r.verdict == UNSAFE)}


def _none_reason(counts: dict[str, int], n_actions: int) -> str:
    if counts["compatible"] == 0:
        return (f"no compatible model: nothing fits the {n_actions}-action environment, so "
                "nothing is recommended")
    return ("every compatible model is barred by the evidence (see Not recommended), so "
            "nothing is recommended")


def _summary(counts: dict[str, int], primary: RankedModel | None,
             alternative: RankedModel | None, current: dict[str, Any]) -> dict[str, Any]:
    line = (f"{counts['models']} model files: {counts['compatible']} compatible "
            f"({counts['candidates']} distinct), {counts['incompatible']} incompatible, "
            f"{counts['unreadable']} unreadable, {counts['unsafe']} UNSAFE")
    return {"counts": counts, "lines": [line], "current_state": current["state"],
            "primary": primary.path if primary else None,
            "alternative": alternative.path if alternative else None}


def generate_report(config: Config, *, stored: EvidenceReader,
                    check_health: HealthCheck | None = None,
                    ab_against_current: ABLookup | None = None, now: datetime | None = None,
                    use_cache: bool = True,
                    smoke: Callable[[ModelRecord], Any] | None = None) -> dict[str, Any]:
    """Read the models folder and the pointer, gather the evidence, build the report.

    `stored` reads the stored results of the scanned records (`kalshi_tui.eval
    .stored_evidence`); `check_health`, when given, checks the models about to be
    recommended that have no stored health (`kalshi_tui.eval.health_checker`);
    `ab_against_current` looks up the stored A/B of the primary and the alternative against
    the current model. `smoke`, when given, smoke-tests the primary.
    """
    from kalshi_tui.core.catalog.scan import inspect_model, scan_catalog
    from kalshi_tui.core.pointer import PointerEngine

    weights = effective_weights(config.ranking_weights, where=weights_origin(config))
    now = now or datetime.now(UTC)
    catalog = scan_catalog(config, use_cache=use_cache)
    by_abs = {r.abs_path: r for r in catalog.records}
    # The pointer engine judges its model with the catalog; reuse the scan's records.
    engine = PointerEngine(config, inspect=lambda p: by_abs.get(str(p)) or inspect_model(p, config))
    status = engine.status(repair=False)
    evidence = stored(catalog.records, config)
    ranked = gather_evidence(catalog.records, evidence, ranker(catalog.records, weights, now),
                             check_health)
    by_path = {r.path: r for r in catalog.records}
    add_ab_findings(evidence, [by_path[r.path] for r in choices(ranked, by_path) if r],
                    ab_against_current)
    smoke_results: dict[str, Any] = {}
    primary = next((r for r in ranked if r.candidate), None)
    if smoke is not None and primary is not None:
        smoke_results[primary.path] = smoke(next(r for r in catalog.records
                                                 if r.path == primary.path))
    return build_report(catalog.records, environment=config.environment, now=now,
                        pointer_status=status, evidence=evidence,
                        weights=config.ranking_weights, smoke_results=smoke_results,
                        models_dir=str(config.models_dir),
                        config_file=str(config.file) if config.file else None,
                        validation_sessions=config.validation_sessions,
                        problems=list(catalog.problems), ranked=ranked)


def render_report(report: dict[str, Any], fmt: str = "md") -> str:
    """The report as Markdown ("md") or indented JSON ("json"); the same content either way."""
    if fmt == "json":
        import json

        return json.dumps(report, indent=2, default=str) + "\n"
    if fmt != "md":
        raise ValueError(f"unknown report format {fmt!r} (md or json)")
    from kalshi_tui.core.report.markdown import render_markdown

    return render_markdown(report)


def default_report_path(config: Config, now: datetime, fmt: str = "md") -> Path:
    """Where the TUI's "write report" key puts a report: the tool's cache folder, never the
    models folder the trader reads."""
    return Path(config.cache_dir) / "reports" / f"model_report_{now:%Y%m%d_%H%M%S}.{fmt}"


def write_text_atomically(out: Path, text: str) -> None:
    """Write through a temp file and rename, so a reader never sees half a report."""
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_report(config: Config, out: Path | None = None, *, stored: EvidenceReader,
                 fmt: str = "md", now: datetime | None = None,
                 check_health: HealthCheck | None = None) -> tuple[Path, dict[str, Any]]:
    """Generate, render and write the report; returns (file, report). For the TUI's report key.

    Raises RankingError for bad weights and OSError when the file cannot be written; the
    default file's folder is created.
    """
    now = now or datetime.now(UTC)
    report = generate_report(config, stored=stored, now=now, check_health=check_health)
    if out is None:
        out = default_report_path(config, now, fmt)
        out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(Path(out), render_report(report, fmt))
    return Path(out), report


def weights_origin(config: Config) -> str:
    """Where the ranking weights came from, for a one-line error naming the file."""
    return f"{config.file}: [ranking] weights" if config.file else "[ranking] weights"


__all__ = ["REPORT_FORMAT", "EvidenceReader", "HealthCheck", "StoredEvidence", "build_report",
           "default_report_path", "generate_report", "render_report", "weights_origin",
           "write_report", "write_text_atomically"]
