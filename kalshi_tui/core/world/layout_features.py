"""The names of the 52 features of the original observation layouts A and B, index by index
(ORIGINAL_ENV.md section 1).

Pure data, no numpy: the listing reads them (core.layout_evidence) to tell from a model's
saved last observation which layout it was trained on; env.layouts builds the features.
"""

from __future__ import annotations

from kalshi_tui.core.world.profiles import LAYOUT_A, LAYOUT_B

MARKET_A = (
    "best_yes_bid_norm", "best_yes_ask_norm", "best_no_bid_norm", "best_no_ask_norm",
    "yes_spread_norm", "no_spread_norm", "yes_mid_price_norm", "no_mid_price_norm",
    "yes_volume_norm", "no_volume_norm", "total_volume_norm", "volume_imbalance",
    "yes_side_imbalance", "no_side_imbalance", "yes_book_depth_norm", "no_book_depth_norm",
    "yes_liquidity_concentration", "no_liquidity_concentration", "arbitrage_opportunity",
    "market_efficiency", "cross_side_efficiency",
)
TEMPORAL_A = (
    "time_since_last_update", "time_of_day_norm", "day_of_week_norm", "current_activity_score",
    "activity_change", "update_frequency", "activity_burst_indicator", "quiet_period_indicator",
    "activity_trend", "price_momentum", "volatility_regime", "activity_consistency",
    "price_stability", "activity_persistence",
)
PORTFOLIO_A = (
    "cash_ratio", "position_ratio", "position_count_norm", "average_position_size_norm",
    "long_position_ratio", "short_position_ratio", "net_position_bias", "position_concentration",
    "largest_position_norm", "unrealized_pnl_ratio", "position_diversity", "leverage",
)
MARKET_B = (
    "best_yes_bid_norm", "best_yes_ask_norm", "best_no_bid_norm", "best_no_ask_norm",
    "yes_mid_price_norm", "no_mid_price_norm", "yes_spread_cents", "no_spread_cents",
    "yes_spread_pct", "no_spread_pct", "yes_spread_regime", "no_spread_regime",
    "yes_breakeven_move", "no_breakeven_move", "total_volume_norm", "volume_imbalance",
    "yes_side_imbalance", "no_side_imbalance", "bid_ask_depth_ratio", "yes_no_consistency",
    "yes_microprice_norm", "no_microprice_norm", "yes_book_depth_norm", "no_book_depth_norm",
    "yes_liquidity_concentration", "no_liquidity_concentration",
)
TEMPORAL_B = (
    "time_since_last_update", "time_of_day_norm", "current_activity_score", "activity_change",
    "update_frequency", "activity_burst_indicator", "activity_trend", "price_momentum",
    "volatility_regime", "price_stability",
)
PORTFOLIO_B = tuple(n for n in PORTFOLIO_A if n != "position_diversity")
ORDER = ("has_open_buy", "has_open_sell", "buy_distance", "sell_distance", "time_since_order")

LAYOUT_FEATURES: dict[str, tuple[str, ...]] = {
    LAYOUT_A: (*MARKET_A, *TEMPORAL_A, *PORTFOLIO_A, *ORDER),
    LAYOUT_B: (*MARKET_B, *TEMPORAL_B, *PORTFOLIO_B, *ORDER),
}
assert all(len(names) == 52 for names in LAYOUT_FEATURES.values())
