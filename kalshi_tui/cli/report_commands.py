"""`kalshi-tui report` and `kalshi-tui compare`: the seed analysis, written by the tool.

Both read JSON (the catalog's warm cache, the pointer, stored results): no unpickling.
`report` runs a health check (torch, a few seconds each) on a model it is about to
recommend when none is stored, unless --stored-only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kalshi_tui.cli.common import (
    CommandError,
    add_json_flag,
    catalog_find,
    config_from_args,
    is_existing_file,
    print_json,
)
from kalshi_tui.core import printable


def register(subparsers, common) -> None:
    report = subparsers.add_parser(
        "report", parents=[common],
        help="write the model report: current model, recommendation and why, what not to use",
        description="Write the report an engineer would: first the current model and its "
        "alarm, the recommendation with the facts that decide it (policy health, validation "
        "with its confidence interval, A/B against the current model), the alternative, what "
        "is not recommended and why, action items as commands and the seed's checklist ticked "
        "only for what was done; then an appendix with every model under its run. Every "
        "figure names its source. The models about to be recommended get a health check when "
        "none is stored (a progress line on stderr; --stored-only skips it). Ranking weights "
        "come from [ranking] weights in the config.")
    report.add_argument("--format", choices=("md", "json"), default="md",
                        help="Markdown for people (default) or JSON with the same content")
    report.add_argument("--out", metavar="FILE",
                        help="write to FILE (replaced atomically) instead of standard output")
    report.add_argument("--smoke", action="store_true",
                        help="also smoke-test the recommended model (loads torch: a few seconds)")
    report.add_argument("--stored-only", action="store_true",
                        help="use stored health results only: run no health check (fast; the "
                        "report then says which choices are unchecked)")
    report.set_defaults(handler=report_command)

    compare = subparsers.add_parser(
        "compare", parents=[common],
        help="two models side by side: spaces, versions, hyperparameters, metrics, histograms",
        description="Show models A and B side by side: action and observation spaces, library "
        "versions, hyperparameters, training figures, stored validation figures and both "
        "labelled action histograms; '*' marks the better side where higher or lower is better.")
    compare.add_argument("a", metavar="A",
                         help="model file, path relative to the models folder, or a name")
    compare.add_argument("b", metavar="B", help="the second model, the same ways")
    add_json_flag(compare)
    compare.set_defaults(handler=compare_command)


def _progress_line(text: str) -> None:
    print(f"kalshi-tui report: {printable(text)}", file=sys.stderr, flush=True)


def report_command(args: argparse.Namespace) -> int:
    from kalshi_tui.core.evidence import RankingError
    from kalshi_tui.core.report import generate_report, render_report, write_text_atomically
    from kalshi_tui.eval import ab_lookup, health_checker, stored_evidence

    config = config_from_args(args)
    smoke = None
    if args.smoke:
        from kalshi_tui.eval import smoke_test

        def smoke(record):
            return smoke_test(Path(record.abs_path), config)
    checker = health_checker(config, progress=_progress_line)
    try:
        report = generate_report(config, stored=stored_evidence, smoke=smoke,
                                 check_health=None if args.stored_only else checker,
                                 ab_against_current=ab_lookup(config))
    except RankingError as exc:
        raise CommandError(str(exc)) from None
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CommandError(_one_line(exc, config.models_dir)) from None
    text = render_report(report, args.format)
    if not args.out:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    try:
        write_text_atomically(out, text)
    except OSError as exc:
        raise CommandError(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    primary = report["recommendations"]["primary"]
    counts = report["summary"]["counts"]
    print(f"report written to {printable(out)} ({counts['compatible']} compatible of "
          f"{counts['models']} models; recommended: "
          f"{printable(primary['path']) if primary else 'none'})")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    from kalshi_tui.core.catalog import scan_catalog
    from kalshi_tui.core.evidence import compare_models, render_comparison
    from kalshi_tui.eval import stored_healths, stored_validations

    config = config_from_args(args)
    try:
        catalog = scan_catalog(config, hashes=False)  # only the two compared are hashed
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CommandError(_one_line(exc, config.models_dir)) from None
    a, b = (_find(catalog, ref, config) for ref in (args.a, args.b))
    catalog.ensure_sha256([a, b])
    validations = stored_validations([a, b], config)
    comparison = compare_models(a, b, config.environment.layout, validations,
                                environment=config.environment,
                                healths=stored_healths([a, b], config))
    if args.json:
        print_json(comparison.to_dict())
    else:
        sys.stdout.write(render_comparison(comparison))
    return 0


def _find(catalog, ref: str, config):
    """The record MODEL names: the catalog's lookup, or a file outside the models folder."""
    try:
        return catalog.find(ref)
    except LookupError:
        path = Path(ref).expanduser()
        if is_existing_file(path):
            from kalshi_tui.core.catalog import inspect_model

            return inspect_model(path.resolve(), config)
    return catalog_find(catalog, ref)  # the lookup's own one-line error


def _one_line(exc: OSError, folder) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if str(folder) in text:
        return text
    return f"{folder}: models folder cannot be read ({text or type(exc).__name__})"
