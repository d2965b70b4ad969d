"""`kalshi-tui` with no sub-command: open the terminal UI on the configured models folder."""

from __future__ import annotations

import argparse
import sys

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import CommandError, config_from_args


def run_tui(args: argparse.Namespace) -> int:
    """Load the config, check the models folder, then run the App until the operator quits."""
    config = config_from_args(args)
    if not config.models_dir.is_dir():
        raise CommandError(f"{config.models_dir}: models folder not found "
                           f"(set paths.models_dir or pass --models-dir)")
    if not sys.stdout.isatty():
        raise CommandError("the terminal UI needs a terminal; use a sub-command "
                           "(kalshi-tui list, status, ...) in scripts", exit_codes.USAGE)
    from kalshi_tui.core.catalog import start_helpers
    from kalshi_tui.tui import KalshiTuiApp

    # The scan's worker processes need a real stderr to start their helper, which the TUI
    # no longer has once Textual runs: started now (see core/catalog/workers.py).
    start_helpers()
    app = KalshiTuiApp(config, read_only=bool(getattr(args, "read_only", False)))
    app.run()
    return app.return_code or 0
