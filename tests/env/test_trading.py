"""Fills, fees, cost basis and P&L on hand-made books, every figure worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kalshi_tui.env import BatchSimulator, BookState, build_tape, execute_order, execute_orders

# YES bids 40 x10, 39 x20; NO bids 57 x5, 56 x10, 55 x100, so by the 99 rule
# YES asks are 42 x5, 43 x10, 44 x100, and NO asks 59 x10, 60 x20.
BOOK = BookState(1_000, 1, {40: 10, 39: 20}, {57: 5, 56: 10, 55: 100})


def test_no_prices_derive_from_yes_by_the_99_rule():
    assert BOOK.yes_asks == {42: 5, 43: 10, 44: 100}
    assert BOOK.no_asks == {59: 10, 60: 20}
    assert BOOK.best_yes_bid == 40 and BOOK.best_yes_ask == 42


def test_large_buy_walks_the_book():
    fill = execute_order(BOOK, "BUY_YES", 20)
    assert fill.levels == [(42, 5), (43, 10), (44, 5)]
    assert fill.filled == 20
    assert fill.notional_cents == 5 * 42 + 10 * 43 + 5 * 44 == 860
    # 0.07 x (5x42x58 + 10x43x57 + 5x44x56) / 100 = 34.307 cents, rounded up per order
    assert fill.fee_cents == 35
    assert fill.average_price == pytest.approx(43.0)


def test_unfilled_rest_is_cancelled_at_the_last_level():
    book = BookState(0, 0, {40: 3}, {57: 2})
    fill = execute_order(book, "BUY_YES", 100)
    assert fill.filled == 2 and fill.levels == [(42, 2)]
    assert execute_order(book, "SELL_YES", 100).filled == 3


def test_sell_yes_hits_bids_and_is_capped_by_what_is_held():
    fill = execute_order(BOOK, "SELL_YES", 50, held=25)
    assert fill.levels == [(40, 10), (39, 15)]
    assert fill.notional_cents == 400 + 585
    # 0.07 x (10x40x60 + 15x39x61) / 100 = 41.7795 -> 42
    assert fill.fee_cents == 42


def test_no_orders_trade_against_the_derived_no_book():
    buy = execute_order(BOOK, "BUY_NO", 10)
    assert buy.levels == [(59, 10)] and buy.notional_cents == 590
    assert buy.fee_cents == 17  # 0.07 x 10 x 59 x 41 / 100 = 16.933
    sell = execute_order(BOOK, "SELL_NO", 10, held=10)
    assert sell.levels == [(57, 5), (56, 5)] and sell.notional_cents == 285 + 280
    assert sell.fee_cents == 18  # 0.07 x (5x57x43 + 5x56x44) / 100 = 17.2025


def test_buy_stops_where_the_cash_runs_out():
    fill = execute_order(BOOK, "BUY_YES", 20, cash=500)
    # all-in 43.7052 a contract at 42 (5 of them: 218.53), 44.7157 at 43: the 499 cents
    # kept after the rounding cent buy 6 more; 11 in all.
    assert fill.levels == [(42, 5), (43, 6)]
    assert fill.notional_cents == 210 + 258
    assert fill.fee_cents == 19  # 0.07 x (5x42x58 + 6x43x57) / 100 = 18.8202
    assert fill.notional_cents + fill.fee_cents <= 500


def test_fee_rate_is_a_parameter():
    assert execute_order(BOOK, "BUY_YES", 20, fee_rate=0.0).fee_cents == 0
    assert execute_order(BOOK, "BUY_YES", 20, fee_rate=0.035).fee_cents == 18  # 17.15 -> 18


def test_batched_orders_fill_each_row_independently():
    px = np.array([[42, 43, 44], [40, 39, 0]])
    sz = np.array([[5, 10, 100], [10, 20, 0]])
    filled, notional, fees, fills = execute_orders(px, sz, np.array([7, 40]))
    assert filled.tolist() == [7, 30]
    assert notional.tolist() == [5 * 42 + 2 * 43, 400 + 780]
    assert fills[1].tolist() == [10, 20, 0]


def _tape(*books):
    # One point per book: states sharing a timestamp would merge into one session point.
    return build_tape(
        1,
        "HAND-MADE",
        [
            BookState(1_000 * (i + 1), i, dict(b.yes_bids), dict(b.no_bids))
            for i, b in enumerate(books)
        ],
    )


def test_round_trip_pnl_fees_and_reward(layout21):
    """Buy 5 YES at 42, the market moves up, sell 5 at 45: every figure by hand."""
    later = BookState(2_000, 2, {45: 10}, {52: 10})  # YES 45 / 47, mid 46
    sim = BatchSimulator([_tape(BOOK, later, later.copy())], layout21)
    obs = sim.reset()
    assert obs[0, 0] == pytest.approx(0.40) and obs[0, 1] == pytest.approx(0.42)

    _, reward, ended = sim.step([layout21.encode("BUY_YES", 5)])
    # 5 x 42 = 210, fee ceil(0.07 x 5 x 42 x 58 / 100 = 8.526) = 9: cash 9781;
    # marked at the new mid 46: 9781 + 230 = 10011, up 11 cents from 10000.
    info = sim.row_info(0)
    assert info["cash"] == 9781 and info["positions"] == {"yes": 5, "no": 0}
    assert info["yes_cost_basis"] == 210 and info["portfolio_value"] == 10011
    assert reward[0] == pytest.approx(0.11) and not ended[0]
    assert info["spread_cost"] == 210 - 5 * 41  # paid 42 against a mid of 41
    assert info["unrealized_pnl"] == 5 * 46 - 210

    _, reward, ended = sim.step([layout21.encode("SELL_YES", 5)])
    # 5 x 45 = 225, fee ceil(0.07 x 5 x 45 x 55 / 100 = 8.6625) = 9: cash 9781 + 216.
    info = sim.row_info(0)
    assert info["cash"] == 9997 and info["positions"] == {"yes": 0, "no": 0}
    assert info["realized_pnl"] == 225 - 210 and info["fees"] == 18
    assert info["pnl"] == -3 and info["fill_count"] == 2  # won 15 on the price, paid 18
    assert reward[0] == pytest.approx(-0.14)  # 9997 - 10011
    assert ended[0] and sim.all_done


def test_no_position_is_marked_at_99_minus_the_yes_mid(layout5):
    later = BookState(2_000, 2, {30: 50}, {67: 50})  # YES 30 / 32, mid 31: NO mid 68
    sim = BatchSimulator([_tape(BOOK, later, later.copy())], layout5)
    sim.reset()
    _, reward, _ = sim.step([layout5.encode("BUY_NO", 10)])
    # 10 NO at 59 = 590 + fee 17: cash 9393; 10 x 68 = 680 -> 10073
    assert sim.row_info(0)["portfolio_value"] == 10073
    assert reward[0] == pytest.approx(0.73)


def test_sell_without_a_position_does_nothing(layout21):
    sim = BatchSimulator([_tape(BOOK, BOOK.copy(), BOOK.copy())], layout21)
    sim.reset()
    _, reward, _ = sim.step([layout21.encode("SELL_YES", 100)])
    info = sim.row_info(0)
    assert info["fill_count"] == 0 and info["cash"] == 10000 and reward[0] == 0
    assert info["unheld_sells"] == 1  # counted as "nothing to sell"


def test_finished_rows_stay_frozen_while_longer_markets_trade(layout21):
    short = _tape(BOOK, BOOK.copy())
    long = _tape(BOOK, BOOK.copy(), BOOK.copy(), BOOK.copy())
    sim = BatchSimulator([short, long], layout21)
    sim.reset()
    _, _, ended = sim.step([1, 1])
    assert ended.tolist() == [True, False]
    cash_after = sim.cash[0]
    _, reward, _ = sim.step([1, 1])
    assert sim.cash[0] == cash_after and reward[0] == 0 and sim.t.tolist() == [1, 2]
    sim.step([0, 0])
    assert sim.all_done


def test_batch_equals_one_market_at_a_time(layout21):
    """The batch runs the same rules as single-market simulators, row for row."""
    rng = np.random.default_rng(5)
    books = []
    for i in range(30):
        bid = int(rng.integers(20, 70))
        books.append(BookState(i * 1000, i, {bid: int(rng.integers(1, 40)), bid - 1: 30},
                               {99 - bid - int(rng.integers(1, 4)): int(rng.integers(1, 40)),
                                60 - bid: 25}))
    tapes = [_tape(*books[:30]), _tape(*books[5:20]), _tape(*books[3:28])]
    actions = rng.integers(0, 21, size=(30, 3))
    batch = BatchSimulator(tapes, layout21)
    singles = [BatchSimulator([t], layout21) for t in tapes]
    for row in actions:
        obs, rewards, _ = batch.step(row)
        for i, single in enumerate(singles):
            if not single.all_done:
                o, r, _ = single.step([row[i]])
                assert np.array_equal(o[0], obs[i]) and r[0] == rewards[i]
    assert [s.row_info(0)["pnl"] for s in singles] == [batch.row_info(i)["pnl"] for i in range(3)]


def test_orders_reach_ten_levels_deep_and_no_further(layout21):
    """A 100-lot against twelve 5-contract asks (50-61) fills the ten best levels only."""
    deep = BookState(0, 0, {30: 5}, {99 - p: 5 for p in range(50, 62)})
    sim = BatchSimulator([_tape(deep, deep.copy())], layout21)
    sim.reset()
    sim.step([layout21.encode("BUY_YES", 100)])
    info = sim.row_info(0)
    assert info["positions"]["yes"] == 50
    assert info["yes_cost_basis"] == 5 * sum(range(50, 60))
    # the one-order helper follows the same ten-level rule
    assert execute_order(deep, "BUY_YES", 100).filled == 50
