"""Validate with a progress bar and cancel, and the smoke test, on real models and sessions."""

from __future__ import annotations

import threading

from textual.widgets import ProgressBar
from tui_support import async_test, notifications, screen_text, settle

from kalshi_tui.eval.results_cache import default_session_ids, load_validation
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.messages import ValidationProgressed
from kalshi_tui.tui.widgets.model_list import ModelList


def make_app(workspace, clock, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False, **kwargs)


@async_test
async def test_validate_shows_progress_then_the_result(workspace, frozen_clock):
    seen: list[ValidationProgressed] = []
    screens_while_running: set[type] = set()
    app = make_app(workspace, frozen_clock)

    def hook(message) -> None:
        if isinstance(message, ValidationProgressed):
            seen.append(message)
            screens_while_running.add(type(app.screen))

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path("session32_final.zip")
        await pilot.press("V")
        await settle(app, pilot)

        assert seen and seen[-1].done == seen[-1].total
        assert screens_while_running == {ValidationDialog}
        assert not isinstance(app.screen, ValidationDialog)  # closed when done
        record = app.main.selected_record
        config = workspace.config()
        stored = load_validation(workspace.models / record.path, record.sha256, config,
                                 default_session_ids(config))
        assert stored is not None and stored.session_ids == [5]
        assert any("Validated" in n for n in notifications(app))
        await pilot.press("1")
        text = screen_text(app)
        assert "validation, sessions 5" in text
        assert "[x] validated on sessions" in text
        assert "[x] loads and infers" in text and "by its validation run" in text
        # The result is new evidence: the ranking was computed again and says so.
        ranked = app.state.ranking[record.path]
        assert ranked.evidence == "validated"
        # its figures replace the training figures (a validation is no bonus in itself)
        assert any(reason.startswith("validation win rate ")
                   and "(validation on sessions 5," in reason for reason in ranked.reasons)
        assert "evidence  validated" in text
        # The reason, in the ranking tab.
        await pilot.press("4")
        await pilot.pause()
        assert "validation on sessions 5," in app.query_one("#pane-ranking").content.plain


@async_test
async def test_escape_cancels_validation_and_stores_nothing(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    # With torch already loaded a validation can finish between two key presses, so the
    # run is held at its first progress report until escape has been pressed; the run,
    # its cancel event and the check of it are the real ones.
    first_report, release = threading.Event(), threading.Event()
    real_validate = app.backend.validate

    def held_validate(record, *, progress, cancel):
        def report(done: int, total: int) -> None:
            progress(done, total)
            if not first_report.is_set():
                first_report.set()
                release.wait(60)
        return real_validate(record, progress=report, cancel=cancel)

    app.backend.validate = held_validate
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path("session10_ppo_20251211_173419/model.zip")
        await pilot.press("V")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ValidationDialog), notifications(app)
        bar = dialog.query_one(ProgressBar)
        for _ in range(100_000):
            if first_report.is_set() and bar.total is not None:
                break
            await pilot.pause()
        assert bar.total is not None and bar.progress > 0  # the bar moved before the cancel
        await pilot.press("escape")
        release.set()
        await settle(app, pilot)

        assert not isinstance(app.screen, ValidationDialog)
        assert any("cancelled" in n for n in notifications(app))
        record = app.main.selected_record
        config = workspace.config()
        assert load_validation(workspace.models / record.path, record.sha256, config,
                               default_session_ids(config)) is None
        assert "[ ] validated on sessions" in screen_text(app)
        assert "[ ] loads and infers" in screen_text(app)  # a cancelled run proves nothing


@async_test
async def test_smoke_test_marks_readiness(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path("session32_final.zip")
        await pilot.press("T")
        await settle(app, pilot)
        assert any("Smoke test passed" in n or "Loads and infers" in n for n in notifications(app))
        assert "[x] loads and infers" in screen_text(app)
        app.query_one(ModelList).select_path("session5_ppo_20251120_101500/trained_model.zip")
        await pilot.press("T")
        await settle(app, pilot)
        assert "[✗] loads and infers" in screen_text(app)
