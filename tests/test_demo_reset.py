"""The README's demo reset, run as written, puts the bundled demo back exactly as shipped:
the pointer, no journal, and no cache, so the report no longer shows stored validations."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kalshi_tui.cli import main
from kalshi_tui.core.config import load_config

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def readme_reset_command() -> str:
    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    found = re.search(r"`(git checkout trained_models[^`]*)` puts the demo back", text)
    assert found, "the README's demo reset line is not where this test looks for it"
    return found.group(1)


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


def report_text(config_file: Path, capsys) -> str:
    capsys.readouterr()
    # Stored results only: this test is about what the reset removes, not the health checks.
    assert main(["report", "--stored-only", "--config", str(config_file)]) == 0
    return capsys.readouterr().out


def test_the_readme_reset_restores_the_demo_fully(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # never the real one
    checkout = tmp_path / "kalshi-tui"
    shutil.copytree(REPO / "trained_models", checkout / "trained_models",
                    ignore=shutil.ignore_patterns(".kalshi_tui_cache"))
    shutil.copy(REPO / ".gitignore", checkout / ".gitignore")
    config_file = checkout / "kalshi_tui.toml"
    config_file.write_text('[paths]\nmodels_dir = "trained_models"\n')
    git(checkout, "init", "-q")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "demo as shipped")
    shipped = files_under(checkout / "trained_models")

    # The tour: promote, and a stored validation (through the real results cache).
    chosen = "session7_ppo_20251215_082705/model.zip"
    assert main(["promote", chosen, "--reason", "tour", "--yes",
                 "--config", str(config_file)]) == 0
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.eval.results import ValidationResult
    from kalshi_tui.eval.results_cache import (
        default_session_ids,
        save_validation,
        sessions_fingerprint,
    )
    from kalshi_tui.eval.stored import stored_validations

    config = load_config(config_file)
    record = scan_catalog(config).find(chosen)
    sessions = default_session_ids(config)
    histogram = [100] + [10] * 20
    save_validation(ValidationResult(
        model_path=record.abs_path, sha256=record.sha256, algorithm="PPO", n_actions=21,
        session_ids=sessions, deterministic=True,
        environment_fingerprint=config.environment.fingerprint(),
        sessions_fingerprint=sessions_fingerprint(config.sessions_db, sessions),
        action_labels=config.environment.layout.labels, histogram=histogram,
        steps=sum(histogram), hold_pct=33.3, trading_pct=66.7, histogram_entropy=0.9,
        mean_policy_entropy=2.0, mean_policy_entropy_normalised=0.66, episodes=35, markets=35,
        win_rate=0.5, total_pnl_cents=100.0, mean_pnl_cents=2.9, max_drawdown_cents=50.0,
        fills=10, fees_cents=20.0, seconds=1.0, steps_per_second=300.0,
        created_at="2026-12-01T00:00:00Z"), config.cache_dir)
    assert stored_validations([record], config)
    validated = "trading 66.7 % filled"  # its validation, wherever the report shows it
    assert validated in report_text(config_file, capsys)
    assert files_under(checkout / "trained_models") != shipped

    subprocess.run(
        readme_reset_command(), shell=True, cwd=checkout, check=True, capture_output=True
    )

    assert files_under(checkout / "trained_models") == shipped
    assert not (checkout / "trained_models" / ".kalshi_tui_cache").exists()
    assert validated not in report_text(config_file, capsys)
