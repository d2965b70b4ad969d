"""The ranking in the TUI: the Rank column and its sort, the reasons in the panes, W writes the
report."""

from __future__ import annotations

from tui_support import FROZEN_NOW, async_test, screen_text, settle

from kalshi_tui.core.evidence.ranking import (
    NOT_VALIDATED_TRAINING,
    rank_for_config,
    ranking_by_path,
)
from kalshi_tui.core.report.build import default_report_path
from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.screens.help import help_table
from kalshi_tui.tui.widgets.model_list import ModelList

INCOMPATIBLE = {"session5_ppo_20251120_101500/trained_model.zip",
                "session12_ppo_20251201_080000/model.zip"}
BEST = "session10_ppo_20251211_173419/model.zip"  # the only one with training figures


def make_app(workspace, clock, **kwargs) -> KalshiTuiApp:
    return KalshiTuiApp(workspace.config(), clock=clock, poll=False, **kwargs)


def pane_text(app, selector: str) -> str:
    """A pane's whole text, also the lines scrolled out of view."""
    return app.query_one(selector).content.plain


def row_of(text: str, name: str) -> list[str]:
    """The models table's row of a model, as words."""
    line = next(line for line in text.splitlines() if line.strip().split(" ")[0] == name)
    return line.split()


@async_test
async def test_rank_column_shows_the_cores_ranking_and_sorts_by_it(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        expected = ranking_by_path(
            rank_for_config(models.records, workspace.config(), now=FROZEN_NOW)
        )
        assert {p: r.rank for p, r in models.ranking.items()} == {
            p: r.rank for p, r in expected.items()
        }
        assert expected[BEST].rank == 1
        text = screen_text(app)
        assert "Rank" in text.splitlines()[text.splitlines().index(next(
            line for line in text.splitlines() if line.lstrip().startswith("Model")))]
        # The rank sits right after the badge and the health: "OK - 1", "LEGACY 5-ACT - —".
        assert row_of(text, "session10_ppo_20251211_173419")[1:4] == ["OK", "-", "1"]
        assert row_of(text, "session5_ppo_20251120_101500")[1:5] == ["LEGACY", "5-ACT", "-", "—"]
        assert row_of(text, "session12_ppo_20251201_080000")[1:5] == ["OBS", "54", "-", "—"]
        for name in ("session32_final", "[@click=app.quit]crafted"):
            path = next(p for p in expected if p.startswith(name))
            assert row_of(text, name)[3] == str(expected[path].rank)

        while models.sort_key != "rank":
            await pilot.press("s")
        await pilot.pause()
        assert not models.sort_reverse  # rank 1 first: the natural order of a ranking
        ranked = sorted((r for r in expected.values() if r.rank), key=lambda r: r.rank)
        assert [r.path for r in models.rows[:3]] == [r.path for r in ranked]
        assert set(r.path for r in models.rows[3:]) == INCOMPATIBLE  # never recommended: last
        assert "Rank▲" in screen_text(app)
        # The palette's "Sort by rank" gets there in one step from any sort.
        await pilot.press("s")
        assert models.sort_key != "rank"
        title, _, action = next(c for c in app.palette_commands() if c[0] == "Sort by rank")
        await app.run_action(action, app.screen)
        await pilot.pause()
        assert models.sort_key == "rank" and not models.sort_reverse
        assert [r.path for r in models.rows[:3]] == [r.path for r in ranked]


@async_test
async def test_rank_column_waits_for_the_ranking(workspace, frozen_clock):
    """Before the worker answers the column says so instead of showing a guess."""
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        models = app.query_one(ModelList)
        record = models.records[0]
        assert models.rank_text(record).plain in {"1", "2", "3", "—"}
        models.set_ranking({})
        assert models.rank_text(record).plain == "…"


@async_test
async def test_ranking_reasons_and_evidence_in_the_panes(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(BEST)
        await pilot.pause()
        ranked = app.state.ranking[BEST]
        text = screen_text(app)
        assert f"rank      1 of 3 compatible, score {ranked.score:.3f}" in text
        assert "evidence  training figures  (4: why)" in text
        assert "Ranking reasons" not in text  # its own tab: not re-wrapped on every move
        await pilot.press("4")
        await pilot.pause()
        assert "Ranking reasons: session10_ppo_20251211_173419" in screen_text(app)
        reasons = pane_text(app, "#pane-ranking")
        assert NOT_VALIDATED_TRAINING in reasons
        assert "trained on 473 unique markets" in reasons  # from training_results.json
        assert all(reason in reasons for reason in ranked.reasons)

        app.query_one(ModelList).select_path("session5_ppo_20251120_101500/trained_model.zip")
        await pilot.pause()
        text = screen_text(app)
        assert "rank      — never recommended (incompatible)" in text
        assert "never recommended: incompatible (legacy 5-action model" in pane_text(
            app, "#pane-ranking"
        )

    # At 80 columns the panes move to the Checks tab, the ranking with them.
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.query_one(ModelList).select_path(BEST)
        await pilot.pause()
        assert "evidence  training figures" in screen_text(app)


@async_test
async def test_w_writes_the_report_and_says_where(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock, read_only=True)  # the report is no pointer write
    config = workspace.config()
    expected = default_report_path(config, FROZEN_NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await settle(app, pilot)
        written = [n for n in app._notifications if n.title == "Report written"]
        assert len(written) == 1
        assert written[0].message == f"{expected} (recommends {BEST})"
    report = expected.read_text(encoding="utf-8")
    assert report.startswith("# ")
    assert BEST in report and "session5_ppo_20251120_101500/trained_model.zip" in report
    assert not workspace.pointer.exists()  # nothing but the report was written


@async_test
async def test_w_failure_is_one_line(workspace, frozen_clock):
    config = workspace.config()
    blocker = default_report_path(config, FROZEN_NOW).parent
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the reports folder should be")
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("W")
        await settle(app, pilot)
        failed = [n for n in app._notifications if n.title == "Writing the report failed"]
        assert len(failed) == 1 and "\n" not in failed[0].message
        assert "reports" in failed[0].message
        assert app.is_running
        # The key works again once the cause is gone.
        blocker.unlink()
        await pilot.press("W")
        await settle(app, pilot)
        assert default_report_path(config, FROZEN_NOW).exists()


@async_test
async def test_w_is_in_help_and_palette(workspace, frozen_clock):
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = help_table(app.screen)
        keys = [str(cell) for cell in table.columns[0]._cells]
        does = [str(cell) for cell in table.columns[1]._cells]
        row = keys.index("W")
        assert does[row].startswith("Report")
        assert any(action == "write_report" for _, _, action in app.palette_commands())
        assert "W Report" in screen_text(app).splitlines()[-1]  # in the footer


@async_test
async def test_bad_ranking_weight_is_a_one_line_warning(workspace, frozen_clock):
    text = workspace.config_file.read_text() + "\n[ranking]\nweights = { bogus = 1.0 }\n"
    workspace.config_file.write_text(text)
    app = make_app(workspace, frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        failed = [n for n in app._notifications if n.title == "Ranking the models failed"]
        assert len(failed) == 1
        assert str(workspace.config_file) in failed[0].message and "'bogus'" in failed[0].message
        assert len(app.query_one(ModelList).rows) == 5  # the list is still there
