"""Stored validation results: found when current, never when the model, config or store changed."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys

import pytest
from eval_helpers import write_config

from kalshi_tui.eval.batched import validate_model
from kalshi_tui.eval.model_fit import file_sha256
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.eval.results_cache import cache_folders, load_validation, save_validation


@pytest.fixture()
def validated(model_zoo, small_config):
    """A real finished validation of ppo21 on sessions 1-3 (the config's default)."""
    result = validate_model(model_zoo["ppo21"], small_config, [1, 2, 3])
    return model_zoo["ppo21"], file_sha256(model_zoo["ppo21"]), result


def test_current_result_is_found_with_and_without_explicit_sessions(validated, small_config):
    path, sha, result = validated
    assert load_validation(path, sha, small_config, [3, 1, 2]).histogram == result.histogram
    assert load_validation(path, sha, small_config).histogram == result.histogram  # "1-3"


def test_other_sessions_mode_or_model_are_not_found(validated, small_config, model_zoo):
    path, sha, _ = validated
    assert load_validation(path, sha, small_config, [1, 2]) is None
    assert load_validation(path, sha, small_config, deterministic=False) is None
    other = model_zoo["a2c21"]
    assert load_validation(other, file_sha256(other), small_config) is None


def test_a_changed_environment_config_makes_the_result_stale(validated, small_config, tmp_path):
    path, sha, _ = validated
    text = small_config.file.read_text() + "[environment]\nobservation_high = 3.0\n"
    small_config.file.write_text(text)
    from kalshi_tui.core.config import load_config

    changed = load_config(small_config.file)
    assert changed.environment.fingerprint() != small_config.environment.fingerprint()
    assert load_validation(path, sha, changed) is None


def test_a_rewritten_session_store_makes_the_result_stale(validated, small_config, tmp_path):
    from kalshi_tui.env import generate_sessions

    path, sha, _ = validated
    store = tmp_path / "copy.db"
    store.write_bytes(small_config.sessions_db.read_bytes())
    config = dataclasses.replace(small_config, sessions_db=store)
    result = validate_model(path, config, [1])
    assert load_validation(path, sha, config, [1]).histogram == result.histogram
    generate_sessions(store, [1], seed=99, markets=2)  # session 1 re-recorded
    assert load_validation(path, sha, config, [1]) is None


def test_results_follow_the_sessions_content_not_the_store_file(validated, small_config, tmp_path):
    """A reinstall copies the same sessions elsewhere with a new mtime: still validated.
    One delta changed in a session the run used: not validated; in another session: still."""
    import sqlite3
    import time

    path, sha, result = validated
    moved = tmp_path / "reinstalled" / "site-packages" / "sessions.db"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(small_config.sessions_db.read_bytes())
    later = time.time() + 3600
    os.utime(moved, (later, later))
    config = dataclasses.replace(small_config, sessions_db=moved)
    assert load_validation(path, sha, config).histogram == result.histogram
    with sqlite3.connect(moved) as db:
        db.execute(
            "INSERT INTO rl_orderbook_sessions (session_id, market_tickers) VALUES (77, '[]')"
        )
    assert load_validation(path, sha, config) is not None  # sessions 1-3 are as they were
    with sqlite3.connect(moved) as db:
        db.execute("UPDATE rl_orderbook_deltas SET new_size = new_size + 1 WHERE id = "
                   "(SELECT MIN(id) FROM rl_orderbook_deltas WHERE session_id = 2)")
    assert load_validation(path, sha, config) is None
    assert load_validation(path, sha, config, [1, 3]) is None  # never validated on just 1, 3


def test_a_model_overwritten_in_place_has_no_result(validated, small_config, model_zoo, tmp_path):
    from model_factory import copy_model

    model = copy_model(model_zoo["ppo21"], tmp_path / "m.zip")
    validate_model(model, small_config, [1])
    assert load_validation(model, file_sha256(model), small_config, [1]) is not None
    copy_model(model_zoo["a2c21"], model)
    assert load_validation(model, file_sha256(model), small_config, [1]) is None


def test_unwritable_cache_falls_back_to_the_user_cache(model_zoo, small_config, tmp_path):
    # A file where the cache folder should be: mkdir fails even for root, as a read-only
    # models folder would make it fail for an operator.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder")
    config = dataclasses.replace(small_config, cache_dir=blocked)
    stored = []
    validate_model(
        model_zoo["ppo21"], config, [1], on_stored=lambda f, why: stored.append((f, why))
    )
    file, why = stored[0]
    assert why is None and file.parent == cache_folders(blocked)[1]
    assert str(file).startswith(os.environ["XDG_CACHE_HOME"])
    assert (
        load_validation(model_zoo["ppo21"], file_sha256(model_zoo["ppo21"]), config, [1])
        is not None
    )


def test_nowhere_to_store_is_reported_not_raised(validated, small_config, tmp_path, monkeypatch):
    _, _, result = validated
    blocked = tmp_path / "blocked"
    blocked.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    file, why = save_validation(result, blocked)
    assert file is None and why.startswith("validation result not stored (")


def test_damaged_cache_file_reads_as_absent(validated, small_config):
    path, sha, _ = validated
    (small_config.cache_dir / "validation" / f"{sha}.json").write_text("{ not json")
    assert load_validation(path, sha, small_config) is None


def _save_copy(result_dict, cache_dir, session):
    result = ValidationResult.from_dict({**result_dict, "session_ids": [session]})
    for _ in range(20):
        save_validation(result, cache_dir)


def test_concurrent_saves_keep_each_others_entries(validated, small_config):
    _, sha, result = validated
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_save_copy, args=(result.to_dict(), small_config.cache_dir, s))
        for s in (101, 102, 103)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    entries = json.loads((small_config.cache_dir / "validation" / f"{sha}.json").read_text())[
        "results"
    ]
    sessions = sorted(tuple(e["session_ids"]) for e in entries.values())
    assert sessions == [(1, 2, 3), (101,), (102,), (103,)]
    # Each writer's lock file existed only while it wrote: no *.json.lock, no temp file.
    assert os.listdir(small_config.cache_dir / "validation") == [f"{sha}.json"]


def test_reading_results_never_imports_torch(validated, small_config):
    path, sha, _ = validated
    code = (
        "import sys; from pathlib import Path; "
        "from kalshi_tui.core.config import load_config; "
        "from kalshi_tui.eval.results_cache import load_validation; "
        f"r = load_validation(Path({str(path)!r}), {sha!r}, "
        f"load_config({str(small_config.file)!r})); "
        "assert r is not None and r.episodes == 9; "
        "assert 'torch' not in sys.modules and 'stable_baselines3' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]})


def test_a_config_without_a_store_has_no_default_sessions(validated, small_config, tmp_path):
    path, sha, _ = validated
    config = write_config(tmp_path / "nostore", tmp_path / "absent.db", sessions="1-3")
    assert load_validation(path, sha, config) is None


def test_a_store_locked_by_a_writer_hides_results_only_while_it_is_locked(
    validated, small_config, tmp_path
):
    """Not found while a writer holds the store (SQLite says busy), found again once it is
    done, though the file's size and mtime are unchanged: a busy store is not memoised."""
    import textwrap

    path, sha, result = validated
    store = tmp_path / "busy.db"
    store.write_bytes(small_config.sessions_db.read_bytes())
    config = dataclasses.replace(small_config, sessions_db=store)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys
        db = sqlite3.connect({str(store)!r}, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        sys.stdin.readline()
        db.execute("ROLLBACK")
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        assert load_validation(path, sha, config) is None
    finally:
        writer.communicate("done\n", timeout=30)
    assert load_validation(path, sha, config).histogram == result.histogram
