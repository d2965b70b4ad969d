"""`--read-only` never writes the pointer: not even to finish a change a crashed writer left.

The state is built the way a real crash leaves it: a promote that died after committing its
journal record and before publishing the pointer (the pointer engine's own fault hook).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import async_test, screen_text, settle

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine, atomic
from kalshi_tui.core.pointer.state import PENDING, read_state
from kalshi_tui.tui.app import KalshiTuiApp


class Crash(BaseException):
    """Stands for the writer dying at a fault point (not an OSError: nothing is undone)."""


def leave_pending(workspace) -> None:
    """Revision 1 published; revision 2 committed to the journal, its pointer never written."""
    config = workspace.config()
    engine = PointerEngine(config)
    engine.promote(inspect_model(workspace.models / "session32_final.zip", config), "start")

    def die(at: str) -> None:
        if at == "tmp.create":
            raise Crash()

    atomic.FAULT_HOOK = die
    try:
        with pytest.raises(Crash):
            engine.promote(
                inspect_model(workspace.models / "session10_ppo_20251211_173419/model.zip", config),
                "died before publishing",
            )
    finally:
        atomic.FAULT_HOOK = None
    assert read_state(workspace.pointer).relation == PENDING


def files_outside_cache(models: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the models folder (bytes and mtime) except the tool's own cache folder."""
    return {str(p.relative_to(models)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(models.rglob("*"))
            if p.is_file() and ".kalshi_tui_cache" not in p.relative_to(models).parts}


@async_test
async def test_read_only_leaves_a_half_finished_change_untouched(workspace, frozen_clock):
    leave_pending(workspace)
    before = files_outside_cache(workspace.models)
    app = KalshiTuiApp(workspace.config(), clock=frozen_clock, poll=False, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r", "H")  # a refresh and the history read the pointer again
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        text = screen_text(app)
    assert files_outside_cache(workspace.models) == before
    assert read_state(workspace.pointer).relation == PENDING
    # The screen says what will be once a writer finishes it, and that it is not published.
    assert "rev 2" in text
    assert "PENDING: revision 2 is committed" in text


@async_test
async def test_a_writing_app_finishes_the_half_finished_change(workspace, frozen_clock):
    """The control: without --read-only the same start publishes revision 2, as documented."""
    leave_pending(workspace)
    before = workspace.pointer.read_bytes()
    app = KalshiTuiApp(workspace.config(), clock=frozen_clock, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
    assert workspace.pointer.read_bytes() != before
    assert workspace.current_full_path().endswith("session10_ppo_20251211_173419/model.zip")
    assert read_state(workspace.pointer).relation != PENDING
    assert "PENDING" not in text
