"""The full-screen terminal UI (Textual), a thin face on the core.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.tui.app import KalshiTuiApp as KalshiTuiApp
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "app": ["KalshiTuiApp"],
    })
