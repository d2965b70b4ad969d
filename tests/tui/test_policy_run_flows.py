"""K checks policy health and A runs an A/B against the current model, from the TUI, on real
SB3 models and sessions: progress naming its unit, cancel, refusals, stored as the CLI stores."""

from __future__ import annotations

import os
import sys
import threading

from textual.widgets import ProgressBar
from tui_support import async_test, notifications, screen_text, settle, shown

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.eval import default_session_ids, file_sha256, load_abtest, load_health
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.dialogs.confirm import ReasonDialog
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.widgets.model_list import ModelList

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "eval"))
from eval_helpers import collapsed_but_sampling_widely, healthy_policy  # noqa: E402

S32, S10 = "session32_final.zip", "session10_ppo_20251211_173419/model.zip"
LEGACY = "session5_ppo_20251120_101500/trained_model.zip"
EVIL = "evil_policy_class.zip"
SICK, WELL = "session44_collapsed/model.zip", "session45_healthy/model.zip"


def make_app(workspace, clock) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False)


def promote(workspace, rel: str, reason: str, *, force: bool = False) -> None:
    config = workspace.config()
    PointerEngine(config).promote(inspect_model(workspace.models / rel, config), reason,
                                  force=force)


def add_sick_and_well(workspace, model_zoo) -> None:
    for rel in (SICK, WELL):
        (workspace.models / rel).parent.mkdir()
    collapsed_but_sampling_widely(model_zoo["ppo21"], workspace.models / SICK, 7)
    healthy_policy(model_zoo["ppo21"], workspace.models / WELL)


def stored_health(workspace, rel: str):
    config = workspace.config()
    return load_health(file_sha256(workspace.models / rel), config, default_session_ids(config))


def details(app) -> str:
    return app.main.query_one("#pane-compatibility").content.plain


async def run_key(app, pilot, rel: str, key: str) -> None:
    app.query_one(ModelList).select_path(rel)
    await pilot.press(key)
    await settle(app, pilot)
    assert not isinstance(app.screen, ValidationDialog)  # closed when done


@async_test
async def test_k_checks_health_stores_it_and_raises_the_current_models_alarm(
        workspace, frozen_clock, model_zoo):
    add_sick_and_well(workspace, model_zoo)
    promote(workspace, SICK, "looked varied in training")
    assert stored_health(workspace, SICK) is None
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "current model is COLLAPSED" not in screen_text(app)  # nothing stored yet
        assert "health    unknown: not checked" in details(app)
        await run_key(app, pilot, SICK, "K")
        stored = stored_health(workspace, SICK)
        assert stored is not None and stored.state == "COLLAPSED"  # as `kalshi-tui health`
        text = await shown(app, pilot, "current model is COLLAPSED")
        assert "ALARM" in text and "current model is COLLAPSED" in text
        row = next(line for line in text.splitlines() if line.startswith("▶"))
        assert "COLLAPSED" in row  # the HEALTH column of the pinned current row
        assert stored.state_line[:40] in " ".join(details(app).split())
        assert any("Health checked" in n or "COLLAPSED" in n for n in notifications(app))

        await run_key(app, pilot, WELL, "K")
        well = stored_health(workspace, WELL)
        assert well is not None and well.state == "HEALTHY"
        assert "HEALTHY" in details(app)


@async_test
async def test_health_progress_names_its_unit_and_escape_stores_nothing(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    first_report, release = threading.Event(), threading.Event()
    real_check = app.backend.check_health

    def held_check(record, *, progress, cancel):
        # Held at its first report until escape is pressed: a check can finish between keys.
        def report(done: int, total: int) -> None:
            progress(done, total)
            if not first_report.is_set():
                first_report.set()
                release.wait(60)
        return real_check(record, progress=report, cancel=cancel)

    app.backend.check_health = held_check
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(S32)
        await pilot.press("K")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ValidationDialog), notifications(app)
        bar = dialog.query_one(ProgressBar)
        for _ in range(100_000):
            if first_report.is_set() and bar.total is not None:
                break
            await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        assert "Checking the health of session32_final" in text
        assert " observations done" in text and bar.progress > 0
        await pilot.press("escape")
        release.set()
        await settle(app, pilot)
        assert not isinstance(app.screen, ValidationDialog)
        assert any("Health check cancelled; nothing was stored" in n
                   for n in notifications(app))
        assert stored_health(workspace, S32) is None
        assert "unknown: not checked" in details(app)


@async_test
async def test_a_model_that_cannot_run_is_refused_in_one_line(workspace, frozen_clock, model_zoo,
                                                             tmp_path):
    from model_factory import plant_malicious_field

    canary = tmp_path / "canary"
    plant_malicious_field(model_zoo["ppo21"], workspace.models / EVIL, canary)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for rel in (LEGACY, EVIL):  # incompatible; UNSAFE (a pickle that would write a file)
            await run_key(app, pilot, rel, "K")
            refusals = [n for n in notifications(app) if n.startswith("refused: ")]
            assert refusals and "\n" not in refusals[-1], notifications(app)
            assert "Traceback" not in refusals[-1]
            assert stored_health(workspace, rel) is None
            assert app.state.validation is None  # the next run may start
        assert len(refusals) == 2 and not canary.exists()


@async_test
async def test_a_runs_the_ab_against_the_current_model_and_the_promote_dialog_shows_it(
        workspace, frozen_clock):
    promote(workspace, S32, "first")
    config = workspace.config()
    sessions = default_session_ids(config)
    candidate, current = (file_sha256(workspace.models / rel) for rel in (S10, S32))
    assert load_abtest(candidate, current, config, sessions) is None
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await run_key(app, pilot, S10, "A")
        stored = load_abtest(candidate, current, config, sessions)
        assert stored is not None and stored.against_is_current  # as `kalshi-tui abtest`
        line = stored.vs_line("current")
        assert line.startswith("vs current: ")
        assert "A/B       " + line in details(app)
        await pilot.press("P")
        dialog = app.screen
        for _ in range(200):
            if isinstance(dialog, ReasonDialog) and dialog.planned:
                break
            await pilot.pause(0.02)
            dialog = app.screen
        assert line in " ".join(screen_text(app).split())

        # The current model itself is no candidate: said, not run.
        await pilot.press("escape")
        await settle(app, pilot)
        await run_key(app, pilot, S32, "A")
        assert any("is the current model" in n for n in notifications(app))


@async_test
async def test_a_says_why_when_the_current_model_cannot_run(workspace, frozen_clock):
    empty = make_app(workspace, frozen_clock)
    async with empty.run_test(size=(120, 40)) as pilot:
        await settle(empty, pilot)
        await run_key(empty, pilot, S10, "A")
        assert any("No current model" in n for n in notifications(empty)), notifications(empty)

    promote(workspace, LEGACY, "forced in an incident", force=True)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await run_key(app, pilot, S10, "A")
        refusals = [n for n in notifications(app) if n.startswith("refused: ")]
        assert len(refusals) == 1, notifications(app)
        assert "current model trained_model.zip is incompatible" in refusals[0]
        # No A/B line in the pane: no model can have one, and the header's ALARM says why.
        assert "A/B" not in details(app)


@async_test
async def test_e_validates_the_marked_models_as_an_ensemble_and_shows_the_summary(
        workspace, frozen_clock):
    from kalshi_tui.eval import stored_ensembles
    from kalshi_tui.tui.screens.describe import DescribeScreen

    promote(workspace, S32, "first")
    config = workspace.config()
    current = file_sha256(workspace.models / S32)
    assert stored_ensembles(config, current) == []
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        models.select_path(S10)
        await pilot.press("space")
        models.select_path(S32)
        await pilot.press("space")
        await pilot.press("E")  # the dialog: the members, the vote (majority first), Enter runs
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        stored = stored_ensembles(config, current)
        assert len(stored) == 1  # as `kalshi-tui validate --ensemble` stores it
        assert isinstance(app.screen, DescribeScreen)
        text = " ".join(screen_text(app).split())
        assert "Ensemble validation" in text
        assert f"id {stored[0].ensemble_id[:12]}" in text and "majority vote of 2 models" in text
