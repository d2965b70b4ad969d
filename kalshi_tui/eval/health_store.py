"""Stored health results: keyed like validation results, read without torch or numpy.

`<cache_dir>/health/<model sha256>.json` (falling back to the user's cache like
validation results), one entry per key: the environment fingerprint, the sessions and the
fingerprint of their rows, the trader's mode, the collapse share and the probe seed. Status
and show ask here at listing time, so this module imports nothing heavy.
"""

from __future__ import annotations

import json

from kalshi_tui.eval.health_result import COLLAPSED, HEALTH_FORMAT, HEALTH_SEED, HealthResult
from kalshi_tui.eval.results_cache import (
    HEALTH,
    default_session_ids,
    has_stored,
    sessions_fingerprint,
    stored_entries,
)


def health_key(config, session_ids: list[int], sessions_fp: str) -> str:
    """What a stored health result must match: model content aside, everything it depends on."""
    return json.dumps({"format": HEALTH_FORMAT, "environment": config.environment.fingerprint(),
                       "sessions": sorted(set(int(s) for s in session_ids)),
                       "deterministic": bool(config.trader_deterministic),
                       "collapse_share": float(config.health_collapse_share),
                       "store": sessions_fp, "seed": HEALTH_SEED}, sort_keys=True)


def load_health(sha256: str | None, config, session_ids: list[int] | None = None
                ) -> HealthResult | None:
    """The current stored health result for this model and config; None when absent or stale.

    Asks the session store only when something is stored for the model.
    """
    if not sha256 or not has_stored(HEALTH, sha256, config.cache_dir):
        return None
    if session_ids is None:
        session_ids = default_session_ids(config)
        if session_ids is None:
            return None
    key = health_key(config, session_ids, sessions_fingerprint(config.sessions_db, session_ids))
    found = []
    for entry in stored_entries(HEALTH, sha256, config.cache_dir, key):
        try:
            result = HealthResult.from_dict(entry)
        except (TypeError, KeyError, ValueError, AttributeError):
            continue  # written by a version with other fields: not current
        if result.sha256 == sha256 and result.extra.get("key") == key:
            found.append(result)
    return max(found, key=lambda r: r.created_at) if found else None


def collapse_alarm(sha256: str | None, config) -> str | None:
    """The alarm line when the stored health of this (current) model says COLLAPSED."""
    health = load_health(sha256, config)
    if health is None or health.state != COLLAPSED:
        return None
    return f"current model is {health.state_line}"
