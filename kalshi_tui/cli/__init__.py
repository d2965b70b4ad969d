"""The `kalshi-tui` command: every action headless, `--json` for scripts, fixed exit codes.

With no sub-command it opens the terminal UI. Each group of sub-commands lives in its own
module with a `register(subparsers, common)` function; handlers import the heavy parts of
the core lazily so `kalshi-tui list` never pays for torch.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from kalshi_tui import __version__
from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import CommandError, common_options
from kalshi_tui.core import TerminalGuard, shown

ERROR_CLIP_CHARS = 8192

# Order is the order of `--help`.
COMMAND_MODULES = (
    "kalshi_tui.cli.catalog_commands",
    "kalshi_tui.cli.pointer_commands",
    "kalshi_tui.cli.eval_commands",
    "kalshi_tui.cli.health_commands",
    "kalshi_tui.cli.abtest_commands",
    "kalshi_tui.cli.report_commands",
    "kalshi_tui.cli.session_commands",
    "kalshi_tui.cli.training_commands",
    "kalshi_tui.cli.config_commands",
)


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="kalshi-tui",
        description="Choose, check, promote and roll back the model that trades. "
        "With no command, opens the terminal UI.",
        parents=[common],
        epilog=exit_codes.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kalshi-tui {__version__}")
    parser.add_argument("--read-only", action="store_true",
                        help="TUI: hide and refuse promote, rollback and force")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        # Modules land one issue at a time; a group that does not exist yet is not offered.
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        from kalshi_tui.cli.tui_command import run_tui

        # The TUI owns the screen: its widgets escape (Text, never markup).
        return _run(run_tui, args)
    # Every line a command prints passes the one rule (core.safe_text.printable).
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalGuard(out), TerminalGuard(err)
    try:
        return _run(handler, args)
    finally:
        sys.stdout, sys.stderr = out, err


def _run(handler, args: argparse.Namespace) -> int:
    try:
        return int(handler(args) or 0)
    except CommandError as exc:
        # Bounded whatever a message quotes: a path is at most PATH_MAX, other values are cut
        # where they are quoted; this cut is the last line of defence.
        print(f"kalshi-tui: {shown(exc, ERROR_CLIP_CHARS)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("kalshi-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # A file the command did not expect to fail on (a name too long, a folder gone):
        # one line naming it, never a traceback.
        from kalshi_tui.core.pointer import describe_os_error

        print(f"kalshi-tui: {shown(describe_os_error(exc), ERROR_CLIP_CHARS)}", file=sys.stderr)
        return exit_codes.ERROR
