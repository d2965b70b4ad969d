"""The models list: filter, compatible-only, sort, marks and compare, live refresh, help,
palette."""

from __future__ import annotations

import shutil

import pytest
from tui_support import async_test, notifications, screen_text, settle, shown

from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.help import HelpScreen
from kalshi_tui.tui.widgets.model_list import ModelList


def make_app(workspace, clock, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False, **kwargs)


def shown_paths(app) -> list[str]:
    return [r.path for r in app.query_one(ModelList).rows]


@async_test
async def test_every_model_is_listed_with_its_badge(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert len(shown_paths(app)) == 5
        text = screen_text(app)
        assert "LEGACY 5-ACT" in text
        assert "OBS 54" in text
        assert "session10_ppo_20251211_173419" in text
        # A markup-looking file name is shown as text and the app is still running.
        assert "[@click=app.quit]crafted" in text
        assert app.is_running


@pytest.mark.slow
@async_test
async def test_a_folder_big_enough_for_worker_processes_is_listed(workspace, frozen_clock):
    """Hundreds of new files are read by worker processes, started from the TUI's thread while
    Textual holds sys.stderr (fileno -1): once that failed ("bad value(s) in fds_to_keep")
    and the list stayed empty."""
    source = workspace.models / "session10_ppo_20251211_173419" / "model.zip"
    checkpoints = workspace.models / "session10_ppo_20251211_173419" / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    for step in range(300):
        shutil.copy(source, checkpoints / f"ppo_{step * 1000}_steps.zip")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert len(shown_paths(app)) == 305
        assert not [n for n in notifications(app) if "fds_to_keep" in n or "error" in n.lower()]
        assert "305 models" in screen_text(app)


@async_test
async def test_filter_narrows_and_escape_clears(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"session1")
        await pilot.pause()
        assert sorted(shown_paths(app)) == ["session10_ppo_20251211_173419/model.zip",
                                            "session12_ppo_20251201_080000/model.zip"]
        await pilot.press("enter")  # keeps the filter, back to the list
        await pilot.pause()
        assert isinstance(app.focused, ModelList)
        assert "session32_final" not in screen_text(app)
        await pilot.press("down")
        assert app.main.selected_record.path == shown_paths(app)[1]
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown_paths(app)) == 5
        # Filtering by badge text works too.
        await pilot.press("slash", *"legacy", "enter")
        await pilot.pause()
        assert shown_paths(app) == ["session5_ppo_20251120_101500/trained_model.zip"]


@async_test
async def test_compatible_only_and_sort(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        paths = shown_paths(app)
        assert "session5_ppo_20251120_101500/trained_model.zip" not in paths
        assert "session12_ppo_20251201_080000/model.zip" not in paths
        assert all(app.query_one(ModelList).badges[p] == "OK" for p in paths)
        await pilot.press("c")
        await pilot.pause()
        assert len(shown_paths(app)) == 5
        models = app.query_one(ModelList)
        while models.sort_key != "name":
            await pilot.press("s")
        names = [r.name.lower() for r in models.rows]
        assert names == sorted(names, reverse=models.sort_reverse)
        await pilot.press("S")
        assert [r.name.lower() for r in models.rows] == sorted(names, reverse=models.sort_reverse)
        assert "Model" in screen_text(app) and ("▲" in screen_text(app) or "▼" in screen_text(app))


@async_test
async def test_compare_two_marked_models(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        models.select_path("session32_final.zip")
        await pilot.press("space")
        models.select_path("session10_ppo_20251211_173419/model.zip")
        await pilot.press("m")
        assert len(models.marked) == 2
        await pilot.press("C")
        await settle(app, pilot)
        assert isinstance(app.screen, CompareScreen)
        assert not app.screen.has_class("-narrow")
        text = screen_text(app)
        assert "session32_final" in text and "session10_ppo_20251211_173419" in text
        assert "win rate" in text and "rank" in text
        # Wide: one table, a row per action id with both models' shares on it, labelled.
        lines = text.splitlines()
        heading = next(line for line in lines if line.lstrip().startswith("id  action"))
        assert heading.index("session32_final") < heading.index("session10_ppo_20251211_173419")
        hold = next(line for line in lines if line.split()[:2] == ["0", "HOLD"])
        assert "no histogram" in hold and "37.5%" in hold  # 60 of 160 per episode: HOLD share
        assert any(line.split()[:4] == ["1", "BUY_YES", "x5", "2.5%"] for line in lines)
        assert "Actions:" not in text
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)
        # Narrow: the same two models' histograms stacked, each as its side-by-size grid.
        await pilot.resize_terminal(80, 24)
        await pilot.press("C")
        await settle(app, pilot)
        assert app.screen.has_class("-narrow")
        await pilot.press("end")
        await pilot.pause()
        text = screen_text(app)
        assert "Actions: session10_ppo_20251211_173419" in text
        assert "id  action" not in text


@async_test
async def test_new_models_and_pointer_changes_by_others_appear_on_refresh(workspace, model_zoo,
                                                                         frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert len(shown_paths(app)) == 5
        new = workspace.models / "session40_ppo_20260110_090000" / "model.zip"
        new.parent.mkdir()
        shutil.copyfile(model_zoo["ppo21"], new)
        from kalshi_tui.core.catalog.scan import inspect_model

        PointerEngine(workspace.config()).promote(inspect_model(new, workspace.config()),
                                                  "promoted from another terminal")
        app._tick()  # what the interval timer calls every refresh_seconds
        await settle(app, pilot)
        assert "session40_ppo_20260110_090000/model.zip" in shown_paths(app)
        text = screen_text(app)
        assert "session40_ppo_20260110_090000/model.zip" in next(
            line for line in text.splitlines() if "Current:" in line)
        assert "promoted from another terminal" in text


@async_test
async def test_refresh_pauses_while_a_dialog_is_open(workspace, model_zoo, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path("session32_final.zip")
        await pilot.press("P")
        await settle(app, pilot)
        shutil.copyfile(model_zoo["ppo21"], workspace.models / "late.zip")
        app._tick()
        await settle(app, pilot)
        assert "late.zip" not in shown_paths(app)
        await pilot.press("escape")
        app._tick()
        await settle(app, pilot)
        assert "late.zip" in shown_paths(app)


@async_test
async def test_help_lists_the_keys_of_the_current_screen(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Promote" in text and "Roll back" in text and "Validate" in text
        await pilot.press("escape")
        await pilot.press("H")
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Roll back to this" in screen_text(app)


@async_test
async def test_keymap_from_config_rebinds_keys(workspace, frozen_clock):
    text = workspace.config_file.read_text().replace(
        "[tui]\n", '[tui]\nkeymap = { history = "y" }\n')
    workspace.config_file.write_text(text)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.screen.id == "history-screen"


@async_test
async def test_palette_offers_context_commands(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        titles = [t for t, _, _ in app.palette_commands()]
        assert any(t.startswith("Promote ") for t in titles)
        assert "History" in titles
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*"history")
        # The palette searches asynchronously: wait until it has found something.
        from textual.command import CommandList

        found = app.screen.query_one(CommandList)
        for _ in range(1000):
            if any("History" in str(option.prompt) for option in found._options):
                break
            await pilot.pause()
        await pilot.press("down", "enter")  # highlight the best hit, then run it
        await settle(app, pilot)
        assert app.screen.id == "history-screen"
        assert not [n for n in notifications(app) if "failed" in n]


@async_test
async def test_a_damaged_pointer_is_an_alarm_not_a_crash(workspace, frozen_clock):
    workspace.pointer.write_text('{"current_model": [@click=app.quit] not json', encoding="utf-8")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "ALARM" in text and "CURRENT_MODEL.json" in text
        assert len(shown_paths(app)) == 5  # the list still works
        assert app.is_running


@async_test
async def test_provenance_shows_the_sha256_hashed_after_the_list_appears(workspace, frozen_clock):
    """The TUI lists without hashing (hashing reads every byte); the hash follows in the
    background and the provenance pane shows it, as the catalog cache then keeps it."""
    from kalshi_tui.core.catalog.scan import scan_catalog, sha256_file

    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(app, pilot)
        record = app.query_one(ModelList).rows[0]
        await pilot.press("3")
        text = await shown(app, pilot, sha256_file(record.abs_path)[:40])
        assert sha256_file(record.abs_path)[:40] in text
    cached = scan_catalog(workspace.config(), hashes=False)
    assert cached.read == 0
    assert all(
        r.sha256 == sha256_file(r.abs_path) for r in cached.records if r.verdict != "unreadable"
    )


@async_test
async def test_remapped_keys_are_the_ones_read_only_refuses(workspace, frozen_clock):
    text = workspace.config_file.read_text().replace(
        "[tui]\n",
        '[tui]\nkeymap = { promote = "p", "history.rollback" = "b", "dialog.cancel" = "x" }\n',
    )
    workspace.config_file.write_text(text)
    app = make_app(workspace, frozen_clock, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert not [n for n in notifications(app) if "no such action" in n]  # every id is known
        await pilot.press("P")  # no longer the promote key: says nothing
        await settle(app, pilot)
        assert not [n for n in notifications(app) if "Read-only" in n]
        await pilot.press("p")
        await settle(app, pilot)
        assert sum("Read-only: promote" in n for n in notifications(app)) == 1
        await pilot.press("H")
        await settle(app, pilot)
        assert app.screen.id == "history-screen"
        await pilot.press("b")
        await settle(app, pilot)
        assert sum("Read-only: rollback" in n for n in notifications(app)) == 1
        assert app.screen.id == "history-screen"


@async_test
async def test_an_unsafe_model_is_shown_red_and_says_why(workspace, frozen_clock, tmp_path):
    """A payload the trader's PPO.load would run: UNSAFE in red, last in the list, the finding
    in the readiness pane, and the payload never run."""
    import base64
    import os
    import pickle

    from model_factory import edit_data

    from kalshi_tui.tui import formatting as fmt

    canary = tmp_path / "canary"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    def plant(data):
        data["action_space"][":serialized:"] = base64.b64encode(pickle.dumps(Payload())).decode()

    source = workspace.models / "session10_ppo_20251211_173419" / "model.zip"
    edit_data(source, workspace.models / "zz_unsafe.zip", plant)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        rows = app.query_one(ModelList).rows
        unsafe = [r for r in rows if r.path == "zz_unsafe.zip"]
        assert unsafe and unsafe[0].verdict == "unsafe"
        assert fmt.badge_style(unsafe[0]) == "bold white on red"
        assert "UNSAFE" in screen_text(app)
    assert not canary.exists()
