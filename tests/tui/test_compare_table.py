"""The compare screen's table takes figures, wording and "which is better" from the core.

Lower is better for drawdown and fees, and rank 1 beats rank 2: a table that bolded the
higher figure everywhere would recommend the riskier model.
"""

from __future__ import annotations

import pytest
from report_registry import FINAL32, RUN10, build_registry
from tui_support import FROZEN_NOW

from kalshi_tui.core.catalog.scan import scan_catalog
from kalshi_tui.core.config import load_config
from kalshi_tui.core.evidence.ranking import rank_models, ranking_by_path
from kalshi_tui.eval.results import ValidationResult
from kalshi_tui.tui.screens.compare import compare_table


@pytest.fixture(scope="module")
def setup(model_zoo, tmp_path_factory):
    config = load_config(build_registry(tmp_path_factory.mktemp("compare_tui"), model_zoo))
    return config, scan_catalog(config)


def validation(
    record, config, *, win_rate: float, total_pnl: float, drawdown: float
) -> ValidationResult:
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
        action_labels=config.environment.layout.labels,
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


def cells(table) -> dict[str, tuple]:
    """label -> (left Text, right Text), as the table holds them."""
    labels = [str(c) for c in table.columns[0]._cells]
    return {label: (table.columns[1]._cells[i], table.columns[2]._cells[i])
            for i, label in enumerate(labels)}


def is_bold_green(text) -> bool:
    return any(str(span.style) == "bold green" for span in text.spans)


def test_lower_drawdown_and_better_rank_are_the_bold_ones(setup):
    config, catalog = setup
    a, b = catalog.find(FINAL32), catalog.find(f"{RUN10}/model.zip")
    validations = {a.path: validation(a, config, win_rate=0.4, total_pnl=1500.0, drawdown=900.0),
                   b.path: validation(b, config, win_rate=0.6, total_pnl=-250.0, drawdown=300.0)}
    ranking = ranking_by_path(rank_models(catalog.records, validations=validations, now=FROZEN_NOW))
    table = cells(compare_table(a, b, {}, validations, config.environment, ranking))

    left, right = table["validated max drawdown"]
    assert (left.plain, right.plain) == ("9.00 $", "3.00 $")
    assert is_bold_green(right) and not is_bold_green(left)  # lower is better
    left, right = table["validated total P&L"]
    assert is_bold_green(left) and not is_bold_green(right)  # higher is better
    left, right = table["validated fees"]
    assert not is_bold_green(left) and not is_bold_green(right)  # equal: neither
    left, right = table["markets"]
    assert is_bold_green(right) and not is_bold_green(left)  # 558 over 120
    rank_a, rank_b = ranking[a.path].rank, ranking[b.path].rank
    left, right = table["rank"]
    assert rank_a is not None and rank_b is not None and rank_a != rank_b
    assert is_bold_green(left if rank_a < rank_b else right)
    assert not is_bold_green(right if rank_a < rank_b else left)
    # Wording from the core's comparison, the one `kalshi-tui compare` prints.
    assert table["win rate"][0].plain == "35.9 %"
    assert table["evidence"][0].plain == ranking[a.path].evidence
