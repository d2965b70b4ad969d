"""A package's public API, imported on first use: `__all__` plus PEP 562 `__getattr__`.

Why lazy: a public package (`kalshi_tui.eval`, `kalshi_tui.core.catalog`, ...) names the
light and the heavy parts of its layer together, and importing it must cost only what the
caller uses: `kalshi-tui list` must never import numpy (eval's runners do), and the TUI's
first frame must not wait for the report or the pointer engine. Each name is imported from
its module when asked for (a `from ... import` at the top of a module asks at once).

Each package also imports its names under `typing.TYPE_CHECKING`, so mypy and readers see
exactly where every public name comes from; tests/test_public_api.py checks that both lists
agree and that every name resolves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def attach(package: str, exports: dict[str, list[str]]
           ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """(`__getattr__`, `__dir__`, `__all__`) for `package`, exporting {module: [names]}."""
    # A module is relative to the package, or absolute ("kalshi_tui.core.model_record") when
    # the package re-exports a lower module's names for its callers.
    where = {
        name: module if module.startswith("kalshi_tui.") else f"{package}.{module}"
        for module, names in exports.items()
        for name in names
    }

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
