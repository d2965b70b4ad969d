"""The TUI module must not pull in torch or stable-baselines3: the screen comes up fast over SSH."""

from __future__ import annotations

import subprocess
import sys


def test_tui_app_import_is_free_of_torch_and_sb3():
    code = (
        "import sys, kalshi_tui.tui.app, kalshi_tui.cli.tui_command; "
        "print(','.join(m for m in ('torch', 'stable_baselines3', 'gymnasium') if m in "
        "sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
