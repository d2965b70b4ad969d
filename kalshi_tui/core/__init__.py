"""The headless core: everything kalshi-tui knows, with no torch, SB3, gymnasium or Textual.

Its domains are subpackages, each with its own public API:
- `core.sb3`: reading a model zip without running it (members, pickle globals, weight shapes,
  what the trader's `PPO.load` would execute);
- `core.catalog`: the models folder listed and judged (walk, scan, cache, change detection);
- `core.artifacts`: training artifacts beside a model (summaries, results, diagnostics);
- `core.evidence`: verdicts, ranking, comparison and layout evidence about models;
- `core.report`: the compatibility report and the one way figures are written;
- `core.world`: the trading world's fixed facts (actions, profiles, session ids);
- `core.pointer`: CURRENT_MODEL.json, its journal, promote, rollback, prune.
This package itself exports what every layer shares: the config, the one rule for text that
reaches a terminal, times, database URLs and the lock file.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.core.config import (
        Config as Config,
        ConfigError as ConfigError,
        EnvironmentSpec as EnvironmentSpec,
        bundled_sessions_db as bundled_sessions_db,
        find_config_file as find_config_file,
        load_config as load_config,
        set_setting as set_setting,
    )
    from kalshi_tui.core.db_url import (
        is_database_url as is_database_url,
        redacted as redacted,
        source_name as source_name,
    )
    from kalshi_tui.core.lock_file import HeldFileLock as HeldFileLock, LockBusy as LockBusy
    from kalshi_tui.core.safe_text import (
        PATH_CLIP_CHARS as PATH_CLIP_CHARS,
        TerminalGuard as TerminalGuard,
        clip as clip,
        printable as printable,
        raw_stream as raw_stream,
        safe_lines as safe_lines,
        shown as shown,
    )
    from kalshi_tui.core.times import parse_time as parse_time
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "config": ["Config", "ConfigError", "EnvironmentSpec", "bundled_sessions_db",
                   "find_config_file", "load_config", "set_setting"],
        "safe_text": ["PATH_CLIP_CHARS", "TerminalGuard", "clip", "printable", "raw_stream",
                      "safe_lines", "shown"],
        "db_url": ["is_database_url", "redacted", "source_name"],
        "times": ["parse_time"],
        "lock_file": ["HeldFileLock", "LockBusy"],
    })
