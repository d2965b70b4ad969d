"""The trading world the models live in: recorded sessions, their replay, and the env.

Importing this package pulls in numpy and gymnasium, never torch or stable-baselines3.
"""

from kalshi_tui.env.features import FEATURE_NAMES
from kalshi_tui.env.layouts import LAYOUT_FEATURES
from kalshi_tui.env.generator import GeneratorSettings, generate_sessions
from kalshi_tui.env.orderbook import BookError, BookState
from kalshi_tui.env.simulator import INITIAL_CASH_CENTS, REWARD_SCALE, BatchSimulator
from kalshi_tui.env.store import (ReplayStats, SessionInfo, SessionStore, StoreError,
                                  parse_session_list)
from kalshi_tui.env.tape import FEE_RATE, MarketTape, build_tape, load_tapes
from kalshi_tui.env.trading import Fill, action_table, execute_order, execute_orders
from kalshi_tui.env.trading_env import KalshiTradingEnv
from kalshi_tui.env.world import make_simulator, simulator_for, tape_options

__all__ = [
    "BatchSimulator", "BookError", "BookState", "FEATURE_NAMES", "FEE_RATE", "Fill",
    "GeneratorSettings", "INITIAL_CASH_CENTS", "KalshiTradingEnv", "LAYOUT_FEATURES", "MarketTape",
    "REWARD_SCALE", "ReplayStats", "SessionInfo", "SessionStore", "StoreError",
    "action_table", "build_tape", "execute_order", "execute_orders", "generate_sessions",
    "load_tapes", "make_simulator", "parse_session_list", "simulator_for", "tape_options",
]
