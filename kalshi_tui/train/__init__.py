"""Training: the pipeline behind `kalshi-tui train` and the demo registry builder.

SB3 and torch load inside `train` / `run_training` and in `tracker` / `progress`, which only
training imports.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.train.demo import DemoError as DemoError, build_demo as build_demo
    from kalshi_tui.train.pipeline import (
        TrainingError as TrainingError,
        TrainRequest as TrainRequest,
        TrainResult as TrainResult,
        train as train,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "demo": ["DemoError", "build_demo"],
        "pipeline": ["TrainRequest", "TrainResult", "TrainingError", "train"],
    })
