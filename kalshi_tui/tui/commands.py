"""The command palette (`:` or ctrl+p): the actions of the screen it was opened over.

A screen that has operator actions offers them through its `palette_commands()`, which
knows the selected model, the marks and read-only mode, so the palette never offers what
the keys would refuse; any other screen gets the global few. Commands run on the screen
they came from. On the models screen, typing a model's name jumps to it. Titles and help
name models, so they are escaped like every name on screen.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape as escape_markup

from kalshi_tui.core import printable
from kalshi_tui.tui import formatting as fmt

if TYPE_CHECKING:
    from kalshi_tui.tui.screens.main import MainScreen

_MAX_MODEL_HITS = 20
# What every screen offers: (title, help, action).
GLOBAL_COMMANDS = [
    ("Refresh", "rescan models and pointer", "app.refresh"),
    ("Help", "keys for this screen", "app.help"),
    ("Quit", "", "app.quit"),
]


def _help(text: str) -> str:
    """A hit's help line: Textual reads it as markup, so a path from a file is escaped twice,
    for the terminal (the core's rule) and for the markup parser."""
    return escape_markup(printable(text))


def commands_for(screen: Any) -> list[tuple[str, str, str]]:
    """(title, help, action) the palette offers over `screen`."""
    offer = getattr(screen, "palette_commands", None)
    return offer() if callable(offer) else list(GLOBAL_COMMANDS)


class OperatorCommands(Provider):
    """Actions for the current screen and selection, plus jump-to-model."""

    async def discover(self) -> Hits:
        for title, help_text, action in commands_for(self.screen):
            yield DiscoveryHit(
                fmt.file_text(title),
                partial(self.app.run_action, action, self.screen),
                text=title,
                help=_help(help_text),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in commands_for(self.screen):
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(printable(title)),
                          partial(self.app.run_action, action, self.screen), text=title,
                          help=_help(help_text))
        models = getattr(self.screen, "palette_models", None)
        if not callable(models):
            return
        shown = 0
        for record in models():
            label = f"Go to model {record.name}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score * 0.9,
                    fmt.file_text(label),
                    partial(cast("MainScreen", self.screen).select_model, record.path),
                    text=label,
                    help=_help(record.path),
                )
                shown += 1
                if shown >= _MAX_MODEL_HITS:
                    break
