"""What is known about a model and how sure: verdicts, ranking, comparison.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.evidence.compare import (
        HIGHER as HIGHER,
        LOWER as LOWER,
        Comparison as Comparison,
        better_side as better_side,
        compare_models as compare_models,
        render_comparison as render_comparison,
    )
    from kalshi_tui.core.evidence.compat import badge as badge, trader_refusals as trader_refusals
    from kalshi_tui.core.evidence.ranking import (
        RankedModel as RankedModel,
        RankingError as RankingError,
        effective_weights as effective_weights,
        rank_for_config as rank_for_config,
        rank_models as rank_models,
        ranking_by_path as ranking_by_path,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "compat": ["badge", "trader_refusals"],
        "compare": ["HIGHER", "LOWER", "Comparison", "better_side", "compare_models",
                    "render_comparison"],
        "ranking": ["RankedModel", "RankingError", "effective_weights", "rank_for_config",
                    "rank_models", "ranking_by_path"],
    })
