"""The walk's artifact index gives exactly what find_artifacts gives, from the walk's listings."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402
from artifact_files import episode_counts, original_results, original_summary, write_run  # noqa: E402

from kalshi_tui.core.artifacts.find import find_artifacts  # noqa: E402
from kalshi_tui.core.catalog.scan import artifacts_key, scan_catalog  # noqa: E402
from kalshi_tui.core.catalog.walk import ArtifactIndex, open_walk, walk_models  # noqa: E402
from kalshi_tui.core.config import load_config  # noqa: E402


@pytest.fixture
def tree(tmp_path, model_zoo):
    """Every way the original system placed artifacts, plus the odd cases find_artifacts handles."""
    models = tmp_path / "trained_models"
    real = model_zoo["ppo21"].read_bytes()
    other = model_zoo["ppo5"].read_bytes()
    same_size_other_bytes = real[:-40] + bytes(b ^ 0xFF for b in real[-40:])
    eps = episode_counts(21, 6)
    current = write_run(
        models,
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        results=original_results(),
        model_bytes=real,
    )
    (current / "checkpoints").mkdir()
    shutil.copy(model_zoo["a2c21"], current / "checkpoints" / "ppo_5000_steps.zip")
    write_run(
        models,
        "session32_ppo_20251216_090000",
        eps,
        results=original_results(),
        model_bytes=same_size_other_bytes,
    )
    legacy = write_run(
        models,
        "session9_ppo_20251211_221054",
        eps,
        summary=original_summary(eps),
        legacy=True,
        model_bytes=other,
    )
    both = write_run(models, "session5_ppo_20251210_120000", eps, model_bytes=other)
    shutil.copy(both / "diagnostics" / "diagnostics.jsonl", both / "diagnostics.jsonl")
    os.utime(both / "diagnostics" / "diagnostics.jsonl", (1_600_000_000, 1_600_000_000))
    (models / "session32_final.zip").write_bytes(real)
    (models / "session32_best.zip").write_bytes(other)
    (models / "production.zip").write_bytes(real)
    (models / "session9_final.zip").write_bytes(other)
    lonely = models / "misc" / "session5_copy.zip"
    lonely.parent.mkdir(parents=True)
    lonely.write_bytes(other)
    # The original curriculum wrote trained_models/trained_model.zip beside its artifacts.
    (models / "training_results.json").write_text(json.dumps(original_results()))
    (models / "trained_model.zip").write_bytes(other)
    # The curriculum trainer's run: its results under curriculum_training_results.json.
    curriculum = models / "curriculum_session9_ppo_20251211_173419"
    curriculum.mkdir()
    (curriculum / "trained_model.zip").write_bytes(other)
    (curriculum / "curriculum_training_results.json").write_text(json.dumps(original_results()))
    # A second path to a run folder: the walk does not list it twice, the index falls back.
    (models / "alias").mkdir()
    os.symlink(current, models / "alias" / "session32_ppo_20251215_001549")
    assert legacy.exists()
    return models


def test_index_equals_find_artifacts_for_every_model(tree):
    walk = walk_models(tree)
    index = ArtifactIndex(walk)
    paths = [f.path for f in walk.found if f.error is None]
    assert len(paths) >= 10
    matched = 0
    for path in paths:
        expected = find_artifacts(Path(path), tree)
        found, key = index.for_model(path)
        assert found == expected, path
        assert key == artifacts_key(expected), path
        matched += bool(found)
    assert matched >= 6
    # Answered once per folder where the folder alone decides: the same answers, in walk
    # order and backwards (a folder's first model must not decide for the others wrongly).
    for items in (walk.found, walk.found[::-1]):
        by_folder = ArtifactIndex(walk)
        for item in items:
            if item.error is None:
                assert by_folder.for_found(item) == index.for_model(item.path), item.rel
    # The flat final identical to the run's model has the run's artifacts; the decoy of the
    # same size but other bytes, in a newer run, does not win.
    curriculum, _key = index.for_model(
        os.path.join(tree, "curriculum_session9_ppo_20251211_173419", "trained_model.zip")
    )
    assert curriculum == {
        "training_results": tree
        / "curriculum_session9_ppo_20251211_173419"
        / "curriculum_training_results.json"
    }
    final, _key = index.for_model(os.path.join(tree, "session32_final.zip"))
    assert (
        final["training_results"]
        == tree / "session32_ppo_20251215_001549" / "training_results.json"
    )


def test_remembered_comparisons_are_reused_only_while_both_files_are_unchanged(tree):
    first = ArtifactIndex(walk_models(tree))
    final = os.path.join(tree, "session32_final.zip")
    assert first.for_model(final)[0]
    assert first.new_comparisons >= 1
    memo = json.loads(json.dumps(first.used_comparisons))  # as the cache file keeps it
    again = ArtifactIndex(walk_models(tree), memo)
    assert again.for_model(final)[0] == first.for_model(final)[0]
    assert again.new_comparisons == 0
    # The run's model rewritten with other bytes of the same size: compared again, no match.
    model = tree / "session32_ppo_20251215_001549" / "model.zip"
    raw = model.read_bytes()
    model.write_bytes(raw[:-40] + bytes(b ^ 0x55 for b in raw[-40:]))
    os.utime(model, ns=(1_700_000_000_000_000_123, 1_700_000_000_000_000_123))
    changed = ArtifactIndex(walk_models(tree), memo)
    assert changed.for_model(final) == ({}, [])
    assert changed.new_comparisons >= 1
    assert changed.for_model(final) == (find_artifacts(Path(final), tree), [])


def test_artifact_rewritten_in_place_invalidates_the_cache(tree, tmp_path):
    """Appending to diagnostics.jsonl does not change any folder's mtime: its own stat counts."""
    cfg = tmp_path / "kalshi_tui.toml"
    cfg.write_text(f'[paths]\nmodels_dir = "{tree.name}"\n')
    config = load_config(cfg)
    run = tree / "session32_ppo_20251215_001549"
    first = scan_catalog(config)
    assert scan_catalog(config).read == 0
    before = sum(first.by_path(f"{run.name}/model.zip").metrics.action_histogram.values())
    jsonl = run / "diagnostics" / "diagnostics.jsonl"
    folder_mtime = os.stat(run / "diagnostics").st_mtime_ns
    extra = json.loads(jsonl.read_text().splitlines()[1])
    extra["data"]["episode"] = 99
    added = sum(extra["data"]["action_distribution"].values())
    with open(jsonl, "a") as handle:
        handle.write(json.dumps(extra) + "\n")
    assert os.stat(run / "diagnostics").st_mtime_ns == folder_mtime
    again = scan_catalog(config)
    # The run's model, its checkpoint and the identical flat final (the alias is not walked).
    assert again.read == 3
    after = again.by_path(f"{run.name}/model.zip").metrics.action_histogram
    assert sum(after.values()) == before + added
    assert scan_catalog(config).read == 0


@pytest.mark.slow
def test_worker_read_records_own_their_values_and_come_back_equal_from_the_cache(
    tmp_path, model_zoo
):
    """Workers hand equal values over as one object; each record must still own its lists."""
    from kalshi_tui.core.catalog.scan import inspect_model

    models = tmp_path / "trained_models"
    eps = episode_counts(21, 5)
    for i in range(30):
        run = f"session{i}_ppo_20251215_{i:06d}"
        if i % 3 == 0:
            write_run(
                models,
                run,
                eps,
                summary=original_summary(eps),
                results=original_results(),
                model_bytes=b"replaced below",
            )
        (models / run).mkdir(parents=True, exist_ok=True)
        shutil.copy(model_zoo["ppo21"], models / run / "model.zip")
        (models / run / "checkpoints").mkdir()
        for k in range(9):
            shutil.copy(
                model_zoo["ppo5" if k % 4 == 0 else "ppo21"],
                models / run / "checkpoints" / f"ppo_{k}000_steps.zip",
            )
    cfg = tmp_path / "kalshi_tui.toml"
    cfg.write_text(f'[paths]\nmodels_dir = "{models.name}"\n')
    config = load_config(cfg)
    parallel = scan_catalog(config, use_cache=False)
    assert parallel.read == 300 and sum(r.metrics is not None for r in parallel.records) == 100
    expected = [r.to_dict() for r in parallel.records]
    for record in parallel.records[::29]:
        assert inspect_model(record.abs_path, config).to_dict() == record.to_dict()
    first = parallel.records[0]
    with pytest.raises(AttributeError):  # the values a run's records may share are immutable
        first.warnings.append("edited")
    with pytest.raises(TypeError):
        first.hyperparameters["edited"] = 1
    with pytest.raises(AttributeError):
        first.metrics.notes.append("edited")
    warm = scan_catalog(config)
    assert warm.read == 0 and [r.to_dict() for r in warm.records] == expected


def _reference_zips(root: Path) -> list[str]:
    """Every *.zip under `root` by os.walk (symlinked folders followed once), relative."""
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = os.path.relpath(folder, root)
        for name in files + [d for d in dirs if d.lower().endswith(".zip")]:
            if name.lower().endswith(".zip"):
                found.append(name if rel == "." else f"{rel}/{name}")
        dirs[:] = [d for d in dirs if not d.lower().endswith(".zip") and d != ".kalshi_tui_cache"]
    return found


def test_the_streamed_walk_yields_every_zip_once_and_lists_each_folder_before_its_zips(tmp_path):
    """Names that sort around "/" ("a-b", "a.zip", "a/x.zip"), nested runs, a folder named
    x.zip, artifacts in diagnostics/: each zip once, every folder's listing recorded before
    a zip in it (or in its checkpoints/) comes out, flat finals after the run folders."""
    root = tmp_path / "models"
    names = [
        "a.zip",
        "a-b.zip",
        "a/x.zip",
        "a/b/c.zip",
        "a b/y.zip",
        "ab.zip",
        "A.ZIP",
        "run_1/model.zip",
        "run_1/checkpoints/ppo_1_steps.zip",
        "deep/1/2/3/4/z.zip",
        "run_2/trained_model.zip",
    ]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"PK")
    (root / "folder.zip").mkdir()
    (root / "run_1" / "diagnostics").mkdir()
    (root / "run_1" / "diagnostics" / "diagnostics.jsonl").write_text("{}\n")
    (root / "notes.txt").write_text("not a model")
    walk = walk_models(root)
    expected = sorted(names + ["folder.zip"])
    assert [f.rel for f in walk.found] == expected == sorted(_reference_zips(root))

    streamed = open_walk(root)
    order = []
    for item in streamed.stream():
        folder = os.path.dirname(item.path)
        assert folder in streamed.artifact_entries, item.rel  # listed before it came out
        if os.path.basename(folder) == "checkpoints":
            run = os.path.dirname(folder)
            assert (
                "diagnostics.jsonl" in streamed.artifact_entries[os.path.join(run, "diagnostics")]
            )
        assert streamed.by_path[item.path] is item
        order.append(item.rel)
    assert sorted(order) == expected and len(order) == len(set(order))
    top_level = [rel for rel in order if "/" not in rel]
    assert order[-len(top_level) :] == top_level  # the top folder's own zips come last


def test_a_folder_reached_through_a_symlink_is_shown_at_its_real_path(tmp_path):
    """Whatever the names sort to, the real path wins over a link to the same folder; a link
    to a folder outside the tree is walked once; a link back up is skipped."""
    root = tmp_path / "models"
    real = root / "zz_real_run"
    real.mkdir(parents=True)
    (real / "model.zip").write_bytes(b"PK")
    (root / "aa_alias").symlink_to(real)  # sorts first
    (real / "loop").symlink_to(root)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "m.zip").write_bytes(b"PK")
    (root / "linked_out").symlink_to(outside)
    (root / "linked_out_again").symlink_to(outside)
    walk = walk_models(root)
    assert [f.rel for f in walk.found] == ["linked_out/m.zip", "zz_real_run/model.zip"]


def test_the_walk_estimates_what_is_left_from_the_share_of_top_folders_done(tmp_path):
    root = tmp_path / "models"
    for i in range(8):
        for k in range(5):
            (root / f"run{i}" / "checkpoints").mkdir(parents=True, exist_ok=True)
            (root / f"run{i}" / "checkpoints" / f"c{k}.zip").write_bytes(b"PK")
    walk = open_walk(root)
    stream = walk.stream()
    assert walk.remaining_estimate() is None
    seen = [next(stream) for _ in range(6)]  # the first run folder done, one zip of the next
    assert walk.top_folders == 8 and walk.top_folders_done == 1
    assert walk.remaining_estimate() == 5 * 7 - 1  # seven more folders like the first, less one
    rest = list(stream)
    assert len(seen) + len(rest) == 40 and walk.remaining_estimate() == 0


def test_workers_find_everything_they_use_already_loaded(tmp_path, model_zoo):
    """What a worker imports to read a run with every artifact is in the forkserver's
    preload list (workers._PRELOAD), so each worker forks with it loaded: after importing
    that list, reading such a run loads no new module."""
    import subprocess
    import sys

    eps = episode_counts(21, 6)
    run = write_run(
        tmp_path / "models",
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        results=original_results(),
        model_bytes=model_zoo["ppo21"].read_bytes(),
    )
    shutil.copy(model_zoo["ppo21"], run / "ppo_10000_steps.zip")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kalshi_tui.core.catalog import scan as catalog\n"
        "from kalshi_tui.core.config import load_config\n"
        "config = load_config(Path(sys.argv[1]), models_dir=Path(sys.argv[2]))\n"
        "import importlib\n"
        "from kalshi_tui.core.catalog import workers\n"
        "for name in workers._PRELOAD: importlib.import_module(name)\n"
        "before = set(sys.modules)\n"
        "found = catalog.scan_catalog(config, use_cache=False)\n"
        "assert all(r.metrics and r.metrics.training_start for r in found.records), found.records\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    out = subprocess.run(
        [sys.executable, "-c", script, str(empty), str(tmp_path / "models")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == "[]", out
