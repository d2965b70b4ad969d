"""The catalog on a real models folder: finding, naming, lookups, artifacts and the cache."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from types import MappingProxyType

import pytest
from model_factory import copy_model

from kalshi_tui.core.catalog import cache as catalog_cache
from kalshi_tui.core.catalog.scan import (
    AmbiguousModel,
    ModelNotFound,
    discover_model_files,
    inspect_model,
    name_and_kind,
    scan_catalog,
    sha256_file,
)
from kalshi_tui.core.config import load_config

RUN = "session32_ppo_20251215_001549"


def make_config(root, models, extra: str = ""):
    cfg = root / "kalshi_tui.toml"
    cfg.write_text(f'[paths]\nmodels_dir = "{models.name}"\n{extra}')
    return load_config(cfg)


@pytest.fixture
def layout(tmp_path, model_zoo):
    """The original system's layout: flat finals, run folders, checkpoints, an old run."""
    models = tmp_path / "trained_models"
    copy_model(model_zoo["ppo21"], models / "session32_final.zip")
    copy_model(model_zoo["ppo21"], models / RUN / "model.zip")
    copy_model(model_zoo["a2c21"], models / RUN / "checkpoints" / "ppo_50000_steps.zip")
    copy_model(model_zoo["dqn5"], models / "session9_ppo_20251211_221054" / "trained_model.zip")
    copy_model(model_zoo["ppo21_obs54"], models / "deep" / "er" / "still" / "odd name ü.zip")
    return make_config(tmp_path, models)


def test_discovers_every_zip_at_any_depth(layout):
    rels = [
        p.relative_to(layout.models_dir).as_posix() for p in discover_model_files(layout.models_dir)
    ]
    assert rels == sorted(
        [
            f"{RUN}/checkpoints/ppo_50000_steps.zip",
            f"{RUN}/model.zip",
            "deep/er/still/odd name ü.zip",
            "session32_final.zip",
            "session9_ppo_20251211_221054/trained_model.zip",
        ]
    )


def test_names_and_kinds(layout):
    catalog = scan_catalog(layout)
    got = {r.path: (r.name, r.kind, r.run_dir) for r in catalog.records}
    assert got["session32_final.zip"] == ("session32_final", "final", None)
    assert got[f"{RUN}/model.zip"] == (RUN, "run", RUN)
    assert got[f"{RUN}/checkpoints/ppo_50000_steps.zip"] == (
        f"{RUN}/ppo_50000_steps",
        "checkpoint",
        RUN,
    )
    assert got["session9_ppo_20251211_221054/trained_model.zip"][:2] == (
        "session9_ppo_20251211_221054",
        "run",
    )
    assert name_and_kind("BEST_MODEL/session32_final.zip") == (
        "BEST_MODEL/session32_final",
        "run",
        "BEST_MODEL",
    )


def test_records_carry_zip_facts_and_sha256(layout, model_zoo):
    record = scan_catalog(layout).by_path(f"{RUN}/model.zip")
    assert record.sha256 == sha256_file(model_zoo["ppo21"])
    assert record.size_bytes == model_zoo["ppo21"].stat().st_size
    assert (record.algorithm, record.n_actions, record.obs_shape, record.verdict) == (
        "PPO",
        21,
        (52,),
        "compatible",
    )
    assert record.abs_path == str(layout.models_dir / RUN / "model.zip")


def test_find_by_path_name_fragment_and_absolute(layout):
    catalog = scan_catalog(layout)
    assert catalog.find(f"{RUN}/model.zip").path == f"{RUN}/model.zip"
    assert catalog.find(RUN).path == f"{RUN}/model.zip"  # exact name beats fragments
    assert catalog.find("session9").name == "session9_ppo_20251211_221054"
    assert catalog.find("50000").kind == "checkpoint"
    assert (
        catalog.find(str(layout.models_dir / "session32_final.zip")).path == "session32_final.zip"
    )
    assert catalog.find("ODD NAME").path == "deep/er/still/odd name ü.zip"  # case folded last
    with pytest.raises(AmbiguousModel) as many:
        catalog.find("session32")
    assert "matches 3 models" in str(many.value) and "\n" not in str(many.value)
    with pytest.raises(ModelNotFound) as none:
        catalog.find("session77")
    assert isinstance(none.value, LookupError) and "no model matches" in str(none.value)


def test_warm_scan_reads_nothing_and_returns_equal_records(layout):
    cold = scan_catalog(layout)
    assert cold.read == 5 and cold.from_cache == 0
    warm = scan_catalog(layout)
    assert warm.read == 0 and warm.from_cache == 5
    assert [r.to_dict() for r in warm.records] == [r.to_dict() for r in cold.records]


def test_changed_file_is_read_again(layout, model_zoo):
    scan_catalog(layout)
    target = layout.models_dir / "session32_final.zip"
    shutil.copyfile(model_zoo["ppo5"], target)  # new size and mtime
    again = scan_catalog(layout)
    assert again.read == 1
    assert again.by_path("session32_final.zip").reasons == (
        "legacy 5-action model (environment has 21)",
    )
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size, new mtime
    assert scan_catalog(layout).read == 1


def test_removed_and_added_files(layout, model_zoo):
    scan_catalog(layout)
    (layout.models_dir / "session32_final.zip").unlink()
    copy_model(model_zoo["dqn21"], layout.models_dir / "new_final.zip")
    catalog = scan_catalog(layout)
    assert catalog.read == 1 and catalog.by_path("session32_final.zip") is None
    assert catalog.by_path("new_final.zip").algorithm == "DQN"
    cached = json.loads(catalog_cache.cache_locations(layout)[0].read_text())
    assert "session32_final.zip" not in cached["entries"]


def shared_slots_in_use(cache_doc) -> set[int]:
    """The shared-table slots a saved cache's entries point at (keys' artifacts included)."""
    position = cache_doc["fields"].index(catalog_cache._GROUP_FIELDS[0])
    used = set()
    for key, values in cache_doc["entries"].values():
        if type(key[3]) is int:
            used.add(key[3])
        used.add(values[position])
    return used


def test_saved_cache_keeps_exactly_the_shared_values_in_use(layout, model_zoo, tmp_path):
    """A cold scan writes its shared table as built (every value used); once entries are
    replaced, dropped or re-judged, the values only they used are dropped on saving."""
    path = catalog_cache.cache_locations(layout)[0]

    def check():
        doc = json.loads(path.read_text())
        assert shared_slots_in_use(doc) == set(range(len(doc["shared"])))
        return doc

    scan_catalog(layout)
    check()
    copy_model(model_zoo["ppo21_obs54"], layout.models_dir / RUN / "model.zip")  # replaced
    os.utime(layout.models_dir / RUN / "model.zip", ns=(1, 1))
    (layout.models_dir / "deep" / "er" / "still" / "odd name ü.zip").unlink()  # dropped
    assert "observation has 54 features" in " ".join(
        scan_catalog(layout).by_path(f"{RUN}/model.zip").reasons
    )
    doc = check()
    assert not any("odd name" in rel for rel in doc["entries"])
    five = make_config(
        tmp_path,
        layout.models_dir,
        "[environment]\nposition_sizes = [10]\nn_actions = 5\n"
        "legacy_position_sizes = [5, 10, 20, 50, 100]\nlegacy_n_actions = 21\n",
    )
    assert scan_catalog(five).read == 0  # re-judged from the cache: its reasons replaced
    check()


def test_environment_change_rejudges_cached_records(layout, tmp_path):
    assert (
        scan_catalog(layout).by_path("session9_ppo_20251211_221054/trained_model.zip").verdict
        == "incompatible"
    )
    five = make_config(
        tmp_path,
        layout.models_dir,
        "[environment]\nposition_sizes = [10]\nn_actions = 5\n"
        "legacy_position_sizes = [5, 10, 20, 50, 100]\nlegacy_n_actions = 21\n",
    )
    catalog = scan_catalog(five)
    assert catalog.read == 0  # nothing re-read: only re-judged
    assert catalog.by_path("session9_ppo_20251211_221054/trained_model.zip").verdict == "compatible"
    assert catalog.by_path("session32_final.zip").reasons == (
        "legacy 21-action model (environment has 5)",
    )


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"{not json",
        b"[]",
        json.dumps({"format": "kalshi-tui catalog cache", "version": 999, "entries": {}}).encode(),
        json.dumps(
            {
                "format": "kalshi-tui catalog cache",
                "version": 1,
                "models_dir": "/elsewhere",
                "fingerprint": "",
                "shared": [],
                "entries": {},
            }
        ).encode(),
    ],
)
def test_corrupt_or_foreign_cache_is_ignored_and_rebuilt(layout, garbage):
    path = catalog_cache.cache_locations(layout)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(garbage)
    catalog = scan_catalog(layout)
    assert catalog.read == 5 and all(r.verdict for r in catalog.records)
    assert json.loads(path.read_text())["version"] == catalog_cache.VERSION


def test_cache_entries_with_wrong_shapes_are_reread(layout):
    scan_catalog(layout)
    path = catalog_cache.cache_locations(layout)[0]
    doc = json.loads(path.read_text())
    for entry in doc["entries"].values():
        entry[1] = {"path": 5, "nonsense": True}
    path.write_text(json.dumps(doc))
    catalog = scan_catalog(layout)
    assert catalog.read == 5


def test_unwritable_cache_dir_falls_back_to_the_user_cache(layout, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    config = make_config(tmp_path, layout.models_dir, f'cache_dir = "{blocker.name}/cache"\n')
    assert scan_catalog(config).read == 5
    fallback = catalog_cache.cache_locations(config)[1]
    assert fallback.is_file() and str(fallback).startswith(str(tmp_path / "xdg"))
    assert scan_catalog(config).read == 0


def test_artifact_change_invalidates_the_cached_record(layout):
    pytest.importorskip("kalshi_tui.core.artifacts.find")
    run = layout.models_dir / RUN
    results = run / "training_results.json"
    results.write_text(
        json.dumps(
            {
                "total_timesteps": "10000",
                "portfolio_statistics": {"total_episodes": 40, "unique_markets": 7},
            }
        )
    )
    first = scan_catalog(layout).by_path(f"{RUN}/model.zip")
    assert first.artifacts.get("training_results") == f"{RUN}/training_results.json"
    assert first.metrics is not None and first.metrics.episodes == 40
    results.write_text(
        json.dumps(
            {
                "total_timesteps": "10000",
                "portfolio_statistics": {"total_episodes": 41, "unique_markets": 7},
            }
        )
    )
    again = scan_catalog(layout)
    # The run's model and its checkpoint share the artifacts, and so does the flat final
    # that is a byte-identical copy of the run's model.
    assert again.read == 3
    assert again.by_path(f"{RUN}/model.zip").metrics.episodes == 41
    assert again.by_path("session32_final.zip").metrics.episodes == 41
    assert again.by_path("session9_ppo_20251211_221054/trained_model.zip").metrics is None


def test_artifacts_that_cannot_be_read_keep_their_warning_through_judging(layout, monkeypatch):
    """A reader failure costs the figures, not the model, and the operator is told why."""
    from kalshi_tui.core.catalog import read as catalog_read

    (layout.models_dir / RUN / "training_results.json").write_text("{}")

    def broken(paths, n_actions):
        raise ValueError("bad figures\nsecond line")

    monkeypatch.setattr(catalog_read, "read_training_metrics", broken)
    record = scan_catalog(layout, use_cache=False).by_path(f"{RUN}/model.zip")
    assert record.verdict == "compatible" and record.metrics is None
    assert "training artifacts unreadable: ValueError: bad figures" in record.warnings


def test_no_cache_scan_reads_everything(layout):
    scan_catalog(layout)
    assert scan_catalog(layout, use_cache=False).read == 5


def test_inspect_model_outside_the_folder_and_missing(layout, model_zoo, tmp_path):
    outside = copy_model(model_zoo["ppo21"], tmp_path / "elsewhere" / "x.zip")
    record = inspect_model(outside, layout)
    assert record.verdict == "compatible" and record.path == outside.as_posix()
    missing = inspect_model(tmp_path / "gone.zip", layout)
    assert (missing.verdict, missing.reasons) == ("unreadable", ("file not found",))


def test_missing_models_folder_is_one_line(tmp_path):
    config = make_config(tmp_path, tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as err:
        scan_catalog(config)
    assert "models folder not found" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "first,second",
    [
        ({"a": [1]}, {"a": [1.0]}),
        ({"a": [1]}, {"a": [True]}),
        ({"a": [float("nan")]}, {"a": [None]}),
        ({"a": [float("inf")]}, {"a": [None]}),
        ({"a": [0.0]}, {"a": [-0.0]}),
        ({"a": [10**30]}, {"a": [float(10**30)]}),
        ({"a": {"b": "x"}}, {"a": {"b": "y"}}),
    ],
)
def test_shared_values_are_told_apart_by_value_and_type(first, second):
    """The cache stores equal values once: values that differ (even 1 vs 1.0, NaN vs None)
    never merge."""
    from kalshi_tui.core.catalog.cache import _from_text, _json_text

    assert _json_text(first) != _json_text(second)
    assert _json_text(first) == _json_text(fresh_copy(first))
    assert repr(_from_text(_json_text(first))) == repr(first)  # read back exactly


def fresh_copy(value):
    """An equal value built anew (as a second model's record would be)."""
    import copy

    return copy.deepcopy(value)


def test_cache_text_keeps_nan_and_huge_ints_exactly():
    """orjson writes the cache, except where it would turn NaN into null or refuse a huge int."""
    import math

    for shared, marked in (
        ([{"win_rate": 0.5}, [1, 2]], False),
        ([{"win_rate": float("nan")}], True),
        ([{"seed": 1 << 70}], True),
    ):
        doc = {"format": catalog_cache.FORMAT, "shared": shared, "entries": {}}
        raw = catalog_cache._dump(doc)
        assert (b"needs_json" in raw) is marked
        back = catalog_cache._parse(raw)["shared"]
        if marked and "win_rate" in shared[0]:
            assert math.isnan(back[0]["win_rate"])
        else:
            assert back == shared and type(back[0].get("seed", 0)) is int


def _without_hashes(records):
    return [{**r.to_dict(), "sha256": None} for r in records]


def test_listing_scan_leaves_hashes_for_later_and_the_cache_keeps_them(layout, tmp_path):
    full = scan_catalog(layout, use_cache=False)
    for path in catalog_cache.cache_locations(layout):
        path.unlink(missing_ok=True)
    listing = scan_catalog(layout, hashes=False)
    assert listing.read == 5 and all(r.sha256 is None for r in listing.records)
    assert _without_hashes(listing.records) == _without_hashes(full.records)
    assert listing.ensure_sha256() == 5
    for record in listing.records:
        assert record.sha256 == sha256_file(record.abs_path)
    warm = scan_catalog(layout, hashes=False)  # hashes made after the scan were kept
    assert warm.read == 0 and [r.sha256 for r in warm.records] == [r.sha256 for r in full.records]
    assert listing.ensure_sha256() == 0  # nothing left to hash


def test_full_scan_hashes_what_a_listing_scan_left(layout):
    scan_catalog(layout, hashes=False)
    full = scan_catalog(layout)
    assert full.read == 0 and full.from_cache == 5
    assert all(r.sha256 == sha256_file(r.abs_path) for r in full.records)


def test_a_model_changed_after_the_listing_is_not_hashed_as_the_one_listed(layout):
    listing = scan_catalog(layout, hashes=False)
    record = listing.by_path(f"{RUN}/model.zip")
    with open(record.abs_path, "ab") as handle:
        handle.write(b"appended after the listing")
    assert listing.ensure_sha256([record]) == 0
    assert record.sha256 is None  # the listed facts are of the old bytes: no hash of the new ones
    again = scan_catalog(layout)
    assert again.by_path(f"{RUN}/model.zip").sha256 == sha256_file(record.abs_path)


def test_hashing_from_two_threads_at_once_keeps_the_cache_whole(layout):
    """The TUI hashes the list in one thread while a promotion hashes its model in another."""
    import threading

    listing = scan_catalog(layout, hashes=False)
    start = threading.Barrier(4)

    def hash_all(records):
        start.wait()
        listing.ensure_sha256(records)

    threads = [threading.Thread(target=hash_all, args=(listing.records[i::2],)) for i in (0, 1)]
    threads += [threading.Thread(target=hash_all, args=(listing.records,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    warm = scan_catalog(layout, hashes=False)
    assert warm.read == 0
    assert [r.to_dict() for r in warm.records] == [r.to_dict() for r in listing.records]
    assert all(r.sha256 == sha256_file(r.abs_path) for r in warm.records)


def _assert_immutable(value, where="record"):
    """No list, dict or other mutable container anywhere inside `value`."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return
    assert isinstance(value, (tuple, MappingProxyType)), (where, type(value))
    items = value.items() if isinstance(value, MappingProxyType) else enumerate(value)
    for key, item in items:
        _assert_immutable(item, f"{where}[{key!r}]")


def _assert_record_immutable(record):
    for name in record.__dataclass_fields__:
        if name != "metrics":
            _assert_immutable(getattr(record, name), name)
    if record.metrics is not None:
        for name in record.metrics.__dataclass_fields__:
            _assert_immutable(getattr(record.metrics, name), f"metrics.{name}")
        with pytest.raises(AttributeError):
            record.metrics.episodes = 1  # frozen


def test_a_read_record_comes_back_from_a_row_as_it_went(model_zoo, tmp_path):
    """Scan workers ship a record as its values in field order (plain lists and dicts, which
    pickle): the record made from the row must equal the one read, every value frozen."""
    from kalshi_tui.core.catalog.cache import record_from_row, record_row
    from kalshi_tui.core.catalog.read import read_record

    path = copy_model(model_zoo["ppo21"], tmp_path / "run" / "model.zip")
    st = path.stat()
    record, metrics = read_record(
        path, "run/model.zip", tmp_path, 10 * 1024 * 1024, 64, st, hashes=False
    )
    assert (record.size_bytes, record.mtime, record.n_actions, record.verdict) == (
        st.st_size,
        st.st_mtime,
        21,
        "unreadable",
    )  # not judged yet: judge decides
    row = record_row(record, metrics)
    assert pickle.loads(pickle.dumps(row)) == row
    again = record_from_row(row)
    assert again == record
    _assert_record_immutable(record)
    _assert_record_immutable(again)
    assert again.to_dict() == record.to_dict() == json.loads(json.dumps(record.to_dict()))


def test_every_value_a_record_holds_is_immutable(layout):
    """Records are shared by the TUI's threads, and the models of one run share the values
    they have in common (the cache decodes them once): so no record may hold a list or a
    dict, nested ones included, whichever way it was made."""
    from kalshi_tui.core.model_record import ModelRecord, TrainingMetrics

    for cls in (ModelRecord, TrainingMetrics):
        for name, f in cls.__dataclass_fields__.items():
            assert not str(f.type).startswith(("list", "dict")), (cls.__name__, name)
    made = ModelRecord.from_dict({
        "path": "a.zip", "abs_path": "/m/a.zip", "name": "a", "reasons": ["x"],
        "hyperparameters": {"policy_kwargs": {"net_arch": [64, {"pi": [32]}]}},
        "trader_findings": [["data/x", "calls eval", ["builtins.eval"]]],
        "metrics": {"session_ids": [5], "notes": ["n"], "sources": {"episodes": "f"},
                    "action_histogram": {"0": 3}},
    })
    _assert_record_immutable(made)
    assert made.plain("hyperparameters") == {"policy_kwargs": {"net_arch": [64, {"pi": [32]}]}}
    first = layout.models_dir / "session32_final.zip"
    shutil.copyfile(first, layout.models_dir / "session32_copy.zip")  # alike: one group
    scan_catalog(layout)
    warm = scan_catalog(layout)
    assert warm.read == 0
    for record in warm.records:
        _assert_record_immutable(record)
    one, two = warm.by_path("session32_final.zip"), warm.by_path("session32_copy.zip")
    assert one.pickle_globals is two.pickle_globals  # shared, which is safe: immutable


def test_a_hand_made_cache_entry_nested_too_deep_is_read_again_not_a_crash(layout):
    """The cache is never a source of truth: a group whose values nest ~1,000 deep (orjson
    parses it, freezing it would exhaust the stack) costs a re-read of the files using it."""
    scan_catalog(layout)
    path = catalog_cache.cache_locations(layout)[0]
    doc = json.loads(path.read_text())
    fields = catalog_cache._GROUP_FIELDS
    slot = next(i for i, text in enumerate(doc["shared"])
                if text.startswith("[") and len(json.loads(text)) == len(fields))
    group = json.loads(doc["shared"][slot])
    deep = "[" * 1000 + "1" + "]" * 1000
    group[fields.index("hyperparameters")] = {"gamma": "DEEP"}
    doc["shared"][slot] = json.dumps(group).replace('"DEEP"', deep)
    path.write_text(json.dumps(doc))
    again = scan_catalog(layout)
    assert again.read >= 1 and len(again.records) == 5
    assert all("DEEP" not in json.dumps(r.to_dict()) for r in again.records)
