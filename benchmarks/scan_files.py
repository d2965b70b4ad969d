"""The model files `benchmarks/scan.py` times: one real SB3 PPO zip copied N times, each copy
differing where real checkpoints differ (num_timesteps, start_time, _last_obs, its own
100-episode ep_info_buffer, the weights), laid out as the original system laid them out.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path


def make_template(folder: Path) -> Path:
    """A real PPO zip the size of the original system's (SB3's default 64x64 network: about
    230 KB, as the seed analysis's 230,860-byte models; `data` about 13 KB)."""
    from model_factory import make_sb3_zip

    return make_sb3_zip(folder / "template.zip", algo="ppo", n_actions=21, net_arch=[64, 64])


def _patch_stored(blob: bytes, member: str, new: bytes) -> bytes:
    """`blob` (a zip) with stored member `member` replaced by `new` of the same length, CRCs fixed.

    Patched in place so the torch zip keeps its aligned layout byte for byte.
    """
    out = bytearray(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        info = zf.getinfo(member)
    assert info.compress_type == zipfile.ZIP_STORED and len(new) == info.file_size
    offset = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", out, offset + 26)
    start = offset + 30 + name_len + extra_len
    out[start : start + len(new)] = new
    crc = zlib.crc32(new)
    struct.pack_into("<I", out, offset + 14, crc)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        (n,) = struct.unpack_from("<H", out, central + 28)
        if out[central + 46 : central + 46 + n] == member.encode():
            struct.pack_into("<I", out, central + 16, crc)
            break
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _varied(raw: bytes, seed: int) -> bytes:
    """The same float32 values nudged by a per-model amount: same shape, different bytes."""
    import numpy as np

    values = np.frombuffer(raw, dtype=np.float32).copy()
    values += np.float32(seed * 1e-6 + 1e-7)
    return values.tobytes()


def _write_artifacts(run: Path, index: int) -> None:
    """Training artifacts as the original system left them: summary, results, diagnostics."""
    from artifact_files import episode_counts, original_results, original_summary, write_run

    episodes = episode_counts(21, 20 + index % 30)
    # Older runs wrote diagnostics beside the model, newer ones into diagnostics/.
    write_run(
        run.parent,
        run.name,
        episodes,
        summary=original_summary(episodes),
        results=original_results(),
        legacy=index % 2 == 1,
        model_bytes=b"replaced by the model below",
    )
    (run / "model.zip").unlink(missing_ok=True)
    (run / "trained_model.zip").unlink(missing_ok=True)


def episode_buffer(episodes: int, seed: int) -> str:
    """SB3's `ep_info_buffer` as it saves it after `episodes` episodes (a deque of the last
    100 {r, l, t}), base64 cloudpickle: what differs between real checkpoints besides _last_obs."""
    import base64
    import collections
    import random

    import cloudpickle

    rng = random.Random(seed)
    buffer = collections.deque(maxlen=100)
    for _ in range(episodes):
        buffer.append(
            {
                "r": round(rng.uniform(-50, 50), 6),
                "l": rng.randint(10, 3000),
                "t": round(rng.uniform(0, 9000), 6),
            }
        )
    return base64.b64encode(cloudpickle.dumps(buffer)).decode()


def make_models(
    template: Path, root: Path, count: int, per_run: int = 10, episodes: int = 0
) -> list[Path]:
    """`count` distinct model zips laid out as the original system did.

    Run folders hold model.zip (trained_model.zip in older, artifact-beside runs) and
    checkpoints/; every third run has its training artifacts (summary, results,
    diagnostics.jsonl, in diagnostics/ or beside the model); a few flat finals sit at the
    top. Every file differs in its bytes where real models differ: num_timesteps and
    start_time in `data`, the pickled `_last_obs`, and the weights inside policy.pth.
    """
    import base64
    import pickletools

    with zipfile.ZipFile(template) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    raw_by_name = {info.filename: raw for info, raw in members}
    data = json.loads(raw_by_name["data"])
    obs_pickle = base64.b64decode(data["_last_obs"][":serialized:"])
    obs_op = next(
        (pos, arg)
        for op, arg, pos in pickletools.genops(obs_pickle)
        if isinstance(arg, (bytes, bytearray)) and len(arg) >= 16
    )
    obs_start = obs_pickle.index(bytes(obs_op[1]), obs_op[0])
    policy = raw_by_name["policy.pth"]
    with zipfile.ZipFile(io.BytesIO(policy)) as inner:
        weight_member = next(n for n in inner.namelist() if n.endswith("/data/0"))
        weight_raw = inner.read(weight_member)
    paths: list[Path] = []
    index = 0
    while len(paths) < count:
        run = root / f"session{index % 40 + 1}_ppo_20251215_{index:06d}"
        if index % 3 == 0:
            _write_artifacts(run, index)
        for k in range(per_run):
            if len(paths) >= count:
                break
            n = len(paths)
            if k == 0:
                path = run / (
                    "trained_model.zip" if index % 3 == 0 and index % 2 == 1 else "model.zip"
                )
            elif k == per_run - 1 and index % 10 == 0:
                path = root / f"session{index % 40 + 1}_final_{index:06d}.zip"
            else:
                path = run / "checkpoints" / f"ppo_{k * 10000}_steps.zip"
            data["num_timesteps"] = 10_000 * k + index
            data["start_time"] = 1765756549000000000 + n * 1_000_000_000
            obs = (
                obs_pickle[:obs_start]
                + _varied(obs_pickle[obs_start : obs_start + len(obs_op[1])], n)
                + obs_pickle[obs_start + len(obs_op[1]) :]
            )
            data["_last_obs"][":serialized:"] = base64.b64encode(obs).decode()
            if episodes:
                data["ep_info_buffer"][":serialized:"] = episode_buffer(episodes, n)
            weights = _patch_stored(policy, weight_member, _varied(weight_raw, n))
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w") as out:
                for info, raw in members:
                    if info.filename == "data":
                        raw = json.dumps(data, indent=4).encode()  # as SB3 writes it
                    elif info.filename == "policy.pth":
                        raw = weights
                    out.writestr(info, raw)
            paths.append(path)
        index += 1
    return paths


def make_files(work: Path, models: int, list_models: int, episodes: int, template: str) -> None:
    """The template (trained here unless given) and both folders of model files."""
    made = Path(template) if template else make_template(work)
    make_models(made, work / "models", models, episodes=episodes)
    make_models(made, work / "list_models", list_models, episodes=episodes)
