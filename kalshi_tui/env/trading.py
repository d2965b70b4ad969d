"""The trading rules, once: how an aggressive order fills against a book, and what it costs.

Every function works on a batch (one row per market) so the gym env (a batch of one) and
batched validation share the same arithmetic. Prices are cents, sizes contracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kalshi_tui.core.world.actions import ActionLayout, decode_action
from kalshi_tui.env.orderbook import COMPLEMENT, BookState
from kalshi_tui.env.tape import FEE_RATE, LADDER_LEVELS

HOLD, BUY_YES, SELL_YES, BUY_NO, SELL_NO = range(5)
SIDE_CODES = {"HOLD": HOLD, "BUY_YES": BUY_YES, "SELL_YES": SELL_YES,
              "BUY_NO": BUY_NO, "SELL_NO": SELL_NO}


@dataclass(frozen=True)
class ActionTable:
    """Each action id's side code and contract count, as arrays for batched lookup."""

    side: np.ndarray  # (n_actions,) int
    size: np.ndarray  # (n_actions,) int


def action_table(layout: ActionLayout) -> ActionTable:
    """Decode every action of a layout once, through the shared decoder."""
    sides, sizes = [], []
    for action_id in range(layout.n):
        decoded = decode_action(action_id, layout)
        if decoded.side not in SIDE_CODES:
            raise ValueError(f"action {action_id} side {decoded.side!r} is not one the "
                             f"environment trades ({', '.join(SIDE_CODES)})")
        sides.append(SIDE_CODES[decoded.side])
        sizes.append(decoded.size)
    return ActionTable(np.array(sides, np.int64), np.array(sizes, np.int64))


def taker_ladder(side, bid_px, bid_sz, ask_px, ask_sz,
                 complement: int = COMPLEMENT) -> tuple[np.ndarray, np.ndarray]:
    """The levels an order of each row's side takes, best first: (prices, sizes), (N, K).

    Buy YES lifts YES asks; sell YES hits YES bids; NO prices derive from YES by the
    profile's complement k (NO bid = k - YES ask, NO ask = k - YES bid; k = 99 before
    2025-12-17), so buy NO takes the YES bids and sell NO the YES asks, seen from the
    other side.
    """
    s = np.asarray(side)[:, None]
    takes_bids = (s == SELL_YES) | (s == BUY_NO)
    px = np.where(takes_bids, bid_px, ask_px)
    sz = np.where(takes_bids, bid_sz, ask_sz)
    px = np.where(s >= BUY_NO, complement - px, px)
    # HOLD takes nothing; padded levels (size 0) are never filled whatever their price.
    return px, np.where(s == HOLD, 0, sz)


def order_fees(fills, prices, fee_rate: float = FEE_RATE) -> np.ndarray:
    """Fee per order in cents: ceil(rate x sum of q x p x (100 - p) / 100), as Kalshi rounds."""
    raw = fee_rate * (fills * prices * (100.0 - prices)).sum(axis=1) / 100.0
    return np.ceil(raw - 1e-9)


def execute_orders(prices, sizes, quantity, budget=None, fee_rate: float = FEE_RATE):
    """Fill each row's order level by level; the unfilled rest is cancelled.

    prices, sizes: (N, K) taker ladders best first (size 0 = no level); quantity: (N,)
    contracts wanted; budget: (N,) cents a buy may spend including its fee (None for
    sells). Returns (filled contracts, notional cents, fee cents, per-level fills).
    """
    prices = np.asarray(prices, np.float64)
    sizes = np.asarray(sizes, np.float64)
    quantity = np.asarray(quantity, np.float64)
    before = np.cumsum(sizes, axis=1) - sizes  # contracts on better levels
    fills = np.minimum(np.maximum(quantity[:, None] - before, 0.0), sizes)
    if budget is not None:
        # All-in cost of one contract at each level; a level is bought only as far as the
        # money left after fully buying the better levels allows. Padded levels (price 0,
        # size 0) get a tiny unit cost so the division is safe; their fill stays 0.
        unit = np.maximum(prices * (1.0 + fee_rate / 100.0 * (100.0 - prices)), 1e-9)
        level_cost = sizes * unit
        spent_before = np.cumsum(level_cost, axis=1) - level_cost
        # one cent is held back for the fee's rounding up
        left = np.asarray(budget, np.float64)[:, None] - 1.0 - spent_before
        fills = np.minimum(fills, np.floor(np.maximum(left, 0.0) / unit))
    filled = fills.sum(axis=1)
    notional = (fills * prices).sum(axis=1)
    fees = order_fees(fills, prices, fee_rate)
    return filled, notional, fees, fills


@dataclass(frozen=True)
class Fill:
    """One order's outcome on one book."""

    side: str
    requested: int
    filled: int
    notional_cents: float
    fee_cents: float
    levels: list[tuple[int, int]]  # (price, contracts) taken, best first

    @property
    def average_price(self) -> float | None:
        return self.notional_cents / self.filled if self.filled else None


def execute_order(book: BookState, side: str, size: int, *, cash: float | None = None,
                  held: int | None = None, fee_rate: float = FEE_RATE) -> Fill:
    """One order against one book, through the batched rules: for tests, tools and reports."""
    code = SIDE_CODES[side]
    bids = sorted(book.yes_bids.items(), reverse=True)[:LADDER_LEVELS]
    asks = sorted(book.yes_asks.items())[:LADDER_LEVELS]

    def row(levels):
        px = np.zeros((1, LADDER_LEVELS), np.int64)
        sz = np.zeros((1, LADDER_LEVELS), np.int64)
        for j, (p, s) in enumerate(levels):
            px[0, j], sz[0, j] = p, s
        return px, sz

    (bp, bs), (ap, as_) = row(bids), row(asks)
    px, sz = taker_ladder(np.array([code]), bp, bs, ap, as_)
    wanted = size if held is None or code in (BUY_YES, BUY_NO) else min(size, held)
    budget = None if cash is None or code in (SELL_YES, SELL_NO) else np.array([cash])
    filled, notional, fees, fills = execute_orders(px, sz, np.array([wanted]), budget, fee_rate)
    levels = [(int(px[0, j]), int(fills[0, j])) for j in range(LADDER_LEVELS) if fills[0, j] > 0]
    return Fill(side, size, int(filled[0]), float(notional[0]), float(fees[0]), levels)
