"""`kalshi-tui list` and `show` on a real models folder: JSON shape, table, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from model_factory import copy_model

from kalshi_tui.cli import main

RUN = "session32_ppo_20251215_001549"
LIST_FIELDS = {"path", "name", "algorithm", "n_actions", "obs_shape", "verdict", "reasons",
               "warnings", "sha256", "size_bytes", "trained_at", "num_timesteps", "metrics"}


@pytest.fixture
def models(tmp_path, model_zoo):
    root = tmp_path / "trained_models"
    copy_model(model_zoo["ppo21"], root / RUN / "model.zip")
    copy_model(model_zoo["ppo21"], root / RUN / "checkpoints" / "ppo_20000_steps.zip")
    copy_model(model_zoo["ppo5"], root / "session9_ppo_20251211_221054" / "trained_model.zip")
    copy_model(model_zoo["ppo21_obs54"], root / "obs54_final.zip")
    copy_model(model_zoo["ppo_multidiscrete"], root / "md_final.zip")
    (root / "broken.zip").write_bytes(b"not a zip at all")
    (root / RUN / "training_results.json").write_text(
        json.dumps(
            {
                "training_completed": True,
                "total_timesteps": "1003520",
                "algorithm": "PPO",
                "portfolio_statistics": {
                    "total_episodes": "73015",
                    "unique_markets": 558,
                    "dynamics_statistics": {"trading_outcomes": {"win_rate": 0.359}},
                },
            }
        )
    )
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    return root, ["--config", str(empty), "--models-dir", str(root)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_has_every_field_and_verdict(models, capsys):
    root, opts = models
    code, out, err = run(capsys, "list", "--json", *opts)
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and len(records) == 6
    for record in records:
        assert LIST_FIELDS <= set(record), record["path"]
    by_path = {r["path"]: r for r in records}
    good = by_path[f"{RUN}/model.zip"]
    assert (good["verdict"], good["algorithm"], good["n_actions"], good["obs_shape"]) == (
        "compatible",
        "PPO",
        21,
        [52],
    )
    assert (
        len(good["sha256"]) == 64
        and good["trained_at"].endswith("Z")
        and good["num_timesteps"] == 64
    )
    assert by_path["session9_ppo_20251211_221054/trained_model.zip"]["reasons"] == \
        ["legacy 5-action model (environment has 21)"]
    assert by_path["obs54_final.zip"]["reasons"] == ["observation has 54 features, environment 52"]
    assert by_path["md_final.zip"]["reasons"] == [
        "action space is MultiDiscrete, environment Discrete(21)"
    ]
    broken = by_path["broken.zip"]
    assert (broken["verdict"], broken["reasons"], broken["n_actions"], broken["sha256"]) == \
        ("unreadable", ["not a zip file"], None, None)


def test_list_json_carries_training_metrics(models, capsys):
    pytest.importorskip("kalshi_tui.core.artifacts.find")
    _, opts = models
    records = {r["path"]: r for r in json.loads(run(capsys, "list", "--json", *opts)[1])}
    metrics = records[f"{RUN}/model.zip"]["metrics"]
    assert metrics["episodes"] == 73015 and metrics["unique_markets"] == 558
    assert metrics["win_rate"] == pytest.approx(0.359)
    assert records[f"{RUN}/checkpoints/ppo_20000_steps.zip"]["metrics"]["episodes"] == 73015
    assert records["obs54_final.zip"]["metrics"] is None


def test_plain_list_is_an_aligned_table_with_badges_and_no_colour(models, capsys):
    _, opts = models
    code, out, _ = run(capsys, "list", *opts)
    assert code == 0 and "\033[" not in out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["BADGE", "NAME", "ALGO"]
    badges = {line.split("  ")[0].strip() for line in lines[1:-1]}
    assert badges == {"OK", "LEGACY 5-ACT", "OBS 54", "MULTIDISCRETE", "UNREADABLE"}
    name_column = lines[0].index("NAME")
    assert all(line[name_column - 2:name_column] == "  " for line in lines[1:-1])
    assert lines[-1] == "6 models: 2 compatible, 3 incompatible, 1 unreadable, 0 unsafe"


def test_show_by_fragment_and_json(models, capsys):
    _, opts = models
    code, out, _ = run(capsys, "show", "session9", *opts)
    assert code == 0
    assert (
        "[LEGACY 5-ACT]" in out
        and "reason:        legacy 5-action model (environment has 21)" in out
    )
    code, out, _ = run(capsys, "show", f"{RUN}/model.zip", "--json", *opts)
    shown = json.loads(out)
    assert code == 0 and shown["path"] == f"{RUN}/model.zip" and shown["verdict"] == "compatible"


def test_show_unknown_or_ambiguous_is_one_line_exit_1(models, capsys):
    _, opts = models
    code, out, err = run(capsys, "show", "nothing-like-this", *opts)
    assert (
        code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "no model matches" in err
    )
    code, _, err = run(capsys, "show", "final", *opts)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "matches 2 models" in err


def test_missing_models_dir_is_one_line_exit_1(tmp_path, capsys):
    empty = tmp_path / "e.toml"
    empty.write_text("")
    code, out, err = run(
        capsys, "list", "--config", str(empty), "--models-dir", str(tmp_path / "nope")
    )
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "models folder not found" in err


def test_list_never_imports_torch_or_sb3(models):
    _, opts = models
    code = (
        "import sys; from kalshi_tui.cli import main; "
        f"rc = main(['list', '--json', *{opts!r}]); "
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'stable_baselines3', 'numpy', 'gymnasium', 'textual')), rc, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == "HEAVY [] 0"
    assert len(json.loads(out.stdout)) == 6


def test_no_cache_rereads(models, capsys):
    _, opts = models
    first = json.loads(run(capsys, "list", "--json", *opts)[1])
    again = json.loads(run(capsys, "list", "--json", "--no-cache", *opts)[1])
    assert first == again


def test_list_json_is_each_records_to_dict_whether_read_or_cached(models, capsys):
    """The line-per-model output (and the cached records behind it) equal `to_dict` of a fresh
    read."""
    from kalshi_tui.cli import build_parser
    from kalshi_tui.cli.common import config_from_args
    from kalshi_tui.core.catalog.scan import scan_catalog

    root, opts = models
    fresh = scan_catalog(
        config_from_args(build_parser().parse_args(["list", *opts])), use_cache=False
    )
    expected = json.loads(json.dumps([r.to_dict() for r in fresh.records], default=str))
    assert any(r["metrics"] for r in expected)
    for _ in range(2):  # the first listing reads and caches, the second answers from the cache
        code, out, _err = run(capsys, "list", "--json", *opts)
        # beside each record, its stored policy health (none checked here)
        assert code == 0 and json.loads(out) == [{**r, "health": None} for r in expected]


def test_table_lists_without_hashing_and_json_hashes_every_readable_model(models, capsys):
    """The table shows no sha256, so it reads no file whole; --json then adds the hashes."""
    from kalshi_tui.core.catalog.scan import sha256_file

    root, opts = models
    code, out, _err = run(capsys, "list", *opts)
    assert code == 0 and "6 models" in out
    cache_text = next((root / ".kalshi_tui_cache").glob("catalog.json")).read_text()
    assert sha256_file(root / RUN / "model.zip") not in cache_text
    code, out, _err = run(capsys, "list", "--json", *opts)
    by_path = {r["path"]: r for r in json.loads(out)}
    for path, record in by_path.items():
        expected = None if record["verdict"] == "unreadable" else sha256_file(root / path)
        assert record["sha256"] == expected, path
    code, out, _err = run(capsys, "show", "obs54", *opts)
    assert sha256_file(root / "obs54_final.zip") in out
