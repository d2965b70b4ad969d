"""Compare two real models from a folder with known figures: rows, better side, histograms."""

from __future__ import annotations

import json

import pytest
from report_registry import FINAL32, HIST32, RUN9, RUN10, build_registry

from kalshi_tui.core.catalog.scan import scan_catalog
from kalshi_tui.core.config import load_config
from kalshi_tui.core.evidence.compare import compare_models, render_comparison
from kalshi_tui.core.model_record import ModelRecord, TrainingMetrics
from kalshi_tui.eval.results import ValidationResult


@pytest.fixture(scope="module")
def setup(model_zoo, tmp_path_factory):
    config = load_config(build_registry(tmp_path_factory.mktemp("compare"), model_zoo))
    return config, scan_catalog(config)


def validation_for(
    record, config, *, win_rate: float, total_pnl: float, drawdown: float
) -> ValidationResult:
    labels = config.environment.layout.labels
    histogram = [10 * (a + 1) for a in range(21)]
    return ValidationResult(
        model_path=record.path,
        sha256=record.sha256,
        algorithm=record.algorithm,
        n_actions=21,
        session_ids=[5, 6, 7],
        deterministic=True,
        environment_fingerprint="fp",
        sessions_fingerprint="s",
        action_labels=labels,
        histogram=histogram,
        steps=sum(histogram),
        hold_pct=0.4,
        trading_pct=99.6,
        histogram_entropy=0.97,
        mean_policy_entropy=2.9,
        mean_policy_entropy_normalised=0.95,
        episodes=30,
        markets=10,
        win_rate=win_rate,
        total_pnl_cents=total_pnl,
        mean_pnl_cents=total_pnl / 30,
        max_drawdown_cents=drawdown,
        fills=99,
        fees_cents=120.0,
        seconds=1.0,
        steps_per_second=2310.0,
        created_at="2025-12-16T08:00:00Z",
    )


def test_spaces_versions_hyperparameters_and_training_side_by_side(setup):
    config, catalog = setup
    a, b = catalog.find(FINAL32), catalog.find(f"{RUN10}/model.zip")
    comparison = compare_models(a, b, config.environment.layout, {}, environment=config.environment)
    assert (
        comparison.row("spaces", "algorithm").a == "PPO"
        and comparison.row("spaces", "algorithm").b == "DQN"
    )
    space = comparison.row("spaces", "action space")
    assert (space.a, space.b, space.differs) == ("Discrete(21)", "Discrete(21)", False)
    assert comparison.row("spaces", "observation").a == "(52,)"
    assert {r.label for r in comparison.section("versions")} == set(a.versions) | set(b.versions)
    hyper = {r.label: r for r in comparison.section("hyperparameters")}
    assert set(hyper) == set(a.hyperparameters) | set(b.hyperparameters)
    for key, row in hyper.items():
        assert row.a_value == a.plain("hyperparameters").get(key)
        assert row.b_value == b.plain("hyperparameters").get(key)
    markets = comparison.row("training", "unique markets")
    assert (markets.a_value, markets.b_value, markets.better) == (120, 558, "b")
    assert markets.b_source == "training_results.json portfolio_statistics.unique_markets"
    win = comparison.row("training", "win rate")
    assert (win.a, win.b, win.better) == ("35.9 %", "50.0 %", "b")
    assert comparison.row("training", "episodes").a == "1,234"
    assert comparison.row("file", "trained").a == "2025-12-15 05:15 UTC"
    assert comparison.row("validation", "validated").a == "not validated"


def test_histograms_are_labelled_by_the_one_decoder(setup):
    config, catalog = setup
    a, b = catalog.find(FINAL32), catalog.find(f"{RUN10}/model.zip")
    comparison = compare_models(a, b, config.environment.layout, {})
    rows = comparison.histograms["training"]["a"]
    assert "b" not in comparison.histograms["training"]  # session 10 has no diagnostics
    assert [r["label"] for r in rows] == config.environment.layout.labels
    assert [r["count"] for r in rows] == [HIST32[str(i)] for i in range(21)]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)


def test_validation_rows_mark_the_better_side_lower_drawdown_wins(setup):
    config, catalog = setup
    a, b = catalog.find(FINAL32), catalog.find(f"{RUN10}/model.zip")
    validations = {
        a.path: validation_for(a, config, win_rate=0.4, total_pnl=1500.0, drawdown=900.0),
        b.path: validation_for(b, config, win_rate=0.6, total_pnl=-250.0, drawdown=300.0),
    }
    comparison = compare_models(a, b, config.environment.layout, validations)
    assert comparison.row("validation", "win rate").better == "b"
    pnl = comparison.row("validation", "total P&L")
    assert (pnl.a, pnl.b, pnl.better) == ("+15.00 $", "-2.50 $", "a")
    assert comparison.row("validation", "max drawdown").better == "b"
    assert comparison.row("validation", "sessions").a == "5-7"
    assert comparison.row("validation", "win rate").a_source.startswith(
        "validation on sessions 5-7, deterministic"
    )
    assert comparison.histograms["validation"]["b"][20] == {"action": 20, "label": "SELL_NO x100",
                                                            "count": 210, "share": 210 / 2310}
    # Only one side validated: the other says so, nothing is marked better.
    one = compare_models(a, b, config.environment.layout, {a.path: validations[a.path]})
    assert one.row("validation", "validated").b == "not validated"
    assert (
        one.row("validation", "win rate").b == "-"
        and one.row("validation", "win rate").better is None
    )


def test_a_legacy_model_gets_legacy_labels_and_the_text_render_shows_both(setup):
    config, catalog = setup
    final = catalog.find(FINAL32)
    legacy = ModelRecord.from_dict(
        catalog.find(f"{RUN9}/trained_model.zip").to_dict()
    )  # a copy to edit
    legacy.metrics = TrainingMetrics.from_dict(
        {"action_histogram": {"0": 5, "1": 3, "2": 2, "3": 0, "4": 0}}
    )
    comparison = compare_models(
        legacy, final, config.environment.layout, {}, environment=config.environment
    )
    assert [r["label"] for r in comparison.histograms["training"]["a"]] == [
        "HOLD", "BUY_YES x10", "SELL_YES x10", "BUY_NO x10", "SELL_NO x10"]
    assert comparison.row("spaces", "action space").a == "Discrete(5)"
    assert comparison.row("file", "verdict").a == "incompatible"
    assert (
        comparison.row("file", "why").a == "; ".join(legacy.reasons)
        and "5" in comparison.row("file", "why").a
    )
    assert comparison.row("file", "why").b == "-"
    text = render_comparison(comparison)
    assert text.startswith(f"A: {legacy.path}\nB: {FINAL32}\n")
    assert "TRAINING ACTION HISTOGRAM" in text
    assert any(line.split()[:3] == ["1", "BUY_YES", "x10"] for line in text.splitlines())
    assert any(line.split()[:3] == ["20", "SELL_NO", "x100"] for line in text.splitlines())
    data = json.loads(json.dumps(comparison.to_dict(), default=str))
    assert data["a_path"] == legacy.path and any(r["differs"] for r in data["rows"])
