"""SVG snapshots of every screen and dialog at 80x24 and 120x40, from fixture data.

Stable by construction: models copied from the zoo with a fixed training time, paths shown
relative to the models folder, the App's clock frozen, and the pointer history written
with a frozen time, user and host. Update with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

import socket

import pytest
from tui_support import FROZEN_NOW, settle

from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.widgets.model_list import ModelList

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def history_workspace(workspace, monkeypatch):
    """The workspace after two promotes by `ops@desk` (pid 4242), two and one hour before the
    frozen now."""
    from kalshi_tui.core.catalog.scan import inspect_model
    from kalshi_tui.core.pointer import engine as engine_module

    now = ["2026-01-15T10:00:00.000000Z"]
    monkeypatch.setattr(engine_module, "utc_now_text", lambda: now[0])
    monkeypatch.setattr(engine_module, "current_user", lambda: "ops")
    monkeypatch.setattr(socket, "gethostname", lambda: "desk")
    # The describe view shows the writer's pid: fixed, or no two runs would match.
    monkeypatch.setattr(engine_module.os, "getpid", lambda: 4242)
    config = workspace.config()
    engine = PointerEngine(config)
    engine.promote(inspect_model(workspace.models / "session32_final.zip", config),
                   "best 21-action run so far")
    now[0] = "2026-01-15T11:00:00.000000Z"
    engine.promote(inspect_model(workspace.models / "session10_ppo_20251211_173419/model.zip",
                                 config), "more markets in training")
    monkeypatch.undo()
    return workspace


def make_app(workspace, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=lambda: FROZEN_NOW, poll=False, **kwargs)


def keys_then_settle(*keys: str, select: str | None = None):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        if select:
            pilot.app.query_one(ModelList).select_path(select)
            await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await settle(pilot.app, pilot)
        # The cursor blinks: park it so every snapshot catches it in the same phase.
        for widget in pilot.app.screen.query("Input"):
            widget.cursor_blink = False
    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size,
                        run_before=keys_then_settle(select="session10_ppo_20251211_173419/model.zip"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_histogram_tab(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(
        app,
        terminal_size=size,
        run_before=keys_then_settle("2", select="session10_ppo_20251211_173419/model.zip"),
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ranking_tab(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(
        app,
        terminal_size=size,
        run_before=keys_then_settle("4", select="session10_ppo_20251211_173419/model.zip"),
    )


def test_main_screen_read_only_without_pointer(workspace, snap_compare):
    app = make_app(workspace, read_only=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_promote_dialog(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size,
                        run_before=keys_then_settle("P", select="session32_final.zip"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_refused_dialog(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(
        "P", select="session5_ppo_20251120_101500/trained_model.zip"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_force_dialog(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(
        "P", "tab", "enter", select="session5_ppo_20251120_101500/trained_model.zip"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_rollback_dialog(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle("R"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_rollback_dialog_confirm_step(history_workspace, snap_compare, size):
    """After the reason and one Enter: the button that names the action has the focus."""
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(
        "R", *"bad deploy", "enter"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_screen(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle("H"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_describe_revision(history_workspace, snap_compare, size):
    async def run_before(pilot) -> None:
        await keys_then_settle("H")(pilot)
        # The zoo's models are trained afresh each session: their sha256 differ run to run.
        for record in pilot.app.screen.records:
            for ref in (record.from_, record.to):
                ref.sha256 = ref.sha256 and "5ha256" * 10 + "fixd"
        await keys_then_settle("j", "enter")(pilot)

    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_describe_model(history_workspace, snap_compare, size):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(
        "d", select="session10_ppo_20251211_173419/model.zip"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_screen(history_workspace, snap_compare, size):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        models = pilot.app.query_one(ModelList)
        models.select_path("session32_final.zip")
        await pilot.press("space")
        models.select_path("session10_ppo_20251211_173419/model.zip")
        await pilot.press("space", "C")
        await settle(pilot.app, pilot)

    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help_screen(history_workspace, snap_compare):
    app = make_app(history_workspace)
    assert snap_compare(app, terminal_size=(120, 40), run_before=keys_then_settle("question_mark"))
