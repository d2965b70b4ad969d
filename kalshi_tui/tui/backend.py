"""The TUI's one doorway into the core: catalog, pointer engine and evaluation.

Workers call these from threads; nothing here touches a widget. Heavy modules are
imported inside the functions that need them, so `import kalshi_tui.tui.app` stays free
of torch and stable-baselines3. The pointer status is flattened into `PointerView`, plain
data the header and dialogs render without knowing the engine's classes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kalshi_tui.core import Config

if TYPE_CHECKING:
    from kalshi_tui.core.catalog import Catalog, ChangeSignature
    from kalshi_tui.core.pointer import PointerEngine


@dataclass
class PointerView:
    """What the header shows about the pointer, read at one moment."""

    revision: int = 0
    model_path: str | None = None  # relative to the models folder when inside it
    model_sha256: str | None = None  # the sha the pointer recorded for its model
    verdict: str | None = None
    badge: str | None = None
    last_who: str | None = None
    last_when: str | None = None
    last_why: str | None = None
    last_action: str | None = None
    alarm: str | None = None
    notes: list[str] = field(default_factory=list)
    pending: str | None = None  # a change committed to the journal but not yet in the pointer
    error: str | None = None  # the pointer could not be read at all


class CurrentUnavailable(Exception):
    """The current model is missing, incompatible or unsafe: an A/B against it cannot run."""


class Backend:
    """Calls into the core for one config; each method is safe to call from a thread."""

    def __init__(self, config: Config, *, read_only: bool = False) -> None:
        self.config = config
        # Read-only never writes: not even to finish a change a crashed writer left half done.
        self.read_only = read_only
        self._engine: PointerEngine | None = None
        # The last scan's catalog, which keeps hashes made after it in its cache.
        self._catalog: Catalog | None = None

    @property
    def engine(self):
        if self._engine is None:
            from kalshi_tui.core.pointer import PointerEngine

            self._engine = PointerEngine(self.config)
        return self._engine

    # -- catalog ---------------------------------------------------------------------
    def scan(self, *, use_cache: bool = True) -> tuple[list, dict[str, str]]:
        """Every model record and its badge (cheap with a warm catalog cache, no torch).

        A listing: files are not hashed here (hashing reads every byte, the facts a tenth of
        them), so new models come without sha256 until `hash_models` runs.
        """
        from kalshi_tui.core.catalog import scan_catalog
        from kalshi_tui.core.evidence import badge

        catalog = scan_catalog(self.config, use_cache=use_cache, hashes=False)
        self._catalog = catalog
        records = list(catalog.records)
        env = self.config.environment
        badges = {r.path: badge(r, env) for r in records}
        return records, badges

    def hash_models(self, records: list) -> int:
        """Add the sha256 of every listed model that has none yet; the cache keeps them."""
        from kalshi_tui.core.catalog import Catalog

        catalog = self._catalog or Catalog(models_dir=Path(self.config.models_dir))
        return catalog.ensure_sha256(records)

    def _hashed(self, record):
        """`record` with its sha256, so a promotion names the exact file the operator saw."""
        if record.sha256 is None and record.verdict != "unreadable":
            self.hash_models([record])
            if record.sha256 is None:
                raise RuntimeError(f"{record.path} changed (size or time) since it was listed: "
                                   "rescan (r) and look again before promoting it")
        return record

    def stored_evidence(self, records: list) -> Any:
        """Stored validation and policy-health results still current, by record path
        (`StoredEvidence`: JSON reads, no torch; `kalshi-tui health` computes the health)."""
        from kalshi_tui.eval import stored_evidence

        return stored_evidence(records, self.config)

    def ranking(self, records: list, validations: dict[str, Any], healths: dict[str, Any], *,
                now) -> dict[str, Any]:
        """Path -> RankedModel with the config's weights (RankingError names the config file)."""
        from kalshi_tui.core.evidence import rank_for_config, ranking_by_path

        return ranking_by_path(
            rank_for_config(records, self.config, validations=validations, healths=healths,
                            now=now)
        )

    def write_report(self, *, now) -> tuple[Path, dict[str, Any]]:
        """The compatibility report in the cache folder (never the models folder); (file,
        report)."""
        from kalshi_tui.core.report import write_report
        from kalshi_tui.eval import stored_evidence

        return write_report(self.config, stored=stored_evidence, now=now)

    def change_signature(self) -> ChangeSignature:
        """A stat-only fingerprint of the models tree and the pointer files, for live refresh."""
        from kalshi_tui.core.catalog import change_signature
        from kalshi_tui.core.pointer import pointer_files

        return change_signature(self.config.models_dir, pointer_files(self.config.pointer_file))

    # -- pointer ---------------------------------------------------------------------
    def pointer_view(self) -> PointerView:
        from kalshi_tui.core.evidence import badge
        from kalshi_tui.eval import collapse_alarm

        status = self.engine.status(repair=not self.read_only)
        shown = badge(status.record, self.config.environment) if status.record else None
        if status.model_exists and status.current_sha256:
            # The same stored-health rule as `kalshi-tui status`: never runs the model.
            collapsed = collapse_alarm(status.current_sha256, self.config)
            if collapsed:
                status.alarms.append(collapsed)
        return pointer_view_from_status(status, self.config, shown)

    def history(self, limit: int | None = None) -> list:
        return list(self.engine.history(limit=limit))

    def plan_promote(self, record, *, expect_revision: int | None, force: bool = False):
        # The reason is asked for after the plan is shown; the plan only needs a placeholder.
        record = self._hashed(record)
        return self.engine.plan_promote(record, "(plan)", expect_revision=expect_revision,
                                        expect_sha256=record.sha256, force=force)

    def promote(self, record, reason: str, *, expect_revision: int | None, force: bool = False):
        record = self._hashed(record)
        return self.engine.promote(record, reason, expect_revision=expect_revision,
                                   expect_sha256=record.sha256, force=force)

    def ab_vs_current(self, record: Any, status: Any = None, stored: set[str] | None = None
                      ) -> str:
        """The stored A/B of `record` against the current model, as `promote` prints it (or
        why there is none). Stored results only: a dialog never runs a model. `status` and
        `stored` (the candidates with an A/B stored): already read, for many records at once."""
        from kalshi_tui.core.pointer import describe_os_error
        from kalshi_tui.eval import vs_current_line

        try:
            return vs_current_line(record.sha256, self.config, status=status, stored=stored)
        except OSError as exc:
            # An unreadable current model must not stop a change away from it.
            return f"A/B against the current model unknown ({describe_os_error(exc)})"

    def stored_ab_lines(self, records: list) -> dict[str, str]:
        """Path -> the stored A/B line against the current model (the promote dialog's words),
        for every hashed compatible model (a byte-identical copy of the current model says so);
        the pointer and the A/B folders are read once (JSON only where a result is stored):
        the panes show it as the cursor moves, so it is read here, once per scan.

        None when the current model cannot run (no pointer, missing, incompatible, unsafe):
        then no model has an A/B, and the header's ALARM line already says why in full.
        """
        from kalshi_tui.core.catalog import COMPATIBLE
        from kalshi_tui.eval import current_model, stored_ab_candidates

        status = self.engine.status(repair=False)
        if not current_model(self.config, status).runnable:
            return {}
        stored = stored_ab_candidates(self.config)
        return {r.path: self.ab_vs_current(r, status, stored) for r in records
                if r.verdict == COMPATIBLE and r.sha256}

    def plan_rollback(self, to_revision: int | None = None):
        return self.engine.plan_rollback(to_revision=to_revision)

    def rollback(self, reason: str, *, to_revision: int | None, expect_revision: int | None):
        return self.engine.rollback(
            reason, to_revision=to_revision, expect_revision=expect_revision
        )

    # -- evaluation ------------------------------------------------------------------
    def validation_sessions(self) -> list[int]:
        from kalshi_tui.eval import default_session_ids

        sessions = default_session_ids(self.config)
        if not sessions:
            raise ValueError(f"validation sessions {self.config.validation_sessions!r} are not "
                             f"in the session store {self.config.sessions_name}")
        return sessions

    def validate(self, record, *, progress, cancel):
        """Run validation (imports torch); raises ValidationCancelled when `cancel` is set."""
        from kalshi_tui.eval import validate_model

        return validate_model(Path(record.abs_path), self.config, self.validation_sessions(),
                              deterministic=self.config.validation_deterministic,
                              progress=progress, cancel=cancel)

    def check_health(self, record, *, progress, cancel):
        """The policy health check `kalshi-tui health` runs, stored the same way (imports
        torch); raises ValidationCancelled when `cancel` is set, nothing stored then."""
        from kalshi_tui.eval import check_health

        return check_health(Path(record.abs_path), self.config, self.validation_sessions(),
                            cancel=cancel, progress=progress)

    def abtest_vs_current(self, record, *, progress, cancel):
        """`kalshi-tui abtest MODEL current`: the A/B of `record` against the current model,
        stored the same way. CurrentUnavailable says why the current model cannot run."""
        from kalshi_tui.eval import current_model, run_abtest

        current = current_model(self.config)
        if not current.runnable or current.path is None:
            raise CurrentUnavailable(current.problem or "no current model to compare with")
        return run_abtest(Path(record.abs_path), current.path, self.config,
                          self.validation_sessions(), against_is_current=True,
                          progress=progress, cancel=cancel)

    def validate_ensemble(self, records: list, vote: str, *, progress, cancel):
        """`kalshi-tui validate --ensemble A,B,C --vote VOTE`, stored the same way; the current
        model runs beside it when it can. The eval layer refuses (one line naming the member)
        fewer than 2 models, a model named twice, a member that does not fit or cannot be
        loaded safely, and an unknown vote."""
        from kalshi_tui.eval import validate_ensemble

        return validate_ensemble([Path(r.abs_path) for r in records], self.config,
                                 self.validation_sessions(), vote, progress=progress,
                                 cancel=cancel)

    def smoke(self, record):
        from kalshi_tui.eval import smoke_test

        return smoke_test(Path(record.abs_path), self.config)


def relative_to_models(path: Any, config: Config) -> str | None:
    """A pointer path as the operator knows it: relative to the models folder when inside."""
    if not path:
        return None
    candidate = Path(str(path))
    if not candidate.is_absolute():
        candidate = config.base_dir / candidate
    try:
        return candidate.resolve().relative_to(config.models_dir.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def pointer_view_from_status(status: Any, config: Config, badge: str | None = None) -> PointerView:
    """Flatten the engine's PointerStatus for the header."""
    last = status.last_change
    if status.record is not None:
        model_path = status.record.path
    else:
        model_path = relative_to_models(status.resolved_path or status.full_path, config)
    def shorten(text: str) -> str:
        # Paths inside the models folder read as the operator lists them, not as /abs/...
        return text.replace(f"{config.models_dir}/", f"{config.models_dir.name}/")

    return PointerView(
        revision=int(status.revision or 0),
        model_path=model_path,
        model_sha256=status.recorded_sha256,
        verdict=status.verdict,
        badge=badge,
        last_who=last.who if last else None,
        last_when=last.time if last else None,
        last_why=last.reason if last else status.selected_reason,
        last_action=last.action if last else None,
        alarm=shorten("; ".join(status.alarms)) or None,
        notes=[shorten(n) for n in status.notes],
        # Shown as its own line: the trader still reads the old pointer until it is published.
        pending=shorten(status.notes[0]) if status.relation == "pending" and status.notes else None,
    )


def start_prefetch(backend: Backend) -> Future:
    """Begin reading the catalog at once, in a plain thread, before the App's loop exists.

    Textual's start-up (driver, CSS, first compose) and the catalog's file reads then overlap;
    the first scan worker only collects the result.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kalshi-tui-prefetch")

    def read() -> tuple:
        return (backend.change_signature(), *backend.scan())

    future = executor.submit(read)
    executor.shutdown(wait=False)
    return future
