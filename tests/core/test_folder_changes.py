"""The live-refresh fingerprint: stat-only, from the catalog's own walk, on a real folder."""

from __future__ import annotations

import json
import os
import shutil

from kalshi_tui.core.catalog.changes import change_signature


def make_folder(tmp_path, model_zoo):
    models = tmp_path / "trained_models"
    run = models / "session10_ppo_20251211_173419"
    (run / "diagnostics").mkdir(parents=True)
    shutil.copyfile(model_zoo["ppo21"], models / "session32_final.zip")
    shutil.copyfile(model_zoo["ppo21"], run / "model.zip")
    (run / "training_results.json").write_text(
        json.dumps({"total_timesteps": 10}), encoding="utf-8"
    )
    (run / "diagnostics" / "diagnostics.jsonl").write_text("{}\n", encoding="utf-8")
    return models, models / "CURRENT_MODEL.json"


def test_unchanged_folder_gives_the_same_fingerprint(tmp_path, model_zoo):
    models, pointer = make_folder(tmp_path, model_zoo)
    first = change_signature(models, pointer)
    assert first == change_signature(models, pointer)
    paths = {entry[0] for entry in first}
    assert str(models / "session32_final.zip") in paths
    assert str(models / "session10_ppo_20251211_173419" / "training_results.json") in paths
    assert (
        str(models / "session10_ppo_20251211_173419" / "diagnostics" / "diagnostics.jsonl") in paths
    )
    assert (str(pointer), -1, -1) in first  # no pointer yet: a state of its own


def test_every_change_a_scan_would_see_changes_it(tmp_path, model_zoo):
    models, pointer = make_folder(tmp_path, model_zoo)
    run = models / "session10_ppo_20251211_173419"
    steps = [
        # a model rewritten in place: its folder's mtime does not move, the file's does
        lambda: os.utime(run / "model.zip", ns=(1, 1)),
        lambda: shutil.copyfile(model_zoo["ppo5"], models / "new.zip"),
        lambda: (run / "diagnostics" / "diagnostics.jsonl").write_text(
            "{}\n{}\n", encoding="utf-8"
        ),
        lambda: (run / "training_results.json").unlink(),
        lambda: pointer.write_text("{}", encoding="utf-8"),
        lambda: pointer.with_name("CURRENT_MODEL.history.jsonl").write_text(
            "{}\n", encoding="utf-8"
        ),
    ]
    seen = [change_signature(models, pointer)]
    for step in steps:
        step()
        seen.append(change_signature(models, pointer))
        assert seen[-1] != seen[-2]
    assert len(set(seen)) == len(seen)


def test_files_no_scan_reads_and_the_tool_cache_change_nothing(tmp_path, model_zoo):
    models, pointer = make_folder(tmp_path, model_zoo)
    before = change_signature(models, pointer)
    (models / "notes.txt").write_text("operator notes", encoding="utf-8")
    cache = models / ".kalshi_tui_cache"
    cache.mkdir()
    (cache / "catalog.json").write_text("{}", encoding="utf-8")
    shutil.copyfile(model_zoo["ppo21"], cache / "copy.zip")
    assert change_signature(models, pointer) == before


def test_a_missing_folder_is_a_state_not_an_error(tmp_path, model_zoo):
    models, pointer = make_folder(tmp_path, model_zoo)
    present = change_signature(models, pointer)
    moved = tmp_path / "elsewhere"
    models.rename(moved)
    missing = change_signature(models, pointer)
    assert (str(models), -1, -1) in missing
    moved.rename(models)
    assert change_signature(models, pointer) == present
