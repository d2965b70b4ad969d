"""The README's Commands table lists every command and sub-command the CLI offers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kalshi_tui.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def offered(capsys, *words: str) -> list[str]:
    """The commands `kalshi-tui [words] --help` lists under its positional arguments."""
    with pytest.raises(SystemExit):
        build_parser().parse_args([*words, "--help"])
    help_text = capsys.readouterr().out
    section = help_text.split("positional arguments:", 1)[-1].split("options:", 1)[0]
    return re.findall(r"^ {4}(\S+)", section, flags=re.MULTILINE)


def test_every_command_is_in_the_readme_commands_table(capsys):
    paths = []
    for name in offered(capsys):
        actions = offered(capsys, name)
        paths += [f"{name} {action}" for action in actions] or [name]
    assert {"list", "health", "sessions copy", "demo build", "config set"} <= set(paths)
    table = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    missing = [p for p in paths if not any(f"`{p}" in row for row in rows)]
    assert missing == [], f"README Commands table lacks {missing}"
