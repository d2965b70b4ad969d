"""Fixtures for the env tests: small real stores made by the generator, and hand-made books."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pg_server, shared by tests and benchmarks

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.env import GeneratorSettings, generate_sessions

SMALL = GeneratorSettings(markets=(3, 3), steps=(320, 400), session_hours=(0.5, 0.5))
BASES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")


@pytest.fixture(scope="session")
def small_settings() -> GeneratorSettings:
    return SMALL


@pytest.fixture(scope="session")
def layout21() -> ActionLayout:
    return ActionLayout(BASES, (5, 10, 20, 50, 100))


@pytest.fixture(scope="session")
def layout5() -> ActionLayout:
    return ActionLayout(BASES, (10,))


@pytest.fixture(scope="session")
def _small_store_master(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stores") / "small.db"
    generate_sessions(path, [5, 6], seed=11, settings=SMALL)
    return path


@pytest.fixture
def small_store(_small_store_master, tmp_path) -> Path:
    """A real two-session store (3 markets each, over 300 steps a market); a fresh copy per test."""
    path = tmp_path / "sessions.db"
    shutil.copy(_small_store_master, path)
    return path


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server with the original DDL loaded; skipped only without binaries."""
    from pg_server import find_binaries, load_original_ddl, start_server

    bin_dir = find_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run installs them")
    server = start_server(bin_dir)
    try:
        load_original_ddl(server)
        yield server
    finally:
        server.stop()
