"""The command palette (`:` or ctrl+p): every operator action, offered only where it applies.

Actions come from the App's `palette_commands()`, which knows the selected model, the
marks and read-only mode, so the palette never offers what the keys would refuse. Typing
a model's name jumps to it.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

_MAX_MODEL_HITS = 20


class OperatorCommands(Provider):
    """Actions for the current screen and selection, plus jump-to-model."""

    async def discover(self) -> Hits:
        for title, help_text, action in self.app.palette_commands():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self.app.palette_commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action),
                          text=title, help=help_text)
        shown = 0
        for record in self.app.palette_models():
            label = f"Go to model {record.name}"
            score = matcher.match(label)
            if score > 0:
                # Model names come from files: pass them as Text so markup stays literal.
                yield Hit(score * 0.9, Text(label), partial(self.app.select_model, record.path),
                          text=label, help=record.path)
                shown += 1
                if shown >= _MAX_MODEL_HITS:
                    break
