"""What `kalshi_tui.toml` may hold: every section and key with its type, default and range.

The one place a setting is declared; `config.load_config` reads a file against it and
`config.set_setting` checks a value against it before writing.
"""

from __future__ import annotations

import math
from typing import Any

import tomlkit

from kalshi_tui.core.safe_text import shown
from kalshi_tui.core.world.profiles import DEFAULT_PROFILE, REALISTIC


class ConfigError(Exception):
    """A config problem, phrased as one line that names the file and the key."""


# Every key the config knows: section -> key -> (type or types, default).
# `None` defaults for paths mean "derived" (see `config._derive_paths`).
PATH_TYPE = "path"  # marker type: a string resolved against the config file's folder
SCHEMA: dict[str, dict[str, tuple[Any, Any]]] = {
    "paths": {
        "models_dir": (PATH_TYPE, "trained_models"),
        "pointer": (PATH_TYPE, None),  # default: CURRENT_MODEL.json in models_dir
        "base_dir": (PATH_TYPE, None),  # the trader's working dir; default: models_dir's parent
        "sessions_db": (PATH_TYPE, None),  # default: the store bundled with the package
        "cache_dir": (PATH_TYPE, None),  # default: .kalshi_tui_cache in models_dir
    },
    "environment": {
        # The profile supplies layout, sizes and complement; explicit keys override it.
        "profile": (str, DEFAULT_PROFILE),
        "observation_layout": (str, None),  # default: the profile's
        "fill_model": (str, REALISTIC),
        "base_actions": (list, ["HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO"]),
        "position_sizes": (list, None),  # default: the profile's
        "n_actions": (int, None),  # default: derived from the sizes
        "legacy_position_sizes": (list, [10]),
        "legacy_n_actions": (int, 5),
        "observation_shape": (list, [52]),
        "observation_dtype": (str, "float32"),
        "observation_low": ((int, float), -2.0),
        "observation_high": ((int, float), 2.0),
    },
    "catalog": {
        "max_data_bytes": (int, 10 * 1024 * 1024),
        "max_members": (int, 64),
        # What any member of a model zip, and all together, may declare (bombs are UNSAFE).
        "max_member_bytes": (int, 256 * 1024 * 1024),
        # Globals a team's own models pickle (its policy classes): not UNSAFE in `data`.
        "trusted_globals": (list, []),
    },
    "pointer": {
        "lock_timeout_seconds": ((int, float), 10.0),
        "post_change_hook": (str, ""),
        "hook_timeout_seconds": ((int, float), 60.0),
        "protect_last_records": (int, 5),
    },
    "validation": {
        "sessions": (str, "5-10"),
        "deterministic": (bool, True),
    },
    "trader": {
        # How the trader picks actions (the original predicts deterministically): health
        # judges a policy in this mode, and says so.
        "deterministic": (bool, True),
    },
    "health": {
        # COLLAPSED when one action takes at least this share of the recorded steps.
        "collapse_share": ((int, float), 0.95),
    },
    "tui": {
        "refresh_seconds": ((int, float), 2.0),
        "keymap": (dict, {}),
    },
    "ranking": {
        "weights": (dict, {}),
    },
}

# Every number's allowed range, inclusive: (low, high). A bound past these is a typo or an
# attack (a lock timeout of 1e308 s waits forever), and nan/inf are never allowed.
RANGES: dict[str, tuple[float, float]] = {
    "environment.n_actions": (2, 100_000),
    "environment.legacy_n_actions": (2, 100_000),
    "environment.observation_low": (-1e9, 1e9),
    "environment.observation_high": (-1e9, 1e9),
    "catalog.max_data_bytes": (1024, 1024 ** 3),
    "catalog.max_members": (1, 100_000),
    # A member past this is never inflated; 16 GiB is far beyond any real policy's weights.
    "catalog.max_member_bytes": (1024, 16 * 1024 ** 3),
    "pointer.lock_timeout_seconds": (0, 3600),
    "pointer.hook_timeout_seconds": (0.1, 3600),
    "pointer.protect_last_records": (0, 1_000_000),
    "tui.refresh_seconds": (0.1, 3600),
    "health.collapse_share": (0.5, 1.0),
}
# Bounds for every member of these lists.
LIST_RANGES: dict[str, tuple[int, int]] = {
    "environment.position_sizes": (1, 1_000_000),
    "environment.legacy_position_sizes": (1, 1_000_000),
    "environment.observation_shape": (1, 1_000_000),
}
RANKING_WEIGHT_LIMIT = 1e6

_TYPE_WORDS = {int: "an integer", str: "a string", list: "a list", bool: "true or false",
               dict: "a table", PATH_TYPE: "a path string"}


def line_of(text: str, section: str, key: str) -> int | None:
    """The line a key is set on, for provenance; tomlkit does not keep positions."""
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            current = line.strip("[] ").split("#")[0].strip()
            continue
        if current == section and line.split("=")[0].strip().strip('"') == key and "=" in line:
            return number
    return None


def check_type(value: Any, expected: Any, where: str) -> Any:
    if isinstance(value, tomlkit.items.Item):
        value = value.unwrap()
    if expected is PATH_TYPE:
        expected = str
    ok_types = expected if isinstance(expected, tuple) else (expected,)
    # TOML booleans are not integers, whatever Python thinks
    if isinstance(value, bool) and bool not in ok_types:
        ok = False
    else:
        ok = isinstance(value, ok_types)
    if not ok:
        words = " or ".join(_TYPE_WORDS.get(t, t.__name__) for t in ok_types)
        raise ConfigError(
            f"{where}: must be {words}, not {type(value).__name__} {shown(repr(value))}"
        )
    return value


def check_range(dotted: str, value: Any, where: str) -> None:
    """Finite and within RANGES / LIST_RANGES; one line naming the key and the file."""
    if dotted in RANGES:
        low, high = RANGES[dotted]
        if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
            raise ConfigError(f"{where}: '{dotted}' = {shown(value)}: must be a finite number "
                              f"from {_number(low)} to {_number(high)}")
    if dotted in LIST_RANGES:
        low, high = LIST_RANGES[dotted]
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and not low <= item <= high:
                raise ConfigError(f"{where}: '{dotted}' holds {shown(item)}: every entry must be "
                                  f"from {_number(low)} to {_number(high)}")


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
