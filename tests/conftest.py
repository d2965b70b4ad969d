"""Shared fixtures: a zoo of real SB3 zips, built once per test session (per xdist worker)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from model_factory import make_sb3_zip  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
# The original system's real pointer files and a real curriculum results file, kept in the
# repository so a clean clone tests against them (nothing outside the repository is read).
ORIGINAL_FILES = REPO_ROOT / "tests" / "fixtures" / "kalshiflow"


@pytest.fixture(scope="session")
def model_zoo(tmp_path_factory) -> dict[str, Path]:
    """Real tiny models: name -> zip path. Copy before modifying."""
    root = tmp_path_factory.mktemp("zoo")
    specs = {
        "ppo21": dict(algo="ppo", n_actions=21),
        "ppo5": dict(algo="ppo", n_actions=5),
        "a2c21": dict(algo="a2c", n_actions=21),
        "dqn21": dict(algo="dqn", n_actions=21),
        "dqn5": dict(algo="dqn", n_actions=5),
        "ppo21_obs54": dict(algo="ppo", n_actions=21, obs_dim=54),
        "ppo_multidiscrete": dict(algo="ppo", n_actions=21, action_kind="multidiscrete"),
        "ppo_box": dict(algo="ppo", n_actions=21, action_kind="box"),
    }
    return {name: make_sb3_zip(root / f"{name}.zip", **spec) for name, spec in specs.items()}


@pytest.fixture(scope="session")
def reference_pointers() -> list[Path]:
    """The four real CURRENT_MODEL.json files of the original system, oldest first."""
    files = sorted(ORIGINAL_FILES.glob("CURRENT_MODEL.*.json"))
    assert len(files) == 4, f"tests/fixtures/kalshiflow should hold four pointers, has {len(files)}"
    return files
