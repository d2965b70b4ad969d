"""Reading a stable-baselines3 model zip without running it.

Members, the pickle globals each serialized entry would import and call, weight shapes, and
whether the trader's `PPO.load` would execute code from the file. Never imports torch.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.sb3.layout_evidence import layout_words as layout_words
    from kalshi_tui.core.sb3.model_zip import (
        Sb3ZipInfo as Sb3ZipInfo,
        UnreadableModel as UnreadableModel,
        pickle_globals as pickle_globals,
        read_sb3_zip as read_sb3_zip,
    )
else:
    __getattr__, __dir__, __all__ = attach(
        __name__,
        {
            "model_zip": ["Sb3ZipInfo", "UnreadableModel", "pickle_globals", "read_sb3_zip"],
            "layout_evidence": ["layout_words"],
        },
    )
