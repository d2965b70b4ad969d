"""The `original-training` fill model: the accounting and reward of the profile's date.

What a model earned in the world it was trained in, defects included (ORIGINAL_ENV.md
section 3), beside what the `realistic` model says it would do in a real market:
- Orders are aggressive limits that fill at once or never; nothing checks cash or
  holdings, so a SELL with no position opens the other side *and* credits the proceeds.
- 2025-12-11 and -15 (k=99): the whole order fills at the best price when both YES sides
  are present; reward = change in portfolio value in cents. -11 marks at the stored
  mid, -15 at bid (YES) / 100 - ask (NO).
- 2025-12-17 (k=100 books, NO limits still 99 - YES): orders of 20 or more walk the levels
  within the limit and, if anything fills, the whole order fills at the rounded VWAP;
  BUY_NO never fills. Reward = 0.001 x value change - 0.001 x penalties (f884df8: fee
  0.007.q.P, a liquidity term and 0.5.S.q), 0 on the first step.
- A position on a one-sided book counts 0; the last step marks every position at 0 and
  the terminal observation is 52 zeros. N points give N steps.
Cash is held in dollars and the value truncated to whole cents, as the original did.
"""

from __future__ import annotations

import numpy as np

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.profiles import RULES_1211, RULES_1215, RULES_1217
from kalshi_tui.env import layouts
from kalshi_tui.env.features import N_FEATURES
from kalshi_tui.env.simulator import (
    INITIAL_CASH_CENTS,
    LIMIT_BELOW_ASK,
    NO_LIQUIDITY,
    UNFILLED_CAUSES,
    BatchSimulator,
)
from kalshi_tui.env.tape import MarketTape
from kalshi_tui.env.trading import BUY_NO, BUY_YES, SELL_NO, SELL_YES

NO_LIMIT_COMPLEMENT = 99  # order_manager's NO limits stayed 99 - YES through bf84ff5
MISSING_LIMIT = 50.0  # the limit when either YES side is absent
MISSING_SIDE_PRICE = 50.0  # P and S of the 12-17 penalty on an empty side


class OriginalTrainingSimulator(BatchSimulator):
    """Portfolios under the training-time rules of one date; same interface as BatchSimulator."""

    def __init__(self, tapes: list[MarketTape], layout: ActionLayout, rules: str, *,
                 initial_cash: float = INITIAL_CASH_CENTS, observation_low: float = -2.0,
                 observation_high: float = 2.0):
        if rules not in (RULES_1211, RULES_1215, RULES_1217):
            raise ValueError(f"no original training rules for {rules!r}")
        self.rules = rules
        super().__init__(tapes, layout, initial_cash=initial_cash,
                         observation_low=observation_low, observation_high=observation_high)
        if self.obs_layout not in layouts.LAYOUT_FEATURES:
            raise ValueError("original-training needs observation layout A or B")

    def reset(self) -> np.ndarray:
        n = self.n
        has_bid, has_ask = self.bid_sz[:, :, 0] > 0, self.ask_sz[:, :, 0] > 0
        self.best_bid = np.where(has_bid, self.bid_px[:, :, 0], np.nan).astype(np.float64)
        self.best_ask = np.where(has_ask, self.ask_px[:, :, 0], np.nan).astype(np.float64)
        self.t = np.zeros(n, np.int64)
        self.done = self.lengths < 2
        self.cash_dollars = np.full(n, self.initial_cash / 100)
        self.position = np.zeros(n)  # +YES / -NO contracts
        self.cost_dollars = np.zeros(n)
        self.fees = np.zeros(n)  # never charged to cash: the 12-17 penalties, in reward units
        self.penalties = np.zeros(n)
        self.fill_count = np.zeros(n, np.int64)
        self.contracts_traded = np.zeros(n)
        self.unheld_sells = np.zeros(n, np.int64)  # sold without holding: opened the other side
        self.orders = np.zeros(n, np.int64)
        self.unfilled = {cause: np.zeros(n, np.int64) for cause in UNFILLED_CAUSES}
        self.first_step = np.ones(n, bool)
        self.ended_at_end = np.zeros(n, bool)
        self.pv_cents = self._value_cents(self.t, np.zeros(n, bool))
        return self.observations()

    # The original kept cash in dollars (cash_dollars, its rounding included); the shared
    # value and features read cents, so here `cash` is a view, not the base's stored array.
    @property
    def cash(self) -> np.ndarray:  # type: ignore[override]
        return self.cash_dollars * 100

    def _marks(self, t: np.ndarray, past_end: np.ndarray) -> np.ndarray:
        """Dollars the positions are worth at point t; 0 past the end or on a one-sided book."""
        rows = self.rows
        tt = np.minimum(t, self.best_bid.shape[1] - 1)
        bid, ask = self.best_bid[rows, tt], self.best_ask[rows, tt]
        two_sided = ~np.isnan(bid) & ~np.isnan(ask) & ~past_end
        c = self.position
        if self.rules == RULES_1211:
            mid = (bid + ask) / 2
            yes_price, no_price = mid, 100 - mid
        else:
            yes_price, no_price = bid, 100 - ask
        value = np.where(c > 0, c * yes_price, -c * no_price) / 100
        return np.where(two_sided & (c != 0), value, 0.0)

    def _value_cents(self, t, past_end) -> np.ndarray:
        return np.trunc((self.cash_dollars + self._marks(t, past_end)) * 100)

    def values(self) -> np.ndarray:
        return self.pv_cents.astype(np.float64)

    def observations(self) -> np.ndarray:
        rows, t = self.rows, self.t
        market = self.features[rows, t]
        portfolio = layouts.portfolio_features(
            self.obs_layout, np.trunc(self.cash_dollars * 100), self.pv_cents, self.position,
            np.trunc(self.cost_dollars * 100), self.clamped_mid[rows, t])
        obs = np.zeros((self.n, N_FEATURES), np.float32)
        obs[:, :market.shape[1]] = market
        obs[:, market.shape[1]:market.shape[1] + portfolio.shape[1]] = portfolio
        obs = layouts.clean(obs)
        obs[self.ended_at_end] = 0.0  # the terminal observation is 52 zeros
        return obs

    def step(self, actions):
        actions = np.asarray(actions, np.int64).reshape(self.n)
        if actions.min(initial=0) < 0 or actions.max(initial=0) >= self.layout.n:
            raise ValueError(f"actions must be 0-{self.layout.n - 1}")
        live = ~self.done
        side = np.where(live, self.actions.side[actions], 0)
        q = np.where(side > 0, self.actions.size[actions], 0).astype(np.float64)
        penalty = self._penalty(side, q) if self.rules == RULES_1217 else np.zeros(self.n)
        price, filled = self._fills(side, q)
        self._count_orders(side, filled)
        self._book_fills(side, np.where(filled, q, 0.0), np.where(filled, price, 0.0))
        self.t = np.where(live, self.t + 1, self.t)
        past_end = self.t >= self.lengths
        pv = np.where(live, self._value_cents(self.t, past_end), self.pv_cents)
        change = pv - self.pv_cents
        if self.rules == RULES_1217:
            rewards = np.where(self.first_step, 0.0, 0.001 * change - 0.001 * penalty)
            self.penalties += np.where(self.first_step, 0.0, penalty) * live
        else:
            rewards = change
        rewards = np.where(live, rewards, 0.0)
        self.first_step &= ~live
        self.pv_cents = pv
        ended = live & (past_end | (pv <= 0))
        self.ended_at_end |= ended & past_end
        self.done = self.done | ended
        self.t = np.minimum(self.t, self.lengths - 1)  # observations read the last real point
        return self.observations(), rewards, ended

    def _count_orders(self, side, filled) -> None:
        """Orders attempted, and why the unfilled ones did not fill in the training world."""
        ordered = side > 0
        missed = ordered & ~filled
        self.orders += ordered
        # 12-17: a BUY_NO limit (99 - YES bid) sits below the NO ask (100 - YES bid)
        never = missed & (side == BUY_NO) & (self.rules == RULES_1217)
        self.unfilled[LIMIT_BELOW_ASK] += never
        self.unfilled[NO_LIQUIDITY] += missed & ~never

    def _limits(self, side, bid, ask) -> np.ndarray:
        limit = np.select([side == BUY_YES, side == SELL_YES, side == BUY_NO, side == SELL_NO],
                          [ask, bid, NO_LIMIT_COMPLEMENT - bid, NO_LIMIT_COMPLEMENT - ask], np.nan)
        return np.where(np.isnan(bid) | np.isnan(ask), MISSING_LIMIT, limit)

    def _fills(self, side, q) -> tuple[np.ndarray, np.ndarray]:
        """(price in cents, filled?) of each row's order on the book of its point."""
        rows, t = self.rows, self.t
        bid, ask = self.best_bid[rows, t], self.best_ask[rows, t]
        limit = self._limits(side, bid, ask)
        if self.rules in (RULES_1211, RULES_1215):
            both = ~np.isnan(bid) & ~np.isnan(ask)
            return limit, (side > 0) & both
        # 12-17: walk the contract side's levels within the limit.
        px, sz = self._contract_levels(side)
        within = np.where(np.isin(side, (BUY_YES, BUY_NO))[:, None], px <= limit[:, None],
                          px >= limit[:, None]) & (sz > 0)
        available = np.where(within, sz, 0)
        before = np.cumsum(available, axis=1) - available
        take = np.minimum(np.maximum(q[:, None] - before, 0), available)
        walked = take.sum(axis=1)
        vwap = np.divide((take * px).sum(axis=1), walked, out=np.zeros(self.n), where=walked > 0)
        small = q < 20  # below 20 the best level must hold the whole order
        small_ok = within[:, 0] & (sz[:, 0] >= q)
        price = np.where(small, px[:, 0], np.round(vwap))
        filled = (side > 0) & np.where(small, small_ok, walked > 0)
        return price.astype(np.float64), filled

    def _contract_levels(self, side) -> tuple[np.ndarray, np.ndarray]:
        """Levels of the contract an order trades, best first for it (k=100 NO books)."""
        rows, t = self.rows, self.t
        bid_px, bid_sz = self.bid_px[rows, t].astype(np.float64), self.bid_sz[rows, t]
        ask_px, ask_sz = self.ask_px[rows, t].astype(np.float64), self.ask_sz[rows, t]
        k = float(self.complement)
        s = side[:, None]
        # BUY_YES: YES asks up; SELL_YES: YES bids down; BUY_NO: NO asks (k - YES bid) up;
        # SELL_NO: NO bids (k - YES ask) down.
        px = np.select([s == BUY_YES, s == SELL_YES, s == BUY_NO], [ask_px, bid_px, k - bid_px],
                       k - ask_px)
        sz = np.select([s == BUY_YES, s == SELL_YES, s == BUY_NO], [ask_sz, bid_sz, bid_sz], ask_sz)
        return px, sz

    def _penalty(self, side, q) -> np.ndarray:
        """The 12-17 penalty of every non-HOLD action, filled or not (f884df8 rules)."""
        px, sz = self._contract_levels(side)
        has = sz[:, 0] > 0
        price = np.where(has, px[:, 0], MISSING_SIDE_PRICE)
        depth = sz.sum(axis=1).astype(np.float64)
        ratio = np.divide(q, depth, out=np.zeros(self.n), where=depth > 0)
        liquidity = np.where(ratio > 0.1, ratio ** 2 * price * 0.01, 0.0)
        bid, ask = self.best_bid[self.rows, self.t], self.best_ask[self.rows, self.t]
        spread = np.where(
            np.isnan(bid) | np.isnan(ask), MISSING_SIDE_PRICE, np.maximum(ask - bid, 1)
        )
        return np.where(side > 0, 0.007 * q * price + liquidity + 0.5 * spread * q, 0.0)

    def _book_fills(self, side, q, price) -> None:
        """Cash, signed position and cost basis for the fills; sells credit even unheld."""
        buys = (side == BUY_YES) | (side == BUY_NO)
        sells = (side == SELL_YES) | (side == SELL_NO)
        dollars = price * q / 100
        self.cash_dollars += np.where(sells, dollars, 0.0) - np.where(buys, dollars, 0.0)
        delta = np.where((side == BUY_YES) | (side == SELL_NO), q, -q)
        c = self.position
        self.unheld_sells += ((side == SELL_YES) & (c <= 0) & (q > 0)) | \
            ((side == SELL_NO) & (c >= 0) & (q > 0))
        reduces = (c != 0) & (np.sign(delta) == -np.sign(c)) & (q > 0)
        closed = np.where(reduces, np.minimum(q, np.abs(c)), 0.0)
        kept = np.divide(np.abs(c) - closed, np.abs(c), out=np.ones(self.n), where=c != 0)
        self.cost_dollars = np.where(reduces, self.cost_dollars * kept, self.cost_dollars)
        self.cost_dollars += price * (q - closed) / 100
        self.position = c + delta
        self.fill_count += q > 0
        self.contracts_traded += q

    def row_info(self, i: int) -> dict:
        return {
            "market": self.tapes[i].ticker,
            "session_id": self.tapes[i].session_id,
            "step": int(self.t[i]),
            "portfolio_value": float(self.pv_cents[i]),
            "cash": float(self.cash_dollars[i] * 100),
            "position": int(self.position[i]),
            "cost_basis": float(self.cost_dollars[i] * 100),
            "fill_count": int(self.fill_count[i]),
            "contracts_traded": int(self.contracts_traded[i]),
            "unheld_sells": int(self.unheld_sells[i]),
            "fees": 0.0,
            "penalties": float(self.penalties[i]),
            "pnl": float(self.pv_cents[i]) - self.initial_cash,
        }
