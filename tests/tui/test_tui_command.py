"""`kalshi-tui` with no sub-command: one-line errors instead of a broken screen."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kalshi_tui", *args], capture_output=True,
                          text=True, cwd=cwd, stdin=subprocess.DEVNULL)


def test_missing_models_folder_is_one_line_exit_1(tmp_path):
    result = run_cli("--models-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "nowhere" in lines[0] and "models folder not found" in lines[0]


def test_no_terminal_is_a_usage_error(tmp_path):
    (tmp_path / "models").mkdir()
    result = run_cli("--models-dir", str(tmp_path / "models"), cwd=tmp_path)
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr


def test_unknown_keymap_action_is_reported(workspace, frozen_clock):
    import asyncio

    from tui_support import notifications, settle

    from kalshi_tui.tui.app import KalshiTuiApp

    text = workspace.config_file.read_text().replace(
        "[tui]\n", '[tui]\nkeymap = { promot = "p" }\n'
    )
    workspace.config_file.write_text(text)

    async def run() -> list[str]:
        app = KalshiTuiApp(workspace.config(), clock=frozen_clock, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            return notifications(app)

    shown = asyncio.run(run())
    assert any("tui.keymap names no such action: promot" in n for n in shown)
