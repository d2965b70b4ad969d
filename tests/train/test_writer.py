"""Run folder names, layouts, the run clock and the streamed diagnostics log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kalshi_tui.train.progress import render_bar
from kalshi_tui.train.writer import (
    DiagnosticsLog,
    RunClock,
    RunLayout,
    iso_utc,
    new_run_dir,
    run_name,
    to_jsonable,
    write_json,
)

AS_OF = datetime(2025, 12, 11, 22, 10, 54, tzinfo=UTC)


def test_run_names_follow_the_original():
    assert run_name([9], "ppo", AS_OF) == "session9_ppo_20251211_221054"
    assert run_name([5, 6, 7], "a2c", AS_OF) == "sessions5_6_7_a2c_20251211_221054"


def test_layouts_current_and_legacy(tmp_path):
    current = RunLayout.current(tmp_path / "run")
    assert current.model_path == tmp_path / "run" / "model.zip"
    assert current.summary_path == tmp_path / "run" / "diagnostics" / "training_summary.json"
    assert current.results_path == tmp_path / "run" / "training_results.json"
    assert current.checkpoint_prefix == "model"
    legacy = RunLayout.legacy(tmp_path / "run")
    assert legacy.model_path.name == "trained_model.zip"
    assert legacy.jsonl_path == tmp_path / "run" / "diagnostics.jsonl"
    assert legacy.checkpoint_prefix == "trained_model"


def test_clock_backdates_consistently():
    clock = RunClock(AS_OF)
    assert clock.backdated
    assert abs((clock.now() - AS_OF).total_seconds()) < 60
    assert abs(clock.now_ns() / 1e9 - AS_OF.timestamp()) < 60
    assert not RunClock().backdated
    assert iso_utc(AS_OF) == "2025-12-11T22:10:54.000000Z"


def test_a_run_folder_is_never_reused(tmp_path):
    clock = RunClock(AS_OF)
    first = new_run_dir(tmp_path, [9], "ppo", clock)
    second = new_run_dir(tmp_path, [9], "ppo", RunClock(AS_OF))
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("session9_ppo_20251211_2210")


def test_json_is_strict_numbers_and_utc_dates(tmp_path):
    value = {"n": np.int64(10000), "x": np.float32(0.5), "bad": float("nan"), "when": AS_OF,
             "arr": np.arange(3), "flag": np.bool_(True), 7: Path("a/b")}
    path = write_json(tmp_path / "out.json", value)
    data = json.loads(path.read_text())
    assert data == {"n": 10000, "x": 0.5, "bad": None, "when": "2025-12-11T22:10:54.000000Z",
                    "arr": [0, 1, 2], "flag": True, "7": "a/b"}
    assert to_jsonable((1, 2)) == [1, 2]
    assert not list(tmp_path.glob(".*tmp*"))


def test_diagnostics_log_streams_original_line_shape(tmp_path):
    layout = RunLayout.current(tmp_path / "run")
    clock = RunClock(AS_OF)
    with DiagnosticsLog(layout, clock, {"session_id": 9, "algorithm": "ppo"}, flush_every=1) as log:
        log.event("episode", "episode_complete", {"category": "action_summary",
                                                  "action_distribution": {"0": 1}})
        # flushed as it goes: a run that dies still leaves its lines
        assert len(layout.jsonl_path.read_text().splitlines()) == 2
    lines = [json.loads(line) for line in layout.jsonl_path.read_text().splitlines()]
    assert [line["event_type"] for line in lines] == ["logging_initialized", "episode_complete"]
    assert set(lines[1]) == {"timestamp", "category", "event_type", "level", "data"}
    assert lines[1]["timestamp"].startswith("2025-12-11T22:1")
    assert "EPISODE.episode_complete" in layout.log_path.read_text()


def test_progress_bar_line():
    line = render_bar(500, 1000, 2.0, label="run")
    assert (
        line.startswith("run [")
        and "500/1,000" in line
        and "50.0%" in line
        and "250 steps/s" in line
    )
    assert "100.0%" in render_bar(1000, 1000, 1.0)


def test_progress_bar_overshoot_has_no_negative_time():
    # PPO finishes its last rollout, so a run can pass the requested steps.
    assert "0s left" in render_bar(3072, 3000, 1.0) and "-0s" not in render_bar(3072, 3000, 1.0)
