"""The trading world the models live in: recorded sessions, their replay, and the env.

Importing a name pulls in what it needs (numpy, gymnasium for the env), never torch or
stable-baselines3.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.env.features import FEATURE_NAMES as FEATURE_NAMES
    from kalshi_tui.env.generator import (
        GeneratorSettings as GeneratorSettings,
        generate_sessions as generate_sessions,
    )
    from kalshi_tui.env.layouts import LAYOUT_FEATURES as LAYOUT_FEATURES
    from kalshi_tui.env.orderbook import BookError as BookError, BookState as BookState
    from kalshi_tui.env.session_source import open_session_store as open_session_store
    from kalshi_tui.env.simulator import (
        INITIAL_CASH_CENTS as INITIAL_CASH_CENTS,
        REWARD_SCALE as REWARD_SCALE,
        BatchSimulator as BatchSimulator,
    )
    from kalshi_tui.env.store import (
        ReplayStats as ReplayStats,
        SessionInfo as SessionInfo,
        SessionStore as SessionStore,
        StoreError as StoreError,
        parse_session_list as parse_session_list,
    )
    from kalshi_tui.env.tape import (
        FEE_RATE as FEE_RATE,
        MarketTape as MarketTape,
        build_tape as build_tape,
        load_tapes as load_tapes,
    )
    from kalshi_tui.env.trading import (
        Fill as Fill,
        action_table as action_table,
        execute_order as execute_order,
        execute_orders as execute_orders,
    )
    from kalshi_tui.env.trading_env import KalshiTradingEnv as KalshiTradingEnv
    from kalshi_tui.env.world import (
        make_simulator as make_simulator,
        simulator_for as simulator_for,
        tape_options as tape_options,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "features": ["FEATURE_NAMES"],
        "layouts": ["LAYOUT_FEATURES"],
        "generator": ["GeneratorSettings", "generate_sessions"],
        "orderbook": ["BookError", "BookState"],
        "simulator": ["INITIAL_CASH_CENTS", "REWARD_SCALE", "BatchSimulator"],
        "session_source": ["open_session_store"],
        "store": ["ReplayStats", "SessionInfo", "SessionStore", "StoreError",
                  "parse_session_list"],
        "tape": ["FEE_RATE", "MarketTape", "build_tape", "load_tapes"],
        "trading": ["Fill", "action_table", "execute_order", "execute_orders"],
        "trading_env": ["KalshiTradingEnv"],
        "world": ["make_simulator", "simulator_for", "tape_options"],
    })
