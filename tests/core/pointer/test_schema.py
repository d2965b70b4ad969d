"""Reading the original system's pointers (all four real ones) and writing the same schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kalshi_tui.core.config import load_config
from kalshi_tui.core.model_record import ModelRecord, TrainingMetrics
from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.pointer.schema import (
    build_document,
    full_path_of,
    pointer_paths,
    read_pointer,
    resolve_target,
    serialize,
)


def _config(base: Path):
    """A config of our own: never the checkout's kalshi_tui.toml nor $KALSHI_TUI_CONFIG."""
    (base / "trained_models").mkdir(parents=True, exist_ok=True)
    (base / "kalshi_tui.toml").write_text('[paths]\nmodels_dir = "trained_models"\n')
    return load_config(base / "kalshi_tui.toml")


@pytest.fixture
def config(tmp_path):
    return _config(tmp_path)


def test_all_reference_pointers_parse_and_resolve(reference_pointers, config, tmp_path):
    assert len(reference_pointers) == 4
    for path in reference_pointers:
        doc, raw = read_pointer(path)
        full = full_path_of(doc)
        assert full and full.endswith(".zip"), path
        resolution = resolve_target(full, config)
        assert not resolution.exists  # their models are not shipped: a missing model, not a crash
        assert resolution.path.is_absolute()


def test_wrong_base_is_found_elsewhere_but_still_missing_for_the_trader(
    reference_pointers, tmp_path
):
    # Pointer 1 is relative to the repo root ("backend/trained_models/..."), while the trader
    # runs in backend/: the file exists at trained_models/..., which the trader would not find.
    base = tmp_path / "backend"
    model = base / "trained_models" / "session9_ppo_20251211_221054" / "trained_model.zip"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"zip")
    cfg = _config(base)
    doc, _ = read_pointer(reference_pointers[0])
    resolution = resolve_target(full_path_of(doc), cfg)
    assert not resolution.exists
    assert resolution.found_elsewhere == model
    assert "path base is wrong" in resolution.notes[0]


def test_bad_pointer_files_are_one_line_errors(tmp_path):
    cases = {"broken.json": b'{"current_model": ', "list.json": b"[1, 2]",
             "binary.json": b"\xff\xfe\x00", "current.json": b'{"current_model": 5}'}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(PointerError) as info:
            read_pointer(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert read_pointer(tmp_path / "absent.json") == (None, None)


def test_pointer_paths_relative_to_base_else_absolute(tmp_path):
    base = tmp_path / "backend"
    inside = base / "trained_models" / "run1" / "model.zip"
    assert pointer_paths(inside, base) == (
        "trained_models/run1/model.zip",
        "trained_models/run1/",
        "model.zip",
    )
    outside = tmp_path / "elsewhere" / "m.zip"
    full, folder, name = pointer_paths(outside, base)
    assert full == str(outside) and folder == str(outside.parent) + "/" and name == "m.zip"


def test_build_document_keeps_unmanaged_keys_and_writes_true_utc(reference_pointers, config):
    base_doc, _ = read_pointer(reference_pointers[3])
    model = Path(config.models_dir) / "session32_ppo_20251215_001549" / "model.zip"
    record = ModelRecord(
        path="session32_ppo_20251215_001549/model.zip",
        abs_path=str(model),
        name="session32_ppo",
        verdict="compatible",
        algorithm="PPO",
        n_actions=21,
        num_timesteps=1003520,
        hyperparameters={"learning_rate": 0.0003, "n_steps": 2048},
        run_dir="session32_ppo_20251215_001549",
        artifacts={
            "training_summary": "session32_ppo_20251215_001549/training_summary.json",
            "diagnostics.jsonl": "session32_ppo_20251215_001549/diagnostics.jsonl",
        },
        metrics=TrainingMetrics(
            episodes=7721,
            hold_pct=4.45,
            entropy=0.656,
            exploration_ratio=0.385,
            session_ids=[32],
            action_histogram={"0": 10, "1": 30, "20": 60},
        ),
    )
    doc = build_document(
        base_doc,
        record,
        config,
        reason="better",
        now="2026-01-01T00:00:00.000000Z",
        status="production_candidate",
        description=None,
        tool={"revision": 2},
    )
    # key order kept; the blocks about session 12 moved, as they were, under previous_model
    assert [k for k in doc if k in base_doc] == [k for k in base_doc
                                                 if k not in ("production_readiness", "notes")]
    previous = doc["previous_model"]
    assert previous["full_path"] == base_doc["current_model"]["full_path"]
    for moved in ("production_readiness", "notes", "model_metadata", "diagnostics_files"):
        assert previous[moved] == base_doc[moved]
    assert previous["current_model"]["description"] == base_doc["current_model"]["description"]
    assert doc["version_history"][1:] == base_doc["version_history"]
    entry = doc["version_history"][0]
    assert set(entry) == set(base_doc["version_history"][0])  # the hand-written entries' shape
    assert entry["model_path"] == doc["current_model"]["full_path"] and entry["version"] == "r2"
    current = doc["current_model"]
    assert current["full_path"] == "trained_models/session32_ppo_20251215_001549/model.zip"
    assert current["model_path"] == "trained_models/session32_ppo_20251215_001549/"
    assert current["model_file"] == "model.zip"
    assert current["selected_reason"] == "better" and current["last_updated"].endswith("Z")
    meta = doc["model_metadata"]
    assert meta["training_session"]["session_id"] == 32
    perf = meta["performance_metrics"]
    assert perf["action_space"] == "21 actions (5 position sizes)"
    assert perf["position_sizes"] == [5, 10, 20, 50, 100]
    assert perf["trading_activity"]["trading_percentage"] == 95.55
    assert (
        perf["action_distribution"]["distribution"]
        == "HOLD: 10.0%, BUY_YES x5: 30.0%, SELL_NO x100: 60.0%"
    )
    assert meta["hyperparameters"] == {"learning_rate": 0.0003, "n_steps": 2048}
    assert "data_quality" not in meta  # the old model's prose is not carried over to a new model
    assert meta["sources"]["session_id"] == "training artifacts"  # no source named in metrics
    assert meta["sources"]["total_timesteps"] == "model zip: data num_timesteps"
    assert doc["diagnostics_files"] == {
        "training_summary": "trained_models/session32_ppo_20251215_001549/training_summary.json",
        "structured_log": "trained_models/session32_ppo_20251215_001549/diagnostics.jsonl"}
    assert doc["kalshi_tui"] == {"revision": 2}
    assert json.loads(serialize(doc)) == doc
