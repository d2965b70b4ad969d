"""Everything the TUI knows about the models folder, in one declared place.

The App's `@on` handlers are the only writers: a worker's message arrives, its handler
replaces a field, then asks the screens to show it again. Screens and dialogs read the
state; nothing else keeps a copy of it. Heavy types (validation and smoke results, which
live in eval/) are named for type checkers only, so importing this costs no torch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kalshi_tui.core.catalog import COMPATIBLE, ModelRecord
from kalshi_tui.tui.backend import PointerView
from kalshi_tui.tui.widgets.panes import PaneContext

if TYPE_CHECKING:
    from kalshi_tui.core.catalog import ChangeSignature
    from kalshi_tui.core.evidence import RankedModel
    from kalshi_tui.eval import HealthResult, SmokeResult, ValidationResult
    from kalshi_tui.tui.dialogs.confirm import ReasonDialog
    from kalshi_tui.tui.dialogs.progress import ValidationDialog


@dataclass
class ValidationRun:
    """The one model run (validation, health check, A/B test) allowed at a time: how to stop
    it and the dialog showing it; two runs at once would share the same few cores."""

    path: str  # the record being run
    cancel: threading.Event  # set by escape in the dialog; the worker stops at the next step
    dialog: ValidationDialog
    kind: str = "validation"  # "validation", "health check", "A/B test", "ensemble validation"


@dataclass
class TuiState:
    """The last answers of the workers, and the operations in flight."""

    # The last scan of the models folder, in catalog order; replaced whole by each scan.
    records: list[ModelRecord] = field(default_factory=list)
    # Record path -> the catalog's badge ("OK", "LEGACY 5-ACT", ...).
    badges: dict[str, str] = field(default_factory=dict)
    # False until the first scan answers: the header says "loading...", never "0 models".
    loaded: bool = False
    # Record path -> a stored validation result still current for the config (or just run).
    validations: dict[str, ValidationResult] = field(default_factory=dict)
    # Record path -> a stored policy-health result still current (`kalshi-tui health` writes them).
    healths: dict[str, HealthResult] = field(default_factory=dict)
    # Record path -> its stored A/B line against the current model (read once per scan, or
    # from an A/B run in this session); the current model itself has none.
    ab_lines: dict[str, str] = field(default_factory=dict)
    # Record path -> its place in the ranking; empty until the ranking worker answers.
    ranking: dict[str, RankedModel] = field(default_factory=dict)
    # How many of `ranking` have a rank (could be recommended); set with it by `set_ranking`
    # because the panes ask on every cursor move, and counting 10,000 entries each time shows.
    eligible_count: int = 0
    # Record path -> this session's smoke test result (never stored on disk).
    smoke_results: dict[str, SmokeResult] = field(default_factory=dict)
    # The pointer as last read; None until the first read answers.
    pointer: PointerView | None = None
    # Fingerprint of the tree at the last scan; None until then, and the poller waits for it.
    signature: ChangeSignature | None = None
    # The pointer revision the open promote/rollback dialog was planned against: the change
    # must still find it on disk, or another operator moved the pointer meanwhile.
    shown_revision: int | None = None
    # The promote/rollback dialog open now: the plan that arrives fills it.
    change_dialog: ReasonDialog | None = None
    # Revisions this screen wrote: every other new revision is announced as an outside change.
    own_revisions: set[int] = field(default_factory=set)
    # The validation running now, if any.
    validation: ValidationRun | None = None
    # True while the report worker writes, so W twice does not write twice.
    writing_report: bool = False

    @property
    def current_path(self) -> str | None:
        """The model the pointer names, relative to the models folder when inside it."""
        return self.pointer.model_path if self.pointer else None

    @property
    def compatible_count(self) -> int:
        return sum(1 for r in self.records if r.verdict == COMPATIBLE)

    def set_ranking(self, ranking: dict[str, RankedModel]) -> None:
        self.ranking = ranking
        self.eligible_count = sum(1 for r in ranking.values() if r.rank is not None)

    def record_at(self, path: str) -> ModelRecord | None:
        return next((r for r in self.records if r.path == path), None)

    def pane_context(
        self, record: ModelRecord | None, environment: Any, now: datetime
    ) -> PaneContext:
        """What the panes need about one record, gathered from every answer so far."""
        path = record.path if record else None
        is_current = bool(path and path == self.current_path)
        return PaneContext(record=record, environment=environment,
                           badge=self.badges.get(path, "") if path else "",
                           validation=self.validations.get(path) if path else None,
                           health=self.healths.get(path) if path else None,
                           # The current model is no candidate against itself.
                           ab_line=self.ab_lines.get(path) if path and not is_current else None,
                           smoke=self.smoke_results.get(path) if path else None,
                           ranked=self.ranking.get(path) if path else None,
                           ranking_ready=bool(self.ranking),
                           eligible_count=self.eligible_count,
                           is_current=is_current, now=now)
