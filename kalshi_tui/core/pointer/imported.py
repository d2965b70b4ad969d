"""The hand-written pointer's own history: `version_history` entries as imported revisions.

The original system kept its history inside CURRENT_MODEL.json (`version_history`, newest
first, rewritten by hand). A pointer that has one and no journal yet is adopted with it:
each entry becomes an `import` revision, oldest first (revisions 1..k), before the pointer
as found is recorded (`adopt`). Until the first change they are shown, not yet written.

An entry's `model_path` is resolved by the rule the pointer's `full_path` follows
(schema.resolve_written_path); some entries name a run folder, not a model file (v1.0:
`backend/trained_models/session9_ppo_20251211_221054/`): the folder's run model is taken
when it holds exactly one, otherwise the entry cannot be resolved to a model, and says so.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kalshi_tui import __version__
from kalshi_tui.core.artifacts.find import RUN_MODEL_FILES
from kalshi_tui.core.config import Config
from kalshi_tui.core.pointer.lock import current_user
from kalshi_tui.core.pointer.schema import resolve_written_path

IMPORT = "import"
# The keys of a version_history entry that describe the revision (key_improvements is prose).
ENTRY_KEYS = ("version", "date", "model_path", "milestone", "description")


def version_entries(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The pointer's version_history entries that are objects, oldest first."""
    history = (doc or {}).get("version_history")
    if not isinstance(history, list):
        return []
    entries = [e for e in history if isinstance(e, dict)]
    entries.reverse()  # written newest first
    return entries


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def imported_records(
    doc: dict[str, Any] | None, *, now: str | None, pid: int
) -> list[dict[str, Any]]:
    """Journal records for a hand-written pointer's version_history, revisions 1..k."""
    records: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for revision, entry in enumerate(version_entries(doc), start=1):
        facts = {key: _text(entry.get(key)) for key in ENTRY_KEYS}
        to = {"path": facts["model_path"], "sha256": None} if facts["model_path"] else None
        label = f"v{facts['version']}" if facts["version"] else "an unnumbered version"
        records.append({
            "revision": revision,
            "action": IMPORT,
            "from": previous,
            "to": to,
            "reason": (f"{label} from the pointer's version_history: "
                       f"{facts['description'] or facts['milestone'] or 'no description'}"),
            "user": current_user(), "host": socket.gethostname(), "pid": pid, "time": now or None,
            "tool_version": __version__, "forced": False,
            "imported": {k: v for k, v in facts.items() if v is not None},
        })
        previous = to
    return records


@dataclass
class EntryModel:
    """Where an imported entry's model_path leads: a model file, or why there is none."""

    written: str
    path: Path | None  # the model file, when one was found
    problem: str | None = None  # why the entry cannot be resolved to a model
    notes: list[str] = field(default_factory=list)


def resolve_entry_model(written: str, config: Config) -> EntryModel:
    """A version_history model_path resolved as the trader's paths are, folders included."""
    found = resolve_written_path(written, config, lambda p: p.is_file() or p.is_dir(),
                                 label="model_path")
    place = found.path if found.exists else found.found_elsewhere
    if place is None:
        return EntryModel(written, None, f"{written} is missing (looked under the base folder "
                                         f"{config.base_dir} and the models folder)")
    result = EntryModel(written, None)
    if not found.exists:
        result.notes.append(f"{written} is not under the base folder {config.base_dir} (the "
                            f"original system moved its path base); it is found at {place}, "
                            "and a rollback names that place in the pointer")
    if place.is_file():
        result.path = place
        return result
    models = [place / name for name in RUN_MODEL_FILES if (place / name).is_file()]
    if len(models) == 1:
        result.path = models[0]
        result.notes.append(f"{written} names a folder, not a model file; its run model is "
                            f"{models[0].name}")
        return result
    if not models:
        result.problem = (f"{written} names the folder {place}, which holds no "
                          f"{' or '.join(RUN_MODEL_FILES)}: it cannot be resolved to a model")
    else:
        result.problem = (f"{written} names the folder {place}, which holds both "
                          f"{' and '.join(m.name for m in models)}: it cannot be resolved to "
                          "one model")
    return result
