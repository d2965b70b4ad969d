"""The on-call flows of issue 19, driven by keys; each asserts on disk and on screen.

Reason-first dialogs (keys typed right after R kept, empty Enter stays, two Enters), the
current model pinned and jumped to, outside changes announced (a real second process),
history keys, describe views, skips and forced marks, refusals worded as refusals, ctrl+p.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

from tui_support import async_test, notifications, screen_text, settle, shown

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.core.pointer.lock import current_user
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.dialogs.confirm import ReasonDialog, RefusedDialog
from kalshi_tui.tui.screens.describe import DescribeScreen
from kalshi_tui.tui.screens.history import HistoryScreen
from kalshi_tui.tui.widgets.model_list import SORTABLE, ModelList

S32, S10, CRAFTED = ("session32_final.zip", "session10_ppo_20251211_173419/model.zip",
                     "[@click=app.quit]crafted.zip")
LEGACY = "session5_ppo_20251120_101500/trained_model.zip"
LONG_REASON = ("bad deploy (incident dr-4411): fills stopped at 09:12 UTC after the exchange "
               "changed its tick table; the new model kept quoting outside the book, so we go "
               "back to the last model that traded cleanly and keep this one for the post-mortem")


def make_app(workspace, clock, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False, **kwargs)


def promote(workspace, rel: str, reason: str, *, force: bool = False) -> int:
    """A promote by another operator (same machine): the engine, as the CLI uses it."""
    config = workspace.config()
    return PointerEngine(config).promote(inspect_model(workspace.models / rel, config), reason,
                                         force=force).revision


def current_line(app) -> str:
    return next(line for line in screen_text(app).splitlines() if "Current:" in line)


async def plan_on_screen(app, pilot) -> ReasonDialog:
    for _ in range(200):
        if isinstance(app.screen, ReasonDialog):
            break
        await pilot.pause(0.02)
    dialog = app.screen
    assert isinstance(dialog, ReasonDialog)
    for _ in range(200):
        if dialog.planned:
            break
        await pilot.pause(0.02)
    await pilot.pause()
    assert dialog.planned
    return dialog


@async_test
async def test_rollback_with_r_reason_enter_enter_typed_before_the_list_arrives(workspace,
                                                                                frozen_clock):
    promote(workspace, S32, "first")
    promote(workspace, S10, "second")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        # No settling: R and the reason go in as fast as hands type, before the first scan.
        await pilot.press("R", *"bad deploy")
        dialog = await plan_on_screen(app, pilot)
        assert dialog.id == "rollback-dialog" and app.focused.id == "reason"
        assert dialog.query_one("#reason").value == "bad deploy"  # no key was lost
        text = screen_text(app)
        assert "Roll back to revision 1?" in text and "Roll back to rev 1" in text  # the button
        assert "session32_final.zip" in text and " OK " in text  # the target and its badge
        assert "training  PPO, 21 actions" in text and "health    unknown" in text
        await pilot.press("enter")  # to the confirm button: nothing written yet
        await pilot.pause()
        assert app.focused.id == "confirm" and len(workspace.journal_records()) == 2
        await pilot.press("enter")
        await settle(app, pilot)
        last = workspace.journal_records()[-1]
        assert (last["action"], last["reason"], last["target_revision"]) == (
            "rollback", "bad deploy", 1)
        assert workspace.current_full_path().endswith("trained_models/session32_final.zip")
        assert "rev 3" in current_line(app) and "session32_final.zip" in current_line(app)


@async_test
async def test_empty_reason_stays_says_why_and_esc_cancels(workspace, frozen_clock):
    promote(workspace, S32, "first")
    promote(workspace, S10, "second")
    before = workspace.pointer.read_bytes()
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await plan_on_screen(app, pilot)
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog) and app.focused.id == "reason"
        assert "A reason is required" in await shown(app, pilot, "A reason is required")
        # Typing after the message still lands in the reason: nothing was lost to a button.
        await pilot.press(*"oops")
        assert app.screen.query_one("#reason").value == "oops"
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused.id == "confirm"
        await pilot.press("escape")  # esc at the last step still cancels
        await settle(app, pilot)
        assert app.screen is app.main
        assert workspace.pointer.read_bytes() == before and len(workspace.journal_records()) == 2


@async_test
async def test_the_current_model_stays_pinned_first_through_sort_and_filter(workspace,
                                                                            frozen_clock):
    promote(workspace, CRAFTED, "the crafted one trades")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        # Cursor on it, default sort Rank, every pane naming it.
        assert models.rows[0].path == CRAFTED and app.main.selected_record.path == CRAFTED
        assert models.sort_key == "rank" and "Rank▲" in screen_text(app)
        assert "Compatibility: [@click=app.quit]crafted ▶ current" in screen_text(app)
        assert "Metrics: [@click=app.quit]crafted ▶ current" in screen_text(app)
        for _ in range(4):
            await pilot.press("s")
            await pilot.pause()
            assert models.rows[0].path == CRAFTED, models.sort_key
        await pilot.press("S")
        assert models.rows[0].path == CRAFTED
        await pilot.press("slash", *"session1", "enter")
        await pilot.pause()
        assert [r.path for r in models.rows][0] == CRAFTED
        assert sorted(r.path for r in models.rows[1:]) == [
            S10, "session12_ppo_20251201_080000/model.zip"]
        header = screen_text(app).splitlines()[0]
        assert "2 of 5 shown" in header and "filter: session1" in header
        await pilot.press("c")
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "1 of 5 shown" in header and "compatible only" in header
        # Away and back with one key.
        await pilot.press("down")
        assert app.main.selected_record.path == S10
        await pilot.press("full_stop")
        assert app.main.selected_record.path == CRAFTED
        await pilot.press("c", "escape")
        await pilot.pause()
        assert "5 models, 3 compatible" in screen_text(app).splitlines()[0]


@async_test
async def test_a_cli_promote_from_another_process_is_announced_with_who_what_and_revision(
        workspace, frozen_clock, model_zoo):
    promote(workspace, S32, "first")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        # Another operator, another process: the real CLI.
        done = subprocess.run(
            [sys.executable, "-m", "kalshi_tui", "--config", str(workspace.config_file), "promote",
             S10, "--reason", "more markets", "--yes"],
            capture_output=True, text=True, env={**os.environ}, timeout=120)
        assert done.returncode == 0, done.stderr
        app._tick()  # what the interval timer calls every refresh_seconds
        await settle(app, pilot)
        who = f"{current_user()}@{socket.gethostname()}"
        expected = f"{who} promoted {S10} (rev 2): more markets"
        assert expected in notifications(app)
        assert app.main.query_one("#header").has_class("-flash")
        assert "rev 2" in current_line(app) and S10 in current_line(app)
        # Model files: one new, one gone, one rewritten, counted in one notice.
        shutil.copyfile(model_zoo["ppo21"], workspace.models / "session41_final.zip")
        (workspace.models / LEGACY).unlink()
        with open(workspace.models / CRAFTED, "ab") as handle:
            handle.write(b"retrained in place")
        app._tick()
        await settle(app, pilot)
        assert "1 new, 1 removed, 1 changed model files" in notifications(app)
        # This screen's own change is not announced as someone else's.
        count = len(notifications(app))
        await pilot.press("R", *"back", "enter")
        await plan_on_screen(app, pilot)
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert workspace.journal_records()[-1]["action"] == "rollback"
        assert not [n for n in notifications(app)[count:] if who in n and "(rev 3)" in n]


@async_test
async def test_history_keys_describe_skips_and_forced_marks(workspace, frozen_clock):
    promote(workspace, S32, "one")                                 # 1
    promote(workspace, S10, LONG_REASON)                           # 2
    promote(workspace, LEGACY, "legacy on purpose", force=True)    # 3 FORCED
    promote(workspace, CRAFTED, "four")                            # 4
    promote(workspace, S10, "five")                                # 5
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("H")
        await settle(app, pilot)
        history = app.screen
        assert isinstance(history, HistoryScreen)
        assert "promote FORCED" in screen_text(app)  # marked in the table, even at 80 columns
        assert history.selected_revision() == 5
        await pilot.press("j", "j")
        assert history.selected_revision() == 3
        await pilot.press("k")
        assert history.selected_revision() == 4
        await pilot.press("G")
        assert history.selected_revision() == 1
        await pilot.press("g")
        assert history.selected_revision() == 5
        await pilot.press("down", "down", "down")
        assert history.selected_revision() == 2
        # Enter: the revision in full, the long reason wrapped at 80 columns, not cut.
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DescribeScreen) and app.screen.id == "describe-revision"
        body = app.screen.query_one("#describe-body").content.plain
        assert " ".join(body.split()).count(LONG_REASON) == 1
        for field in ("who", "host", "pid", "when", "action", "from", "to", "reason", "forced"):
            assert f"\n{field}" in "\n" + body, field
        await pilot.press("escape", "up")
        assert history.selected_revision() == 3
        await pilot.press("d")
        await settle(app, pilot)
        body = app.screen.query_one("#describe-body").content.plain
        assert "FORCED: the model did not fit" in body
        await pilot.press("escape")
        # Roll back from 5 to 1: the dialog and the journal list 4, 3 and 2 as passed over.
        await pilot.press("G", "R")
        await plan_on_screen(app, pilot)
        assert "skips     revisions 2, 3, 4" in screen_text(app).replace("\n", " ") or \
            "revisions 2, 3, 4" in screen_text(app)
        await pilot.press(*"back to one", "enter", "enter")
        await settle(app, pilot)
        last = workspace.journal_records()[-1]
        assert last["target_revision"] == 1
        assert [s["revision"] for s in last["skipped"]] == [4, 3, 2]
        assert isinstance(app.screen, HistoryScreen) and history.records[0].revision == 6
        await pilot.press("g", "enter")
        await settle(app, pilot)
        body = app.screen.query_one("#describe-body").content.plain
        assert "rollback to revision 1" in body
        assert all(f"rev {n}" in body for n in (2, 3, 4)) and "revision 1 was chosen" in body


@async_test
async def test_describe_a_model_shows_every_field_whole(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(S10)
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, DescribeScreen) and app.screen.id == "describe-model"
        body = app.screen.query_one("#describe-body").content.plain
        record = app.main.selected_record
        for heading in ("Compatibility", "Readiness", "Metrics", "Actions", "Ranking",
                        "Provenance", "Every field"):
            assert heading in body
        flat = " ".join(body.split())
        assert record.abs_path in flat.replace(" ", "") or record.abs_path in flat
        await pilot.press("G")
        await pilot.pause()
        assert app.screen.scroller.scroll_y > 0
        await pilot.press("escape")
        assert app.screen is app.main
        await pilot.press("j")  # the list has the keys again
        assert app.main.selected_record.path != S10


@async_test
async def test_a_refusal_says_refused_and_logs_a_warning_without_a_traceback(workspace,
                                                                             frozen_clock):
    log_file = workspace.root / "tui.log"
    app = make_app(workspace, frozen_clock, log_path=log_file)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(app, pilot)
        selected = app.main.selected_record.path
        await pilot.press("R", *"nothing to go back to d")  # no pointer, no history
        await settle(app, pilot)
        # The refusal takes the dialog's place as a modal answer: the rest of the reason
        # (g jumps, d describes on the models screen) never reaches the models screen.
        assert isinstance(app.screen, RefusedDialog)
        assert "Rollback refused" in screen_text(app)
        assert "nothing to roll back to" in app.screen.body[0].plain
        assert not any("failed" in n for n in notifications(app))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main and app.main.selected_record.path == selected
    logged = log_file.read_text()
    assert "WARNING" in logged and "rollback refused" in logged and "Traceback" not in logged


@async_test
async def test_ctrl_p_opens_the_command_palette_like_colon(workspace, frozen_clock):
    from textual.command import CommandPalette

    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key in ("ctrl+p", "colon"):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, CommandPalette), key
            await pilot.press(*"describe")
            assert "Describe" in await shown(app, pilot, "Describe")
            await pilot.press("escape")
            await settle(app, pilot)
            assert app.screen is app.main


@async_test
async def test_a_capital_r_typed_into_the_filter_is_a_letter(workspace, frozen_clock):
    promote(workspace, S32, "first")
    promote(workspace, S10, "second")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"RP")
        await settle(app, pilot)
        assert app.screen is app.main and app.main.query_one("#filter").value == "RP"
        assert len(workspace.journal_records()) == 2


@async_test
async def test_health_in_the_table_the_header_alarm_and_the_rollback_dialog(workspace, frozen_clock,
                                                                          model_zoo):
    """Real health checks (kalshi-tui health's code) on a collapsed and a plain model."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "eval"))
    from eval_helpers import collapsed_but_sampling_widely

    from kalshi_tui.eval import check_health, default_session_ids

    collapsed = workspace.models / "session44_collapsed" / "model.zip"
    collapsed.parent.mkdir()
    collapsed_but_sampling_widely(model_zoo["ppo21"], collapsed, 7)
    config = workspace.config()
    sessions = default_session_ids(config)
    sick = check_health(collapsed, config, sessions)
    plain = check_health(workspace.models / S32, config, sessions)
    assert sick.state == "COLLAPSED"
    promote(workspace, S32, "first")
    promote(workspace, "session44_collapsed/model.zip", "looked varied in training")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = await shown(app, pilot, "current model is COLLAPSED")
        assert "ALARM" in text and "current model is COLLAPSED" in text
        row = next(line for line in text.splitlines() if line.startswith("▶"))
        assert "COLLAPSED" in row  # the health column of the pinned current row
        await pilot.press("R", *"collapsed")
        await plan_on_screen(app, pilot)
        dialog_text = screen_text(app)
        assert "Roll back to rev 1" in dialog_text
        assert plain.state_line[:40] in " ".join(dialog_text.split())


@async_test
async def test_a_burst_of_keys_before_the_first_frame_is_kept_whole(workspace, frozen_clock):
    """What a terminal does when the operator types ahead of the screen: every key is queued
    on the App at once (no pilot waits between them), R first, then the reason."""
    from textual import events

    promote(workspace, S32, "first")
    promote(workspace, S10, "second")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        for char in "Rbad deploy, see #ops":
            key = {" ": "space", ",": "comma", "#": "number_sign"}.get(char, char)
            app.post_message(events.Key(key, char))
        dialog = await plan_on_screen(app, pilot)
        assert dialog.query_one("#reason").value == "bad deploy, see #ops"
        assert not isinstance(app.screen_stack[-2], DescribeScreen)  # `d` did not describe
        assert app.main.query_one(ModelList).marked == []  # the space did not mark a model
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert workspace.journal_records()[-1]["reason"] == "bad deploy, see #ops"


def test_validation_progress_names_its_unit_from_the_first_frame():
    from kalshi_tui.tui.dialogs.progress import UNIT, ValidationDialog

    assert UNIT == "market steps"

    @async_test
    async def run() -> None:
        from textual.app import App

        class Host(App):
            def on_mount(self) -> None:
                self.push_screen(ValidationDialog("m", "5"))

        host = Host()
        async with host.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "0 market steps done" in screen_text(host)
            host.screen.show_progress(11_753, 30_126)
            await pilot.pause()
            assert "11,753 of 30,126 market steps done" in screen_text(host)

    run()


@async_test
async def test_every_sorted_header_keeps_its_arrow_even_when_its_title_is_cut(workspace,
                                                                            frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        seen = {}
        for _ in range(len(SORTABLE)):  # every sortable column once
            await pilot.press("s")
            await pilot.pause()
            header = next(line for line in screen_text(app).splitlines() if "Model" in line)
            seen[models.sort_key] = header
        # Trade% is 6 cells wide: sorted, it reads "Trade▼", the arrow never cut.
        assert "Trade▼" in seen["trading"]
        assert "Rank▲" in seen["rank"] and "Badge▲" in seen["badge"] and "Health▲" in seen["health"]


@async_test
async def test_both_dialogs_show_the_stored_a_b_line_against_the_current_model(workspace,
                                                                             frozen_clock):
    from kalshi_tui.eval import vs_current_line

    promote(workspace, S32, "first")
    promote(workspace, S10, "second")
    config = workspace.config()
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        dialog = await plan_on_screen(app, pilot)
        target = dialog.plan.record
        expected = vs_current_line(target.sha256, config)  # what `kalshi-tui promote` prints
        assert expected and f"A/B       {expected}" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        app.query_one(ModelList).select_path(CRAFTED)
        await pilot.press("P")
        dialog = await plan_on_screen(app, pilot)
        expected = vs_current_line(dialog.plan.record.sha256, config)
        assert f"A/B       {expected}" in screen_text(app)
