"""`kalshi-tui sessions`: the recorded sessions models train and validate on."""

from __future__ import annotations

import argparse
from pathlib import Path

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import CommandError, add_json_flag, config_from_args, print_json
from kalshi_tui.core import printable

DEFAULT_GENERATE = "5-10,32"


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("sessions", parents=[common],
                                   help="list or generate recorded order-book sessions")
    actions = parser.add_subparsers(dest="sessions_action", metavar="ACTION")
    lister = actions.add_parser("list", parents=[common],
                                help="sessions in the store: markets, snapshots, deltas, time span")
    lister.add_argument("--db", metavar="FILE|URL",
                        help="session store: a SQLite file or a postgresql:// URL "
                             "(default: paths.sessions_db, the bundled store)")
    add_json_flag(lister)
    lister.set_defaults(handler=list_sessions)
    generator = actions.add_parser(
        "generate", parents=[common],
        help="write synthetic sessions (deterministic by seed) into a store")
    generator.add_argument("--out", metavar="DB", required=True, help="store to create or add to")
    generator.add_argument("--replace", action="store_true",
                           help="replace sessions the store already holds (refused without it)")
    generator.add_argument("--sessions", default=DEFAULT_GENERATE, metavar="LIST",
                           help=f"session ids, e.g. 5-10,32 (default: {DEFAULT_GENERATE})")
    generator.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    generator.add_argument("--markets", type=int, metavar="M",
                           help="markets per session (default: 5-7, chosen by the seed)")
    add_json_flag(generator)
    generator.set_defaults(handler=generate)
    copier = actions.add_parser(
        "copy", parents=[common],
        help="copy sessions between stores: SQLite file <-> PostgreSQL (postgresql:// URL)")
    copier.add_argument("--from", dest="source", required=True, metavar="FILE|URL",
                        help="store to read (a read-only database role is enough)")
    copier.add_argument("--to", dest="target", required=True, metavar="FILE|URL",
                        help="store to write; a new SQLite file or the original tables are created")
    copier.add_argument("--sessions", default="all", metavar="LIST",
                        help="session ids, e.g. 5-10,32 (default: all)")
    copier.add_argument("--replace", action="store_true",
                        help="replace sessions the target already holds (refused without it)")
    add_json_flag(copier)
    copier.set_defaults(handler=copy_sessions)
    parser.set_defaults(handler=list_sessions, db=None, json=False)


def _describe(infos) -> None:
    print(f"{'session':>7}  {'markets':>7}  {'snapshots':>9}  {'deltas':>7}  time span (UTC)")
    for info in infos:
        span = f"{info.start or '?'} .. {info.end or '?'}"
        print(
            f"{info.id:>7}  {info.markets:>7}  {info.snapshots:>9}  {info.deltas:>7}  "
            f"{printable(span)}"
        )


def list_sessions(args: argparse.Namespace) -> int:
    from kalshi_tui.core import source_name
    from kalshi_tui.env import StoreError, open_session_store

    source = args.db if getattr(args, "db", None) else config_from_args(args).sessions_db
    try:
        with open_session_store(source) as store:
            infos = store.list_sessions()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    name = source_name(source)
    if getattr(args, "json", False):
        print_json({"store": name, "sessions": [i.to_dict() for i in infos]})
    else:
        print(f"store: {printable(name)}")
        _describe(infos)
    return 0


def generate(args: argparse.Namespace) -> int:
    from kalshi_tui.env import SessionStore, StoreError, generate_sessions, parse_session_list

    try:
        ids = parse_session_list(args.sessions, None)
    except ValueError as exc:
        raise CommandError(f"--sessions: {exc}", 2) from None
    if args.markets is not None and not 1 <= args.markets <= 200:
        raise CommandError("--markets: must be 1-200", 2)
    out = Path(args.out)
    if out.exists() and not args.replace:
        # Recorded sessions are not ours to overwrite by accident.
        try:
            with SessionStore(out) as existing:
                clash = sorted(set(ids) & set(existing.session_ids()))
        except StoreError:
            clash = []  # not a readable store: generate_sessions reports what is wrong
        if clash:
            raise CommandError(f"{out}: already holds session {', '.join(map(str, clash))}; "
                               f"pass --replace to overwrite", exit_codes.REFUSED)
    try:
        infos = generate_sessions(out, ids, seed=args.seed, markets=args.markets)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(
            f"{out}: cannot write the session store: {exc.strerror or exc}"
        ) from None
    if args.json:
        print_json({"store": str(out), "seed": args.seed, "sessions": [i.to_dict() for i in infos]})
    else:
        print(f"wrote {len(infos)} session(s) to {printable(out)} (seed {args.seed})")
        _describe(infos)
    return 0


def copy_sessions(args: argparse.Namespace) -> int:
    """Copy sessions row for row, each in one transaction; the source is only read."""
    from kalshi_tui.core import source_name
    from kalshi_tui.env import StoreError, open_session_store, parse_session_list

    copied = []
    try:
        with open_session_store(args.source) as source:
            try:
                ids = parse_session_list(args.sessions, source.session_ids())
            except ValueError as exc:
                raise CommandError(f"--sessions: {exc}", 2) from None
            with open_session_store(args.target, writable=True) as target:
                clash = sorted(set(ids) & set(target.session_ids()))
                if clash and not args.replace:
                    raise CommandError(f"{source_name(args.target)}: already holds session "
                                       f"{', '.join(map(str, clash))}; pass --replace to overwrite",
                                       exit_codes.REFUSED)
                for session_id in ids:
                    target.write_raw_session(*source.read_raw_session(session_id))
                    copied.append(session_id)
                infos = [i for i in target.list_sessions() if i.id in set(ids)]
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print_json({"from": source_name(args.source), "to": source_name(args.target),
                    "sessions": [i.to_dict() for i in infos]})
    else:
        print(f"copied {len(copied)} session(s) from {source_name(args.source)} "
              f"to {source_name(args.target)}")
        _describe(infos)
    return 0
