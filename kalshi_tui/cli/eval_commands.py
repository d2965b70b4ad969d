"""`kalshi-tui smoke` and `kalshi-tui validate`: run a model, safely, before it trades.

Both load the policy without unpickling anything (kalshi_tui.eval.safe_load); torch and
stable-baselines3 are imported only inside the handlers.
"""

from __future__ import annotations

import argparse
import functools
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import (
    CommandError,
    add_json_flag,
    catalog_find,
    config_from_args,
    model_file_named,
    print_json,
)
from kalshi_tui.core import printable, raw_stream, safe_lines

FAILURES = ("exit 1 when the model cannot be loaded safely (a policy class outside the "
            "allowlist, a damaged zip), does not fit the environment (a legacy 5-action "
            "model in the 21-action environment is UNUSABLE)")


def register(subparsers, common) -> None:
    smoke = subparsers.add_parser(
        "smoke", parents=[common],
        help="load a model safely and let it trade a few real markets: spaces, actions, latency",
        description="Load MODEL without unpickling, check its spaces against the configured "
        "environment, let it trade a few recorded markets and check every action is in "
        f"range; report load time and predict latency. Exit 0 when fine; {FAILURES}, or "
        "plays an action the environment does not have.")
    smoke.add_argument("model", metavar="MODEL", help="model file, or a name the catalog knows")
    add_json_flag(smoke)
    smoke.set_defaults(handler=smoke_command)

    validate = subparsers.add_parser(
        "validate",
        parents=[common],
        help="run a model over every market of recorded sessions: action histogram, P&L",
        description="Run MODEL over every market of the chosen sessions, all markets at "
        "once, and report its per-action histogram, hold and trading share, entropies, "
        "win rate, P&L, drawdown, fills and fees. The result is stored, keyed by the "
        "model's sha256, the environment config, the sessions and the session store, so "
        f"the TUI shows it later and never shows a stale one. Exit 0 when it ran; {FAILURES}, "
        f"names a session "
        "that is not in the store or has no market, or changes while it runs.",
    )
    validate.add_argument("model", metavar="MODEL", nargs="?",
                          help="model file, or a name the catalog knows (or --ensemble)")
    validate.add_argument("--sessions", metavar="LIST",
                          help='"5-10", "5,7,32" or "all" (default: validation.sessions)')
    mode = validate.add_mutually_exclusive_group()
    mode.add_argument("--deterministic", dest="deterministic", action="store_true", default=None,
                      help="play the most likely action (default: validation.deterministic)")
    mode.add_argument("--stochastic", dest="deterministic", action="store_false",
                      help="sample actions from the policy's distribution (seeded)")
    validate.add_argument("--seed", type=int, default=0,
                          help="sampling seed of a stochastic run (default: 0)")
    validate.add_argument("--fill-model", choices=("realistic", "original-training", "both"),
                          help="fill model of this run (default: environment.fill_model); "
                          "'both' runs the two and says in one line where they disagree sharply")
    validate.add_argument("--reuse", action="store_true",
                          help="show the stored result when it is current instead of running")
    validate.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    from kalshi_tui.cli.abtest_commands import add_ensemble_options

    add_ensemble_options(validate)
    add_json_flag(validate)
    validate.set_defaults(handler=validate_command)


def resolve_model(ref: str, config) -> Path:
    """MODEL as a path: an existing file directly, else the catalog's lookup by name."""
    direct = model_file_named(ref, config.models_dir)
    if direct is not None:
        return direct
    from kalshi_tui.core.catalog import scan_catalog

    try:
        catalog = scan_catalog(config, hashes=False)  # a name lookup: the path is what is used
    except (FileNotFoundError, NotADirectoryError) as exc:  # the models folder itself
        raise CommandError(f"{ref}: no such model file, and {str(exc).splitlines()[0]}") from None
    return Path(catalog_find(catalog, ref).abs_path)


def smoke_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import smoke_test

    config = config_from_args(args)
    result = smoke_test(resolve_model(args.model, config), config)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"model       {printable(result.path)}")
        print(f"world       profile {result.profile}, layout {result.observation_layout}, "
              f"fill model {result.fill_model}, sessions from {printable(result.session_source)}")
        if result.algorithm:
            print(f"policy      {result.algorithm} {result.policy_class}, "
                  f"{result.n_actions} actions, observations {result.obs_shape}")
        if result.load_seconds is not None:
            print(f"load        {result.load_seconds:.3f} s (safe: nothing unpickled)")
        if result.predict_latency_ms is not None:
            print(f"predict     {result.predict_latency_ms:.3f} ms for 1 observation, "
                  f"{result.batch_latency_ms:.3f} ms for {result.batch_size}")
        if result.steps_run:
            print(f"traded      {result.steps_run} steps on {len(result.markets_run)} markets, "
                  "every action in range")
            print("actions     " + ", ".join(f"{k} {v}" for k, v in result.actions_seen.items()))
        print(f"smoke       {'OK' if result.ok else 'FAILED'}")
    for problem in result.problems:
        print(f"kalshi-tui: {printable(problem)}", file=sys.stderr)
    return exit_codes.OK if result.ok else exit_codes.ERROR


def _session_ids(spec: str, config) -> list[int]:
    from kalshi_tui.core.world import SessionListSyntaxError
    from kalshi_tui.env import StoreError, open_session_store, parse_session_list

    try:
        with open_session_store(config.sessions_db) as store:
            available = store.session_ids()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    try:
        return parse_session_list(spec, available)
    except SessionListSyntaxError as exc:
        raise CommandError(f"--sessions: {exc}", exit_codes.USAGE) from None
    except ValueError as exc:  # a session the store does not hold
        raise CommandError(f"{config.sessions_name}: {exc}") from None


T = TypeVar("T")


class ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, stream=None):
        # The raw stream: the bar's \r and erase sequence are ours; the label is escaped.
        self.label, self.last = printable(label), 0.0
        self.stream = stream if stream is not None else raw_stream(sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {share * 100:5.1f} % {done}/{total} steps")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


def run_and_store(args: argparse.Namespace, label: str | None, run: Callable[..., T]
                  ) -> tuple[T, Path | None, str | None]:
    """(result, where it was stored or None, why or None) of one eval run that stores its
    result: a progress bar on a terminal when `label` is given, a refusal or failure as the
    command's one-line error. validate, health, abtest and the ensemble all run this way."""
    from kalshi_tui.eval import IncompatibleModel, PolicyLoadError, ValidationError

    show = label is not None and sys.stderr.isatty() and not args.no_progress
    bar = ProgressBar(label) if show and label is not None else None
    stored: list = []
    try:
        result = run(progress=bar, cancel=threading.Event(),
                     on_stored=lambda file, why: stored.extend([file, why]))
    except (PolicyLoadError, IncompatibleModel, ValidationError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    stored_at, note = stored if stored else (None, None)
    return result, stored_at, note


def validate_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import fill_model_disagreement_line

    if args.ensemble is not None:
        from kalshi_tui.cli.abtest_commands import ensemble_command

        return ensemble_command(args)
    if not args.model:
        raise CommandError("validate: give MODEL (or --ensemble A,B)", exit_codes.USAGE)
    config = config_from_args(args)
    path = resolve_model(args.model, config)
    session_ids = _session_ids(args.sessions or config.validation_sessions, config)
    deterministic = (
        config.validation_deterministic if args.deterministic is None else args.deterministic
    )
    if args.fill_model == "both":
        fill_models = ["realistic", "original-training"]
    else:
        fill_models = [args.fill_model or config.environment.fill_model]
    runs = []
    for fill_model in fill_models:
        run_config = with_fill_model(config, fill_model)
        runs.append(
            (run_config, *_validate_once(args, run_config, path, session_ids, deterministic))
        )
    last_config, last_result = runs[-1][0], runs[-1][1]
    disagreement = fill_model_disagreement_line(last_config, last_result)
    if args.json:
        shown = [{**result.to_dict(), "stored_at": str(stored_at) if stored_at else None,
                  "note": note} for _config, result, stored_at, note in runs]
        payload = shown[0] if len(shown) == 1 else {"results": shown}
        print_json({**payload, "fill_model_disagreement": disagreement})
        return exit_codes.OK
    for index, (_config, result, stored_at, note) in enumerate(runs):
        if index:
            print()
        print(safe_lines(result.summary_lines()))
        print()
        print(safe_lines(result.histogram_lines()))
        if stored_at:
            print(f"\nstored      {printable(stored_at)}")
        if note and not stored_at:
            print(
                f"\nkalshi-tui: {printable(note)}",
                file=sys.stderr if "not stored" in note else sys.stdout,
            )
    if disagreement:
        print(f"\n{printable(disagreement)}")
    return exit_codes.OK


def with_fill_model(config, fill_model: str):
    """The config with another fill model: every figure and stored key follows it."""
    import dataclasses

    if fill_model == config.environment.fill_model:
        return config
    if fill_model == "original-training" and config.environment.profile.training_rules is None:
        raise CommandError(
            f"--fill-model original-training: profile {config.environment.profile.name} "
            "has no original training rules"
        )
    return dataclasses.replace(config, environment=dataclasses.replace(config.environment,
                                                                       fill_model=fill_model))


def _validate_once(args: argparse.Namespace, config, path: Path, session_ids: list[int],
                   deterministic: bool):
    """(result, stored file or None, note or None) of one run, or of the stored one (--reuse)."""
    from kalshi_tui.eval import (
        file_sha256,
        load_validation,
        validate_model,
    )

    if args.reuse:
        try:
            result = load_validation(path, file_sha256(path), config, session_ids,
                                     deterministic=deterministic, seed=args.seed)
        except OSError as exc:
            raise CommandError(f"{path}: cannot read model file ({exc.strerror})") from None
        if result is not None:
            return result, None, "stored result (current for this model, environment and sessions)"
    label = f"{Path(path).name} ({config.environment.fill_model})"
    return run_and_store(args, label, functools.partial(
        validate_model, path, config, session_ids, deterministic=deterministic, seed=args.seed))
