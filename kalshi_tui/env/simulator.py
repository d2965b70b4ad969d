"""Many markets traded in lockstep with numpy: the engine under the gym env and validation.

Row i trades tape i from its first step. A step takes one action per row, fills it
against the book the row last observed, advances every live row one book state and marks
the portfolios there. Rows whose market has ended stay frozen (their actions are ignored,
their reward is 0), so a batch of markets of different lengths runs until `all_done`.

Reward = (portfolio value after - before) / REWARD_SCALE, the value being cash plus
positions marked at the mid. Fees leave cash and a buy at the ask is marked at the mid, so
the change already has the fees and the spread cost taken off (FORMATS.md: "change in
portfolio value, minus fees and spread cost"); `row_info` reports both, so nothing is
subtracted twice.
"""

from __future__ import annotations

import numpy as np

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.profiles import LAYOUT_DEMO
from kalshi_tui.env import layouts
from kalshi_tui.env.features import N_FEATURES, portfolio_features
from kalshi_tui.env.tape import MarketTape
from kalshi_tui.env.trading import (
    BUY_NO,
    BUY_YES,
    SELL_NO,
    SELL_YES,
    action_table,
    execute_orders,
    taker_ladder,
)

INITIAL_CASH_CENTS = 10_000.0
# Why an attempted order filled nothing; results.UNFILLED_CAUSE_TEXT says each in words.
NOTHING_TO_SELL, NO_CASH, NO_LIQUIDITY, LIMIT_BELOW_ASK = (
    "nothing_to_sell", "no_cash", "no_liquidity", "limit_below_ask")
UNFILLED_CAUSES = (NOTHING_TO_SELL, NO_CASH, NO_LIQUIDITY, LIMIT_BELOW_ASK)
# Reward is the change in portfolio value in dollars: a cent-scale reward would make
# value losses hundreds of times larger than the entropy bonus PPO balances them against.
REWARD_SCALE = 100.0


def _stack(arrays: list[np.ndarray], length: int, fill_last: bool) -> np.ndarray:
    """Stack per-tape arrays along a new batch axis, padding short ones with their last row."""
    if len(arrays) == 1:
        return arrays[0][None]  # a view: the single env copies nothing
    out = np.zeros((len(arrays), length, *arrays[0].shape[1:]), arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = a
        if fill_last:
            out[i, len(a):] = a[-1]
    return out


class BatchSimulator:
    """Portfolios trading a batch of tapes step by step; one implementation of the rules."""

    def __init__(self, tapes: list[MarketTape], layout: ActionLayout, *,
                 initial_cash: float = INITIAL_CASH_CENTS, observation_low: float = -2.0,
                 observation_high: float = 2.0):
        if not tapes:
            raise ValueError("no market tapes to trade")
        fee_rates = {t.fee_rate for t in tapes}
        if len(fee_rates) != 1:
            raise ValueError("tapes built with different fee rates cannot share a batch")
        worlds = {(t.obs_layout, t.complement) for t in tapes}
        if len(worlds) != 1:
            raise ValueError(
                "tapes built for different layouts or complements cannot share a batch"
            )
        (self.obs_layout, self.complement), = worlds
        self.tapes = list(tapes)
        self.layout = layout
        self.actions = action_table(layout)
        self.fee_rate = fee_rates.pop()
        self.initial_cash = float(initial_cash)
        self.low, self.high = observation_low, observation_high
        self.lengths = np.array([t.length for t in tapes], np.int64)
        longest = int(self.lengths.max())
        self.bid_px = _stack([t.bid_px for t in tapes], longest, False)
        self.bid_sz = _stack([t.bid_sz for t in tapes], longest, False)
        self.ask_px = _stack([t.ask_px for t in tapes], longest, False)
        self.ask_sz = _stack([t.ask_sz for t in tapes], longest, False)
        self.mark = _stack([t.mark for t in tapes], longest, True)
        self.features = _stack([t.features for t in tapes], longest, True)
        self.clamped_mid = _stack([t.clamped_mid for t in tapes], longest, True)
        self.rows = np.arange(len(tapes))
        self.reset()

    @property
    def n(self) -> int:
        return len(self.tapes)

    def reset(self) -> np.ndarray:
        """Fresh portfolios at every market's first step; returns the (N, 52) observations."""
        n = self.n
        self.t = np.zeros(n, np.int64)
        self.done = self.lengths < 2
        self.cash = np.full(n, self.initial_cash)
        self.yes = np.zeros(n)
        self.no = np.zeros(n)
        self.yes_cost = np.zeros(n)  # cents paid for the YES held (fees excluded)
        self.no_cost = np.zeros(n)
        self.realized = np.zeros(n)
        self.fees = np.zeros(n)
        self.spread_cost = np.zeros(n)
        self.fill_count = np.zeros(n, np.int64)  # orders that filled at least one contract
        self.unheld_sells = np.zeros(n, np.int64)  # sells with nothing to sell: no fill here
        self.orders = np.zeros(n, np.int64)  # non-HOLD actions of live rows: orders attempted
        # orders that filled nothing, by why (UNFILLED_CAUSES)
        self.unfilled = {cause: np.zeros(n, np.int64) for cause in UNFILLED_CAUSES}
        self.contracts_traded = np.zeros(n)
        self.last_fill_ratio = np.zeros(n)
        self.steps_since_fill = np.zeros(n)
        return self.observations()

    def values(self) -> np.ndarray:
        """Portfolio value in cents: cash plus positions marked at the current mid."""
        mark = self.mark[self.rows, self.t]
        return self.cash + self.yes * mark + self.no * (self.complement - mark)

    def _portfolio(self) -> np.ndarray:
        mark = self.mark[self.rows, self.t]
        if self.obs_layout == LAYOUT_DEMO:
            return portfolio_features(self.cash, self.yes, self.no, self.yes_cost, self.no_cost,
                                      mark, self.initial_cash, self.last_fill_ratio,
                                      self.steps_since_fill)
        # The original's single signed position (+YES / -NO), valued at the clamped YES mid;
        # order features stay 0, as in training (nothing rests: unfilled rest is cancelled).
        portfolio = layouts.portfolio_features(
            self.obs_layout, self.cash, self.values(), self.yes - self.no,
            self.yes_cost + self.no_cost, self.clamped_mid[self.rows, self.t])
        return np.concatenate([portfolio, np.zeros((self.n, len(layouts.ORDER)))], axis=1)

    def observations(self) -> np.ndarray:
        market = self.features[self.rows, self.t]
        portfolio = self._portfolio()
        obs = np.empty((self.n, N_FEATURES), np.float32)
        obs[:, :market.shape[1]] = market
        obs[:, market.shape[1]:] = portfolio
        if not np.isfinite(obs).all():  # cheap test first: tapes and portfolios are finite
            if self.obs_layout == LAYOUT_DEMO:
                np.nan_to_num(obs, copy=False, nan=0.0, posinf=self.high, neginf=self.low)
            else:
                np.nan_to_num(obs, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        return np.clip(obs, self.low, self.high, out=obs)

    @property
    def all_done(self) -> bool:
        return bool(self.done.all())

    def step(self, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trade one action per row; returns (observations, rewards, rows that ended now)."""
        actions = np.asarray(actions, np.int64).reshape(self.n)
        if actions.min(initial=0) < 0 or actions.max(initial=0) >= self.layout.n:
            raise ValueError(f"actions must be 0-{self.layout.n - 1}")
        live = ~self.done
        rows, t = self.rows, self.t
        side = np.where(live, self.actions.side[actions], 0)
        mark = self.mark[rows, t]
        value_before = self.cash + self.yes * mark + self.no * (self.complement - mark)
        # Hold-dominant policies hold on most steps; a step where nobody trades changes no
        # portfolio, so it skips the fill arithmetic (same result, a third of the work).
        if side.any():
            self._trade(side, actions, mark)
        else:
            self.steps_since_fill += live
        self.t = np.where(live, t + 1, t)
        value_after = self.values()
        rewards = np.where(live, (value_after - value_before) / REWARD_SCALE, 0.0)
        ended = live & ((self.t >= self.lengths - 1) | (value_after <= 0))
        self.done = self.done | ended
        return self.observations(), rewards, ended

    def _trade(self, side, actions, mark) -> None:
        """Fill each row's order against the book it observed and book the result."""
        rows, t = self.rows, self.t
        wanted = self.actions.size[actions].astype(np.float64)
        # Sells only close what is held: there is no short selling, as on Kalshi, where
        # selling YES you do not hold is buying NO (a separate action here).
        held = np.where(side == SELL_YES, self.yes, np.where(side == SELL_NO, self.no, np.inf))
        self.unheld_sells += held <= 0
        wanted = np.where(side == 0, 0.0, np.minimum(wanted, held))
        is_buy = (side == BUY_YES) | (side == BUY_NO)
        px, sz = taker_ladder(side, self.bid_px[rows, t], self.bid_sz[rows, t],
                              self.ask_px[rows, t], self.ask_sz[rows, t], self.complement)
        budget = np.where(is_buy, self.cash, np.inf) if is_buy.any() else None
        filled, notional, fee, _ = execute_orders(px, sz, wanted, budget, self.fee_rate)
        side_mid = np.where((side == BUY_YES) | (side == SELL_YES), mark, self.complement - mark)
        # What crossing the spread cost against the mid: already inside the value change.
        self.spread_cost += np.where(
            is_buy, notional - filled * side_mid, filled * side_mid - notional
        )
        self._book(side, filled, notional, fee)
        traded = filled > 0
        ordered_now = side > 0
        self.orders += ordered_now
        missed = ordered_now & ~traded
        no_stock = missed & (held <= 0)
        no_depth = missed & ~no_stock & (sz.sum(axis=1) <= 0)
        self.unfilled[NOTHING_TO_SELL] += no_stock
        self.unfilled[NO_LIQUIDITY] += no_depth
        # a buy facing depth that filled nothing could not pay for one contract
        self.unfilled[NO_CASH] += missed & ~no_stock & ~no_depth
        self.fill_count += traded
        self.contracts_traded += filled
        ordered = wanted > 0
        self.last_fill_ratio = np.where(
            ordered, filled / np.maximum(wanted, 1.0), self.last_fill_ratio
        )
        self.steps_since_fill = np.where(traded, 0.0, self.steps_since_fill + ~self.done)

    def _book(self, side, filled, notional, fee) -> None:
        """Move cash, positions and cost basis for the fills of one step."""
        buy_yes, sell_yes = side == BUY_YES, side == SELL_YES
        buy_no, sell_no = side == BUY_NO, side == SELL_NO
        buys, sells = buy_yes | buy_no, sell_yes | sell_no
        self.fees += fee
        self.cash += sells * notional - buys * notional - fee
        # Sells release cost basis at the average price paid.
        avg_yes = np.divide(
            self.yes_cost, self.yes, out=np.zeros_like(self.yes), where=self.yes > 0
        )
        avg_no = np.divide(self.no_cost, self.no, out=np.zeros_like(self.no), where=self.no > 0)
        released_yes = sell_yes * avg_yes * filled
        released_no = sell_no * avg_no * filled
        self.realized += sells * notional - released_yes - released_no
        self.yes_cost += buy_yes * notional - released_yes
        self.no_cost += buy_no * notional - released_no
        self.yes += (buy_yes * 1.0 - sell_yes) * filled
        self.no += (buy_no * 1.0 - sell_no) * filled

    def row_info(self, i: int) -> dict:
        """What one row's portfolio looks like now, for the gym env's info and reports."""
        value = float(self.values()[i])
        mark = float(self.mark[i, self.t[i]])
        unrealized = (self.yes[i] * mark - self.yes_cost[i]
                      + self.no[i] * (self.complement - mark) - self.no_cost[i])
        return {
            "market": self.tapes[i].ticker,
            "session_id": self.tapes[i].session_id,
            "step": int(self.t[i]),
            "portfolio_value": value,
            "cash": float(self.cash[i]),
            "positions": {"yes": int(self.yes[i]), "no": int(self.no[i])},
            "position": int(self.yes[i] - self.no[i]),  # the original's +YES / -NO
            # flat keys: SB3's DummyVecEnv deep-copies every info dict on every step
            "yes_cost_basis": float(self.yes_cost[i]),
            "no_cost_basis": float(self.no_cost[i]),
            "fill_count": int(self.fill_count[i]),
            "unheld_sells": int(self.unheld_sells[i]),  # "nothing to sell"
            "contracts_traded": int(self.contracts_traded[i]),
            "fees": float(self.fees[i]),
            "spread_cost": float(self.spread_cost[i]),
            "realized_pnl": float(self.realized[i]),
            "unrealized_pnl": float(unrealized),
            "pnl": value - self.initial_cash,
        }
