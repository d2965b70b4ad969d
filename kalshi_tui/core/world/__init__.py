"""The trading world's fixed facts: action layouts, environment profiles, session ids.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.world.actions import (
        ActionLayout as ActionLayout,
        decode_action as decode_action,
    )
    from kalshi_tui.core.world.session_ids import (
        SessionListSyntaxError as SessionListSyntaxError,
        parse_session_list as parse_session_list,
        session_ranges as session_ranges,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "actions": ["ActionLayout", "decode_action"],
        "session_ids": ["SessionListSyntaxError", "parse_session_list", "session_ranges"],
    })
