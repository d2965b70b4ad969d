"""The public APIs: what each package's `__all__` offers is what its TYPE_CHECKING block
declares, every name resolves to its module's object, and asking costs only what it uses."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import kalshi_tui

PACKAGES = ["kalshi_tui.core", "kalshi_tui.core.sb3", "kalshi_tui.core.catalog",
            "kalshi_tui.core.artifacts", "kalshi_tui.core.evidence", "kalshi_tui.core.report",
            "kalshi_tui.core.world", "kalshi_tui.core.pointer", "kalshi_tui.env", "kalshi_tui.eval",
            "kalshi_tui.train", "kalshi_tui.tui"]


def declared(package: str) -> dict[str, str]:
    """name -> module, from the `if TYPE_CHECKING:` imports of the package's __init__.py."""
    init = Path(kalshi_tui.__file__).parent.joinpath(*package.split(".")[1:], "__init__.py")
    tree = ast.parse(init.read_text())
    block = next(node for node in tree.body
                 if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    found = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, (
                f"{package}: {alias.name} re-exported as {alias.asname}"
            )
            found[alias.name] = node.module
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_declared_and_resolves(package):
    module = importlib.import_module(package)
    names = declared(package)
    assert sorted(module.__all__) == sorted(names)
    assert dir(module) == sorted(names)
    for name, source in names.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018 (the lookup is the test)
    with pytest.raises(ImportError):
        exec(f"from {package} import no_such_name", {})


def test_asking_for_a_light_name_loads_nothing_heavy():
    """`kalshi-tui list` asks eval for stored results: numpy and torch stay out."""
    code = (
        "import sys\n"
        "from kalshi_tui.eval import load_health, load_validation, stored_evidence\n"
        "from kalshi_tui.core.catalog import scan_catalog\n"
        "from kalshi_tui.env import parse_session_list\n"
        "print(sorted(m for m in ('numpy', 'torch', 'stable_baselines3', 'gymnasium', 'textual')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_faces_contract_names_every_module_of_the_core_itself():
    """A new module directly in core/ is reached through `kalshi_tui.core` like the others:
    the import-linter contract must forbid the faces to import it directly."""
    import tomllib

    root = Path(kalshi_tui.__file__).parent
    config = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    faces = next(c for c in config["tool"]["importlinter"]["contracts"]
                 if c.get("source_modules") == ["kalshi_tui.cli", "kalshi_tui.tui"])
    own = {f"kalshi_tui.core.{path.stem}" for path in (root / "core").glob("*.py")
           if path.stem != "__init__"}
    assert own and own <= set(faces["forbidden_modules"])
    assert "kalshi_tui.core.*.*" in faces["forbidden_modules"]
