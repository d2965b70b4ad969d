"""`kalshi-tui report` and `kalshi-tui compare` end to end on a real models folder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from report_registry import FINAL32, RUN10, RUN32, build_registry

from kalshi_tui.cli import main


@pytest.fixture(scope="module")
def config_file(model_zoo, tmp_path_factory):
    return build_registry(tmp_path_factory.mktemp("report_cli"), model_zoo)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


RUN32_MODEL = f"{RUN32}/model.zip"


def test_report_markdown_to_stdout(config_file, capsys):
    code, out, err = run(capsys, "--config", str(config_file), "report", "--stored-only")
    assert code == 0 and err == ""  # --stored-only: no health check, so no progress line
    assert out.startswith("# Model report: 21-action environment\n")
    for heading in ("## Current model", "## Recommendation: ", "## Checklist", "# Appendix"):
        assert heading in out
    assert (
        f"## Recommendation: `{RUN32_MODEL}` (one model with its identical copy `{FINAL32}`)" in out
    )
    assert "| Policy health | not checked: how it acts in the trader's mode is unknown | - |" in out


def test_report_json_to_a_file(config_file, tmp_path, capsys):
    target = tmp_path / "analysis.json"
    code, out, err = run(
        capsys,
        "--config",
        str(config_file),
        "report",
        "--format",
        "json",
        "--out",
        str(target),
        "--stored-only",
    )
    assert code == 0 and err == ""
    assert (
        out
        == f"report written to {target} (4 compatible of 7 models; recommended: {RUN32_MODEL})\n"
    )
    report = json.loads(target.read_text())
    assert report["recommendations"]["primary"]["path"] == RUN32_MODEL
    assert report["current_model"]["state"] == "OUTDATED"
    assert not list(tmp_path.glob(".analysis.json.tmp*"))


def test_bad_output_path_is_one_line_naming_it(config_file, tmp_path, capsys):
    target = tmp_path / "no_such_folder" / "r.md"
    code, out, err = run(
        capsys, "--config", str(config_file), "report", "--out", str(target), "--stored-only"
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"kalshi-tui: {target}: cannot write the report")


def test_unknown_weight_is_refused_naming_key_and_file(model_zoo, tmp_path, capsys):
    config_file = build_registry(tmp_path, model_zoo)
    with config_file.open("a", encoding="utf-8") as out:
        out.write("\n[ranking]\nweights = { recent = 2.0 }\n")
    code, out, err = run(capsys, "--config", str(config_file), "report")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert f"{config_file}: [ranking] weights: unknown ranking weight 'recent'" in err


def test_missing_models_folder_is_one_line(tmp_path, capsys):
    config_file = tmp_path / "kalshi_tui.toml"
    config_file.write_text(f'[paths]\nmodels_dir = "{tmp_path / "gone"}"\n')
    code, out, err = run(capsys, "--config", str(config_file), "report")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert str(tmp_path / "gone") in err


def test_compare_text_and_json(config_file, capsys):
    code, out, err = run(capsys, "--config", str(config_file), "compare", "session32_final", RUN10)
    assert code == 0 and err == ""
    assert out.startswith(f"A: {FINAL32}\nB: {RUN10}/model.zip\n")
    assert "TRAINING ACTION HISTOGRAM" in out and "SELL_NO x100" in out
    code, out, err = run(capsys, "--config", str(config_file), "compare", FINAL32, RUN10, "--json")
    assert code == 0
    data = json.loads(out)
    markets = next(
        r for r in data["rows"] if r["section"] == "training" and r["label"] == "unique markets"
    )
    assert (markets["a_value"], markets["b_value"], markets["better"]) == (120, 558, "b")


def test_compare_unknown_or_ambiguous_model_is_one_line(config_file, capsys):
    code, out, err = run(capsys, "--config", str(config_file), "compare", "no_such_model", FINAL32)
    assert code == 1 and err.count("\n") == 1 and "no_such_model: no model matches" in err
    code, out, err = run(capsys, "--config", str(config_file), "compare", "session", FINAL32)
    assert code == 1 and err.count("\n") == 1 and "matches" in err and "models" in err


def test_report_and_compare_never_import_torch(config_file):
    script = textwrap.dedent(f"""
        import contextlib, io, sys
        from kalshi_tui.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["--config", {str(config_file)!r}, "report", "--format", "json",
                         "--stored-only"]) == 0
            assert main(["--config", {str(config_file)!r}, "compare", {FINAL32!r}, {RUN10!r}]) == 0
        heavy = [m for m in ("torch", "stable_baselines3") if m in sys.modules]
        print(",".join(heavy) or "none")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


@pytest.mark.parametrize("value, shown", [('"high"', "str 'high'"), ("true", "bool True")])
def test_a_weight_that_is_not_a_number_is_one_line(model_zoo, tmp_path, capsys, value, shown):
    config_file = build_registry(tmp_path, model_zoo)
    with config_file.open("a", encoding="utf-8") as out:
        out.write(f"\n[ranking]\nweights = {{ diversity = {value} }}\n")
    code, out, err = run(capsys, "--config", str(config_file), "report")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert (
        err
        == f"kalshi-tui: {config_file}: 'ranking.weights.diversity' must be a number, not {shown}\n"
    )


def test_report_smoke_ticks_loads_and_infers_for_the_recommended_model(
    config_file, tmp_path, capsys
):
    target = tmp_path / "smoked.json"
    code, out, err = run(
        capsys,
        "--config",
        str(config_file),
        "report",
        "--smoke",
        "--format",
        "json",
        "--out",
        str(target),
        "--stored-only",
    )
    assert code == 0, err
    report = json.loads(target.read_text())
    test = next(c for c in report["checklist"] if c["item"] == "Test model loading and inference")
    assert test["done"] is True and test["result"].startswith("smoke test passed: ")
