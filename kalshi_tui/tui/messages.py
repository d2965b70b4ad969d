"""Past-tense events the workers post; the App's `@on` handlers own every state change.

Workers never touch widgets: they compute in a thread and post one of these. Progress
messages can replace each other in the queue, so a fast validation cannot flood the UI.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from kalshi_tui.tui.backend import PointerView


class ModelsScanned(Message):
    """The catalog was read: every record with its badge, and the tree's change signature."""

    def __init__(self, records: list, badges: dict[str, str], signature: Any) -> None:
        super().__init__()
        self.records = records
        self.badges = badges
        self.signature = signature


class ChangesDetected(Message):
    """The poller saw a model file, the pointer or its journal change since the last scan."""

    def __init__(self, signature: Any) -> None:
        super().__init__()
        self.signature = signature


class ValidationsLoaded(Message):
    """Stored validation and health results still current for these models, by record path."""

    def __init__(self, validations: dict[str, Any], healths: dict[str, Any]) -> None:
        super().__init__()
        self.validations = validations
        self.healths = healths


class StoredABLines(Message):
    """The stored A/B of each listed model against the current model, in words, by path."""

    def __init__(self, records: list, lines: dict[str, str]) -> None:
        super().__init__()
        self.records = records  # the list it was read for: an older scan's lines are dropped
        self.lines = lines


class PointerRead(Message):
    """The pointer and its journal were read (on start, on refresh, after a change)."""

    def __init__(self, pointer: PointerView) -> None:
        super().__init__()
        self.pointer = pointer


class PointerChanged(Message):
    """This screen promoted or rolled back as `revision`; `summary` says what, for the flash."""

    def __init__(self, summary: str, pointer: PointerView, revision: int) -> None:
        super().__init__()
        self.summary = summary
        self.pointer = pointer
        self.revision = revision  # ours: not announced as an outside change


class PromotePlanned(Message):
    """The engine accepted a promote plan; the dialog may ask for confirmation."""

    def __init__(self, record: Any, plan: Any, force: bool, ab_line: str = "") -> None:
        super().__init__()
        self.record = record
        self.plan = plan
        self.force = force
        self.ab_line = ab_line  # the stored A/B against the current model, in words


class PromoteRefused(Message):
    """The engine refused the promote; `forceable` when only compatibility stood in the way."""

    def __init__(self, record: Any, message: str, forceable: bool) -> None:
        super().__init__()
        self.record = record
        self.message = message
        self.forceable = forceable


class RollbackPlanned(Message):
    def __init__(self, plan: Any, to_revision: int | None, ab_line: str = "") -> None:
        super().__init__()
        self.plan = plan
        self.to_revision = to_revision
        self.ab_line = ab_line  # the target's stored A/B against the current model


class HistoryRead(Message):
    def __init__(self, records: list) -> None:
        super().__init__()
        self.records = records


class ValidationProgressed(Message):
    """Sessions/markets done so far; only the newest matters, so queued ones collapse."""

    def __init__(self, path: str, done: int, total: int) -> None:
        super().__init__()
        self.path = path
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ValidationProgressed) and message.path == self.path


class ValidationFinished(Message):
    """A validation ended: `result` when it completed, `cancelled` or `error` otherwise."""

    def __init__(self, path: str, result: Any = None, *, cancelled: bool = False,
                 error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.result = result
        self.cancelled = cancelled
        self.error = error


class PolicyRunFinished(Message):
    """A health check or an A/B test ended: `result` when it completed (and was stored),
    `cancelled`, `refused` (the model or the current model cannot run: `error` says why)
    or `error` otherwise."""

    def __init__(self, kind: str, path: str, result: Any = None, *, cancelled: bool = False,
                 refused: bool = False, error: str | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.path = path
        self.result = result
        self.cancelled = cancelled
        self.refused = refused
        self.error = error


class SmokeTested(Message):
    def __init__(self, path: str, result: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.result = result
        self.error = error


class OperationFailed(Message):
    """A worker failed, or a guard rail refused (`refused`): one line for the flash.

    A failure's details go to the log file; a refusal is an answer, not an error, and is
    logged as a warning without a traceback. `planning`: the plan behind an open dialog.
    """

    def __init__(self, what: str, message: str, *, severity: str = "error",
                 refused: bool = False, planning: bool = False) -> None:
        super().__init__()
        self.what = what
        self.message = message
        self.severity = severity
        self.refused = refused
        self.planning = planning


class RankingComputed(Message):
    """The ranking over the listed records: path -> RankedModel (rank None = never recommended)."""

    def __init__(self, records: list, ranking: dict[str, Any]) -> None:
        super().__init__()
        self.records = records  # the list it ranked: a ranking of an older scan is dropped
        self.ranking = ranking


class ReportWritten(Message):
    """The compatibility report was written to `path`; `summary` is its one-line gist."""

    def __init__(self, path: str, summary: str) -> None:
        super().__init__()
        self.path = path
        self.summary = summary
