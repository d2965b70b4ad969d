"""The demo registry: a small real build, and the committed trained_models/ itself."""

from __future__ import annotations

import dataclasses
import json
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from train_helpers import recount

from kalshi_tui.core.config import load_config
from kalshi_tui.train.demo import (
    DEMO_RUNS,
    FINAL_NAME,
    MARKER,
    POINTER_NAME,
    UNREADABLE_NAME,
    DemoError,
    _check_replaceable,
    _swap_in,
    _train_all,
    build_demo,
)
from kalshi_tui.train.writer import run_name

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "kalshi_tui.toml")
COMMITTED = REPO / "trained_models"
ORIGINAL_POINTER_KEYS = {"current_model", "model_metadata", "production_readiness",
                         "diagnostics_files", "version_history", "notes"}


def _run_folder(run) -> str:
    stamp = datetime.fromisoformat(run.as_of).replace(tzinfo=UTC)
    return run_name(list(run.session_ids), run.algorithm, stamp)


def _model_file(run) -> str:
    return "trained_model.zip" if run.legacy_layout else "model.zip"


def _n_actions(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return int(json.loads(archive.read("data"))["action_space"]["n"])


def _obs_shape(path: Path) -> list[int]:
    with zipfile.ZipFile(path) as archive:
        shape = json.loads(archive.read("data"))["observation_space"]["_shape"]
    return json.loads(shape) if isinstance(shape, str) else shape


def _has_sb3_data(path: Path) -> bool:
    """False for the truncated copy. Python's zipfile may still open it: the cut leaves a
    nested torch archive's end record behind, so it lists that archive's members instead;
    SB3's `data` member is gone either way."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "data" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def check_registry(out: Path) -> dict:
    """What every demo registry must hold, built now or committed; returns the pointer."""
    for run in DEMO_RUNS:
        model = out / _run_folder(run) / _model_file(run)
        assert model.is_file(), model
        assert _n_actions(model) == run.n_actions
        assert _obs_shape(model) == [52 + run.extra_features]
        if run.checkpoints:
            assert (
                len(list((out / _run_folder(run) / "checkpoints").glob("*_steps.zip")))
                == run.checkpoints
            )
    session32 = next(r for r in DEMO_RUNS if r.session_ids == (32,))
    assert (out / FINAL_NAME).read_bytes() == (
        out / _run_folder(session32) / "model.zip"
    ).read_bytes()
    assert not _has_sb3_data(out / UNREADABLE_NAME)
    assert (out / MARKER).is_file()
    pointer = json.loads((out / POINTER_NAME).read_text())
    assert set(pointer) == ORIGINAL_POINTER_KEYS  # hand-written schema: no kalshi_tui block
    current = pointer["current_model"]
    target = out.parent / current["full_path"]
    assert current["full_path"] == current["model_path"] + current["model_file"]
    assert current["model_path"].endswith("/") and target.is_file()
    assert _n_actions(target) == 5  # the outdated legacy model, as the seed analysis found
    for path in pointer["diagnostics_files"].values():
        assert (out.parent / path).is_file(), path
    return pointer


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "trained_models"
    report = build_demo(out, sessions_db=CONFIG.sessions_db, environment=CONFIG.environment,
                        seed=0, jobs=2, scale=0.01, log=lambda line: None)
    return out, report


def test_small_build_has_every_part(small_demo):
    out, report = small_demo
    pointer = check_registry(out)
    assert report["models"] == len(list(out.rglob("*.zip")))
    assert (
        pointer["model_metadata"]["performance_metrics"]["action_space"]
        == "5 actions (single position size)"
    )
    assert not list(out.parent.glob(".trained_models.*"))  # staging cleaned up


def test_small_build_runs_are_backdated_and_say_so(small_demo):
    out, _ = small_demo
    legacy = next(r for r in DEMO_RUNS if r.legacy_layout)
    results = json.loads((out / _run_folder(legacy) / "training_results.json").read_text())
    assert results["training_start"].startswith("2025-12-11T22:10:5")
    assert results["backdated"]["note"]
    assert results["final_model_path"] == f"trained_models/{_run_folder(legacy)}/trained_model.zip"


def test_small_build_trains_the_collapsed_story_under_original_training(small_demo):
    out, _ = small_demo
    for run in DEMO_RUNS:
        results = json.loads((out / _run_folder(run) / "training_results.json").read_text())
        assert results["environment_info"]["fill_model"] == run.fill_model, run.session_ids
    assert [r.session_ids for r in DEMO_RUNS if r.fill_model == "original-training"] == [(32,)]
    note = (out / MARKER).read_text()
    assert "## Which is which" in note and "**The collapsed model**: `session32_final.zip`" in note
    assert "| original-training |" in note


def test_a_run_failing_in_a_worker_is_one_demo_error(tmp_path):
    """A run that cannot train (its session is not in the store) fails the parallel build
    with one DemoError naming it, raised from the pool's worker process."""
    good = DEMO_RUNS[-1]
    bad = dataclasses.replace(good, session_ids=(999,))
    started = time.perf_counter()
    with pytest.raises(DemoError, match="demo run failed: .*999"):
        _train_all([bad, good, good], tmp_path, CONFIG.sessions_db, CONFIG.environment, 0, 0.01,
                   2, lambda line: None)
    assert time.perf_counter() - started < 120


def test_only_a_demo_or_empty_folder_is_replaced(tmp_path):
    _check_replaceable(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    _check_replaceable(tmp_path / "empty")
    real = tmp_path / "real"
    real.mkdir()
    (real / "model.zip").write_bytes(b"x")
    with pytest.raises(DemoError, match="not a demo registry"):
        _check_replaceable(real)
    (real / MARKER).write_text("demo")
    _check_replaceable(real)
    new = tmp_path / "staging" / "real"
    new.mkdir(parents=True)
    (new / "fresh.zip").write_bytes(b"y")
    _swap_in(new, real)
    assert [p.name for p in real.iterdir()] == ["fresh.zip"]


def test_missing_sessions_are_refused(tmp_path):
    from kalshi_tui.env import generate_sessions

    small_store = tmp_path / "two.db"
    generate_sessions(small_store, [5, 6], seed=1)
    with pytest.raises(DemoError, match="missing 7, 8, 9, 10, 32"):
        build_demo(tmp_path / "out", sessions_db=small_store, environment=CONFIG.environment)


@pytest.mark.skipif(not (COMMITTED / POINTER_NAME).is_file(), reason="demo registry not built yet")
def test_committed_registry_is_complete():
    check_registry(COMMITTED)


@pytest.mark.skipif(not (COMMITTED / POINTER_NAME).is_file(), reason="demo registry not built yet")
@pytest.mark.parametrize("run", DEMO_RUNS, ids=_run_folder)
def test_committed_histograms_are_clearly_not_uniform(run):
    """Bars far from equal: the top one well above the uniform share, a wide spread, and
    late episodes that explore clearly less than a uniform policy would."""
    folder = COMMITTED / _run_folder(run)
    truth = recount(next(folder.rglob("diagnostics.jsonl")), run.n_actions)
    share = truth["total"] / run.n_actions
    bars = truth["histogram"]
    # Five bars can be uneven only so far; 21 bars of a trained policy spread much wider.
    top_over_share, top_over_bottom = (2.0, 4.0) if run.n_actions > 5 else (1.5, 2.5)
    assert max(bars) >= top_over_share * share, (folder.name, bars)
    assert max(bars) >= top_over_bottom * max(min(bars), 1), (folder.name, bars)
    assert truth["entropy"] < 0.97, (folder.name, truth["entropy"])
    assert truth["exploration_ratio"] < 0.9, (folder.name, truth["exploration_ratio"])


@pytest.mark.skipif(not (COMMITTED / POINTER_NAME).is_file(), reason="demo registry not built yet")
def test_committed_registry_shows_every_badge():
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.evidence.compat import badge

    config = load_config(REPO / "kalshi_tui.toml", models_dir=COMMITTED)
    catalog = scan_catalog(config, use_cache=False)
    badges = {record.path: badge(record, config.environment) for record in catalog.records}
    assert badges[FINAL_NAME] == "OK"
    assert badges[UNREADABLE_NAME] == "UNREADABLE"
    assert {"OK", "LEGACY 5-ACT", "OBS 54", "UNREADABLE"} <= set(badges.values())
    algorithms = {record.algorithm for record in catalog.records if record.algorithm}
    assert {"PPO", "A2C"} <= algorithms


@pytest.mark.skipif(not (COMMITTED / POINTER_NAME).is_file(), reason="demo registry not built yet")
def test_committed_demo_tells_the_story(tmp_path, capsys):
    """Issue 18's demo: session32_final looks good in training and collapses in the trader's
    mode; the report checks, says so, and recommends a healthy model that fills orders."""
    from kalshi_tui.cli import main

    config_file = tmp_path / "kalshi_tui.toml"
    # The results go to tmp: the test must not write into the committed registry.
    config_file.write_text(f'[paths]\nmodels_dir = "{COMMITTED}"\n'
                           f'cache_dir = "{tmp_path / "cache"}"\n')
    assert main(["report", "--format", "json", "--config", str(config_file)]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    run32 = f"{_run_folder(DEMO_RUNS[0])}/model.zip"
    assert run32 in report["health_checked_now"] and "checking the health of" in err
    barred = {b["path"]: b for b in report["not_recommended_models"]}
    assert barred[run32]["copies"] == [FINAL_NAME]
    collapsed, summary = barred[run32]["facts"][:2]
    assert collapsed["text"].startswith(
        "COLLAPSED: SELL_NO x100 on 100.0 % of 30,121 recorded steps")
    assert summary["text"].startswith("its training summary, counted while the policy sampled, "
                                      "showed orders on 97.9 % of steps")
    primary = report["recommendations"]["primary"]
    assert not primary["path"].startswith(_run_folder(DEMO_RUNS[0]))
    health = next(f for f in primary["deciding_facts"] if f["label"] == "Policy health")
    assert health["text"].startswith("HEALTHY: ")
    assert main(["validate", primary["path"], "--json", "--config", str(config_file)]) == 0
    validation = json.loads(capsys.readouterr().out)
    assert validation["fills"] > 0 and validation["session_ids"] == [5, 6, 7, 8, 9, 10]
