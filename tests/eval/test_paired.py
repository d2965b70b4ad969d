"""The paired difference both the A/B test and the ensembles report: figures and words."""

from __future__ import annotations

import pytest

from kalshi_tui.eval.paired import paired_difference
from kalshi_tui.eval.results import bootstrap_mean_ci


@pytest.mark.parametrize("a, b, verdict", [
    ([500, 700, 600, 900], [100, 200, 150, 300],
     "A made more than B (the whole 95 % CI is above 0)"),
    ([100, 200, 150, 300], [500, 700, 600, 900],
     "A made less than B (the whole 95 % CI is below 0)"),
    ([300, -300, 250, -250], [0, 0, 0, 0], "no clear difference between A and B (the 95 % CI "
                                           "spans 0)"),
    ([10, 20, 30], [10, 20, 30], "A and B made the same on every market"),
    ([120], [20], "too few markets to tell A from B"),
])
def test_verdicts_follow_the_ci(a, b, verdict):
    paired = paired_difference(a, b)
    assert paired.verdict_text("A", "B") == verdict


def test_figures_are_the_validation_bootstrap_of_the_differences():
    a, b = [150.0, -20.0, 310.0, 45.0, 0.0], [100.0, 10.0, 300.0, 45.0, -80.0]
    paired = paired_difference(a, b)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    assert paired.differences_cents == diffs
    assert paired.mean_cents == pytest.approx(sum(diffs) / 5)
    assert (paired.ci_low_cents, paired.ci_high_cents) == bootstrap_mean_ci(diffs)
    assert (paired.a_wins, paired.b_wins, paired.ties) == (3, 1, 1)
    assert paired.a_win_share == 0.6
    low, high = paired.ci_low_cents / 100, paired.ci_high_cents / 100
    assert paired.figure_text() == (f"+{paired.mean_cents / 100:.2f} $/market, 95 % CI "
                                    f"[{low:+.2f}, {high:+.2f}], 5 markets")
    single = paired_difference([120], [20])
    assert single.figure_text() == "+1.00 $/market, 95 % CI unknown, 1 market"
    with pytest.raises(ValueError, match="paired markets differ: 2 against 1"):
        paired_difference([1, 2], [1])
