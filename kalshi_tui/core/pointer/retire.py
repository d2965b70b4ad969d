"""What happens to the words about the model a change replaces.

The original pointers carried prose about their model (`production_readiness`, `notes`,
`current_model.description`, "Ready for immediate paper trading deployment"). Left in
place after a change it would describe the new model. So on every promote and rollback:
- every block that describes the model is moved, as it was, under `previous_model`
  (named with the full_path it described); the new model's blocks are rebuilt from its
  own file and artifacts (schema.build_document);
- `version_history` is kept and a new entry is put first, in the original's shape
  (version, date, model_path, milestone, description, key_improvements), so readers
  written for the hand-made history keep working and still find the newest entry first.
Only one previous model is kept in the pointer; the journal holds every earlier one.
"""

from __future__ import annotations

from typing import Any

# Top-level blocks about the named model: rebuilt or moved, never left describing another model.
MODEL_BLOCKS = ("model_metadata", "production_readiness", "diagnostics_files", "notes")
# The parts of current_model that are words about the model, not where it is.
CURRENT_MODEL_WORDS = ("status", "description", "last_updated", "selected_reason")
PREVIOUS_KEY = "previous_model"
HISTORY_KEY = "version_history"
# Blocks written fresh for the new model; the rest of MODEL_BLOCKS are moved and not rewritten.
MOVED_ONLY = ("production_readiness", "notes")


def previous_model(base_doc: dict[str, Any] | None, *, now: str, revision: int,
                   sha256: str | None) -> dict[str, Any] | None:
    """The replaced model's location and every block that described it, as they were."""
    if not base_doc:
        return None
    current = base_doc.get("current_model")
    current = current if isinstance(current, dict) else {}
    record: dict[str, Any] = {
        key: current[key] for key in ("full_path", "model_path", "model_file") if key in current}
    if sha256:
        record["sha256"] = sha256
    record["replaced_at"] = now
    record["replaced_by_revision"] = revision
    words = {key: current[key] for key in CURRENT_MODEL_WORDS if key in current}
    if words:
        record["current_model"] = words
    for key in MODEL_BLOCKS:
        if key in base_doc:
            record[key] = base_doc[key]
    return record


def version_entry(*, revision: int, now: str, full_path: str, action: str, reason: str,
                  description: str, target_revision: int | None) -> dict[str, Any]:
    """A version_history entry for a kalshi-tui change, in the hand-written entries' shape."""
    milestone = (f"rollback to revision {target_revision}" if action == "rollback"
                 and target_revision is not None else action)
    return {
        "version": f"r{revision}",  # kalshi-tui's revision; hand-written ones were "1.0", "2.1"
        "date": now,
        "model_path": full_path,
        "milestone": milestone,
        "description": description,
        "key_improvements": [f"selected because: {reason}"],
    }


def next_history(base_doc: dict[str, Any] | None, entry: dict[str, Any]) -> Any:
    """The pointer's version_history with `entry` first; one that is not a list is kept as
    it is (it is not ours to repair)."""
    history = (base_doc or {}).get(HISTORY_KEY)
    if history is None:
        return [entry]
    return [entry] + history if isinstance(history, list) else history
