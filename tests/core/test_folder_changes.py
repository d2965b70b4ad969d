"""The live-refresh fingerprint: stat-only, from the catalog's own walk, on a real folder."""

from __future__ import annotations

import json
import os
import shutil

from kalshi_tui.core.catalog.changes import change_signature as signature_of
from kalshi_tui.core.pointer import pointer_files


def change_signature(models, pointer):
    return signature_of(models, pointer_files(pointer))


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


def test_model_file_changes_counts_new_removed_and_rewritten(tmp_path):
    from kalshi_tui.core.catalog.changes import model_file_changes
    from kalshi_tui.core.model_record import ModelRecord

    def rec(path: str, size: int, mtime: float = 1.0) -> ModelRecord:
        return ModelRecord(path=path, abs_path=str(tmp_path / path), name=path,
                           size_bytes=size, mtime=mtime)

    before = [rec("a.zip", 10), rec("b.zip", 20), rec("c.zip", 30)]
    after = [rec("a.zip", 10), rec("b.zip", 20, 2.0), rec("d.zip", 5), rec("e.zip", 6)]
    changes = model_file_changes(before, after)
    assert changes.new == ("d.zip", "e.zip")
    assert (changes.removed, changes.changed) == (("c.zip",), ("b.zip",))
    assert changes.summary() == "2 new, 1 removed, 1 changed model files"
    assert not model_file_changes(after, after)
    assert model_file_changes([], [rec("x.zip", 1)]).summary() == "1 new model file"
