"""Training artifacts: finding them beside a model and reading the original system's files.

Every run here is written in the original format (FORMATS.md section 2) by the helpers in
artifact_files.py, including its known defects: the ln 5 entropy of 21-action summaries,
numbers as strings, zone-less datetimes, truncated and garbage log lines.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # artifact_files.py beside this file

from datetime import UTC

import pytest  # noqa: E402
from artifact_files import (  # noqa: E402
    REFERENCE,
    action_line,
    episode_counts,
    nats,
    original_results,
    original_summary,
    reward_line,
    write_run,
)

from kalshi_tui.core.artifacts.find import (  # noqa: E402
    entropy_normalised,
    find_artifacts,
    read_training_metrics,
    summarise_histogram,
)
from kalshi_tui.core.world.actions import ActionLayout  # noqa: E402

# --- entropy and histograms ---------------------------------------------------------------


def test_entropy_normalised_is_one_implementation_for_dicts_lists_and_arrays():
    np = pytest.importorskip("numpy")
    assert entropy_normalised([4, 4, 4, 4, 4], 5) == pytest.approx(1.0)
    assert entropy_normalised({"0": 10}, 21) == 0.0
    assert entropy_normalised([], 21) == 0.0 and entropy_normalised([3, 3], 1) == 0.0
    counts = [50, 0, 7, 0, 3, 1] + [0] * 15
    expected = nats(counts) / math.log(21)
    as_dict = {str(i): c for i, c in enumerate(counts) if c}
    assert entropy_normalised(counts, 21) == pytest.approx(expected)
    assert entropy_normalised(as_dict, 21) == pytest.approx(expected)
    assert entropy_normalised(np.array(counts), 21) == pytest.approx(expected)
    # Strings as numbers and unreadable entries, as the original files hold them.
    assert entropy_normalised(
        {**{k: str(v) for k, v in as_dict.items()}, "x": 5, "9": "?"}, 21
    ) == pytest.approx(expected)
    # The same counts over 5 vs 21 actions differ exactly by the ln ratio (the original defect).
    assert entropy_normalised([5, 1, 1], 5) * math.log(5) == pytest.approx(
        entropy_normalised([5, 1, 1], 21) * math.log(21)
    )


def test_summarise_histogram_fills_every_id_and_labels_them():
    layout = ActionLayout(
        ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO"), (5, 10, 20, 50, 100)
    )
    summary = summarise_histogram({"0": 30, "3": 10}, 21, layout)
    assert list(summary["counts"]) == [str(i) for i in range(21)]
    assert summary["counts"]["3"] == 10 and summary["counts"]["20"] == 0
    assert summary["total"] == 40 and summary["actions_used"] == 2
    assert summary["hold_pct"] == pytest.approx(75.0) and summary["trading_pct"] == pytest.approx(
        25.0
    )
    assert summary["entropy"] == pytest.approx(entropy_normalised([30, 0, 0, 10], 21))
    assert summary["labels"]["3"] == "BUY_YES x20"
    empty = summarise_histogram([], 5)
    assert empty["hold_pct"] is None and empty["entropy"] is None and len(empty["counts"]) == 5


# --- finding the artifacts ----------------------------------------------------------------


def test_run_folder_and_its_checkpoints_share_artifacts_in_both_layouts(tmp_path):
    models = tmp_path / "trained_models"
    eps = episode_counts(21, 12)
    current = write_run(
        models,
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        results=original_results(),
    )
    legacy = write_run(
        models, "session9_ppo_20251211_221054", eps, summary=original_summary(eps), legacy=True
    )
    (current / "checkpoints").mkdir()
    checkpoint = current / "checkpoints" / "model_5000_steps.zip"
    checkpoint.write_bytes(b"ckpt")

    found = find_artifacts(current / "model.zip", models)
    assert found == {
        "training_summary": current / "diagnostics" / "training_summary.json",
        "training_results": current / "training_results.json",
        "diagnostics_jsonl": current / "diagnostics" / "diagnostics.jsonl",
        "diagnostics_log": current / "diagnostics" / "diagnostics.log",
    }
    assert find_artifacts(checkpoint, models) == found
    old = find_artifacts(legacy / "trained_model.zip", models)
    assert old == {
        "training_summary": legacy / "training_summary.json",
        "diagnostics_jsonl": legacy / "diagnostics.jsonl",
        "diagnostics_log": legacy / "diagnostics.log",
    }


def test_when_both_copies_exist_the_one_written_last_wins(tmp_path):
    run = write_run(tmp_path, "session5_ppo_20251210_120000", episode_counts(5, 3), legacy=False)
    beside = run / "diagnostics.jsonl"
    inside = run / "diagnostics" / "diagnostics.jsonl"
    shutil.copy(inside, beside)
    os.utime(inside, (1_700_000_000, 1_700_000_000))
    assert find_artifacts(run / "model.zip", tmp_path)["diagnostics_jsonl"] == beside
    os.utime(beside, (1_600_000_000, 1_600_000_000))
    assert find_artifacts(run / "model.zip", tmp_path)["diagnostics_jsonl"] == inside
    # A directory with an artifact's name is not an artifact.
    (run / "training_results.json").mkdir()
    assert "training_results" not in find_artifacts(run / "model.zip", tmp_path)


def test_flat_final_is_matched_to_the_run_with_identical_bytes(tmp_path, model_zoo):
    models = tmp_path / "trained_models"
    real = model_zoo["ppo21"].read_bytes()
    same_size_other_bytes = real[:-40] + bytes(b ^ 0xFF for b in real[-40:])
    eps = episode_counts(21, 12)
    decoy = write_run(
        models,
        "session32_ppo_20251216_090000",
        eps,
        results=original_results(),
        model_bytes=same_size_other_bytes,
    )
    other_session = write_run(
        models, "session3_ppo_20251201_000000", eps, results=original_results(), model_bytes=real
    )
    truth = write_run(
        models, "session32_ppo_20251215_001549", eps, results=original_results(), model_bytes=real
    )
    final = models / "session32_final.zip"
    final.write_bytes(real)
    assert find_artifacts(final, models)["training_results"] == truth / "training_results.json"
    assert decoy.exists() and other_session.exists()

    # No identical run model: no artifacts rather than another run's figures.
    lonely = models / "session32_best.zip"
    lonely.write_bytes(model_zoo["ppo5"].read_bytes())
    assert find_artifacts(lonely, models) == {}
    # No session in the name: nothing to match by.
    unnamed = models / "production.zip"
    unnamed.write_bytes(real)
    assert find_artifacts(unnamed, models) == {}
    # Artifacts at the top of the models folder belong to the run model written there
    # (the original curriculum wrote trained_models/trained_model.zip), not to a final.
    (models / "training_results.json").write_text(json.dumps(original_results()))
    (models / "trained_model.zip").write_bytes(b"curriculum model")
    assert set(find_artifacts(models / "trained_model.zip", models)) == {"training_results"}
    assert find_artifacts(unnamed, models) == {}
    assert find_artifacts(final, models)["training_results"] == truth / "training_results.json"


# --- reading the figures ------------------------------------------------------------------


def test_21_action_run_recomputes_the_ln5_summary_figures_from_the_log(tmp_path):
    eps = episode_counts(21, 40)
    run = write_run(
        tmp_path,
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        results=original_results(),
    )
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)

    totals = [sum(ep[a] for ep in eps) for a in range(21)]
    assert metrics.action_histogram == {str(a): totals[a] for a in range(21)}
    assert metrics.entropy == pytest.approx(nats(totals) / math.log(21))
    recent = [nats(ep) / math.log(21) for ep in eps[-10:]]
    assert metrics.exploration_ratio == pytest.approx(sum(recent) / 10)
    # The defective figures really differ, so accepting them would have been caught.
    summary_stats = original_summary(eps)["final_statistics"]["action_statistics"]
    assert abs(summary_stats["overall_entropy"] / math.log(5) - metrics.entropy) > 0.05
    assert metrics.hold_pct == pytest.approx(totals[0] / sum(totals) * 100)
    assert metrics.trading_pct == pytest.approx(100 - metrics.hold_pct)
    assert "diagnostics.jsonl" in metrics.sources["entropy"] and "40" in metrics.sources["entropy"]
    assert "last 10" in metrics.sources["exploration_ratio"]
    assert "hold_percentage" in metrics.sources["hold_pct"]
    assert metrics.sources["trading_pct"].startswith("100 - hold %")
    assert any("ln 5" in n and "recomputed from diagnostics.jsonl" in n for n in metrics.notes)
    assert metrics.episodes == 1204 and metrics.unique_markets == 558
    assert metrics.win_rate == pytest.approx(0.359)
    assert metrics.total_timesteps == 10000 and metrics.training_duration_seconds == pytest.approx(
        406.5
    )
    assert metrics.session_ids == (32,)
    # Zone-less original times read as US Eastern (EST in December: +5 h), precision kept.
    assert metrics.training_start == "2025-12-15T05:15:49.260508Z"
    assert metrics.training_completion == "2025-12-15T05:22:35.948265Z"
    assert any("no time zone" in n and "US Eastern" in n for n in metrics.notes)
    json.dumps(metrics.to_dict())  # the catalog caches it as JSON


def test_21_action_summary_without_a_log_leaves_entropy_blank_and_says_why(tmp_path):
    eps = episode_counts(21, 15)
    run = write_run(tmp_path, "session32_ppo_20251215_001549", None, summary=original_summary(eps))
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    assert metrics.entropy is None and metrics.exploration_ratio is None
    assert metrics.action_histogram is None
    assert metrics.hold_pct is not None and metrics.episodes == 15
    assert any("ln 5" in n and "left blank" in n for n in metrics.notes)


def test_5_action_run_accepts_the_summary_figures(tmp_path):
    eps = episode_counts(5, 30)
    summary = original_summary(eps, session_id=9, ln5_defect=False)
    run = write_run(tmp_path, "session9_ppo_20251211_221054", eps, summary=summary, legacy=True)
    metrics = read_training_metrics(find_artifacts(run / "trained_model.zip", tmp_path), 5)
    stats = summary["final_statistics"]["action_statistics"]
    assert metrics.entropy == pytest.approx(stats["overall_entropy"] / math.log(5))
    assert metrics.exploration_ratio == pytest.approx(
        stats["exploration_analysis"]["exploration_ratio"]
    )
    assert metrics.sources["entropy"].startswith("training_summary.json")
    assert metrics.sources["exploration_ratio"].startswith("training_summary.json")
    assert metrics.action_histogram == {str(a): sum(ep[a] for ep in eps) for a in range(5)}
    assert metrics.session_ids == (9,) and metrics.episodes == 30
    assert not any("ln 5" in n for n in metrics.notes)


def test_numbers_written_as_strings_are_read(tmp_path):
    eps = episode_counts(21, 11)
    run = write_run(
        tmp_path,
        "sessions5_6_7_ppo_20251212_010101",
        None,
        results=original_results(
            total_timesteps="1e4", training_duration_seconds="1.5e2", session_ids="5,6,7"
        ),
    )
    jsonl = run / "diagnostics" / "diagnostics.jsonl"
    lines = []
    for e, counts in enumerate(eps):
        entry = json.loads(action_line(e, counts))
        entry["data"]["action_distribution"] = {
            k: str(v) for k, v in entry["data"]["action_distribution"].items()
        }
        entry["data"]["n_actions"] = "21"
        lines.append(json.dumps(entry))
    jsonl.write_text("\n".join(lines) + "\n")
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), None)
    assert metrics.total_timesteps == 10000 and metrics.training_duration_seconds == 150.0
    assert metrics.session_ids == (5, 6, 7) and metrics.unique_markets == 558
    assert metrics.action_histogram == {str(a): sum(ep[a] for ep in eps) for a in range(21)}
    assert metrics.entropy == pytest.approx(entropy_normalised(metrics.action_histogram, 21))
    assert any("action count unknown" in n for n in metrics.notes)


def test_win_rate_falls_back_to_outcome_counts_and_markets_to_the_environment(tmp_path):
    results = original_results()
    outcomes = results["portfolio_statistics"]["dynamics_statistics"]["trading_outcomes"]
    del outcomes["win_rate"], results["portfolio_statistics"]["unique_markets"]
    run = write_run(tmp_path, "session10_ppo_20251212_000000", None, results=results)
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    assert metrics.win_rate == pytest.approx(359 / 1000)
    assert "positive / (positive + negative + neutral)" in metrics.sources["win_rate"]
    assert metrics.unique_markets == 600 and "environment_info" in metrics.sources["unique_markets"]


def test_truncated_last_line_and_garbage_lines_are_skipped_and_counted(tmp_path):
    eps = episode_counts(21, 14)
    garbage = [
        '{"data": {"category": "action_summary", "action_distribution": {"0": 5',
        "not json at all",
        '\x00\x01binary "action_summary" junk',
        json.dumps(
            {"data": {"category": "action_summary", "action_distribution": {"0": "x", "1": 2}}}
        ),
    ]
    run = write_run(
        tmp_path,
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        extra_lines=garbage,
    )
    jsonl = run / "diagnostics" / "diagnostics.jsonl"
    with open(jsonl, "a") as handle:  # a run killed mid-write
        handle.write(action_line(99, [1000] * 21)[:-25])
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    totals = [sum(ep[a] for ep in eps) for a in range(21)]
    totals[1] += 2  # the last garbage line's readable count is kept, its bad one dropped
    assert metrics.action_histogram == {str(a): totals[a] for a in range(21)}
    text = "\n".join(metrics.notes)
    assert "diagnostics.jsonl: last line is truncated" in text
    assert "2 action_summary line(s) not valid JSON" in text
    assert "1 action count(s) with an unreadable id or count" in text


def test_malformed_artifacts_never_raise_and_name_the_file(tmp_path):
    run = tmp_path / "session1_ppo_20251201_000000"
    (run / "diagnostics").mkdir(parents=True)
    (run / "model.zip").write_bytes(b"zip")
    (run / "training_results.json").write_text('["a", "list"]')
    (run / "diagnostics" / "training_summary.json").write_text('{"final_statistics": {"action_st')
    (run / "diagnostics" / "diagnostics.jsonl").write_bytes(b"")
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    assert metrics is not None and metrics.episodes is None and metrics.entropy is None
    assert any(n.startswith("training_results.json: holds a JSON list") for n in metrics.notes)
    assert any(n.startswith("training_summary.json: not valid JSON") for n in metrics.notes)
    assert all("\n" not in n for n in metrics.notes)

    wrong_types = original_results(
        portfolio_statistics="oops",
        session_ids={"a": 1},
        total_timesteps=[1],
        training_start=12345678901234567890,
    )
    (run / "training_results.json").write_text(json.dumps(wrong_types))
    (run / "diagnostics" / "training_summary.json").write_text(
        json.dumps(
            {
                "final_statistics": {
                    "action_statistics": {
                        "hold_dominance": {"hold_percentage": "250"},
                        "overall_entropy": "nan",
                    }
                },
                "completion_time": "yesterday",
            }
        )
    )
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    assert metrics.hold_pct is None and metrics.total_timesteps is None and metrics.episodes is None
    assert metrics.unique_markets == 600  # what can be read still is
    assert metrics.training_start is None  # an epoch number in the year 2361 is not a time
    assert any("hold_percentage 250" in n for n in metrics.notes)
    assert any("'yesterday' is not a readable time" in n for n in metrics.notes)
    assert read_training_metrics({}, 21) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_artifact_becomes_a_note(tmp_path):
    run = write_run(
        tmp_path, "session2_ppo_20251202_000000", episode_counts(5, 3), results=original_results()
    )
    (run / "training_results.json").chmod(0)
    (run / "diagnostics" / "diagnostics.jsonl").chmod(0)
    try:
        metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 5)
    finally:
        (run / "training_results.json").chmod(0o644)
        (run / "diagnostics" / "diagnostics.jsonl").chmod(0o644)
    assert any(n.startswith("training_results.json: cannot be read") for n in metrics.notes)
    assert any(n.startswith("diagnostics.jsonl: cannot be read") for n in metrics.notes)


def test_real_curriculum_results_file_is_read_leniently(tmp_path):
    source = REFERENCE / "first_curriculum_results.json"
    real = json.loads(source.read_text())
    run = tmp_path / "curriculum_session9_ppo_20251211_173419"
    run.mkdir()
    (run / "model.zip").write_bytes(b"zip")
    # Under the name the original's curriculum trainer gave it; read like training_results.json.
    shutil.copy(source, run / "curriculum_training_results.json")
    artifacts = find_artifacts(run / "model.zip", tmp_path)
    assert artifacts == {"training_results": run / "curriculum_training_results.json"}
    metrics = read_training_metrics(artifacts, 21)
    markets = real["market_results"].values()
    assert metrics.episodes == sum(m["portfolio_statistics"]["total_episodes"] for m in markets)
    assert metrics.unique_markets == 473 == real["total_markets"]
    assert metrics.total_timesteps == sum(int(m["timesteps_trained"]) for m in markets)
    assert metrics.training_duration_seconds == pytest.approx(real["total_duration"])
    assert metrics.session_ids == (9,)
    assert metrics.training_start == "2025-12-11T22:34:19.012059Z"
    assert metrics.win_rate is None and metrics.entropy is None
    assert metrics.sources["episodes"].startswith(
        "curriculum_training_results.json (summed over 473"
    )
    assert metrics.sources["unique_markets"] == "curriculum_training_results.json total_markets"
    assert any(
        n.startswith(
            "curriculum_training_results.json: training_start '2025-12-11 "
            "17:34:19.012059' has no time zone; read as US Eastern"
        )
        for n in metrics.notes
    )
    # A run that has both files: training_results.json is the run's own.
    (run / "training_results.json").write_text(json.dumps({"total_timesteps": 5}))
    assert find_artifacts(run / "model.zip", tmp_path) == {
        "training_results": run / "training_results.json"
    }


def test_reading_artifacts_imports_no_torch_or_sb3(tmp_path):
    """The catalog reads artifacts while listing, which must stay light."""
    import subprocess
    import sys

    eps = episode_counts(21, 12)
    run = write_run(
        tmp_path,
        "session32_ppo_20251215_001549",
        eps,
        summary=original_summary(eps),
        results=original_results(),
    )
    code = (
        "import sys; from pathlib import Path; "
        "from kalshi_tui.core.artifacts.find import find_artifacts, read_training_metrics; "
        f"m = read_training_metrics(find_artifacts(Path({str(run / 'model.zip')!r}), "
        f"Path({str(tmp_path)!r})), 21); "
        "print(m.episodes, sorted(k for k in ('torch', 'stable_baselines3', 'textual') "
        "if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["1204", "[]"]


def test_a_log_without_episode_lines_cannot_fix_the_ln5_figures(tmp_path):
    eps = episode_counts(21, 12)
    run = write_run(tmp_path, "session32_ppo_20251215_001549", None, summary=original_summary(eps))
    (run / "diagnostics" / "diagnostics.jsonl").write_text(reward_line(0) + "\n")
    metrics = read_training_metrics(find_artifacts(run / "model.zip", tmp_path), 21)
    assert metrics.entropy is None and metrics.exploration_ratio is None
    assert any(
        "has no episode action counts to recompute from; left blank" in n for n in metrics.notes
    )
    # The summary's hold % is right whatever the action count, so it is still shown.
    assert metrics.hold_pct is not None and metrics.trading_pct == pytest.approx(
        100 - metrics.hold_pct
    )


def test_artifacts_that_vanish_or_turn_into_folders_before_reading_become_notes(tmp_path):
    """The catalog finds artifacts, then reads them; a run being pruned in between must not
    crash it."""
    eps = episode_counts(5, 4)
    run = write_run(
        tmp_path,
        "session2_ppo_20251202_000000",
        eps,
        summary=original_summary(eps, ln5_defect=False),
        results=original_results(),
    )
    artifacts = find_artifacts(run / "model.zip", tmp_path)
    (run / "training_results.json").unlink()
    (run / "diagnostics" / "diagnostics.jsonl").unlink()
    (run / "diagnostics" / "diagnostics.jsonl").mkdir()
    metrics = read_training_metrics(artifacts, 5)
    assert any(n.startswith("training_results.json: cannot be read") for n in metrics.notes)
    assert any(n.startswith("diagnostics.jsonl: cannot be read") for n in metrics.notes)
    assert metrics.episodes == 4 and metrics.sources["episodes"].startswith("training_summary.json")
    assert metrics.action_histogram == {str(a): sum(ep[a] for ep in eps) for a in range(5)}
    assert "overall_distribution (by name)" in metrics.sources["action_histogram"]


def test_times_are_written_as_strftime_wrote_them_for_any_year():
    """The ISO text of a time comes from isoformat where that gives strftime's text (four-digit
    years), from strftime elsewhere: both, with and without a fraction, for random moments."""
    import random
    from datetime import datetime

    from kalshi_tui.core.artifacts.values import _format

    rng = random.Random(7)
    for _ in range(5000):
        moment = datetime(
            rng.randint(1, 9999),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice([0, rng.randint(0, 999_999)]),
            tzinfo=UTC,
        )
        for fraction in (True, False):
            expected = moment.strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ"
            )
            assert _format(moment, fraction) == expected, (moment, fraction)


def test_a_training_file_over_the_size_limit_is_not_read_and_says_so(tmp_path, monkeypatch):
    from kalshi_tui.core.artifacts import values as artifacts_values

    monkeypatch.setattr(artifacts_values, "MAX_JSON_BYTES", 50)
    notes: list[str] = []
    big, small = tmp_path / "training_summary.json", tmp_path / "training_results.json"
    big.write_text(json.dumps({"pad": "x" * 90}))
    small.write_text(json.dumps({"total_timesteps": 5}))
    assert artifacts_values.load_json_file(big, notes) is None
    assert notes == [
        f"training_summary.json: {big.stat().st_size:,} bytes, over the 50 a "
        "training file can be; not read"
    ]
    assert artifacts_values.load_json_file(str(small), notes) == {"total_timesteps": 5}
    monkeypatch.undo()  # a folder's own size is past 50
    folder = tmp_path / "diagnostics.json"
    folder.mkdir()
    assert artifacts_values.load_json_file(folder, notes) is None
    assert notes[-1].startswith("diagnostics.json: cannot be read (")


def test_the_long_digit_check_finds_what_the_regex_finds():
    """Training files with a run of 19 digits go to json (orjson would read a big int as a
    float); the run is found by translate and a substring search, as [0-9]{19} finds it."""
    import random
    import re

    from kalshi_tui.core.artifacts.values import _DIGITS_ONLY, _LONG_DIGITS

    regex = re.compile(rb"[0-9]{19}")
    rng = random.Random(5)
    for _ in range(5000):
        raw = bytes(
            rng.choice(b"0123456789.e-\x00\xff\xd9\xb2 ")
            if rng.random() < 0.3
            else rng.choice(b"0123456789")
            for _ in range(rng.randint(0, 60))
        )
        assert (regex.search(raw) is not None) == (_LONG_DIGITS in raw.translate(_DIGITS_ONLY)), raw
