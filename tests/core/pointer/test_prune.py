"""Prune keeps the newest runs, the current model, recent history's models and kept runs'
diagnostics."""

from __future__ import annotations

import json

from kalshi_tui.cli import main
from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.core.pointer.prune import execute_prune, plan_prune

DATES = {"ppo5": "2025-12-11T22:10:54Z", "ppo21": "2025-12-15T00:15:49Z",
         "a2c21": "2025-12-15T07:13:01Z", "ppo21b": "2025-12-16T00:00:00Z"}


def records_of(ws):
    """Real records of the four zips, dated as the original runs were."""
    out = []
    for name, when in DATES.items():
        record = inspect_model(ws.model(name), ws.config)
        record.path = ws.model(name).relative_to(ws.models_dir).as_posix()
        record.run_dir = record.path.split("/")[0] if "/" in record.path else None
        record.trained_at = when
        out.append(record)
    return out


def setup(ws):
    ws.reload(protect_last_records=1)
    engine = PointerEngine(ws.config)
    engine.promote(inspect_model(ws.model("ppo5"), ws.config), "old legacy", force=True)
    engine.promote(inspect_model(ws.model("a2c21"), ws.config), "current")
    # session32's run folder holds diagnostics; its zip is neither current nor recent.
    run = ws.model("ppo21").parent
    (run / "training_summary.json").write_text("{}")
    (run / "diagnostics.jsonl").write_text("")


def test_prune_plan_rules(workspace):
    setup(workspace)
    records = records_of(workspace)
    plan = plan_prune(workspace.config, keep=1, records=records)
    kept = {u.key: u.kept_because for u in plan.kept}
    assert [u.key for u in plan.removed] == ["session32_ppo_20251215_001549"]
    assert kept["session15_ppo_final.zip"] == ["one of the 1 newest"]
    assert "holds the current model" in kept["session10_a2c_20251215_071301"]
    assert kept["session9_ppo_20251211_221054"] == ["named by journal revision 2"]  # its `from`
    # The flat final's diagnostics live in session32's run folder: keeping it keeps them.
    flat = next(r for r in records if r.path == "session15_ppo_final.zip")
    flat.artifacts = {"training_summary": "session32_ppo_20251215_001549/training_summary.json"}
    plan = plan_prune(workspace.config, keep=1, records=records)
    assert plan.removed == []
    kept = {u.key: u.kept_because for u in plan.kept}
    assert kept["session32_ppo_20251215_001549"] == [
        "holds diagnostics of kept session15_ppo_final.zip"
    ]


def test_prune_keep_zero_still_keeps_current_and_recent(workspace):
    setup(workspace)
    plan = plan_prune(workspace.config, keep=0, records=records_of(workspace))
    assert sorted(u.key for u in plan.removed) == ["session15_ppo_final.zip",
                                                    "session32_ppo_20251215_001549"]


def test_prune_execute_removes_and_logs(workspace):
    setup(workspace)
    pointer_before = workspace.pointer.read_bytes()
    plan = execute_prune(workspace.config, keep=1, records=records_of(workspace))
    assert plan.executed and not workspace.model("ppo21").parent.exists()
    for name in ("ppo5", "a2c21", "ppo21b"):
        assert workspace.model(name).exists()
    assert workspace.pointer.read_bytes() == pointer_before
    [entry] = [json.loads(line) for line in open(plan.log_file)]
    assert entry["removed"] == "session32_ppo_20251215_001549" and entry["size_bytes"] > 0
    assert PointerEngine(workspace.config).status().alarms == []


def test_prune_cli_is_a_dry_run_by_default(workspace, capsys):
    setup(workspace)
    before = sorted(workspace.models_dir.rglob("*.zip"))
    code = main(["--config", str(workspace.config_file), "prune", "--keep", "0", "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and plan["executed"] is False
    assert "session10_a2c_20251215_071301" in [u["path"] for u in plan["kept"]]
    assert sorted(workspace.models_dir.rglob("*.zip")) == before and len(before) == 4
