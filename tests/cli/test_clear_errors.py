"""Every error a clear line, and figures an operator can read: reversed ranges, bad option
values, a missing models folder, a locked session store, `show`'s numbers and stored
validation, `compare`'s `*`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from model_factory import copy_model

from kalshi_tui.cli import exit_codes, main
from kalshi_tui.core.config import load_config
from kalshi_tui.core.world.session_ids import SessionListSyntaxError, parse_session_list
from kalshi_tui.eval.model_fit import file_sha256
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import (
    default_session_ids,
    save_validation,
    sessions_fingerprint,
)

REPO = Path(__file__).resolve().parents[2]
BUNDLED_STORE = REPO / "kalshi_tui" / "env" / "data" / "sessions.db"
RUN = "session32_ppo_20251215_001549"


@pytest.fixture
def models(tmp_path, model_zoo, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # never the real one
    root = tmp_path / "trained_models"
    copy_model(model_zoo["ppo21"], root / RUN / "model.zip")
    copy_model(model_zoo["a2c21"], root / "session10_a2c_20251215_071301" / "model.zip")
    (root / RUN / "training_results.json").write_text(
        json.dumps(
            {
                "total_timesteps": 1003520,
                "training_duration_seconds": 4521.123456,
                "portfolio_statistics": {
                    "total_episodes": 73015,
                    "unique_markets": 558,
                    "dynamics_statistics": {"trading_outcomes": {"win_rate": 0.35912345}},
                },
            }
        )
    )
    (root / "session10_a2c_20251215_071301" / "training_results.json").write_text(json.dumps({
        "portfolio_statistics": {"total_episodes": 40, "unique_markets": 6,
                                 "dynamics_statistics": {"trading_outcomes": {"win_rate": 0.2}}}}))
    config_file = tmp_path / "kalshi_tui.toml"
    config_file.write_text(f'[paths]\nmodels_dir = "{root}"\n')
    return root, ["--config", str(config_file)], config_file


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_reversed_range_says_it_is_reversed():
    with pytest.raises(
        SessionListSyntaxError, match=r"range '10-5' is reversed \(did you mean 5-10\?\)"
    ):
        parse_session_list("10-5", None)
    with pytest.raises(SessionListSyntaxError, match="is not a number or a range"):
        parse_session_list("5--3", None)
    assert parse_session_list("7-7", None) == [7]


def test_validate_with_a_reversed_range_is_a_usage_error_of_one_line(models, capsys):
    _, opts, _ = models
    code, _, err = run(capsys, "validate", RUN, "--sessions", "10-5", *opts)
    assert code == exit_codes.USAGE
    assert err == ("kalshi-tui: --sessions: session list '10-5': range '10-5' is reversed "
                   "(did you mean 5-10?)\n")


@pytest.mark.parametrize("value, says", [("x", "'x' is not a whole number"),
                                         ("0", "'0' must be 1 or more")])
def test_history_limit_names_the_option_not_a_function(models, capsys, value, says):
    _, opts, _ = models
    with pytest.raises(SystemExit) as info:
        main(["history", "--limit", value, *opts])
    err = capsys.readouterr().err
    assert info.value.code == exit_codes.USAGE
    assert f"argument --limit: {says}" in err and "_positive" not in err


def test_status_on_a_missing_models_folder_says_so_exit_1(tmp_path, capsys):
    missing = tmp_path / "missing"
    for command in ("status", "history", "rollback"):
        extra = ["--reason", "r", "--yes"] if command == "rollback" else []
        code, out, err = run(capsys, command, "--models-dir", str(missing), *extra)
        assert code == exit_codes.ERROR, command
        assert err.count("\n") == 1 and f"{missing}: models folder not found" in err, err
        assert out == ""


def test_a_locked_store_says_it_is_locked(tmp_path):
    store = tmp_path / "sessions.db"
    store.write_bytes(BUNDLED_STORE.read_bytes())
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, time
        db = sqlite3.connect({str(store)!r}, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        result = subprocess.run([sys.executable, "-m", "kalshi_tui", "sessions", "list", "--db",
                                 str(store)], capture_output=True, text=True, cwd=REPO, timeout=60,
                                check=False)
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == exit_codes.ERROR
    assert result.stderr.count("\n") == 1
    assert "session store is locked by another process" in result.stderr
    assert "not a SQLite session store" not in result.stderr
    with sqlite3.connect(store) as db:  # the lock is gone with the writer: the store is fine
        assert db.execute("SELECT COUNT(*) FROM rl_orderbook_sessions").fetchone()[0] > 0


def _store_validation(config, model: Path) -> ValidationResult:
    """A result stored through the real results cache under the key `show` asks for."""
    sessions = default_session_ids(config)
    histogram = [300] + [35] * 20
    result = ValidationResult(
        model_path=str(model), sha256=file_sha256(model), algorithm="PPO", n_actions=21,
        session_ids=sessions, deterministic=True,
        environment_fingerprint=config.environment.fingerprint(),
        sessions_fingerprint=sessions_fingerprint(config.sessions_db, sessions),
        action_labels=config.environment.layout.labels, histogram=histogram, steps=sum(histogram),
        hold_pct=30.0, trading_pct=70.0, histogram_entropy=0.91234, mean_policy_entropy=2.0,
        mean_policy_entropy_normalised=0.6567, episodes=35, markets=35, win_rate=0.4285714,
        total_pnl_cents=1234.5678, mean_pnl_cents=35.27, max_drawdown_cents=420.0, fills=800,
        fees_cents=950.0, seconds=2.0, steps_per_second=500.0, created_at="2026-11-30T09:00:00Z",
        orders_attempted=700, attempted_pct=70.0, episodes_traded=35)
    file, why = save_validation(result, config.cache_dir)
    assert why is None and file is not None
    return result


def test_show_formats_numbers_and_includes_the_stored_validation(models, capsys):
    root, opts, config_file = models
    code, out, _ = run(capsys, "show", RUN, *opts)
    assert code == 0
    assert "    win_rate: 35.9 %  (training_results.json" in out
    assert "    total_timesteps: 1,003,520  (" in out and "    episodes: 73,015  (" in out
    assert "    training_duration_seconds: 4,521.1 s  (" in out
    assert "0.35912345" not in out and "4521.123456" not in out
    assert (
        "  validation:    not validated on sessions 5-10 in profile kalshiflow-2025-12-15, layout "
        "A, "
        "fill model realistic (kalshi-tui validate)"
    ) in out
    _store_validation(load_config(config_file), root / RUN / "model.zip")
    code, out, _ = run(capsys, "show", RUN, *opts)
    assert code == 0
    assert "  validation (stored 2026-11-30T09:00:00Z):" in out
    assert (
        "    win rate    42.9 % of the 35 episodes that traded (of 35)" in out
        and "    sessions    5-10  deterministic" in out
    )
    code, out, _ = run(capsys, "show", RUN, "--json", *opts)
    assert json.loads(out)["validation"]["win_rate"] == pytest.approx(0.4285714)


def test_compare_says_what_the_star_means_before_the_rows(models, capsys):
    _, opts, _ = models
    code, out, _ = run(capsys, "compare", RUN, "session10_a2c", *opts)
    assert code == 0
    lines = out.splitlines()
    legend = next(i for i, line in enumerate(lines) if line.startswith("* marks the better"))
    first_star = next(i for i, line in enumerate(lines) if "*" in line and i != legend)
    assert lines[first_star].startswith("unique markets")
    assert legend < first_star
    assert "higher win rate" in lines[legend] and "lower drawdown" in lines[legend]
