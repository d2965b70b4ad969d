"""`kalshi-tui train` and `kalshi-tui demo build`: train on recorded sessions, rebuild the demo.

Both import SB3 and torch only inside their handlers, so `kalshi-tui --help` and every
other command stay fast.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from kalshi_tui.cli.common import CommandError, add_json_flag, config_from_args, print_json
from kalshi_tui.core import printable
from kalshi_tui.core.report import fmt_bytes


def register(subparsers, common) -> None:
    train = subparsers.add_parser(
        "train",
        parents=[common],
        help="train a PPO or A2C model on recorded sessions, writing the original run folder "
        "layout",
        description="Train on the markets of recorded sessions and write "
        "OUT/session{N}_{algo}_{YYYYmmdd_HHMMSS}/: model.zip, checkpoints/, "
        "training_results.json and diagnostics/ (training_summary.json, "
        "diagnostics.jsonl, diagnostics.log). A progress bar goes to stderr.",
    )
    which = train.add_mutually_exclusive_group(required=True)
    which.add_argument("--session", type=int, metavar="N", help="one session id")
    which.add_argument("--sessions", metavar="A,B", help="several sessions: 5,7,32 or 5-10")
    train.add_argument("--algorithm", choices=("ppo", "a2c"), default="ppo")
    train.add_argument("--timesteps", type=int, default=10_000, metavar="T",
                       help="environment steps to train for (default 10000)")
    train.add_argument("--actions", type=int, default=21, metavar="21|5", dest="n_actions",
                       help="action layout: 21 (current) or 5 (legacy); default 21")
    train.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="folder the run folder goes in (default: the models folder)")
    train.add_argument("--seed", type=int, default=None, help="seed for SB3 and the environment")
    train.add_argument("--checkpoint-every", type=int, default=None, metavar="K",
                       help="save checkpoints/model_<steps>_steps.zip every K steps "
                            "(default: a quarter of the run; 0: none)")
    train.add_argument("--net-arch", default="64,64", metavar="W,W",
                       help="hidden layer widths of the policy and value nets (default 64,64)")
    train.add_argument("--as-of", default=None, metavar="DATETIME",
                       help="stamp the run as if it started then (UTC, e.g. 2025-12-11T22:10:54); "
                            "shifts the folder name, every date written and the zip's start_time")
    train.add_argument("--legacy-layout", action="store_true",
                       help="write trained_model.zip with the diagnostics beside it, "
                            "as runs before Dec 12 2025 did")
    train.add_argument("--extra-features", type=int, default=0, metavar="K",
                       help="append K zero features to each observation (a model for an "
                            "environment variant; the demo's 54-feature model)")
    train.add_argument("--sessions-db", type=_store_source, default=None, metavar="FILE|URL",
                       help="session store: a SQLite file or a postgresql:// URL "
                            "(default: paths.sessions_db from the config)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(train)
    train.set_defaults(handler=run_train)

    demo = subparsers.add_parser("demo", parents=[common], help="the bundled demo registry")
    demo_actions = demo.add_subparsers(dest="demo_action", metavar="ACTION", required=True)
    build = demo_actions.add_parser(
        "build", parents=[common],
        help="regenerate trained_models/ from the bundled sessions (a few minutes)",
        description="Train the demo registry: 21-action PPO runs on several sessions, "
                    "session32_final.zip, checkpoints, legacy 5-action runs dated before the "
                    "action space grew, an A2C run, a 54-feature run and an unreadable file, "
                    "and a CURRENT_MODEL.json pointing at the outdated 5-action model.")
    build.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="folder to (re)build (default: the models folder)")
    build.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    build.add_argument("--jobs", type=int, default=2, help="models trained at once (default 2)")
    build.add_argument("--scale", type=float, default=1.0,
                       help="multiply every run's timesteps (tests use a small scale)")
    build.add_argument("--sessions-db", type=_store_source, default=None, metavar="FILE|URL")
    add_json_flag(build)
    build.set_defaults(handler=run_demo_build)


def _store_source(text: str) -> Path | str:
    """A SQLite file path, or a postgresql:// URL kept as given."""
    from kalshi_tui.core import is_database_url

    return text if is_database_url(text) else Path(text)


def parse_sessions(spec: str) -> list[int]:
    """Session ids from "5,7,32" or "5-10" (availability is checked against the store later)."""
    from kalshi_tui.core.world import parse_session_list

    try:
        return parse_session_list(spec, None)
    except ValueError as exc:
        raise CommandError(f"--sessions: {exc}", 2) from None


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO date-time, taken as UTC unless it says otherwise."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise CommandError(
            f"--as-of {text!r}: not an ISO date-time such as 2025-12-11T22:10:54", 2
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_net_arch(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        widths = ()
    if not widths or any(w <= 0 for w in widths):
        raise CommandError(f"--net-arch {text!r}: give positive layer widths such as 64,64", 2)
    return widths


def run_train(args: argparse.Namespace) -> int:
    from kalshi_tui.train import TrainingError, TrainRequest, train

    config = config_from_args(args)
    sessions = [args.session] if args.session is not None else parse_sessions(args.sessions)
    request = TrainRequest(
        session_ids=sessions,
        algorithm=args.algorithm,
        timesteps=args.timesteps,
        n_actions=args.n_actions,
        out=args.out or config.models_dir,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        as_of=parse_as_of(args.as_of),
        legacy_layout=args.legacy_layout,
        extra_features=args.extra_features,
        net_arch=parse_net_arch(args.net_arch),
        progress=not args.no_progress,
    )
    try:
        result = train(request, sessions_db=args.sessions_db or config.sessions_db,
                       layout=config.environment.layout_for(args.n_actions),
                       environment=config.environment)
    except TrainingError as exc:
        raise CommandError(str(exc)) from None
    for skip in result.skipped_markets:
        print(f"kalshi-tui: {printable(skip)}", file=sys.stderr)
    figures = result_figures(result)
    if args.json:
        print_json(figures)
        return 0
    print(f"trained {printable(figures['model_path'])}")
    print(f"  {figures['timesteps']:,} steps, {figures['episodes']:,} episodes, "
          f"{figures['unique_markets']} markets, {figures['duration_seconds']:.1f} s")
    print(
        f"  hold {figures['hold_pct']:.1f} %, entropy {figures['entropy']:.3f} (of ln "
        f"{figures['n_actions']}), "
        f"exploration ratio {figures['exploration_ratio']:.3f}, win rate "
        f"{figures['win_rate'] * 100:.1f} %"
    )
    print(
        f"  checkpoints: {len(result.checkpoints)}; diagnostics: "
        f"{printable(result.layout.diagnostics_dir)}"
    )
    return 0


def result_figures(result) -> dict:
    """The figures an operator checks after a run, read back from the files it wrote."""
    import json

    summary = json.loads(result.layout.summary_path.read_text(encoding="utf-8"))
    results = json.loads(result.layout.results_path.read_text(encoding="utf-8"))
    actions = summary["final_statistics"]["action_statistics"]
    portfolio = results["portfolio_statistics"]
    return {
        "run_dir": str(result.run_dir),
        "model_path": str(result.model_path),
        "checkpoints": [str(p) for p in result.checkpoints],
        "n_actions": actions["n_actions"],
        "timesteps": result.timesteps,
        "episodes": result.episodes,
        "unique_markets": portfolio["unique_markets"],
        "duration_seconds": result.duration_seconds,
        "hold_pct": actions["hold_dominance"]["hold_percentage"],
        "entropy": actions["overall_entropy_normalized"],
        "exploration_ratio": actions["exploration_analysis"]["exploration_ratio"],
        "win_rate": portfolio["dynamics_statistics"]["trading_outcomes"]["win_rate"],
        "skipped_markets": result.skipped_markets,
    }


def run_demo_build(args: argparse.Namespace) -> int:
    from kalshi_tui.train import DemoError, build_demo

    config = config_from_args(args)
    if args.jobs < 1:
        raise CommandError(f"--jobs {args.jobs}: must be at least 1", 2)
    if args.scale <= 0:
        raise CommandError(f"--scale {args.scale}: must be positive", 2)
    try:
        report = build_demo(
            args.out or config.models_dir,
            sessions_db=args.sessions_db or config.sessions_db,
            environment=config.environment,
            seed=args.seed,
            jobs=args.jobs,
            scale=args.scale,
        )
    except DemoError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print_json(report)
        return 0
    print(f"built {printable(report['out'])}: {report['models']} model files, "
          f"{fmt_bytes(report['total_bytes'])}, in {report['seconds']:.0f} s")
    for line in report["runs"]:
        print(
            f"  {printable(line['path'])}: {line['n_actions']} actions, hold "
            f"{line['hold_pct']:.1f} %, "
            f"entropy {line['entropy']:.3f}  ({line['purpose']})"
        )
    return 0
