"""E validates N marked models with the vote chosen in its dialog, and the pane shows the A/B
stored against the current model: on real SB3 models and sessions, through a real App, with
results checked on disk through the eval API, as the CLI stores and reads them."""

from __future__ import annotations

import subprocess
import sys

from test_policy_run_flows import (
    LEGACY,
    S10,
    S32,
    WELL,
    add_sick_and_well,
    details,
    make_app,
    promote,
)
from textual.widgets import OptionList
from tui_support import async_test, notifications, screen_text, settle

from kalshi_tui.eval import (
    default_session_ids,
    ensemble_id,
    file_sha256,
    load_abtest,
    stored_ensembles,
)
from kalshi_tui.tui.dialogs.ensemble import EnsembleDialog
from kalshi_tui.tui.dialogs.progress import ValidationDialog
from kalshi_tui.tui.marks import compare_paths, ensemble_paths
from kalshi_tui.tui.screens.compare import CompareScreen
from kalshi_tui.tui.screens.describe import DescribeScreen
from kalshi_tui.tui.widgets.model_list import ModelList

MEAN_PROB = "mean-prob"
CRAFTED = "[@click=app.quit]crafted.zip"


async def mark(app, pilot, *paths: str) -> ModelList:
    models = app.query_one(ModelList)
    for path in paths:
        assert models.select_path(path)
        await pilot.press("space")
    return models


def test_compare_takes_two_and_an_ensemble_two_or_more():
    assert compare_paths(["a"], "b") == (["a", "b"], None)
    assert compare_paths(["a", "b"], "c") == (["a", "b"], None)
    assert compare_paths(["a", "b", "c"], "d") == (
        [], "compare takes two models: 3 marked; unmark 1 with space (or m), or M clears "
        "every mark")
    assert compare_paths(["a"], "a")[1] == ("compare takes two models: 1 marked; mark two with "
                                            "space (or m)")
    assert compare_paths([], "a")[1].startswith("compare takes two models: 0 marked")
    assert ensemble_paths(["a", "b", "c"], "d") == (["a", "b", "c"], None)
    assert ensemble_paths(["a"], "d") == (["a", "d"], None)  # the marked one and the selected row
    assert ensemble_paths([], "d")[1] == ("an ensemble takes 2 or more models: 0 marked; mark "
                                          "the members with space (or m)")


@async_test
async def test_e_with_three_marked_and_mean_prob_stores_that_ensemble(workspace, frozen_clock,
                                                                      model_zoo):
    add_sick_and_well(workspace, model_zoo)
    promote(workspace, S32, "first")
    config = workspace.config()
    members = [S32, S10, WELL]
    shas = [file_sha256(workspace.models / rel) for rel in members]
    assert stored_ensembles(config, shas[0]) == []
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(S10)
        await pilot.press("E")  # one model is no ensemble: said, not run
        await pilot.pause()
        assert not isinstance(app.screen, EnsembleDialog)
        assert any("an ensemble takes 2 or more models: 0 marked" in n
                   for n in notifications(app))

        models = await mark(app, pilot, *members)
        assert models.marked == members  # no mark dropped past two
        text = screen_text(app)
        assert sum(1 for line in text.splitlines() if line[1:2] == "●") == 3  # marks stay visible
        await pilot.press("E")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EnsembleDialog)
        text = screen_text(app)
        assert "Validate an ensemble of 3 models?" in text
        for rel in members:
            assert rel in text
        assert dialog.vote == "majority"  # the CLI's default, highlighted first
        assert "Enter: run the majority vote (the pointer does not change).  esc: cancel." in text
        await pilot.press("down")
        await pilot.pause()
        assert dialog.vote == MEAN_PROB
        assert "Enter: run the mean-prob vote" in screen_text(app)
        assert isinstance(app.screen.focused, OptionList)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ValidationDialog)
        assert "Validating the ensemble (mean-prob vote) of" in screen_text(app)
        await settle(app, pilot)

        stored = stored_ensembles(config, shas[0])  # as `kalshi-tui validate --ensemble` stores it
        assert len(stored) == 1, notifications(app)
        result = stored[0]
        assert result.vote == MEAN_PROB and len(result.members) == 3
        assert result.ensemble_id == ensemble_id(shas, MEAN_PROB)
        assert sorted(result.member_names) == sorted(members)
        assert isinstance(app.screen, DescribeScreen)
        text = " ".join(screen_text(app).split())
        assert "mean-prob vote of 3 models" in text and f"id {result.ensemble_id[:12]}" in text
        # Each member ran as a plain validation, stored as one: the table knows at once.
        assert set(members) <= set(app.state.validations)

        await pilot.press("escape")
        await pilot.press("M")  # clears every mark
        await pilot.pause()
        assert models.marked == []
        assert any("3 marks cleared" in n for n in notifications(app))


@async_test
async def test_esc_in_the_ensemble_dialog_runs_and_stores_nothing(workspace, frozen_clock):
    promote(workspace, S32, "first")
    config = workspace.config()
    current = file_sha256(workspace.models / S32)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        models = await mark(app, pilot, S32)
        models.select_path(CRAFTED)  # the one marked plus the selected row
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, EnsembleDialog)
        text = screen_text(app)
        assert "Validate an ensemble of 2 models?" in text and "Cancel (esc)" in text
        assert CRAFTED in text  # a name from a file is shown as text, never read as markup
        assert "Validate (majority)" in text  # the whole dialog fits at 80x24
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, (EnsembleDialog, ValidationDialog))
        assert app.state.validation is None
        assert any("nothing was run or stored" in n for n in notifications(app))
        assert stored_ensembles(config, current) == []
        assert models.marked == [S32]  # the marks stay for another try


@async_test
async def test_a_member_that_does_not_fit_is_refused_and_nothing_is_stored(workspace,
                                                                          frozen_clock):
    promote(workspace, S32, "first")
    config = workspace.config()
    current = file_sha256(workspace.models / S32)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await mark(app, pilot, S10, LEGACY)
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, EnsembleDialog)
        await pilot.press("enter")
        await settle(app, pilot)
        refusals = [n for n in notifications(app) if n.startswith("refused: ")]
        assert len(refusals) == 1, notifications(app)
        assert "trained_model.zip" in refusals[0] and "\n" not in refusals[0]
        assert not any("failed" in n.lower() for n in notifications(app))
        assert stored_ensembles(config, current) == []
        assert not isinstance(app.screen, DescribeScreen)


@async_test
async def test_compare_with_three_marked_says_so(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = await mark(app, pilot, S32, S10, LEGACY)
        await pilot.press("C")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)
        assert any("compare takes two models: 3 marked" in n for n in notifications(app))
        await pilot.press("space")  # unmark the last (the cursor is on it): two are left
        await pilot.press("C")
        await settle(app, pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("escape")
        assert models.marked == [S32, S10]


@async_test
async def test_the_pane_shows_the_ab_the_cli_stored_against_the_current_model(
        workspace, frozen_clock, model_zoo):
    add_sick_and_well(workspace, model_zoo)
    promote(workspace, S32, "first")
    done = subprocess.run([sys.executable, "-m", "kalshi_tui", "--config",
                           str(workspace.config_file), "abtest", S10],
                          capture_output=True, text=True, timeout=300, cwd=workspace.root)
    assert done.returncode == 0, done.stderr
    config = workspace.config()
    stored = load_abtest(file_sha256(workspace.models / S10),
                         file_sha256(workspace.models / S32), config, default_session_ids(config))
    assert stored is not None
    line = stored.vs_line("current")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        models.select_path(S10)
        await pilot.pause()
        assert "A/B       " + line in details(app)
        models.select_path(WELL)
        await pilot.pause()
        assert "A/B       no A/B against the current model (A runs it)" in details(app)
        models.select_path(S32)  # the current model: no candidate against itself
        await pilot.pause()
        assert "A/B" not in details(app)
        models.select_path(LEGACY)  # cannot run here: no A/B line, its reasons say why
        await pilot.pause()
        assert "A/B" not in details(app)


@async_test
async def test_no_ab_line_when_the_current_model_cannot_run_the_header_says_why(
        workspace, frozen_clock):
    promote(workspace, LEGACY, "forced in an incident", force=True)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(S10)
        await pilot.pause()
        assert app.state.ab_lines == {}  # read, and none can exist
        assert "A/B" not in details(app)
        assert "ALARM" in screen_text(app) and "incompatible" in screen_text(app)
