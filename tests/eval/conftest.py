"""Fixtures for the eval tests: real session stores written with the env's store writer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from eval_helpers import write_config  # noqa: E402

from kalshi_tui.core.config import Config  # noqa: E402
from kalshi_tui.env import GeneratorSettings, generate_sessions  # noqa: E402


@pytest.fixture(scope="session")
def small_store(tmp_path_factory) -> Path:
    """Three synthetic sessions of a few short markets: quick to validate, real replays."""
    path = tmp_path_factory.mktemp("store") / "sessions.db"
    generate_sessions(path, [1, 2, 3], seed=3, markets=3,
                      settings=GeneratorSettings(steps=(60, 160)))
    return path


@pytest.fixture()
def small_config(tmp_path, small_store, monkeypatch) -> Config:
    # The fallback cache must never be the real user's.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    return write_config(tmp_path / "site", small_store, sessions="1-3")
