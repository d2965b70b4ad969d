"""What every sub-command shares: the common options, config loading, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kalshi_tui.cli import exit_codes
from kalshi_tui.core import Config, ConfigError, load_config


class CommandError(Exception):
    """A failure to report as one line on stderr with a specific exit code."""

    def __init__(self, message: str, code: int = exit_codes.ERROR):
        super().__init__(message)
        self.code = code


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="config file (default: $KALSHI_TUI_CONFIG, then ./kalshi_tui.toml)")
    common.add_argument("--models-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="models folder (default: trained_models/)")
    common.add_argument("--pointer", metavar="FILE", default=argparse.SUPPRESS,
                        help="pointer file (default: CURRENT_MODEL.json in the models folder)")
    return common


def config_from_args(args: argparse.Namespace) -> Config:
    try:
        return load_config(getattr(args, "config", None),
                           models_dir=getattr(args, "models_dir", None),
                           pointer=getattr(args, "pointer", None))
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def is_existing_file(path: Path) -> bool:
    """Path.is_file for a name from the command line: one too long for the OS is no file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def model_file_named(ref: str, models_dir) -> Path | None:
    """The existing file MODEL names directly or relative to the models folder, if any."""
    for candidate in (Path(ref).expanduser(), Path(models_dir) / ref):
        if is_existing_file(candidate):
            return candidate.resolve()
    return None


def catalog_find(catalog, ref: str):
    """The catalog's record for MODEL, or a one-line CommandError (unknown or ambiguous)."""
    try:
        return catalog.find(ref)
    except LookupError as exc:
        text = str(exc)
        raise CommandError(text.splitlines()[0] if text else f"{ref}: no such model") from None
