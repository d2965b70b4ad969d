"""Layouts A and B against the specification's test vectors and identities, to float32."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from kalshi_tui.env.layouts import LAYOUT_FEATURES, clean, portfolio_features
from kalshi_tui.env.temporal import ViewPoint, session_views, view_features

# The spec's test book: YES bids {40:100, 39:50}, NO bids {58:100, 57:50};
# 1765900000000 = Tuesday 15:46 UTC; a, gap and m are 0 (not precomputed in its harness).
TS = 1765900000000
POINT = ViewPoint(TS, {40: 100, 39: 50}, {58: 100, 57: 50})
FLAT = [10000.0], [10000.0], [0.0], [0.0], [0.5]

A_AT_RESET = [.40, .41, .58, .59, .01, .01, .405, .585, .6196, .6196, .6947, 0, 0, 0, .2, .2,
              .8333, .8333, .01, .99, .95,
              0, .8571, .1667, 0, 0, .1, 0, 0, 0, 0, .1, .5, .5, 0,
              1] + [0] * 16
B_AT_RESET = [.40, .42, .58, .60, .41, .59, .02, .02, .0488, .0339, .25, .25, .02, .02, .6947,
              0, 0, 0, 0, 0, .41, .59, .2, .2, .8333, .8333,
              0, .8571, 0, 0, .1, 0, 0, 0, .1, .5,
              1] + [0] * 15
B_EMPTY_MARKET = [0.5] * 6 + [
    0.1,
    0.1,
    0.2,
    0.2,
    0.75,
    0.75,
    0.1,
    0.1,
    0,
    0,
    0,
    0,
    0,
    0.5,
    0.5,
    0.5,
    0,
    0,
    0.5,
    0.5,
]


def observation(layout: str, complement: int, point=POINT, portfolio=FLAT) -> np.ndarray:
    session = view_features([point], layout, complement)[0]
    return clean(np.concatenate([session, portfolio_features(layout, *portfolio)[0], np.zeros(5)]))


def _close(got, expected):
    # the spec prints 4 significant digits; float32 carries the rest
    np.testing.assert_allclose(got, np.asarray(expected, np.float32), atol=5e-5, rtol=0)


def test_layout_a_at_reset_is_the_spec_vector():
    obs = observation("A", 99)
    assert obs.dtype == np.float32 and obs.shape == (52,)
    _close(obs, A_AT_RESET)
    assert obs[6] == np.float32(0.405) and obs[18] == np.float32(abs(0.405 + 0.585 - 1))


def test_layout_b_at_reset_is_the_spec_vector():
    obs = observation("B", 100)
    _close(obs, B_AT_RESET)
    assert obs[8] == np.float32(2 / 41)


def test_layout_b_after_sell_yes_20_on_the_next_point():
    # cash 100 $ + 8 $ of proceeds; 20 NO marked at 100 - 42; cost basis 8 $; YES mid .41
    portfolio = [10800.0], [11960.0], [-20.0], [800.0], [0.41]
    obs = observation("B", 100, portfolio=portfolio)
    _close(obs[36:47], [.903, .097, .1, .02, 0, 1, -.7616, .0686, -.02, .0017, .0343])
    assert obs[42] == np.float32(np.tanh(-1.0))


def test_empty_book_b_defaults():
    _close(observation("B", 100, ViewPoint(TS, {}, {}))[:26], B_EMPTY_MARKET)


def test_feature_names_are_52_and_unique_per_layout():
    for names in LAYOUT_FEATURES.values():
        assert len(names) == 52 and len(set(names)) == 52
    assert LAYOUT_FEATURES["A"][18] == "arbitrage_opportunity"
    assert LAYOUT_FEATURES["B"][18] == "bid_ask_depth_ratio"


def test_global_clip_and_infinities():
    assert clean(np.array([np.nan, np.inf, -np.inf, 3.0, -7.0])).tolist() == [0, 1, -1, 2, -2]


def _replayed_views(complement: int):
    rng = np.random.default_rng(4)
    states = []
    for ticker in ("M-A", "M-B"):
        for i in range(60):
            bid = int(rng.integers(20, 60))
            yes = {bid - j: int(rng.integers(1, 300)) for j in range(int(rng.integers(1, 5)))}
            no_top = 99 - bid - int(rng.integers(1, 6))
            no = {no_top - j: int(rng.integers(1, 300)) for j in range(int(rng.integers(1, 5)))}
            states.append(
                (ticker, TS + 1000 * i + (500 if ticker == "M-B" and i % 3 else 0), yes, no)
            )
    return session_views(states, complement)


@pytest.mark.parametrize("complement", [99, 100])
def test_identities_on_replayed_books(complement):
    for view in _replayed_views(complement).values():
        a, b = view_features(view, "A", complement), view_features(view, "B", complement)
        assert (a[:, 11] == 0).all() and (b[:, 15] == 0).all()  # volume_imbalance
        assert (b[:, 18] == 0).all()  # bid_ask_depth_ratio
        np.testing.assert_array_equal(a[:, 13], -a[:, 12])  # no_side = -yes_side imbalance
        consistency = 0.0 if complement == 100 else 0.01
        np.testing.assert_allclose(b[:, 19], consistency, atol=1e-7)
        if complement == 99:
            np.testing.assert_allclose(a[:, 18], 0.01, atol=1e-6)
            np.testing.assert_allclose(a[:, 20], 0.95, atol=1e-6)


def test_session_values_are_precomputed_on_the_whole_session():
    views = _replayed_views(100)
    merged = sorted({p.timestamp_ms for v in views.values() for p in v})
    gaps = {p.timestamp_ms: p.gap_seconds for v in views.values() for p in v}
    # the gap is to the previous point of any market, not of the same market
    assert [gaps[t] for t in merged[1:]] == [(b - a) / 1000 for a, b in pairwise(merged)]
    assert gaps[merged[0]] == 0
    first_b = views["M-B"][0]
    assert first_b.timestamp_ms == TS and first_b.activity > 0
    # a point holding both markets counts M = 2 and both books' volume
    shared = views["M-A"][0]
    assert shared.activity == pytest.approx(views["M-B"][0].activity)
    assert 0.005 < views["M-A"][5].activity < 0.03
    assert any(p.momentum != 0 for p in views["M-A"][3:])


def test_history_features_follow_the_spec():
    view = [ViewPoint(TS + 1000 * i, {40: 100}, {58: 100}, 1.0, 0.01 * (i % 2), 0.0)
            for i in range(8)]
    rows = view_features(view, "A", 99)
    # update_frequency: |R| = 5 points over 5 s before now -> 5 / 5 / 2
    assert rows[7, 26] == np.float32(0.5)
    # activity persistence: scores alternate 0 / .01, all within .1 of now: n = 1 + 7
    assert rows[7, 34] == np.float32(0.8)
    # a flat mid: no change, so volatility reads 0 and stability 1
    assert rows[7, 31] == 0 and rows[7, 33] == 1
    assert rows[0, 26] == np.float32(0.1) and rows[0, 32] == np.float32(0.5)


def test_plain_python_statistics_equal_numpys():
    from kalshi_tui.env.temporal import _slope, _std

    rng = np.random.default_rng(1)
    for n in (3, 5, 11):
        values = rng.random(n).tolist()
        assert _std(values) == pytest.approx(float(np.std(values)), rel=1e-12)
        assert _slope(values) == pytest.approx(
            float(np.polyfit(np.arange(n), values, 1)[0]), rel=1e-9
        )


def test_the_documented_table_is_the_exported_one():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "observation_layouts.md").read_text()
    rows = [line for line in doc.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 52
    for i, row in enumerate(rows):
        cells = row.split("|")
        assert cells[1].strip() == str(i)
        assert (
            f"`{LAYOUT_FEATURES['A'][i]}`" in cells[2]
            and f"`{LAYOUT_FEATURES['B'][i]}`" in cells[3]
        )
