"""Reading SB3 zips without running them: facts match what SB3 itself saved and loads."""

from __future__ import annotations

import json
import pickle
import zipfile

import pytest
from model_factory import (
    edit_data,
    malicious_pickle_b64,
    plant_malicious_field,
    rewrite_member,
    to_old_sb3_encoding,
)

from kalshi_tui.core.sb3.model_zip import (
    UnreadableModel,
    infer_algorithm,
    read_sb3_zip,
)

EXPECTED = {  # name -> (algorithm, space, n_actions, obs_shape)
    "ppo21": ("PPO", "Discrete", 21, [52]),
    "ppo5": ("PPO", "Discrete", 5, [52]),
    "a2c21": ("A2C", "Discrete", 21, [52]),
    "dqn21": ("DQN", "Discrete", 21, [52]),
    "dqn5": ("DQN", "Discrete", 5, [52]),
    "ppo21_obs54": ("PPO", "Discrete", 21, [54]),
    "ppo_multidiscrete": ("PPO", "MultiDiscrete", 24, [52]),  # nvec [3, 21]
    "ppo_box": ("PPO", "Box", 2, [52]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zoo_facts_match_what_was_trained(model_zoo, name):
    algorithm, space, n, obs = EXPECTED[name]
    info = read_sb3_zip(model_zoo[name])
    assert (info.algorithm, info.action_space_type, info.n_actions, info.obs_shape) == (
        algorithm,
        space,
        n,
        obs,
    )
    assert info.obs_dtype == "float32"
    assert info.num_timesteps == 64
    assert info.start_time_utc and info.start_time_utc.endswith("Z")
    assert info.versions["sb3"] and info.versions["torch"] and info.versions["python"]
    assert info.weights_n_actions == n and info.weights_obs_dim == obs[0]
    assert info.policy_class and info.policy_class.startswith("stable_baselines3.")
    assert info.policy_class in info.pickle_globals
    assert info.hyperparameters["gamma"] == 0.99 and "learning_rate" in info.hyperparameters


def test_reading_never_imports_torch_or_sb3(model_zoo):
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; "
        "from kalshi_tui.core.sb3.model_zip import read_sb3_zip; "
        f"i = read_sb3_zip(Path({str(model_zoo['ppo21'])!r})); assert i.weight_shapes; "
        "print(sorted(m for m in ('torch', 'stable_baselines3', 'numpy', 'gymnasium') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["ppo21", "a2c21", "dqn5", "ppo_multidiscrete", "ppo_box"])
def test_weight_shapes_equal_torch_weights_only_load(model_zoo, name):
    torch = pytest.importorskip("torch")
    shapes = read_sb3_zip(model_zoo[name]).weight_shapes
    with zipfile.ZipFile(model_zoo[name]) as zf:
        with zf.open("policy.pth") as handle:
            import io

            state = torch.load(io.BytesIO(handle.read()), weights_only=True)
    assert shapes == {k: tuple(v.shape) for k, v in state.items()}


def test_policy_class_comes_from_the_pickle_not_from_running_it(model_zoo):
    assert (
        read_sb3_zip(model_zoo["dqn21"]).policy_class == "stable_baselines3.dqn.policies.DQNPolicy"
    )
    assert (
        read_sb3_zip(model_zoo["a2c21"]).policy_class
        == "stable_baselines3.common.policies.ActorCriticPolicy"
    )


def test_old_sb3_encoding_reads_the_same(model_zoo, tmp_path):
    for name in ("ppo21", "dqn5", "ppo21_obs54"):
        old = to_old_sb3_encoding(model_zoo[name], tmp_path / f"{name}_old.zip")
        with zipfile.ZipFile(old) as zf:
            data = json.loads(zf.read("data"))
            assert (
                isinstance(data["action_space"]["n"], int) and "shape" in data["observation_space"]
            )
            assert "_stable_baselines3_version" not in zf.namelist()
        new, info = read_sb3_zip(model_zoo[name]), read_sb3_zip(old)
        assert (info.n_actions, info.obs_shape, info.action_space_type, info.algorithm) == (
            new.n_actions,
            new.obs_shape,
            new.action_space_type,
            new.algorithm,
        )


def test_version_from_system_info_when_version_member_missing(model_zoo, tmp_path):
    no_version = rewrite_member(
        model_zoo["ppo21"], tmp_path / "nv.zip", "_stable_baselines3_version", None
    )
    assert read_sb3_zip(no_version).versions["sb3"] == read_sb3_zip(model_zoo["ppo21"]).sb3_version


def test_malicious_field_is_listed_and_never_run(model_zoo, tmp_path):
    canary = tmp_path / "pwned"
    bad = plant_malicious_field(
        model_zoo["ppo21"], tmp_path / "bad.zip", canary, field="lr_schedule"
    )
    info = read_sb3_zip(bad)
    assert "builtins.eval" in info.globals_by_field["lr_schedule"]
    assert info.n_actions == 21
    assert not canary.exists()


def test_weights_pickle_with_foreign_global_is_refused_not_run(model_zoo, tmp_path):
    """A policy.pth whose data.pkl names os.system: shapes refused, nothing called."""
    canary = tmp_path / "pwned-by-weights"
    import io

    class Payload:
        def __reduce__(self):
            return (eval, (f"open({str(canary)!r}, 'w')",))

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"action_net.weight": Payload()}, protocol=2))
    bad = rewrite_member(model_zoo["ppo21"], tmp_path / "badw.zip", "policy.pth", inner.getvalue())
    info = read_sb3_zip(bad)
    assert info.weight_shapes == {} and "eval is not a weights global" in info.weights_error
    assert not canary.exists()


@pytest.mark.parametrize(
    "content,reason",
    [
        (None, "no SB3 data member"),
        (b"\xff\xfe not json", "data is not JSON"),
        (b"[1, 2, 3]", "data is not a JSON object"),
        (b'"text"', "data is not a JSON object"),
    ],
)
def test_bad_data_member_reasons(model_zoo, tmp_path, content, reason):
    bad = rewrite_member(model_zoo["ppo21"], tmp_path / "bad.zip", "data", content)
    with pytest.raises(UnreadableModel) as err:
        read_sb3_zip(bad)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "content",
    [
        b'{"x": 18446744073709551616, "y": [-99999999999999999999999], "z": 1e19}',
        b'{"x": NaN, "y": Infinity, "z": 1e400}',
        b'\xef\xbb\xbf{"x": 1, "x": 2}',
        b'{"x": "\\ud800"}',
        b'{"x": ' + b"[" * 995 + b"]" * 995 + b"}",
        b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"x": "\xff"}',
        b"null",
    ],
)
def test_data_parses_as_json_would(model_zoo, tmp_path, content):
    """orjson reads `data` for speed, but what reads (and what is refused) is json's call."""
    bad = rewrite_member(model_zoo["ppo21"], tmp_path / "odd.zip", "data", content)
    try:
        expected = json.loads(content)
    except (ValueError, RecursionError):
        expected = "data is not JSON"
    if not isinstance(expected, (dict, str)):
        expected = "data is not a JSON object"
    try:
        got = read_sb3_zip(bad).data
    except UnreadableModel as exc:
        got = exc.reason
    assert repr(got) == repr(expected)


def test_file_level_reasons(model_zoo, tmp_path):
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.zip"
    noise.write_bytes(bytes(range(256)) * 40)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(model_zoo["ppo21"].read_bytes()[:20_000])
    folder = tmp_path / "folder.zip"
    folder.mkdir()
    for path, reason in (
        (empty, "empty file"),
        (noise, "not a zip file"),
        (truncated, "truncated zip"),
        (folder, "is a directory"),
        (tmp_path / "missing.zip", "file not found"),
    ):
        with pytest.raises(UnreadableModel) as err:
            read_sb3_zip(path)
        assert err.value.reason == reason, path


def test_data_member_cap_is_configurable(model_zoo):
    with pytest.raises(UnreadableModel) as err:
        read_sb3_zip(model_zoo["ppo21"], max_data_bytes=4096)
    assert err.value.reason == "data member over 4 KB, refused"


def test_too_many_members_refused(model_zoo, tmp_path):
    crowded = tmp_path / "crowded.zip"
    with zipfile.ZipFile(model_zoo["ppo21"]) as src, zipfile.ZipFile(crowded, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        for i in range(70):
            dst.writestr(f"extra/{i}", b"x")
    with pytest.raises(UnreadableModel, match="members .limit 64., refused"):
        read_sb3_zip(crowded)


def test_algorithm_inference_from_fields():
    assert infer_algorithm({"clip_range": 0.2, "n_steps": 2048}, None) == "PPO"
    assert infer_algorithm({"n_steps": 5, "gae_lambda": 1.0}, None) == "A2C"
    assert infer_algorithm({"target_update_interval": 10000}, None) == "DQN"
    assert infer_algorithm({"target_entropy": "auto"}, None) == "SAC"
    assert infer_algorithm({"policy_delay": 2}, None) == "TD3"
    assert infer_algorithm({}, "sb3_contrib.qrdqn.policies.QRDQNPolicy") == "QRDQN"
    assert infer_algorithm({}, None) is None


def test_n_as_string_or_int_and_start_time_in_utc(model_zoo, tmp_path):
    def edit(data):
        data["action_space"]["n"] = 21
        data["start_time"] = 1765756549000000000  # 2025-12-14T23:55:49Z

    info = read_sb3_zip(edit_data(model_zoo["ppo21"], tmp_path / "e.zip", edit))
    assert info.n_actions == 21 and info.start_time_utc == "2025-12-14T23:55:49Z"


def test_zip_with_a_comment_reads_the_same(model_zoo, tmp_path):
    commented = tmp_path / "commented.zip"
    with zipfile.ZipFile(model_zoo["ppo21"]) as src, zipfile.ZipFile(commented, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.comment = b"saved by hand"
    for whole in (True, False):
        info = read_sb3_zip(commented, whole=whole)
        assert (info.n_actions, info.weights_n_actions, info.trader_findings) == (21, 21, [])


def test_deflated_members_read_the_same(model_zoo, tmp_path):
    """SB3 stores members, but a zip re-packed by a tool may deflate them."""
    packed = tmp_path / "deflated.zip"
    with (
        zipfile.ZipFile(model_zoo["dqn5"]) as src,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    info, original = read_sb3_zip(packed), read_sb3_zip(model_zoo["dqn5"])
    assert (info.n_actions, info.obs_shape, info.algorithm, info.weight_shapes, info.versions) == (
        original.n_actions,
        original.obs_shape,
        original.algorithm,
        original.weight_shapes,
        original.versions,
    )


def test_remembered_weight_shapes_are_per_pickle_and_not_shared(model_zoo):
    """Shapes are remembered by data.pkl's exact bytes: another architecture gets its own."""
    first = read_sb3_zip(model_zoo["ppo21"])
    first.weight_shapes["action_net.weight"] = (999, 1)  # a caller editing its copy
    other = read_sb3_zip(model_zoo["ppo5"])
    again = read_sb3_zip(model_zoo["ppo21"])
    assert again.weight_shapes["action_net.weight"][0] == 21 and again.weights_n_actions == 21
    assert other.weight_shapes["action_net.weight"][0] == 5 and other.weights_n_actions == 5


def test_remembered_facts_never_cross_between_nan_and_null(model_zoo, tmp_path):
    """A run's shared facts are remembered by their JSON text; NaN (read by json) and null
    (read by orjson) must not share one, whichever file is read first."""
    import math

    def with_gamma(value):
        return lambda data: data.__setitem__("gamma", value)

    for order in ((None, float("nan")), (float("nan"), None)):
        paths = [
            edit_data(model_zoo["ppo21"], tmp_path / f"g{i}-{order[0]}.zip", with_gamma(v))
            for i, v in enumerate(order)
        ]
        gammas = [read_sb3_zip(p).hyperparameters["gamma"] for p in paths]
        for value, got in zip(order, gammas, strict=True):
            assert (got is None) if value is None else math.isnan(got)


def test_payload_with_stray_characters_is_listed_as_sb3_would_decode_and_run_it(
    model_zoo, tmp_path
):
    """SB3 decodes `:serialized:` leniently (characters outside base64 are skipped), so a
    crafted blob with a stray "!" still runs under PPO.load: its globals must still be listed."""
    import subprocess
    import sys

    canary = tmp_path / "CANARY_created_by_payload"
    clean = malicious_pickle_b64(canary)
    laced = clean[:7] + "!\n" + clean[7:20] + "*" + clean[20:]
    target = tmp_path / "laced.zip"
    edit_data(
        model_zoo["ppo21"],
        target,
        lambda data: data.update(
            policy_class={":type:": "<class 'abc.ABCMeta'>", ":serialized:": laced}
        ),
    )
    info = read_sb3_zip(target)
    assert "builtins.eval" in info.globals_by_field["policy_class"]
    assert not canary.exists()
    # The threat is real: SB3's own loader decodes this blob and runs it.
    sb3_decodes = (
        "import sys, zipfile; from stable_baselines3.common.save_util import json_to_data; "
        "json_to_data(zipfile.ZipFile(sys.argv[1]).read('data').decode())"
    )
    subprocess.run(
        [sys.executable, "-c", sb3_decodes, str(target)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert canary.exists(), "SB3 did not run the laced payload: the test no longer shows the threat"


def _facts(info):
    from dataclasses import asdict

    facts = asdict(info)
    facts.pop("sha256")
    return facts


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_by_position_gives_what_read_whole_gives(model_zoo, name, monkeypatch):
    """A listing reads only the directories and the members the facts come from; the facts
    must be those of the file read whole, also when a directory outgrows the first read."""
    from kalshi_tui.core.sb3 import zip_reader

    whole = read_sb3_zip(model_zoo[name], whole=True)
    by_position = read_sb3_zip(model_zoo[name], whole=False)
    assert by_position.sha256 is None and whole.sha256 is not None
    assert _facts(by_position) == _facts(whole)
    monkeypatch.setattr(zip_reader, "_TAIL_BYTES", 40)  # every directory: a second read
    small_reads = read_sb3_zip(model_zoo[name], whole=False)
    assert _facts(small_reads) == _facts(whole)


def test_read_by_position_of_a_real_size_model_reads_a_seventh_of_it(tmp_path, monkeypatch):
    """A model of the original system's size (SB3's 64x64 network, ~230 KB): same facts,
    and the bytes read are the directories, data, the info members and the torch members'
    pickles (30 KB of 227 KB), never the tensors."""
    import os

    from model_factory import make_sb3_zip

    path = make_sb3_zip(tmp_path / "real_size.zip", net_arch=[64, 64])
    read_bytes = []
    real_pread = os.pread
    monkeypatch.setattr(
        os, "pread", lambda fd, n, at: read_bytes.append(n) or real_pread(fd, n, at)
    )
    by_position = read_sb3_zip(path, whole=False)
    monkeypatch.setattr(os, "pread", real_pread)
    whole = read_sb3_zip(path, whole=True)
    assert _facts(by_position) == _facts(whole)
    assert (whole.n_actions, whole.weights_n_actions, whole.weights_obs_dim) == (21, 21, 52)
    size = path.stat().st_size
    assert size > 200_000 and sum(read_bytes) < size / 7, (size, read_bytes)


def test_every_truncation_point_reads_alike_by_position(model_zoo, tmp_path):
    raw = model_zoo["ppo21"].read_bytes()
    cut = tmp_path / "cut.zip"
    for length in list(range(1, len(raw), 1499)) + [len(raw) - 1, len(raw) - 21]:
        cut.write_bytes(raw[:length])
        with pytest.raises(UnreadableModel) as err:
            read_sb3_zip(cut, whole=False)
        assert err.value.reason in ("truncated zip", "not a zip file"), (length, err.value.reason)


def test_read_by_position_never_reads_a_huge_odd_policy_whole(model_zoo, tmp_path, monkeypatch):
    """A policy.pth that is not a torch zip, past the whole-read limit: read in place by
    zipfile's path (memory bounded), with the reason the whole-file path gives."""
    import os
    import random

    from kalshi_tui.core.sb3 import model_zip as sb3_zip

    odd = rewrite_member(
        model_zoo["ppo21"],
        tmp_path / "odd_policy.zip",
        "policy.pth",
        random.Random(5).randbytes(300_000),
    )
    expected = read_sb3_zip(odd).weights_error
    assert expected and "not a torch zip" in expected
    monkeypatch.setattr(sb3_zip, "_WHOLE_FILE_LIMIT", 100_000)
    reads = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: reads.append(n) or real_pread(fd, n, at))
    info = read_sb3_zip(odd, whole=False)
    assert info.weights_error == expected and info.n_actions == 21
    assert max(reads) < 100_000, reads
