"""The model the trader follows now, as something a comparison can run against, or why not.

Read through the pointer engine's status (the catalog's verdict: a zip read, never run,
no torch), so the A/B line in `promote`, the report and the TUI costs a hash, not a model
load. A current model that is missing, unreadable, incompatible or unsafe is never run:
the comparison says so instead of showing a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNNABLE = "runnable"
NO_CURRENT = "no-current-model"
MISSING = "missing"
NOT_RUNNABLE = "not-runnable"  # the catalog's verdict is not "compatible"


@dataclass
class CurrentModel:
    """Where the current model is and whether it can be run here; `problem` says why not."""

    state: str
    path: Path | None = None
    sha256: str | None = None
    verdict: str | None = None
    problem: str | None = None

    @property
    def runnable(self) -> bool:
        return self.state == RUNNABLE


def current_model(config: Any, status: Any = None) -> CurrentModel:
    """The pointer's current model; pass a PointerStatus already read to spare a second read."""
    if status is None:
        from kalshi_tui.core.pointer import PointerEngine

        status = PointerEngine(config).status(repair=False)
    if status.resolved_path is None:
        why = status.alarms[0] if status.alarms else f"{status.pointer_file}: no current model"
        return CurrentModel(NO_CURRENT, problem=f"no current model to compare with ({why})")
    path = Path(status.resolved_path)
    if not status.model_exists:
        return CurrentModel(MISSING, path, problem=f"current model missing: {path} does not "
                            "exist, so nothing can be compared with it")
    verdict = status.verdict
    if verdict != "compatible" or status.current_sha256 is None:
        reasons = list(status.record.reasons) if status.record is not None else []
        why = reasons[0] if reasons else "no reason given"
        return CurrentModel(NOT_RUNNABLE, path, status.current_sha256, verdict,
                            problem=f"current model {path.name} is {verdict}: {why}; "
                            "it cannot run in this environment, so nothing is compared with it")
    return CurrentModel(RUNNABLE, path, status.current_sha256, verdict)
