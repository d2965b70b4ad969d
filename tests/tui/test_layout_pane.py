"""The compatibility pane names the world and the model's observation layout, with evidence."""

from __future__ import annotations

from tui_support import FROZEN_NOW, async_test, build_workspace, settle

from kalshi_tui.tui.app import KalshiTuiApp
from kalshi_tui.tui.widgets.model_list import ModelList


def pane_text(app) -> str:
    return app.query_one("#pane-compatibility").content.plain


@async_test
async def test_compatibility_pane_gives_layout_evidence_and_refuses_the_other_layout(
    tmp_path, model_zoo
):
    workspace = build_workspace(tmp_path / "ws", model_zoo, layout={"session32_final.zip": "ppo21"})
    for profile, fits in (("kalshiflow-2025-12-15", True), ("kalshiflow-2025-12-17", False)):
        text = workspace.config_file.read_text().split("[environment]")[0]
        workspace.config_file.write_text(text + f'[environment]\nprofile = "{profile}"\n'
                                         "position_sizes = [5, 10, 20, 50, 100]\n")
        app = KalshiTuiApp(workspace.config(), clock=lambda: FROZEN_NOW, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.query_one(ModelList).select_path("session32_final.zip")
            await pilot.pause()
            text = pane_text(app)
            layout = "A" if fits else "B"
            assert f"environment: profile {profile}, layout {layout}, fill model realistic" in text
            assert ("obs layout: trained on layout A (last observation fits A's 10 invariants, "
                    "not B's (breaks") in text
            assert "trained 2025-12-11, before layout B existed" in text
            refusal = ("trained on observation layout A, the environment builds layout B: "
                       "same 52 numbers, different meanings")
            assert (refusal in text) is not fits
            assert ("✓ fits the configured environment" in text) is fits
