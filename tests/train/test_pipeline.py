"""Real SB3 training through the pipeline: the layout it writes and figures that recount true."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from train_helpers import SimpleTradingEnv, recount

from kalshi_tui.core.config import load_config
from kalshi_tui.train.pipeline import TrainingError, TrainRequest, run_training, train

CONFIG = load_config(Path(__file__).resolve().parents[2] / "kalshi_tui.toml")
ENV_SPEC = CONFIG.environment
AS_OF = datetime(2025, 12, 11, 22, 10, 54, tzinfo=UTC)


def _zip_data(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("data"))


@pytest.fixture(scope="module", params=[21, 5], ids=["21-actions", "5-actions"])
def simple_run(request, tmp_path_factory):
    """A real PPO run on the simple env; one per action count."""
    n = request.param
    out = tmp_path_factory.mktemp(f"runs{n}")
    req = TrainRequest([5], timesteps=1536, n_actions=n, out=out, seed=3, progress=False,
                       checkpoint_every=512, net_arch=(32, 32))
    result = run_training(SimpleTradingEnv(n, favoured=n - 1), ENV_SPEC.layout_for(n), req,
                          environment_info={"total_markets": 3})
    return n, out, result


def test_run_writes_the_original_layout(simple_run):
    n, out, result = simple_run
    assert result.run_dir.parent == out
    assert result.run_dir.name.startswith("session5_ppo_")
    stamp = result.run_dir.name.removeprefix("session5_ppo_")
    datetime.strptime(stamp, "%Y%m%d_%H%M%S")
    names = sorted(
        p.relative_to(result.run_dir).as_posix() for p in result.run_dir.rglob("*") if p.is_file()
    )
    assert names == ["checkpoints/model_1024_steps.zip", "checkpoints/model_1536_steps.zip",
                     "checkpoints/model_512_steps.zip", "diagnostics/diagnostics.jsonl",
                     "diagnostics/diagnostics.log", "diagnostics/training_summary.json",
                     "model.zip", "training_results.json"]
    data = _zip_data(result.model_path)
    assert int(data["action_space"]["n"]) == n
    assert data["num_timesteps"] == 1536


def test_summary_figures_equal_a_recount_of_the_diagnostics(simple_run):
    n, _, result = simple_run
    truth = recount(result.layout.jsonl_path, n)
    summary = json.loads(result.layout.summary_path.read_text())
    results = json.loads(result.layout.results_path.read_text())
    actions = summary["final_statistics"]["action_statistics"]
    assert actions["n_actions"] == n
    assert actions["overall_distribution_by_id"] == {
        str(i): c for i, c in enumerate(truth["histogram"])
    }
    assert sum(actions["overall_distribution"].values()) == truth["total"]
    assert actions["hold_dominance"]["hold_percentage"] == pytest.approx(truth["hold_pct"])
    assert actions["overall_entropy_normalized"] == pytest.approx(truth["entropy"])
    assert actions["exploration_analysis"]["exploration_ratio"] == pytest.approx(
        truth["exploration_ratio"]
    )
    assert (
        truth["episodes"]
        == truth["reward_lines"]
        == results["portfolio_statistics"]["total_episodes"]
    )
    assert truth["episodes"] == summary["final_statistics"]["training_metadata"]["total_episodes"]
    assert results["portfolio_statistics"]["unique_markets"] == truth["unique_markets"] == 3
    outcomes = results["portfolio_statistics"]["dynamics_statistics"]["trading_outcomes"]
    assert outcomes["win_rate"] == pytest.approx(truth["win_rate"])
    # Steps of the episode still open at the end are in no episode line, and said so.
    assert truth["total"] + actions["steps_in_unfinished_episodes"] == results["total_timesteps"]


def test_numbers_are_numbers_and_dates_are_utc(simple_run):
    _, _, result = simple_run
    results = json.loads(result.layout.results_path.read_text())
    assert isinstance(results["total_timesteps"], int)
    assert isinstance(results["training_duration_seconds"], float)
    assert results["training_start"].endswith("Z")
    datetime.fromisoformat(results["training_end"])
    summary = json.loads(result.layout.summary_path.read_text())
    assert summary["completion_time"].endswith("Z")


def test_a_learnt_policy_is_not_uniform(simple_run):
    n, _, result = simple_run
    truth = recount(result.layout.jsonl_path, n)
    # The simple env pays for the last action; a real learner must prefer it.
    assert truth["histogram"][n - 1] == max(truth["histogram"])


def test_as_of_backdates_folder_zip_and_artifacts(tmp_path):
    req = TrainRequest([9], timesteps=256, n_actions=5, out=tmp_path, seed=1, progress=False,
                       checkpoint_every=128, as_of=AS_OF, legacy_layout=True, net_arch=(16,))
    result = run_training(SimpleTradingEnv(5), ENV_SPEC.legacy_layout, req)
    assert result.run_dir.name == "session9_ppo_20251211_221054"
    assert result.model_path.name == "trained_model.zip"
    assert (result.run_dir / "training_summary.json").is_file()  # legacy: diagnostics beside it
    for path in [result.model_path, *result.checkpoints]:
        started = _zip_data(path)["start_time"] / 1e9
        assert abs(started - AS_OF.timestamp()) < 120, path
    assert [p.name for p in result.checkpoints] == [
        "trained_model_128_steps.zip",
        "trained_model_256_steps.zip",
    ]
    results = json.loads(result.layout.results_path.read_text())
    assert results["training_start"].startswith("2025-12-11T22:10:5")
    assert results["backdated"]["as_of"].startswith("2025-12-11T22:10:54")


def test_train_on_the_bundled_sessions(tmp_path):
    req = TrainRequest([10], timesteps=600, n_actions=21, out=tmp_path, seed=0, progress=False,
                       checkpoint_every=0, net_arch=(16,))
    result = train(req, sessions_db=CONFIG.sessions_db, layout=ENV_SPEC.layout)
    results = json.loads(result.layout.results_path.read_text())
    assert results["environment_info"]["total_markets"] >= 2
    assert results["session_ids"] == [10]
    assert not (result.run_dir / "checkpoints").exists()


def _refused(tmp_path: Path, match: str, sessions_db: Path | None = None, **kwargs) -> str:
    request = TrainRequest(**{"session_ids": [5], "timesteps": 100, "out": tmp_path / "out",
                              "progress": False, **kwargs})
    db = sessions_db
    with pytest.raises(TrainingError, match=match) as caught:
        train(
            request,
            sessions_db=db or CONFIG.sessions_db,
            layout=ENV_SPEC.layout_for(request.n_actions),
        )
    message = str(caught.value)
    assert "\n" not in message
    assert not (tmp_path / "out").exists() or not any(
        (tmp_path / "out").iterdir()
    )  # nothing trained
    return message


def test_unknown_session_is_refused_before_training(tmp_path):
    message = _refused(tmp_path, "session 99 not in the store", session_ids=[99])
    assert "sessions.db" in message and "available: 5" in message


def test_bad_stores_are_refused_before_training(tmp_path):
    assert "not found" in _refused(tmp_path, "session store", sessions_db=tmp_path / "none.db")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    assert str(garbage) in _refused(tmp_path, "not a SQLite session store", sessions_db=garbage)
    partial = tmp_path / "partial.db"
    with sqlite3.connect(partial) as db:
        db.execute("CREATE TABLE rl_orderbook_sessions (session_id INTEGER)")
    assert "missing table" in _refused(tmp_path, "missing table", sessions_db=partial)


def test_bad_requests_are_refused(tmp_path):
    _refused(tmp_path, "--actions 7", n_actions=7)
    _refused(tmp_path, "--algorithm dqn", algorithm="dqn")
    _refused(tmp_path, "--timesteps 0", timesteps=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(TrainingError, match="must be a folder"):
        train(TrainRequest([5], out=tmp_path / "file", progress=False),
              sessions_db=CONFIG.sessions_db, layout=ENV_SPEC.layout)


def test_the_catalogs_reader_reads_back_the_same_figures(simple_run):
    """Writer and reader agree: core.artifacts on a fresh run equals the recount."""
    from kalshi_tui.core.artifacts.find import find_artifacts, read_training_metrics

    n, out, result = simple_run
    truth = recount(result.layout.jsonl_path, n)
    for model in [result.model_path, *result.checkpoints]:
        artifacts = find_artifacts(model, out)
        assert set(artifacts) == {"training_summary", "training_results", "diagnostics_jsonl",
                                  "diagnostics_log"}, model
    metrics = read_training_metrics(find_artifacts(result.model_path, out), n)
    assert metrics.action_histogram == {str(i): c for i, c in enumerate(truth["histogram"])}
    assert metrics.episodes == truth["episodes"]
    assert metrics.unique_markets == truth["unique_markets"]
    assert metrics.win_rate == pytest.approx(truth["win_rate"])
    assert metrics.hold_pct == pytest.approx(truth["hold_pct"])
    assert metrics.trading_pct == pytest.approx(100 - truth["hold_pct"])
    assert metrics.entropy == pytest.approx(truth["entropy"])
    assert metrics.exploration_ratio == pytest.approx(truth["exploration_ratio"])
    assert metrics.total_timesteps == 1536
    assert metrics.session_ids == (5,)


def test_same_seed_same_model(tmp_path):
    """Deterministic by seed: two runs on the bundled sessions learn identical weights."""
    import io

    import torch

    def weights(out: Path) -> dict:
        req = TrainRequest([8], timesteps=1200, n_actions=21, out=out, seed=11, progress=False,
                           checkpoint_every=0, net_arch=(16,))
        result = train(req, sessions_db=CONFIG.sessions_db, layout=ENV_SPEC.layout)
        with zipfile.ZipFile(result.model_path) as archive:
            state = torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)
        return state, recount(result.layout.jsonl_path, 21)["histogram"]

    first, first_hist = weights(tmp_path / "a")
    second, second_hist = weights(tmp_path / "b")
    assert first_hist == second_hist
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
