"""`kalshi-tui health`: does the policy, in the trader's mode, do more than one thing?

Loads the model on the safe path (nothing unpickled; torch imported in the handler only).
"""

from __future__ import annotations

import argparse
import functools
import sys

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import CommandError, add_json_flag, config_from_args, print_json
from kalshi_tui.cli.eval_commands import _session_ids, resolve_model, run_and_store
from kalshi_tui.core import printable, safe_lines


def register(subparsers, common) -> None:
    health = subparsers.add_parser(
        "health", parents=[common],
        help="run a model in the trader's mode over recorded steps and probes: HEALTHY, NARROW "
             "or COLLAPSED",
        description="Run MODEL, loaded safely, in the trader's mode (trader.deterministic) over "
        "every step of the validation sessions and over probe observations (inside the "
        "observation bounds, recorded plus noise, all zeros); report per source the labelled "
        "deterministic and stochastic action histograms, the top action and its share, distinct "
        "actions, entropy / ln n, mean top probability and wide logit margins, and the state: "
        "COLLAPSED when one action takes health.collapse_share of the recorded steps, NARROW "
        "with at most 2 distinct actions or a top share of 80 %, else HEALTHY. Stored by model "
        "sha256, environment and sessions. Exit 0 when it ran; exit 1 when the model cannot be "
        "loaded safely or does not fit, a session is unknown or empty, or the model changes "
        "during the run (nothing stored).")
    health.add_argument("model", metavar="MODEL", help="model file, or a name the catalog knows")
    health.add_argument("--sessions", metavar="LIST",
                        help='"5-10", "5,7,32" or "all" (default: validation.sessions)')
    health.add_argument("--reuse", action="store_true",
                        help="show the stored result when it is current instead of running")
    add_json_flag(health)
    health.set_defaults(handler=health_command)


def health_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import file_sha256

    config = config_from_args(args)
    path = resolve_model(args.model, config)
    session_ids = _session_ids(args.sessions or config.validation_sessions, config)
    result, stored_at, note = None, None, None
    if args.reuse:
        from kalshi_tui.eval import load_health

        try:
            result = load_health(file_sha256(path), config, session_ids)
        except OSError as exc:
            raise CommandError(f"{path}: cannot read model file ({exc.strerror})") from None
        note = (
            "stored result (current for this model, environment and sessions)" if result else None
        )
    if result is None:
        from kalshi_tui.eval import check_health

        # No bar: health has always been quiet on stderr (its progress counts observations).
        # Its own name: mypy then infers the result's type from the call alone.
        ran = run_and_store(
            args, None, functools.partial(check_health, path, config, session_ids))
        result, stored_at, note = ran
    if args.json:
        print_json({**result.to_dict(), "stored_at": str(stored_at) if stored_at else None,
                    "note": note})
        return exit_codes.OK
    print(safe_lines(result.summary_lines()))
    print()
    print("recorded steps, labelled:")
    print(safe_lines(result.histogram_lines()))
    if stored_at:
        print(f"\nstored      {printable(stored_at)}")
    if note and not stored_at:
        print(
            f"\nkalshi-tui: {printable(note)}",
            file=sys.stderr if "not stored" in note else sys.stdout,
        )
    return exit_codes.OK
