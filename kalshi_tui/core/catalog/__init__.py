"""The models folder, listed and judged: walk, scan, cache and change detection.

`scan_catalog(config)` returns a `Catalog` of `ModelRecord`s, each with a verdict (COMPATIBLE,
INCOMPATIBLE, UNREADABLE, UNSAFE); nothing is unpickled and torch is never imported.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.catalog.cache import cache_locations as cache_locations
    from kalshi_tui.core.catalog.changes import (
        ChangeSignature as ChangeSignature,
        ModelFileChanges as ModelFileChanges,
        change_signature as change_signature,
        model_file_changes as model_file_changes,
    )
    from kalshi_tui.core.catalog.scan import (
        AmbiguousModel as AmbiguousModel,
        Catalog as Catalog,
        ModelNotFound as ModelNotFound,
        inspect_model as inspect_model,
        scan_catalog as scan_catalog,
        start_helpers as start_helpers,
    )
    from kalshi_tui.core.catalog.walk import require_models_folder as require_models_folder
    from kalshi_tui.core.model_record import (
        COMPATIBLE as COMPATIBLE,
        INCOMPATIBLE as INCOMPATIBLE,
        UNREADABLE as UNREADABLE,
        UNSAFE as UNSAFE,
        ModelRecord as ModelRecord,
        TrainingMetrics as TrainingMetrics,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        # The record lives under every domain (core.model_record); the catalog hands it out.
        "kalshi_tui.core.model_record": ["COMPATIBLE", "INCOMPATIBLE", "UNREADABLE", "UNSAFE",
                                         "ModelRecord", "TrainingMetrics"],
        "scan": ["AmbiguousModel", "Catalog", "ModelNotFound", "inspect_model", "scan_catalog",
                 "start_helpers"],
        "cache": ["cache_locations"],
        "changes": ["ChangeSignature", "ModelFileChanges", "change_signature",
                    "model_file_changes"],
        "walk": ["require_models_folder"],
    })
