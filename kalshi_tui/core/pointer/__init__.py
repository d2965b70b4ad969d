"""The pointer engine: CURRENT_MODEL.json, its revisioned journal, promote, rollback, prune.

`PointerEngine(config)` with `.status()`, `.history(limit)`, `.plan_promote(...)`,
`.promote(...)`, `.plan_rollback(...)`, `.rollback(...)`, `.reconcile()`; pruning old
checkpoints with `plan_prune` / `execute_prune`; `pointer_findings` checks what a pointer's
metadata claims against the model it names.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.pointer.atomic import describe_os_error as describe_os_error
    from kalshi_tui.core.pointer.engine import PointerEngine as PointerEngine
    from kalshi_tui.core.pointer.errors import (
        LockTimeout as LockTimeout,
        PointerError as PointerError,
        Refused as Refused,
        StaleRevision as StaleRevision,
    )
    from kalshi_tui.core.pointer.evidence import pointer_findings as pointer_findings
    from kalshi_tui.core.pointer.journal import pointer_files as pointer_files
    from kalshi_tui.core.pointer.prune import (
        PrunePlan as PrunePlan,
        execute_prune as execute_prune,
        plan_prune as plan_prune,
    )
    from kalshi_tui.core.pointer.records import (
        ChangePlan as ChangePlan,
        ChangeResult as ChangeResult,
        HistoryRecord as HistoryRecord,
        HookResult as HookResult,
        ModelRef as ModelRef,
        PointerStatus as PointerStatus,
        SkippedRevision as SkippedRevision,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "engine": ["PointerEngine"],
        "errors": ["LockTimeout", "PointerError", "Refused", "StaleRevision"],
        "records": ["ChangePlan", "ChangeResult", "HistoryRecord", "HookResult", "ModelRef",
                    "PointerStatus", "SkippedRevision"],
        "atomic": ["describe_os_error"],
        "prune": ["PrunePlan", "execute_prune", "plan_prune"],
        "evidence": ["pointer_findings"],
        "journal": ["pointer_files"],
    })
