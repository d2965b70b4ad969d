"""The plain data the pointer engine hands to the CLI and the TUI: history, status, plans,
results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.safe_text import PATH_CLIP_CHARS, clip


@dataclass
class ModelRef:
    """One side of a change: the pointer's `full_path` as written, and the file's sha256."""

    path: str | None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ModelRef:
        data = data or {}
        return cls(data.get("path"), data.get("sha256"))

    def same_as(self, other: ModelRef) -> bool:
        return self.path == other.path and self.sha256 == other.sha256

    def short(self) -> str:
        sha = f" ({self.sha256[:12]})" if self.sha256 else ""
        # Cut past PATH_MAX: a hand-written pointer may hold a path of any length.
        return f"{clip(self.path or '(nothing)', PATH_CLIP_CHARS)}{sha}"


@dataclass
class SkippedRevision:
    """A revision a rollback passed over, and the one-sentence reason."""

    revision: int
    path: str | None
    reason: str


@dataclass
class HistoryRecord:
    """One journal record, without the pointer document it carries."""

    revision: int
    action: str  # promote | rollback | adopt | import
    from_: ModelRef
    to: ModelRef
    reason: str
    user: str | None
    host: str | None
    pid: int | None
    time: str | None  # UTC, ...Z
    tool_version: str | None
    forced: bool = False
    target_revision: int | None = None
    skipped: list[SkippedRevision] = field(default_factory=list)
    # An import: the version_history entry's version, date (as written), model_path,
    # milestone and description.
    imported: dict[str, str] | None = None
    journalled: bool = True  # False: shown from version_history, written at the first change

    @classmethod
    def from_record(cls, record: dict[str, Any], *, journalled: bool = True) -> HistoryRecord:
        skipped = [
            SkippedRevision(int(s.get("revision", 0)), s.get("path"), str(s.get("reason", "")))
            for s in record.get("skipped") or []
            if isinstance(s, dict)
        ]
        return cls(
            revision=int(record["revision"]),
            action=str(record.get("action", "?")),
            from_=ModelRef.from_dict(record.get("from")),
            to=ModelRef.from_dict(record.get("to")),
            reason=str(record.get("reason", "")),
            user=record.get("user"),
            host=record.get("host"),
            pid=record.get("pid"),
            time=record.get("time"),
            tool_version=record.get("tool_version"),
            forced=bool(record.get("forced", False)),
            target_revision=record.get("target_revision"),
            skipped=skipped,
            imported=record.get("imported") if isinstance(record.get("imported"), dict) else None,
            journalled=journalled,
        )

    @property
    def who(self) -> str:
        return f"{self.user or '?'}@{self.host or '?'}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


@dataclass
class ChangePlan:
    """What a promote or rollback will do, checked against the guard rails; shown before asking."""

    action: str  # promote | rollback
    from_: ModelRef
    to: ModelRef
    record: ModelRecord  # the target model, freshly inspected
    reason: str
    revision_before: int
    revision_after: int
    forced: bool = False
    adopt: bool = False  # a hand-edited pointer is first journalled as it was
    imported: int = 0  # version_history entries journalled first, as revisions 1..imported
    target_revision: int | None = None
    skipped: list[SkippedRevision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)

    def key_metrics(self) -> dict[str, Any]:
        """The few figures an operator checks before saying yes."""
        metrics = self.record.metrics
        out: dict[str, Any] = {
            "algorithm": self.record.algorithm,
            "n_actions": self.record.n_actions,
            "num_timesteps": self.record.num_timesteps,
        }
        if metrics is not None:
            out.update(episodes=metrics.episodes, unique_markets=metrics.unique_markets,
                       win_rate=metrics.win_rate, trading_pct=metrics.trading_pct,
                       entropy=metrics.entropy)
        return {k: v for k, v in out.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "from": self.from_.to_dict(),
            "to": self.to.to_dict(),
            "model": self.record.path,
            "verdict": self.record.verdict,
            "reasons": list(self.record.reasons),
            "reason": self.reason,
            "revision_before": self.revision_before,
            "revision_after": self.revision_after,
            "forced": self.forced,
            "adopt": self.adopt,
            "imported": self.imported,
            "target_revision": self.target_revision,
            "skipped": [asdict(s) for s in self.skipped],
            "warnings": list(self.warnings),
            "key_metrics": self.key_metrics(),
        }


@dataclass
class HookResult:
    """How the post-change hook went; a failure is reported, never undoes the change."""

    command: str
    returncode: int | None
    timed_out: bool = False
    error: str | None = None
    output_tail: str = ""
    log_file: str | None = None
    output_bytes: int = 0  # everything the hook printed
    dropped_bytes: int = 0  # printed but not kept (only the newest bytes are)
    output_bytes_exact: bool = True  # false: the counts are lower bounds (see hook.py)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None

    def summary(self) -> str:
        if self.ok:
            return f"hook ok: {self.command}"
        if self.timed_out:
            return f"hook timed out: {self.command} (see {self.log_file})"
        if self.error and self.returncode is not None and not self.timed_out:
            return f"hook exited {self.returncode} but: {self.error}"
        if self.error:
            return f"hook could not run: {self.error} (see {self.log_file})"
        return f"hook failed with exit {self.returncode}: {self.command} (see {self.log_file})"


@dataclass
class ChangeResult:
    """A committed change: the plan as executed, its revision, and what happened around it."""

    plan: ChangePlan
    revision: int
    history: HistoryRecord
    rolled_forward: int | None = None  # a crashed writer's revision this call finished first
    adopted_revision: int | None = None
    hook: HookResult | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "plan": self.plan.to_dict(),
            "history": self.history.to_dict(),
            "rolled_forward": self.rolled_forward,
            "adopted_revision": self.adopted_revision,
            "hook": asdict(self.hook) if self.hook else None,
        }


@dataclass
class PointerStatus:
    """What the trader will load now, whether that is safe, and the last change."""

    pointer_file: str
    exists: bool
    relation: str  # empty | unmanaged | consistent | pending | drifted | unreadable
    revision: int
    full_path: str | None = None
    resolved_path: str | None = None
    model_exists: bool = False
    record: ModelRecord | None = None
    recorded_sha256: str | None = None
    current_sha256: str | None = None
    last_updated: str | None = None
    selected_reason: str | None = None
    last_change: HistoryRecord | None = None
    repaired_revision: int | None = None
    alarms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # figures in the pointer's model_metadata that the model file contradicts
    contradictions: list[str] = field(default_factory=list)

    @property
    def alarm(self) -> bool:
        return bool(self.alarms)

    @property
    def verdict(self) -> str | None:
        return self.record.verdict if self.record else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer_file": self.pointer_file,
            "exists": self.exists,
            "relation": self.relation,
            "revision": self.revision,
            "full_path": self.full_path,
            "resolved_path": self.resolved_path,
            "model_exists": self.model_exists,
            "verdict": self.verdict,
            "reasons": list(self.record.reasons) if self.record else [],
            "model": self.record.path if self.record else None,
            "recorded_sha256": self.recorded_sha256,
            "current_sha256": self.current_sha256,
            "last_updated": self.last_updated,
            "selected_reason": self.selected_reason,
            "last_change": self.last_change.to_dict() if self.last_change else None,
            "repaired_revision": self.repaired_revision,
            "alarm": self.alarm,
            "alarms": list(self.alarms),
            "notes": list(self.notes),
            "contradictions": list(self.contradictions),
        }
