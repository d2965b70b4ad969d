"""The model compatibility report: what the seed analysis did by hand, as structured data.

`build_report` takes records and evidence (data, no paths to read) and returns a plain
JSON-able dict of the seed's sections (each built in `sections`); `markdown.render_markdown`
turns that dict into the Markdown an operator reads, so the JSON and the Markdown can never
disagree. `generate_report(config, stored=...)` is the one function here that reads files:
the catalog (warm cache), the pointer status and, through `stored`, the stored results.
No torch, no unpickling.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.config import Config, EnvironmentSpec
from kalshi_tui.core.evidence.ranking import RankedModel, effective_weights, rank_models
from kalshi_tui.core.model_record import COMPATIBLE, INCOMPATIBLE, UNREADABLE, UNSAFE, ModelRecord
from kalshi_tui.core.report.sections import (
    action_items,
    checklist_entry,
    compatible_entry,
    current_model_section,
    environment_section,
    model_basics,
    performance_entry,
    recommendation_entry,
    rejected_entry,
    same_run,
    summary_section,
)

REPORT_FORMAT = 1
PERFORMANCE_LIMIT = 10  # models analysed in depth; every compatible one is listed above it


def build_report(
    records: list[ModelRecord],
    *,
    environment: EnvironmentSpec,
    now: datetime,
    pointer_status: Any = None,
    validations: dict[str, Any] | None = None,
    weights: dict[str, float] | None = None,
    smoke_results: dict[str, Any] | None = None,
    models_dir: str = "",
    config_file: str | None = None,
    validation_sessions: str = "5-10",
    problems: list[str] | None = None,
    ranked: list[RankedModel] | None = None,
    fill_model_notes: dict[str, str] | None = None,
    healths: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every section of the report as data; `ranked` may be passed when already computed.

    `fill_model_notes`: by path, the line saying the two fill models disagree sharply.
    """
    fill_model_notes = fill_model_notes or {}
    validations = validations or {}
    smoke_results = smoke_results or {}
    if ranked is None:
        ranked = rank_models(records, validations=validations, weights=weights, now=now,
                             healths=healths)
    by_path = {r.path: r for r in records}
    eligible = [r for r in ranked if r.eligible]
    primary = eligible[0] if eligible else None
    # A byte-identical copy (a flat final and its run's model.zip) or a checkpoint of the
    # same run is no alternative: the seed's alternative was a different training run.
    alternative = (
        next(
            (r for r in eligible[1:] if not same_run(by_path[r.path], by_path[primary.path])), None
        )
        if primary
        else None
    )
    current = current_model_section(pointer_status, environment)
    layout = environment.layout

    first_of_sha: dict[str, str] = {}
    compatible = []
    for r in eligible:
        record = by_path[r.path]
        copy_of = first_of_sha.setdefault(record.sha256, r.path) if record.sha256 else r.path
        compatible.append(compatible_entry(record, r, validations.get(r.path),
                                            copy_of if copy_of != r.path else None))
    incompatible = [rejected_entry(rec) for rec in sorted(records, key=lambda r: r.path)
                    if rec.verdict == INCOMPATIBLE]
    unreadable = [rejected_entry(rec) for rec in sorted(records, key=lambda r: r.path)
                  if rec.verdict == UNREADABLE]
    # Never ranked (ranking takes compatible models only), so never recommended: listed
    # with why, since each is a file the trader would run code from if pointed at it.
    unsafe = [rejected_entry(rec) for rec in sorted(records, key=lambda r: r.path)
              if rec.verdict == UNSAFE]
    # Compatible, but the evidence refutes them (COLLAPSED, never traded): listed with why.
    not_recommended = [{**model_basics(by_path[r.path]), "verdict": "not recommended",
                        "reasons": list(r.reasons) + ([fill_model_notes[r.path]]
                                                      if r.path in fill_model_notes else [])}
                       for r in ranked if not r.eligible and by_path[r.path].verdict == COMPATIBLE]
    performance = [performance_entry(by_path[r.path], validations.get(r.path), environment,
                                      fill_model_notes.get(r.path))
                   for r in eligible[:PERFORMANCE_LIMIT]]
    recommended = [r for r in (primary, alternative) if r is not None]
    report = {
        "format": REPORT_FORMAT,
        "title": f"Model Compatibility Analysis - {layout.n}-Action Space",
        "generated_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "models_dir": models_dir,
        "config_file": config_file,
        "summary": summary_section(records, eligible, primary, alternative, current, layout.n, now),
        "environment": environment_section(environment, config_file),
        "current_model": current,
        "compatible_models": compatible,
        "incompatible_models": incompatible,
        "unreadable_models": unreadable,
        "unsafe_models": unsafe,
        "not_recommended_models": not_recommended,
        "performance_analysis": performance,
        "performance_omitted": max(0, len(eligible) - PERFORMANCE_LIMIT),
        "recommendations": {
            "primary": recommendation_entry(primary, by_path),
            "alternative": recommendation_entry(alternative, by_path),
            "none_reason": None
            if primary
            else f"no compatible model: nothing fits the {layout.n}-action environment, "
            "so nothing is recommended",
            "weights": effective_weights(weights),
            "weights_set": sorted(weights or {}),
        },
        "action_items": action_items(
            primary,
            alternative,
            by_path,
            current,
            validations,
            smoke_results,
            validation_sessions,
            layout.n,
        ),
        "validation_checklists": [
            checklist_entry(
                by_path[r.path],
                r,
                environment,
                current,
                validations.get(r.path),
                smoke_results.get(r.path),
                validation_sessions,
            )
            for r in recommended
        ],
        "notes": list(problems or []),
    }
    return report


@dataclass(frozen=True)
class StoredEvidence:
    """What is stored about the listed models and current for the config, each by record path.

    Read by the eval layer (`kalshi_tui.eval.stored_evidence`), which owns the stores and
    their keys; the faces pass that reader to `generate_report`.
    """

    validations: dict[str, Any] = field(default_factory=dict)
    healths: dict[str, Any] = field(default_factory=dict)
    fill_model_notes: dict[str, str] = field(default_factory=dict)  # the two fill models disagree


EvidenceReader = Callable[[list[ModelRecord], Config], StoredEvidence]


def generate_report(config: Config, *, stored: EvidenceReader, now: datetime | None = None,
                    use_cache: bool = True,
                    smoke: Callable[[ModelRecord], Any] | None = None) -> dict[str, Any]:
    """Read the models folder, the pointer and stored validations, then build the report.

    `stored` reads the stored validation and health results of the scanned records
    (`kalshi_tui.eval.stored_evidence`).
    `smoke`, when given, runs the smoke test on a record (the CLI's `--smoke` passes
    `eval.smoke.smoke_test`, which loads torch); it is run on the recommended models only
    and its results fill the checklist's "loads and infers" line.
    """
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.pointer import PointerEngine

    weights = effective_weights(config.ranking_weights, where=weights_origin(config))
    now = now or datetime.now(UTC)
    catalog = scan_catalog(config, use_cache=use_cache)
    by_abs = {r.abs_path: r for r in catalog.records}
    # The pointer engine judges its model with the catalog; reuse the scan's records.
    engine = PointerEngine(config, inspect=lambda p: by_abs.get(str(p)) or _inspect(p, config))
    status = engine.status(repair=False)
    evidence = stored(catalog.records, config)
    validations, healths = evidence.validations, evidence.healths
    ranked = rank_models(catalog.records, validations=validations, weights=weights, now=now,
                         healths=healths)
    fill_model_notes = evidence.fill_model_notes

    def build(smoke_results: dict[str, Any] | None) -> dict[str, Any]:
        return build_report(catalog.records, environment=config.environment, now=now,
                            pointer_status=status, validations=validations,
                            weights=config.ranking_weights,
                            smoke_results=smoke_results, models_dir=str(config.models_dir),
                            config_file=str(config.file) if config.file else None,
                            validation_sessions=config.validation_sessions,
                            problems=list(catalog.problems), ranked=ranked,
                            fill_model_notes=fill_model_notes, healths=healths)

    report = build(None)
    if smoke is None:
        return report
    by_path = {r.path: r for r in catalog.records}
    chosen = [c["path"] for c in report["validation_checklists"]]
    return build({path: smoke(by_path[path]) for path in chosen})


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
    """Write through a temp file and rename, so a reader never sees half a report (OSError on
    failure)."""
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_report(config: Config, out: Path | None = None, *, stored: EvidenceReader,
                 fmt: str = "md", now: datetime | None = None) -> tuple[Path, dict[str, Any]]:
    """Generate, render and write the report; returns (file, report). For the TUI's report key.

    Raises RankingError for bad weights and OSError when the file cannot be written; the
    default file's folder is created.
    """
    now = now or datetime.now(UTC)
    report = generate_report(config, stored=stored, now=now)
    if out is None:
        out = default_report_path(config, now, fmt)
        out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(Path(out), render_report(report, fmt))
    return Path(out), report


def weights_origin(config: Config) -> str:
    """Where the ranking weights came from, for a one-line error naming the file."""
    return f"{config.file}: [ranking] weights" if config.file else "[ranking] weights"


def _inspect(path: Any, config: Config) -> ModelRecord:
    from kalshi_tui.core.catalog.scan import inspect_model

    return inspect_model(path, config)
