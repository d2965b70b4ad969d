"""The UNSAFE verdict: every model SB3 makes is safe, every crafted payload is UNSAFE, and no
command (list, show, status, smoke, validate, promote, report) ever runs a payload."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hostile.conftest import REPO, run_cli
from hostile.payloads import (
    TORCH_MEMBERS,
    SystemCall,
    plant_data_payload,
    system_pickle,
    with_stray_bang,
)
from kalshi_tui.core.config import load_config
from kalshi_tui.core.sb3.model_zip import read_sb3_zip
from kalshi_tui.core.sb3.pickle_facts import decode_as_sb3
from kalshi_tui.core.sb3.torch_safety import torch_allows, torch_pickle_problem
from kalshi_tui.core.sb3.trader_safety import data_pickle_problem

HOSTILE = ("action_space_bang", "policy_class", *TORCH_MEMBERS, "bomb", "bomb_understated",
           "bomb_variables")


def test_every_model_sb3_makes_is_safe(model_zoo):
    for name, path in model_zoo.items():
        info = read_sb3_zip(path)
        assert info.trader_findings == [], (name, info.trader_findings)


def test_sb3_own_schedule_closures_are_safe_and_any_other_code_is_not():
    """SB3 <= 2.5 cloudpickled its schedules by value: its own closures pass, nothing else."""
    import cloudpickle
    from stable_baselines3.common import utils

    with pytest.warns(UserWarning):
        constant, linear = utils.constant_fn(3e-4), utils.get_linear_fn(1.0, 0.05, 0.1)
    assert data_pickle_problem(cloudpickle.dumps(constant)) is None
    assert data_pickle_problem(cloudpickle.dumps(linear)) is None

    value = 1.0

    def func(_):  # given SB3's names below, but its code calls something
        return os.getpid() and value

    func.__code__ = func.__code__.replace(co_qualname="constant_fn.<locals>.func")
    func.__qualname__, func.__module__ = (
        "constant_fn.<locals>.func",
        "stable_baselines3.common.utils",
    )
    why, names = data_pickle_problem(cloudpickle.dumps(func))
    assert "code named constant_fn.<locals>.func whose co_" in why and "types.CodeType" in names
    why, names = data_pickle_problem(cloudpickle.dumps(lambda _: os.system("true")))
    assert "not one of SB3's schedules" in why and "types.CodeType" in names


def test_a_model_with_sb3_2_x_schedule_pickles_is_safe(model_zoo, tmp_path):
    """The original zips' learning_rate/lr_schedule/clip_range: cloudpickled constant_fn."""
    import cloudpickle
    from stable_baselines3.common import utils

    with pytest.warns(UserWarning):
        blob = base64.b64encode(cloudpickle.dumps(utils.constant_fn(3e-4))).decode()
    path = model_zoo["ppo21"]
    for field in ("learning_rate", "lr_schedule", "clip_range"):
        path = plant_data_payload(path, tmp_path / f"{field}.zip", field, blob)
    assert read_sb3_zip(path).trader_findings == []


def test_payloads_are_unsafe_in_list_and_show_and_never_run(hostile_zoo):
    models, canary = hostile_zoo["_models"], hostile_zoo["_canary"]
    done = run_cli(models, "list", "--json")
    assert done.returncode == 0, done.stderr
    verdicts = {Path(r["path"]).stem: r for r in json.loads(done.stdout)}
    assert verdicts["clean"]["verdict"] == "compatible"
    for name in HOSTILE:
        record = verdicts[hostile_zoo[name].stem]
        assert record["verdict"] == "unsafe", (name, record["reasons"])
        assert record["reasons"][0].startswith("UNSAFE ")
    assert "posix.system" in verdicts["action_space_bang"]["reasons"][0]
    assert "data/action_space" in verdicts["action_space_bang"]["reasons"][0]
    assert "data/policy_class" in verdicts["policy_class"]["reasons"][0]
    for member in TORCH_MEMBERS:
        reason = verdicts[hostile_zoo[member].stem]["reasons"][0]
        assert reason.startswith(f"UNSAFE {member}: ") and "posix.system" in reason
    assert "understates" in verdicts["bomb_understated"]["reasons"][0]
    shown = run_cli(models, "show", "action_space_bang")
    assert "[UNSAFE]" in shown.stdout and "verdict:       unsafe" in shown.stdout
    assert not canary.exists()


def test_each_payload_is_what_the_trader_would_run_or_refuse(hostile_zoo, tmp_path):
    """Confirmed against the real thing: torch.load(weights_only=True) refuses each torch
    member, and PPO.load (in a throwaway process, with its own canary) runs the data one."""
    import pickle

    import torch

    for member in TORCH_MEMBERS:
        with zipfile.ZipFile(hostile_zoo[member]) as z:
            inner = z.read(member)
        with pytest.raises(pickle.UnpicklingError):
            torch.load(__import__("io").BytesIO(inner), weights_only=True)
    canary = tmp_path / "ran"
    victim = plant_data_payload(hostile_zoo["clean"], tmp_path / "victim.zip", "action_space",
                                with_stray_bang(system_pickle(canary)))
    assert read_sb3_zip(victim).trader_findings[0][0] == "data/action_space"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from stable_baselines3 import PPO\ntry:\n PPO.load({str(victim)!r})\n"
            "except Exception:\n pass",
        ],
        timeout=120,
        capture_output=True,
    )
    assert canary.exists(), "PPO.load should have run the payload (that is what UNSAFE guards)"


def test_smoke_validate_promote_refuse_and_report_never_recommends(hostile_zoo):
    models, canary = hostile_zoo["_models"], hostile_zoo["_canary"]
    for name in ("action_space_bang", "policy_class", "policy.pth", "pytorch_variables.pth",
                 "policy.optimizer.pth", "bomb_understated"):
        target = str(hostile_zoo[name])
        smoke = run_cli(models, "smoke", target)
        assert smoke.returncode != 0 and "UNSAFE" in smoke.stderr, (
            name,
            smoke.stdout,
            smoke.stderr,
        )
        validate = run_cli(models, "validate", target, "--no-progress")
        assert validate.returncode != 0 and "UNSAFE" in validate.stderr, (name, validate.stderr)
        promote = run_cli(models, "promote", target, "--reason", "try", "--yes", "--force")
        assert promote.returncode == 3, (name, promote.stderr)
        assert promote.stderr.count("\n") == 1 and "not even with --force" in promote.stderr
        assert "UNSAFE" in promote.stderr
    assert not (models / "CURRENT_MODEL.json").exists()
    report = run_cli(models, "report", "--format", "json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    recommended = json.dumps(doc["recommendations"])
    for name in HOSTILE:
        assert hostile_zoo[name].name not in recommended
    assert {Path(m["path"]).stem for m in doc["unsafe_models"]} == {
        hostile_zoo[n].stem for n in HOSTILE
    }
    assert not canary.exists()


def test_trusted_globals_are_a_teams_own_classes(model_zoo, tmp_path):
    """A policy class of the team's own (pickled by reference) is UNSAFE until trusted."""
    models = tmp_path / "models"
    own = base64.b64encode(b"cteam_policies\nTradingPolicy\n.").decode()
    plant_data_payload(model_zoo["ppo21"], models / "own.zip", "policy_class", own)
    done = run_cli(models, "show", "own", "--json")
    assert json.loads(done.stdout)["verdict"] == "unsafe"
    assert "team_policies.TradingPolicy" in json.loads(done.stdout)["reasons"][0]
    config = tmp_path / "kalshi_tui.toml"
    config.write_text(f'[paths]\nmodels_dir = "{models}"\n\n[catalog]\n'
                      'trusted_globals = ["team_policies.TradingPolicy"]\n')
    done = run_cli(models, "show", "own", "--json")
    assert json.loads(done.stdout)["verdict"] == "compatible", done.stdout
    shown = run_cli(models, "config")
    line = next(x for x in shown.stdout.splitlines() if x.startswith("catalog.trusted_globals"))
    assert "team_policies.TradingPolicy" in line and "kalshi_tui.toml" in line
    assert load_config(config).environment.trusted_globals == ("team_policies.TradingPolicy",)
    # Trust covers a team's classes, never the system: os.system stays UNSAFE whatever the list
    # says.
    config.write_text(
        f'[paths]\nmodels_dir = "{models}"\n\n[catalog]\ntrusted_globals = ["posix.system"]\n'
    )
    plant_data_payload(model_zoo["ppo21"], models / "bad.zip", "policy_class",
                       base64.b64encode(system_pickle(tmp_path / "never")).decode())
    assert json.loads(run_cli(models, "show", "bad", "--json").stdout)["verdict"] == "unsafe"


def test_lenient_base64_is_decoded_as_sb3_decodes_it(tmp_path):
    raw = system_pickle(tmp_path / "never")
    assert (
        decode_as_sb3(with_stray_bang(raw))
        == raw
        == base64.b64decode(with_stray_bang(raw).encode())
    )
    assert data_pickle_problem(decode_as_sb3(with_stray_bang(raw)))[1] == ("posix.system",)


def test_calls_are_judged_not_only_imports():
    """getattr on an allowed global to reach something else, BUILD on a class, APPEND on an
    object: each a call the trader would make, each refused by what it calls."""
    reach = (b"\x80\x04cbuiltins\ngetattr\n(cstable_baselines3.common.utils\nConstantSchedule\n"
             b"\x8c\x08__init__tR.")
    assert "getattr" in data_pickle_problem(reach)[0]
    monkeypatch = (b"\x80\x04cstable_baselines3.common.utils\nConstantSchedule\n"
                   b"N}X\x08\x00\x00\x00__call__cnumpy\ndtype\ns\x86b.")
    assert (
        "sets the state of stable_baselines3.common.utils.ConstantSchedule"
        in data_pickle_problem(monkeypatch)[0]
    )
    assert torch_pickle_problem(b"\x80\x02ccollections\nOrderedDict\n)R.") is None
    assert "refused by torch.load(weights_only=True)" in torch_pickle_problem(
        b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R.")[0]


def test_torch_allowlist_mirrors_torch():
    from torch._weights_only_unpickler import _get_allowed_globals

    allowed = set(_get_allowed_globals())
    assert all(torch_allows(name) for name in allowed), sorted(
        n for n in allowed if not torch_allows(n)
    )
    for name in ("posix.system", "builtins.eval", "torch.load", "collections.deque", "numpy.dtype"):
        assert not torch_allows(name)


def test_pickles_are_never_unpickled_when_listing(hostile_zoo, tmp_path):
    """The listing process never imports torch or SB3 (nothing it could run them with)."""
    code = (
        "import sys, json\nfrom kalshi_tui.cli import main\n"
        f"main(['--models-dir', {str(hostile_zoo['_models'])!r}, 'list', '--json'])\n"
        "print(json.dumps(['torch' in sys.modules, 'stable_baselines3' in sys.modules]), "
        "file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [False, False]
    assert not hostile_zoo["_canary"].exists()


def test_a_copied_unsafe_model_keeps_its_verdict_from_the_cache(hostile_zoo, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(hostile_zoo["action_space_bang"], models / "copy.zip")
    first = json.loads(run_cli(models, "list", "--json").stdout)
    second = json.loads(run_cli(models, "list", "--json").stdout)
    assert first[0]["verdict"] == second[0]["verdict"] == "unsafe"


def test_unsafe_is_red_in_the_terminal(hostile_zoo, tmp_path):
    """list and show colour the UNSAFE badge red on a terminal (white on red, like UNREADABLE's
    bold red but a background: the one badge that must never be missed)."""
    from kalshi_tui.cli.catalog_commands import render_show, render_table
    from kalshi_tui.core.catalog.scan import inspect_model

    config_file = tmp_path / "kalshi_tui.toml"
    config_file.write_text(f'[paths]\nmodels_dir = "{hostile_zoo["_models"]}"\n')
    config = load_config(config_file)
    env = config.environment
    record = inspect_model(hostile_zoo["action_space_bang"], config)
    assert record.verdict == "unsafe"
    red = "\033[1;37;41m"
    assert f"{red}UNSAFE" in render_table([record], env, colour=True)
    assert f"[{red}UNSAFE\033[0m]" in render_show(record, env, colour=True)
    assert red not in render_table([record], env, colour=False)


def test_a_model_unsafe_now_is_never_a_rollback_target(model_zoo, tmp_path):
    """Trusted when promoted, untrusted since: rollback to it is refused, --force or not."""
    models = tmp_path / "models"
    own = base64.b64encode(b"cteam_policies\nTradingPolicy\n.").decode()
    plant_data_payload(model_zoo["ppo21"], models / "own.zip", "policy_class", own)
    shutil.copy(model_zoo["a2c21"], models / "other.zip")
    config = tmp_path / "kalshi_tui.toml"
    config.write_text(f'[paths]\nmodels_dir = "{models}"\n\n[catalog]\n'
                      'trusted_globals = ["team_policies.TradingPolicy"]\n')
    assert run_cli(models, "promote", "own", "--reason", "ours", "--yes").returncode == 0
    assert run_cli(models, "promote", "other", "--reason", "next", "--yes").returncode == 0
    config.write_text(f'[paths]\nmodels_dir = "{models}"\n')
    before = (models / "CURRENT_MODEL.json").read_bytes()
    done = run_cli(models, "rollback", "--to", "1", "--reason", "back", "--yes", "--force")
    assert (
        done.returncode == 3
        and "unsafe now" in done.stderr
        and "not even with --force" in done.stderr
    )
    assert (models / "CURRENT_MODEL.json").read_bytes() == before
    status = run_cli(models, "status")
    assert status.returncode == 0, status.stdout


def test_a_trusted_class_never_hides_what_is_called_after_it(tmp_path):
    """The walk goes on past a team's class: os.system after it is still named, and a
    finding holding it is never trusted away."""
    from kalshi_tui.core.evidence.compat import trader_refusals

    both = pickle.dumps((_TeamClass(), SystemCall(f"touch {tmp_path / 'never'}")), protocol=2)
    why, names = data_pickle_problem(both)
    assert "posix.system" in names and f"{__name__}._TeamClass" in names
    findings = [["data/policy_class", why, list(names)]]
    assert trader_refusals(findings, (f"{__name__}._TeamClass",))
    only_team = pickle.dumps(_TeamClass(), protocol=2)
    why, names = data_pickle_problem(only_team)
    assert (
        trader_refusals([["data/policy_class", why, list(names)]], (f"{__name__}._TeamClass",))
        == []
    )


class _TeamClass:
    """Stands for a team's own policy class, pickled by reference."""


def test_changing_the_member_bound_rereads_cached_models(model_zoo, tmp_path):
    """Size findings are made while reading, so a new catalog.max_member_bytes must not be
    answered from a cache read under the old one."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(model_zoo["ppo21"], models / "m.zip")
    config = tmp_path / "kalshi_tui.toml"
    config.write_text(f'[paths]\nmodels_dir = "{models}"\n\n[catalog]\nmax_member_bytes = 4096\n')
    tight = json.loads(run_cli(models, "list", "--json").stdout)[0]
    assert tight["verdict"] == "unsafe" and "catalog.max_member_bytes" in tight["reasons"][0]
    config.write_text(f'[paths]\nmodels_dir = "{models}"\n')
    assert json.loads(run_cli(models, "list", "--json").stdout)[0]["verdict"] == "compatible"
