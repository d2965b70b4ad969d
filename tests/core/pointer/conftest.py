"""Fixtures for the pointer engine's tests: a fresh trader folder per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from pointer_workspace import Workspace, make_workspace  # noqa: E402


@pytest.fixture
def workspace(tmp_path, model_zoo) -> Workspace:
    return make_workspace(tmp_path, model_zoo)
