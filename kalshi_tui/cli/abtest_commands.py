"""`kalshi-tui abtest` and `kalshi-tui validate --ensemble`: comparisons an operator can bet on.

Thin faces on kalshi_tui.eval.abtest and kalshi_tui.eval.ensemble: every model is loaded on
the safe path (nothing unpickled); torch is imported inside the handlers only.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import CommandError, add_json_flag, config_from_args, print_json
from kalshi_tui.cli.eval_commands import (
    _session_ids,
    resolve_model,
    run_and_store,
    with_fill_model,
)
from kalshi_tui.core import printable, safe_lines

CURRENT = "current"


def register(subparsers, common) -> None:
    abtest = subparsers.add_parser(
        "abtest", parents=[common],
        help="run a candidate and the current model (or another) on the same markets: "
             "paired P&L difference with a 95 %% CI",
        description="Run CANDIDATE and the current model (or --against MODEL), both loaded "
        "safely, in the trader's mode (trader.deterministic) over every market of the "
        "sessions; report the mean per-market P&L difference (candidate minus the other) with "
        "a 95 % paired bootstrap CI, the share of markets the candidate wins, and how often "
        "the two choose the same action on the candidate's observations. Stored by both "
        "models' sha256, the environment and the sessions; `promote` shows it. Exit 0 when it "
        "ran; exit 1 when a model cannot be loaded safely or does not fit, the current model "
        "is missing or cannot run here, a session is unknown or empty, or a model changes "
        "during the run (nothing stored).")
    abtest.add_argument("candidate", metavar="CANDIDATE",
                        help="model file, or a name the catalog knows")
    abtest.add_argument("--against", metavar="current|MODEL", default=CURRENT,
                        help="the model to compare with (default: the pointer's current model)")
    abtest.add_argument("--sessions", metavar="LIST",
                        help='"5-10", "5,7,32" or "all" (default: validation.sessions)')
    abtest.add_argument("--reuse", action="store_true",
                        help="show the stored result when it is current instead of running")
    abtest.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_json_flag(abtest)
    abtest.set_defaults(handler=abtest_command)


def abtest_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import current_model, file_sha256, load_abtest, run_abtest

    config = config_from_args(args)
    candidate = resolve_model(args.candidate, config)
    is_current = args.against == CURRENT
    if is_current:
        current = current_model(config)
        if not current.runnable or current.path is None:
            raise CommandError(current.problem or "no current model to compare with")
        against = current.path
    else:
        against = resolve_model(args.against, config)
    session_ids = _session_ids(args.sessions or config.validation_sessions, config)
    result, stored_at, note = None, None, None
    if args.reuse:
        try:
            result = load_abtest(file_sha256(candidate), file_sha256(against), config, session_ids)
        except OSError as exc:
            raise CommandError(f"{exc.filename}: cannot read model file ({exc.strerror})") from None
        if result is not None:
            note = "stored result (current for both models, environment and sessions)"
    if result is None:
        # Its own name: mypy then infers the result's type from the call alone.
        ran = run_and_store(
            args, f"A/B {candidate.name} vs {against.name}", functools.partial(
                run_abtest, candidate, against, config, session_ids,
                against_is_current=is_current))
        result, stored_at, note = ran
    if args.json:
        print_json({**result.to_dict(), "line": result.vs_line(CURRENT if is_current else "other"),
                    "stored_at": str(stored_at) if stored_at else None, "note": note})
        return exit_codes.OK
    print(safe_lines(result.summary_lines()))
    _print_stored(stored_at, note)
    return exit_codes.OK


def _print_stored(stored_at, note: str | None) -> None:
    if stored_at:
        print(f"\nstored      {printable(stored_at)}")
    if note and not stored_at:
        print(f"\nkalshi-tui: {printable(note)}",
              file=sys.stderr if "not stored" in note else sys.stdout)


def file_sha256_or_none(path) -> str | None:
    from kalshi_tui.eval import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return None  # the pointer engine says why it cannot promote it


def promote_ab_line(config, sha256: str | None) -> str:
    """The line under `promote`'s plan: the candidate's stored A/B against the current model,
    or why there is none. Stored results only: promote never runs a model."""
    from kalshi_tui.core.pointer import describe_os_error
    from kalshi_tui.eval import vs_current_line

    try:
        return vs_current_line(sha256, config)
    except OSError as exc:
        # An unreadable current model must not stop a promote away from it: the engine
        # judges the change; this line only says the comparison is unknown.
        return f"A/B against the current model unknown ({describe_os_error(exc)})"


def add_ensemble_options(validate: argparse.ArgumentParser) -> None:
    """`validate --ensemble A,B,C [--vote majority|mean-prob]` (in place of MODEL)."""
    from kalshi_tui.eval import MAJORITY, VOTES

    validate.add_argument("--ensemble", metavar="A,B,C",
                          help="validate a vote of these models (2 or more, comma-separated) "
                               "as one policy, beside each member and the current model; in "
                               "the trader's mode unless --deterministic/--stochastic. "
                               "Evidence only: the trader loads one zip")
    validate.add_argument("--vote", choices=VOTES, default=MAJORITY,
                          help="majority: the action most members play (a tie plays HOLD); "
                               "mean-prob: the argmax of the averaged probabilities "
                               "(default: majority)")


def ensemble_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import validate_ensemble

    if args.model:
        raise CommandError("validate: give MODEL or --ensemble, not both", exit_codes.USAGE)
    if args.fill_model == "both":
        raise CommandError("--fill-model both: not with --ensemble (run one fill model at a time)",
                           exit_codes.USAGE)
    config = config_from_args(args)
    if args.fill_model:
        config = with_fill_model(config, args.fill_model)
    refs = [ref.strip() for ref in args.ensemble.split(",") if ref.strip()]
    paths = [resolve_model(ref, config) for ref in refs]
    session_ids = _session_ids(args.sessions or config.validation_sessions, config)
    result, stored_at, note = None, None, None
    if args.reuse:
        result = _stored_ensemble(paths, config, session_ids, args)
        if result is not None:
            note = "stored result (current for these models, environment and sessions)"
    if result is None:
        # Its own name: mypy then infers the result's type from the call alone.
        ran = run_and_store(
            args, f"ensemble of {len(paths)} ({args.vote})", functools.partial(
                validate_ensemble, paths, config, session_ids, args.vote,
                deterministic=args.deterministic))
        result, stored_at, note = ran
    if args.json:
        print_json({**result.to_dict(), "pointer_target": False,
                    "stored_at": str(stored_at) if stored_at else None, "stored_note": note})
        return exit_codes.OK
    print(safe_lines(result.summary_lines()))
    _print_stored(stored_at, note)
    return exit_codes.OK


def _stored_ensemble(paths: list[Path], config, session_ids: list[int], args):
    from kalshi_tui.eval import (
        ENSEMBLE_SEED,
        current_model,
        ensemble_id,
        ensemble_key,
        file_sha256,
        find_ensemble,
        sessions_fingerprint,
    )

    try:
        shas = [file_sha256(path) for path in paths]
    except OSError as exc:
        raise CommandError(f"{exc.filename}: cannot read model file ({exc.strerror})") from None
    current = current_model(config)
    deterministic = args.deterministic
    if deterministic is None:
        deterministic = config.trader_deterministic
    key = ensemble_key(config, session_ids, sessions_fingerprint(config.sessions_db, session_ids),
                       deterministic, ENSEMBLE_SEED, current.sha256 if current.runnable else None)
    return find_ensemble(ensemble_id(shas, args.vote), key, config.cache_dir)
