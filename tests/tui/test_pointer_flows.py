"""Promote, refuse, force, roll back and read-only, driven by keys; asserts on disk and on
screen."""

from __future__ import annotations

from tui_support import async_test, notifications, screen_text, settle, shown

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.dialogs.confirm import ReasonDialog, RefusedDialog
from kalshi_tui.tui.screens.history import HistoryScreen
from kalshi_tui.tui.widgets.model_list import ModelList


def make_app(workspace, clock, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False, **kwargs)


async def select(app, pilot, rel_path: str) -> None:
    """Put the cursor on a model by its path, the way an operator would: with the filter."""
    assert app.query_one(ModelList).select_path(rel_path), rel_path
    await pilot.pause()


async def confirm_reason(pilot, reason: str) -> None:
    # The reason has the focus: type it; Enter moves to the confirm button, Enter presses it.
    await pilot.press(*reason, "enter", "enter")


def current_line(app) -> str:
    return next(line for line in screen_text(app).splitlines() if "Current:" in line)


async def open_promote_dialog(app, pilot, rel_path: str) -> None:
    """Select the model and press P: the promote (or refusal) dialog is then on screen."""
    await select(app, pilot, rel_path)
    await pilot.press("P")
    await settle(app, pilot)


async def promote(app, pilot, rel_path: str, reason: str) -> None:
    await open_promote_dialog(app, pilot, rel_path)
    assert isinstance(app.screen, ReasonDialog) and app.screen.id == "promote-dialog"
    await confirm_reason(pilot, reason)
    await settle(app, pilot)


@async_test
async def test_promote_writes_pointer_and_journal_and_shows_it(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await open_promote_dialog(app, pilot, "session32_final.zip")
        dialog_text = screen_text(app)
        assert "Promote session32_final?" in dialog_text
        assert "session32_final.zip" in dialog_text and "OK" in dialog_text
        assert "0 -> 2" in dialog_text or "0 -> 1" in dialog_text
        # The reason has the focus: Enter right away changes nothing, esc cancels.
        assert app.focused.id == "reason"
        await pilot.press("enter")
        await settle(app, pilot)
        assert not workspace.pointer.exists() and app.screen.id == "promote-dialog"
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is app.main and not workspace.pointer.exists()

        await pilot.press("P")
        await settle(app, pilot)
        await confirm_reason(pilot, "best 21-action run")
        await settle(app, pilot)

        assert workspace.current_full_path().endswith("trained_models/session32_final.zip")
        records = workspace.journal_records()
        assert records[-1]["action"] == "promote"
        assert records[-1]["reason"] == "best 21-action run"
        assert records[-1]["forced"] is False
        text = screen_text(app)
        assert "session32_final.zip" in current_line(app)
        assert f"rev {records[-1]['revision']}" in current_line(app)
        assert "best 21-action run" in text
        assert any("Promoted session32_final.zip" in n for n in notifications(app))


@async_test
async def test_promote_needs_a_reason(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await open_promote_dialog(app, pilot, "session32_final.zip")
        await pilot.press("enter")  # no reason: the dialog stays and says why
        await settle(app, pilot)
        assert isinstance(app.screen, ReasonDialog) and app.focused.id == "reason"
        assert "A reason is required" in screen_text(app)
        assert not workspace.pointer.exists()


@async_test
async def test_incompatible_model_is_refused_with_its_reasons(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await promote(app, pilot, "session32_final.zip", "baseline")
        before = workspace.pointer.read_bytes()
        await open_promote_dialog(app, pilot, "session5_ppo_20251120_101500/trained_model.zip")
        assert isinstance(app.screen, RefusedDialog)
        text = screen_text(app)
        assert "refused" in text
        assert "legacy 5-action model" in text
        assert app.focused.id == "close"
        await pilot.press("enter")
        await settle(app, pilot)
        assert workspace.pointer.read_bytes() == before
        assert len(workspace.journal_records()) == 1


@async_test
async def test_forcing_is_a_second_step_that_needs_the_word(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await promote(app, pilot, "session32_final.zip", "baseline")
        legacy = "session5_ppo_20251120_101500/trained_model.zip"
        await open_promote_dialog(app, pilot, legacy)
        await pilot.press("tab", "enter")  # the Force… button
        await settle(app, pilot)
        assert app.screen.id == "force-dialog"
        # The word first (it has the focus), then the reason; the wrong word: nothing written.
        assert app.focused.id == "word"
        await pilot.press(*"force", "enter", *"incident 42", "enter", "enter")
        await settle(app, pilot)
        assert app.screen.id == "force-dialog"
        assert "Type FORCE exactly" in screen_text(app)
        assert len(workspace.journal_records()) == 1
        word = app.screen.query_one("#word")
        word.value = ""
        word.focus()
        await pilot.press(*"FORCE", "enter", "enter", "enter")  # word, reason, the button
        await settle(app, pilot)

        assert workspace.current_full_path().endswith(legacy)
        last = workspace.journal_records()[-1]
        assert last["forced"] is True and last["reason"] == "incident 42"
        text = screen_text(app)
        assert "ALARM" in text and "incompatible" in text
        assert any("FORCED" in n for n in notifications(app))


@async_test
async def test_rollback_names_target_and_goes_back(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await promote(app, pilot, "session32_final.zip", "first")
        await promote(app, pilot, "session10_ppo_20251211_173419/model.zip", "second")
        first_revision = workspace.journal_records()[0]["revision"]
        await pilot.press("R")
        await settle(app, pilot)
        assert app.screen.id == "rollback-dialog"
        text = screen_text(app)
        assert f"Roll back to revision {first_revision}?" in text
        assert "session32_final.zip" in text
        await confirm_reason(pilot, "second misbehaves")
        await settle(app, pilot)

        assert workspace.current_full_path().endswith("trained_models/session32_final.zip")
        last = workspace.journal_records()[-1]
        assert last["action"] == "rollback" and last["reason"] == "second misbehaves"
        assert "session32_final.zip" in current_line(app)


@async_test
async def test_rollback_to_a_revision_chosen_in_history(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await promote(app, pilot, "session32_final.zip", "one")
        await promote(app, pilot, "session10_ppo_20251211_173419/model.zip", "two")
        await promote(app, pilot, "[@click=app.quit]crafted.zip", "three")
        await pilot.press("H")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert "one" in text and "two" in text and "three" in text
        # Newest first: down twice reaches the first promote.
        await pilot.press("down", "down")
        target = app.screen.selected_revision()
        assert target == workspace.journal_records()[0]["revision"]
        await pilot.press("R")
        await settle(app, pilot)
        assert app.screen.id == "rollback-dialog"
        assert f"revision {target}" in screen_text(app)
        assert "skips" in screen_text(app)
        await confirm_reason(pilot, "back to one")
        await settle(app, pilot)

        assert workspace.current_full_path().endswith("trained_models/session32_final.zip")
        last = workspace.journal_records()[-1]
        assert last["action"] == "rollback" and last.get("target_revision") == target
        # The history screen is still open and shows the new revision on top.
        assert isinstance(app.screen, HistoryScreen)
        assert app.screen.records[0].revision == last["revision"]
        assert "back to one" in await shown(app, pilot, "back to one")


@async_test
async def test_stale_revision_is_refused_naming_who_changed_it(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await promote(app, pilot, "session32_final.zip", "first")
        await open_promote_dialog(app, pilot, "session10_ppo_20251211_173419/model.zip")
        assert app.screen.id == "promote-dialog"
        # Another operator promotes while this dialog is open.
        other = PointerEngine(workspace.config())
        from kalshi_tui.core.catalog.scan import inspect_model

        crafted = workspace.models / "[@click=app.quit]crafted.zip"
        other.promote(inspect_model(crafted, workspace.config()), "someone else's change")
        on_disk = workspace.pointer.read_bytes()
        await confirm_reason(pilot, "mine")
        await settle(app, pilot)

        assert workspace.pointer.read_bytes() == on_disk
        assert workspace.journal_records()[-1]["reason"] == "someone else's change"
        failure = " ".join(notifications(app))
        assert "not" in failure and "someone else's change" in failure
        # The screen now shows the other operator's change, not a stale one.
        assert "[@click=app.quit]crafted.zip" in screen_text(app)
        assert app.is_running  # the crafted name did not become a quit action


@async_test
async def test_read_only_hides_and_refuses_changes(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "READ-ONLY" in text
        assert "Promote" not in text.splitlines()[-1]  # not in the footer
        await select(app, pilot, "session32_final.zip")
        await pilot.press("P", "R")
        await settle(app, pilot)
        assert app.screen is app.screen_stack[0]  # no dialog opened
        assert sum("Read-only" in n for n in notifications(app)) == 2  # each key said why
        app.main.action_promote()
        app.request_rollback(None)
        await settle(app, pilot)
        assert any("Read-only" in n for n in notifications(app))
        assert not workspace.pointer.exists() and not workspace.journal.exists()
        assert all("Promote" not in title for title, _, _ in app.palette_commands())


@async_test
async def test_read_only_history_hides_rollback_and_says_why_on_the_key(workspace, frozen_clock):
    PointerEngine(workspace.config()).promote(
        inspect_model(workspace.models / "session32_final.zip", workspace.config()), "one")
    app = make_app(workspace, frozen_clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        journal = workspace.journal.read_bytes()
        await pilot.press("H")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert "Roll back to this" not in screen_text(app).splitlines()[-1]  # not in the footer
        await pilot.press("R")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)  # no dialog opened
        assert sum("Read-only: rollback" in n for n in notifications(app)) == 1
        assert all("Roll back" not in title for title, _, _ in app.palette_commands())
        assert workspace.journal.read_bytes() == journal


def test_promoting_a_model_changed_since_the_listing_is_refused_until_a_rescan(workspace):
    """The TUI's list is not hashed up front; a promotion hashes its model first, and a file
    rewritten since it was listed is refused: its hash would not be of the file shown."""
    import pytest

    from kalshi_tui.core.catalog.scan import sha256_file
    from kalshi_tui.tui.backend import Backend

    backend = Backend(workspace.config())
    records, _badges = backend.scan()
    record = next(r for r in records if r.path == "session32_final.zip")
    assert record.sha256 is None
    with open(record.abs_path, "ab") as handle:
        handle.write(b"rewritten after the listing")
    with pytest.raises(RuntimeError, match="changed .* since it was listed"):
        backend.plan_promote(record, expect_revision=None)
    assert not workspace.pointer.exists()
    records, _badges = backend.scan()  # the rescan lists the file as it is now
    fresh = next(r for r in records if r.path == "session32_final.zip")
    backend.plan_promote(fresh, expect_revision=None)  # hashes it: no refusal now
    assert fresh.sha256 == sha256_file(fresh.abs_path)


@async_test
async def test_history_shows_a_hand_written_pointers_version_history_as_imported(
    workspace, frozen_clock
):
    import shutil
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "kalshiflow"
    shutil.copy(fixtures / "CURRENT_MODEL.4-session12-5actions.json", workspace.pointer)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("H")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert [r.revision for r in app.screen.records] == [3, 2, 1]
        text = await shown(app, pilot, "v2.1 version_history")
        assert "imported" in text and "v2.1 version_history" in text
        assert "2025-12-16T13:30:00Z (as written)" in text  # the date as the entry wrote it
        # The describe view has it whole: imported, from which entry, not yet journalled.
        await pilot.press("j", "enter")
        await settle(app, pilot)
        text = await shown(app, pilot, "not yet journalled")
        assert app.screen.id == "describe-revision" and "Revision 2" in text
        assert "not yet journalled" in text and "version  " in text and "2.1" in text
    assert not workspace.journal.exists()
