"""Fixtures for the TUI tests; the helpers they share live in tui_support.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tui_support import FROZEN_NOW, Workspace, build_workspace  # noqa: E402


@pytest.fixture
def workspace(tmp_path, model_zoo) -> Workspace:
    return build_workspace(tmp_path / "ws", model_zoo)


@pytest.fixture
def frozen_clock():
    return lambda: FROZEN_NOW
