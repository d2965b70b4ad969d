"""Where the TUI writes its log: a file, never the screen, so errors stay readable later.

The cache folder is preferred (it sits with the models); a read-only models folder falls
back to the user's cache folder, and if nothing is writable, logging is simply off.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from kalshi_tui.core import Config

LOG_NAME = "tui.log"


def candidate_paths(config: Config) -> list[Path]:
    digest = hashlib.sha256(str(config.models_dir).encode()).hexdigest()[:12]
    return [config.cache_dir / LOG_NAME, Path.home() / ".cache" / "kalshi-tui" / digest / LOG_NAME]


def open_log(config: Config, explicit: Path | None = None) -> Path | None:
    """Attach a file handler to the `kalshi_tui` logger; returns the file, or None."""
    logger = logging.getLogger("kalshi_tui")
    logger.setLevel(logging.INFO)
    for path in ([explicit] if explicit else []) + candidate_paths(config):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            continue
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for old in [h for h in logger.handlers if getattr(h, "_kalshi_tui", False)]:
            logger.removeHandler(old)
            old.close()
        handler._kalshi_tui = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
        return path
    return None
