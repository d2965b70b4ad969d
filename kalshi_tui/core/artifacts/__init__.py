"""Training artifacts beside a model: where they are and what their figures say."""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.artifacts.find import (
        entropy_normalised as entropy_normalised,
        find_artifacts as find_artifacts,
        read_training_metrics as read_training_metrics,
        summarise_histogram as summarise_histogram,
    )
    from kalshi_tui.core.artifacts.stream import (
        DiagnosticsScan as DiagnosticsScan,
        scan_diagnostics as scan_diagnostics,
    )
else:
    __getattr__, __dir__, __all__ = attach(
        __name__,
        {
            "find": [
                "entropy_normalised",
                "find_artifacts",
                "read_training_metrics",
                "summarise_histogram",
            ],
            "stream": ["DiagnosticsScan", "scan_diagnostics"],
        },
    )
