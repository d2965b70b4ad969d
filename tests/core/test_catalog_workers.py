"""The catalog's worker processes: many new files read by a forkserver's workers give the
records a serial read gives, in walk order, each owning its values; no worker outlives its
scan; and the TUI's captured stderr never loses the models."""

from __future__ import annotations

import json

import pytest
from model_factory import copy_model

from kalshi_tui.core.catalog import cache as catalog_cache
from kalshi_tui.core.catalog.scan import inspect_model, scan_catalog
from kalshi_tui.core.config import load_config


def make_config(root, models, extra: str = ""):
    cfg = root / "kalshi_tui.toml"
    cfg.write_text(f'[paths]\nmodels_dir = "{models.name}"\n{extra}')
    return load_config(cfg)


def many_models(tmp_path, model_zoo, count: int):
    """A config over `count` run folders of mixed models: past the scan's parallel threshold."""
    models = tmp_path / "many"
    names = ["ppo21", "ppo5", "a2c21", "dqn21", "ppo_box"]
    for i in range(count):
        copy_model(model_zoo[names[i % len(names)]], models / f"run{i:03d}" / "model.zip")
    return make_config(tmp_path, models)


@pytest.mark.slow
def test_many_files_read_in_worker_processes_match_serial(tmp_path, model_zoo):
    """Past the parallel threshold the scan forks workers; records must equal serial reads."""
    config = many_models(tmp_path, model_zoo, 300)
    parallel = scan_catalog(config, use_cache=False)
    assert parallel.read == 300
    for record in parallel.records[::37]:
        assert inspect_model(record.abs_path, config).to_dict() == record.to_dict()
    verdicts = {r.path: r.verdict for r in parallel.records}
    assert (
        verdicts["run001/model.zip"] == "incompatible"
        and verdicts["run000/model.zip"] == "compatible"
    )


@pytest.mark.slow
def test_a_scan_stops_its_workers_before_it_returns(tmp_path, model_zoo):
    """No worker process outlives the scan that started it, and the next scan's workers
    give the same records."""
    import multiprocessing

    config = many_models(tmp_path, model_zoo, 300)
    first = scan_catalog(config, use_cache=False)
    assert first.read == 300
    assert [p for p in multiprocessing.active_children() if p.is_alive()] == []
    second = scan_catalog(config, use_cache=False)
    assert [r.to_dict() for r in second.records] == [r.to_dict() for r in first.records]


@pytest.mark.slow
def test_a_rescan_mixing_cached_unreadable_and_worker_read_files_keeps_walk_order(
    tmp_path, model_zoo
):
    """Workers start while the scan is still looking files up in the cache: the records must
    still come back in walk order, each the one its file gives, whatever answered it."""
    import os

    config = many_models(tmp_path, model_zoo, 600)
    first = scan_catalog(config)
    assert first.read == 600
    models = config.models_dir
    changed = [f"run{i:03d}/model.zip" for i in range(0, 600, 2)]  # half of them, spread out
    for rel in changed:
        target = models / rel
        target.write_bytes(target.read_bytes())
        os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    (models / "run301" / "model.zip").unlink()
    (models / "run301" / "model.zip").mkdir()  # an unreadable one among the read ones
    again = scan_catalog(config)
    assert again.read == len(changed) + 1 and again.from_cache == 299
    assert [r.path for r in again.records] == sorted(r.path for r in again.records)
    by_path = {r.path: r for r in again.records}
    assert by_path["run301/model.zip"].verdict == "unreadable"
    assert "is a directory" in by_path["run301/model.zip"].reasons[0]
    for rel in [
        "run000/model.zip",
        "run001/model.zip",
        "run298/model.zip",
        "run303/model.zip",
        "run599/model.zip",
        "run598/model.zip",
    ]:
        assert by_path[rel].to_dict() == inspect_model(models / rel, config).to_dict()
    assert [r.to_dict() for r in scan_catalog(config).records] == [
        r.to_dict() for r in again.records
    ]


@pytest.mark.slow
@pytest.mark.parametrize("prepared", [True, False])
def test_workers_come_from_a_forkserver_and_a_captured_stderr_never_loses_the_models(
    tmp_path, model_zoo, prepared
):
    """With another thread alive (the TUI's workers) the scan's workers come from a clean
    single-threaded forkserver (spawned where there is none), never forked from this process.
    With sys.stderr captured as the TUI has it (fileno -1) the forkserver's helper cannot
    start ("bad value(s) in fds_to_keep"): the TUI starts them first (start_helpers), and a
    scan that finds them not started reads its files in this process instead."""
    import subprocess
    import sys

    config = many_models(tmp_path, model_zoo, 260)
    expected = {r.path: r.to_dict() for r in scan_catalog(config, use_cache=False).records[::50]}
    script = tmp_path / "spawned_scan.py"  # the forkserver imports the main module: a real file
    script.write_text(
        "import json, sys, threading\n"
        "from pathlib import Path\n"
        "from unittest import mock\n"
        "from kalshi_tui.core.catalog import scan as catalog\n"
        "from kalshi_tui.core.config import load_config\n"
        "class Captured:  # as Textual's stand-in for sys.stderr while the TUI runs\n"
        "    def write(self, text): return len(text)\n"
        "    def flush(self): pass\n"
        "    def fileno(self): return -1\n"
        "if __name__ == '__main__':\n"
        "    done = threading.Event(); threading.Thread(target=done.wait).start()\n"
        f"    if {prepared}: catalog.start_helpers()\n"
        "    sys.stderr = Captured()\n"
        "    import multiprocessing\n"
        "    real = multiprocessing.get_context\n"
        "    used = []\n"
        "    spy = lambda m=None: used.append(m) or real(m)\n"
        "    with mock.patch.object(multiprocessing, 'get_context', spy):\n"
        "        found = catalog.scan_catalog(load_config(Path(sys.argv[1])), use_cache=False)\n"
        "    done.set()\n"
        "    print(json.dumps({'method': used, 'read': found.read,\n"
        "                      'records': {r.path: r.to_dict() for r in found.records[::50]}}))\n"
    )
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "kalshi_tui.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout)
    method = "forkserver" if sys.platform != "win32" else "spawn"
    assert got["method"] == ([method] if prepared or sys.platform == "win32" else [])
    assert got["read"] == 260
    assert got["records"] == json.loads(json.dumps(expected))


def test_records_from_one_row_are_equal_and_can_change_only_by_being_given_new_values(
    model_zoo, tmp_path
):
    """Workers hand a run's equal values over as one row; records built from it hold frozen
    values, so changing one record (a new tuple for its warnings) never changes another or
    the row."""
    from kalshi_tui.core.catalog.scan import inspect_model

    (tmp_path / "empty.toml").write_text("")
    config = load_config(tmp_path / "empty.toml", models_dir=model_zoo["ppo21"].parent)
    record = inspect_model(model_zoo["ppo21"], config)
    record.warnings += ("a warning",)
    row = catalog_cache.record_row(record, None)
    first, second = catalog_cache.record_from_row(row), catalog_cache.record_from_row(row)
    assert first == second == record
    first.warnings += ("only the first",)
    for change in (
        lambda: first.pickle_globals.append("only.first"),
        lambda: first.hyperparameters.__setitem__("only", "first"),
        lambda: first.versions.__setitem__("only", "first"),
    ):
        with pytest.raises((AttributeError, TypeError)):
            change()
    assert second == record and row == catalog_cache.record_row(record, None)
