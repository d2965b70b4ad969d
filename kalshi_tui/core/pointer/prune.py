"""Prune old runs from the models folder, never what the trader needs or may need back.

A run is a run folder (with its checkpoints and diagnostics) or a flat final zip. Kept:
the N newest runs, the run holding the current model, the runs of every model named in
the last `protect_last_records` journal records (rollback targets; before the first change,
the pointer's imported version_history), and any run holding
diagnostics a kept model or the pointer refers to (a flat `session32_final.zip` keeps its
`session32_ppo_*` folder: the original clean-up script deleted those). A dry run unless
executed; an executed prune holds the pointer lock, re-plans under it, and logs every
removal to `CURRENT_MODEL.prune.log`.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.config import Config
from kalshi_tui.core.model_record import ModelRecord
from kalshi_tui.core.pointer.errors import PointerError
from kalshi_tui.core.pointer.imported import IMPORT, resolve_entry_model
from kalshi_tui.core.pointer.journal import journal_path_for, read_records
from kalshi_tui.core.pointer.lock import PointerLock, current_user, utc_now_text
from kalshi_tui.core.pointer.plans import history_to_import
from kalshi_tui.core.pointer.schema import full_path_of, resolve_target
from kalshi_tui.core.pointer.side_files import open_nofollow
from kalshi_tui.core.pointer.state import read_state


@dataclass
class PruneUnit:
    """One removable thing: a run folder or a flat model file, and the models in it."""

    key: str  # relative to the models folder
    path: Path
    models: list[str] = field(default_factory=list)
    newest: float = 0.0  # training time (or mtime) of its newest model, epoch seconds
    size_bytes: int = 0
    kept_because: list[str] = field(default_factory=list)


@dataclass
class PrunePlan:
    keep_newest: int
    kept: list[PruneUnit]
    removed: list[PruneUnit]
    executed: bool = False
    log_file: str | None = None

    @property
    def bytes_freed(self) -> int:
        return sum(u.size_bytes for u in self.removed)

    def to_dict(self) -> dict[str, Any]:
        def unit(u: PruneUnit) -> dict[str, Any]:
            return {"path": u.key, "models": u.models, "size_bytes": u.size_bytes,
                    "kept_because": u.kept_because}
        return {"keep_newest": self.keep_newest, "executed": self.executed,
                "kept": [unit(u) for u in self.kept], "removed": [unit(u) for u in self.removed],
                "bytes_freed": self.bytes_freed, "log_file": self.log_file}


def prune_log_path_for(pointer: Path) -> Path:
    return pointer.with_name(f"{pointer.stem}.prune.log")


def _when(record: ModelRecord) -> float:
    if record.trained_at:
        try:
            return datetime.fromisoformat(record.trained_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return float(record.mtime or 0.0)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _units(records: list[ModelRecord], models_dir: Path) -> dict[str, PruneUnit]:
    units: dict[str, PruneUnit] = {}
    for record in records:
        key = record.run_dir or record.path
        unit = units.get(key)
        if unit is None:
            unit = units[key] = PruneUnit(key, models_dir / key)
        unit.models.append(record.path)
        unit.newest = max(unit.newest, _when(record))
    return units


def _unit_holding(units: dict[str, PruneUnit], path: Path) -> PruneUnit | None:
    path = Path(os.path.normpath(os.path.abspath(path)))
    for unit in units.values():
        root = Path(os.path.normpath(os.path.abspath(unit.path)))
        if path == root or root in path.parents:
            return unit
    return None


def _model_at(written: str, config: Config) -> Path:
    """Where a pointer's path leads, or the file its moved path base meant (keep that too)."""
    found = resolve_target(written, config)
    return found.path if found.exists or found.found_elsewhere is None else found.found_elsewhere


def plan_prune(config: Config, keep: int, records: list[ModelRecord] | None = None) -> PrunePlan:
    """Which runs a prune keeping the `keep` newest would remove, and why each other stays."""
    if keep < 0:
        raise PointerError("--keep must be 0 or more")
    if records is None:
        from kalshi_tui.core.catalog.scan import scan_catalog

        records = list(scan_catalog(config).records)
    models_dir = Path(config.models_dir)
    units = _units(records, models_dir)

    def protect(path: Path | None, why: str) -> None:
        unit = _unit_holding(units, path) if path is not None else None
        if unit is not None and why not in unit.kept_because:
            unit.kept_because.append(why)

    for rank, unit in enumerate(sorted(units.values(), key=lambda u: -u.newest)):
        if rank < keep:
            unit.kept_because.append(f"one of the {keep} newest")
    # The pointer and its journal may live inside a run folder (a BEST_MODEL/ layout).
    protect(Path(config.pointer_file), "holds the pointer file")
    protect(journal_path_for(config.pointer_file), "holds the journal")
    state = read_state(config.pointer_file)
    doc = state.effective_doc
    full = full_path_of(doc)
    if full:
        protect(_model_at(full, config), "holds the current model")
    for name, value in ((doc or {}).get("diagnostics_files") or {}).items():
        if isinstance(value, str):
            protect(resolve_target(value, config).path, f"holds the current model's {name}")
    # Before the first change, a hand-written pointer's version_history is its history.
    history = read_records(journal_path_for(config.pointer_file)) or history_to_import(state)
    recent = history[-config.protect_last_records:] if config.protect_last_records > 0 else []
    for record in recent:
        for side in ("to", "from"):
            path = (record.get(side) or {}).get("path")
            if path:
                where = (resolve_entry_model(path, config).path if record.get("action") == IMPORT
                         else _model_at(path, config))
                protect(where, f"named by journal revision {record['revision']}")
    by_path = {r.path: r for r in records}
    # Diagnostics of kept runs live in other runs' folders for flat finals: keep those too,
    # repeating until nothing new is kept.
    changed = True
    while changed:
        changed = False
        for unit in [u for u in units.values() if u.kept_because]:
            for model in unit.models:
                for artifact in (by_path[model].artifacts or {}).values():
                    holder = _unit_holding(units, models_dir / artifact)
                    if holder is not None and not holder.kept_because:
                        holder.kept_because.append(f"holds diagnostics of kept {model}")
                        changed = True
    kept = sorted((u for u in units.values() if u.kept_because), key=lambda u: u.key)
    removed = sorted((u for u in units.values() if not u.kept_because), key=lambda u: u.key)
    for unit in removed:
        unit.size_bytes = _size(unit.path)
    return PrunePlan(keep, kept, removed, log_file=str(prune_log_path_for(config.pointer_file)))


def execute_prune(config: Config, keep: int, records: list[ModelRecord] | None = None) -> PrunePlan:
    """Remove what `plan_prune` lists, under the pointer lock so no promote races it."""
    log = prune_log_path_for(config.pointer_file)
    with PointerLock(config.pointer_file, config.lock_timeout_seconds, "prune"):
        plan = plan_prune(config, keep, records)
        models_dir = Path(os.path.abspath(config.models_dir))
        # Opened before the first removal: a log that cannot be written (or is a planted
        # symlink) stops the prune with nothing removed.
        try:
            fd = open_nofollow(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "prune log")
        except PointerError as exc:
            raise PointerError(f"{exc}; nothing removed") from None
        except OSError as exc:
            raise PointerError(f"{log}: cannot write the prune log: {exc.strerror}; "
                               "nothing removed") from None
        with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as handle:
            for unit in plan.removed:
                target = Path(os.path.abspath(unit.path))
                if models_dir not in target.parents:
                    raise PointerError(
                        f"{target}: outside the models folder; refusing to remove it"
                    )
                try:
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    else:
                        target.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise PointerError(f"{target}: cannot remove: {exc.strerror}; "
                                       f"see {log} for what was removed before") from None
                handle.write(json.dumps({"time": utc_now_text(), "user": current_user(),
                                         "pid": os.getpid(), "removed": unit.key,
                                         "models": unit.models, "size_bytes": unit.size_bytes,
                                         "keep_newest": keep}) + "\n")
                handle.flush()
    plan.executed = True
    return plan
