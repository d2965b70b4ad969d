"""A progress bar for training on stderr.

SB3's own `progress_bar=True` needs tqdm and rich, which kalshi-tui does not depend on;
this is the few lines we need. On a terminal it redraws one line in place; when stderr
is not a terminal (CI, pipes) it prints a plain line every tenth of the run instead, so
logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from stable_baselines3.common.callbacks import BaseCallback


def render_bar(done: int, total: int, elapsed: float, *, label: str = "", width: int = 30) -> str:
    """One line: label, bar, steps, percent, steps per second and time left."""
    total = max(total, 1)
    fraction = min(max(done / total, 0.0), 1.0)
    filled = int(round(fraction * width))
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = max(total - done, 0) / rate if rate > 0 else 0.0
    bar = "#" * filled + "-" * (width - filled)
    prefix = f"{label} " if label else ""
    return (f"{prefix}[{bar}] {done:,}/{total:,} {fraction * 100:5.1f}% "
            f"{rate:,.0f} steps/s, {remaining:,.0f}s left")


class ProgressBarCallback(BaseCallback):
    """Draws `render_bar` on stderr at most every `interval` seconds."""

    def __init__(self, total_timesteps: int, *, label: str = "", stream: TextIO | None = None,
                 interval: float = 0.25):
        super().__init__(0)
        self.total = int(total_timesteps)
        self.label = label
        self.stream = stream or sys.stderr
        self.interval = interval
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._next_plain_tenth = 1

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()

    def _on_step(self) -> bool:
        now = time.perf_counter()
        done = int(self.num_timesteps)
        if self.is_tty:
            if now - self._last_draw >= self.interval:
                self._last_draw = now
                # \x1b[K clears what a longer previous line left on the right
                self.stream.write(
                    "\r"
                    + render_bar(done, self.total, now - self._start, label=self.label)
                    + "\x1b[K"
                )
                self.stream.flush()
        elif done * 10 >= self._next_plain_tenth * self.total:
            self._next_plain_tenth = done * 10 // max(self.total, 1) + 1
            self.stream.write(
                render_bar(done, self.total, now - self._start, label=self.label) + "\n"
            )
            self.stream.flush()
        return True

    def _on_training_end(self) -> None:
        if self.is_tty:
            line = render_bar(
                int(self.num_timesteps),
                self.total,
                time.perf_counter() - self._start,
                label=self.label,
            )
            self.stream.write("\r" + line + "\x1b[K\n")
            self.stream.flush()
