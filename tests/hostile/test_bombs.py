"""Zip bombs (a 6 GiB member in a 6 MB zip, with a true header and with headers that
understate it) are an UNSAFE badge in well under a second, in every command, with memory
bounded: nothing is inflated past the bound."""

from __future__ import annotations

import json
import time

import pytest

from hostile.measure import measured

# Generous: each command is measured in its own process (interpreter start and imports
# included); unbounded, a 6 GiB member took 65-92 s and smoke reached 1.1 GB. Measured:
# 0.15-0.55 s each under load 6 (benchmarks/hostile.py).
TIME_LIMIT_S = 15.0
RSS_LIMIT_MB = 150  # measured: 24-51 MB (benchmarks/hostile.py); torch is never imported


@pytest.mark.parametrize("name", ["bomb", "bomb_understated", "bomb_variables"])
def test_a_bomb_is_a_badge_fast_in_every_command(hostile_zoo, name):
    models = hostile_zoo["_models"]
    target = str(hostile_zoo[name])
    for args, expect in (
        (("show", target, "--json"), 0),
        (("promote", target, "--reason", "x", "--yes", "--force"), 3),
        (("smoke", target), None),
        (("validate", target, "--no-progress"), None),
    ):
        code, out, err, seconds, peak_mb = measured(models, *args)
        assert seconds < TIME_LIMIT_S and peak_mb < RSS_LIMIT_MB, (args, seconds, peak_mb)
        if expect is not None:
            assert code == expect, (args, err)
        else:
            assert code != 0 and "UNSAFE" in err, (args, err)
        if args[0] == "show":
            assert json.loads(out)["verdict"] == "unsafe"
    assert not (models / "CURRENT_MODEL.json").exists()


def test_listing_and_status_with_bombs_stay_fast(hostile_zoo, tmp_path):
    """The whole hostile folder listed cold, and a hand-written pointer naming a bomb."""
    models = hostile_zoo["_models"]
    code, out, _, seconds, peak_mb = measured(models, "list", "--json")
    assert code == 0 and seconds < TIME_LIMIT_S and peak_mb < RSS_LIMIT_MB, (seconds, peak_mb)
    assert {r["verdict"] for r in json.loads(out) if "bomb" in r["path"]} == {"unsafe"}
    pointer = tmp_path / "CURRENT_MODEL.json"
    pointer.write_text(
        json.dumps({"current_model": {"full_path": str(hostile_zoo["bomb_understated"])}})
    )
    code, out, err, seconds, peak_mb = measured(models, "--pointer", str(pointer), "status")
    assert seconds < TIME_LIMIT_S and peak_mb < RSS_LIMIT_MB, (seconds, peak_mb)
    assert code == 6 and "unsafe" in out, (out, err)


def test_the_reader_alone_judges_a_bomb_in_well_under_a_second(hostile_zoo):
    from kalshi_tui.core.sb3.model_zip import read_sb3_zip

    for name in ("bomb", "bomb_understated", "bomb_variables"):
        for whole in (True, False):
            started = time.perf_counter()
            info = read_sb3_zip(hostile_zoo[name], whole=whole)
            assert time.perf_counter() - started < 0.5
            assert info.trader_findings and not info.weight_shapes
