"""The pointer engine: CURRENT_MODEL.json, its revisioned journal, promote, rollback, prune.

Public API (the CLI and the TUI call only these):
`PointerEngine(config)` with `.status()`, `.history(limit)`, `.plan_promote(...)`,
`.promote(...)`, `.plan_rollback(...)`, `.rollback(...)`, `.reconcile()`;
the data classes `PointerStatus`, `HistoryRecord`, `ChangePlan`, `ChangeResult`;
the errors `PointerError`, `Refused`, `StaleRevision`, `LockTimeout`.
"""

from kalshi_tui.core.pointer.engine import PointerEngine
from kalshi_tui.core.pointer.errors import LockTimeout, PointerError, Refused, StaleRevision
from kalshi_tui.core.pointer.records import (ChangePlan, ChangeResult, HistoryRecord, HookResult,
                                             ModelRef, PointerStatus, SkippedRevision)

__all__ = [
    "ChangePlan", "ChangeResult", "HistoryRecord", "HookResult", "LockTimeout", "ModelRef",
    "PointerEngine", "PointerError", "PointerStatus", "Refused", "SkippedRevision",
    "StaleRevision",
]
