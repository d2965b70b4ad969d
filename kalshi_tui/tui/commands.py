"""The command palette (`:` or ctrl+p): the actions of the screen it was opened over.

A screen that has operator actions offers them through its `palette_commands()`, which
knows the selected model, the marks and read-only mode, so the palette never offers what
the keys would refuse; any other screen gets the global few. Commands run on the screen
they came from. On the models screen, typing a model's name jumps to it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

_MAX_MODEL_HITS = 20
# What every screen offers: (title, help, action).
GLOBAL_COMMANDS = [
    ("Refresh", "rescan models and pointer", "app.refresh"),
    ("Help", "keys for this screen", "app.help"),
    ("Quit", "", "app.quit"),
]


def commands_for(screen: Any) -> list[tuple[str, str, str]]:
    """(title, help, action) the palette offers over `screen`."""
    offer = getattr(screen, "palette_commands", None)
    return offer() if callable(offer) else list(GLOBAL_COMMANDS)


class OperatorCommands(Provider):
    """Actions for the current screen and selection, plus jump-to-model."""

    async def discover(self) -> Hits:
        for title, help_text, action in commands_for(self.screen):
            yield DiscoveryHit(title, partial(self.app.run_action, action, self.screen), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in commands_for(self.screen):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title),
                          partial(self.app.run_action, action, self.screen), text=title, help=help_text)
        models = getattr(self.screen, "palette_models", None)
        if not callable(models):
            return
        shown = 0
        for record in models():
            label = f"Go to model {record.name}"
            score = matcher.match(label)
            if score > 0:
                # Model names come from files: pass them as Text so markup stays literal.
                yield Hit(score * 0.9, Text(label), partial(self.screen.select_model, record.path),
                          text=label, help=record.path)
                shown += 1
                if shown >= _MAX_MODEL_HITS:
                    break
