"""`kalshi-tui config`: the effective config and where each value came from."""

from __future__ import annotations

import argparse
import json

from kalshi_tui.cli.common import CommandError, add_json_flag, config_from_args, print_json
from kalshi_tui.core import ConfigError, find_config_file, printable, set_setting


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("config", parents=[common],
                                   help="print the effective config and where each value came from")
    add_json_flag(parser)
    parser.set_defaults(handler=show_config)
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION")
    setter = actions.add_parser("set", parents=[common],
                                help="change one setting in the config file, keeping its comments")
    setter.add_argument("key", help="section.key, e.g. validation.sessions")
    setter.add_argument("value", help="a TOML value: 5, \"text\", [1, 2], true")
    setter.set_defaults(handler=set_config)


def show_config(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.json:
        print_json({"file": str(config.file) if config.file else None,
                    "values": {k: {"value": v, "source": config.sources[k]}
                               for k, v in config.values.items()}})
        return 0
    print(f"config file: {printable(config.file or '(none: defaults)')}")
    width = max(len(k) for k in config.values)
    for key, value in config.values.items():
        print(f"{key:<{width}}  {json.dumps(value):<40}  # {printable(config.sources[key])}")
    return 0


def set_config(args: argparse.Namespace) -> int:
    import tomlkit

    path, _ = find_config_file(getattr(args, "config", None))
    if path is None:
        raise CommandError("no config file to change: pass --config FILE or create kalshi_tui.toml")
    try:
        value = tomlkit.parse(f"v = {args.value}")["v"].unwrap()
    except Exception:
        value = args.value  # a bare word is taken as a string
    try:
        set_setting(path, args.key, value)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    print(f"{printable(path)}: {printable(args.key)} = {json.dumps(value)}")
    return 0
