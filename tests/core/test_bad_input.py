"""Bad input, all in one models folder: `list` finishes, every bad file gets its reason,
no pickle payload runs, and memory stays bounded even against a zip bomb."""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from model_factory import copy_model, edit_data, plant_malicious_field, rewrite_member

from kalshi_tui.core.sb3.model_zip import UnreadableModel, read_sb3_zip

BOMB_BYTES = 2 * 1024 ** 3  # what the bomb's `data` inflates to


def deflate_bomb(path: Path, inflated: int, declared: int) -> Path:
    """A zip whose `data` member inflates to `inflated` bytes while its headers say `declared`.

    Built from one full-flushed deflate block of zeros repeated (each block stands alone
    after a full flush), so the file is ~2 MB and takes no time to make.
    """
    chunk = 1 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    stream = block * (inflated // chunk) + b"\x03\x00"  # an empty final block ends it
    name = b"data"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(stream),
                        declared, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0,
                          len(stream), declared, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                      len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)
    return path


@pytest.fixture
def bad_folder(tmp_path, model_zoo):
    """Every kind of bad input the issue lists, plus good models that must survive beside them."""
    models = tmp_path / "models"
    models.mkdir()
    good = copy_model(model_zoo["ppo21"], models / "good run" / "model.zip")
    rng = random.Random(7)
    (models / "random.zip").write_bytes(bytes(rng.getrandbits(8) for _ in range(40_000)))
    (models / "empty.zip").write_bytes(b"")
    (models / "truncated.zip").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    rewrite_member(good, models / "no_data.zip", "data", None)
    rewrite_member(good, models / "not_json.zip", "data", b"\x80\x04 this is not json")
    rewrite_member(good, models / "not_object.zip", "data", b"[\"a\", \"list\"]")
    deflate_bomb(models / "bomb_declared.zip", BOMB_BYTES, declared=BOMB_BYTES)
    deflate_bomb(models / "bomb_lying.zip", BOMB_BYTES, declared=1000)
    canary = tmp_path / "CANARY_created_by_payload"
    plant_malicious_field(good, models / "malicious.zip", canary)

    def claim_21(data):
        data["action_space"]["n"] = "21"

    edit_data(model_zoo["ppo5"], models / "lying_weights.zip", claim_21)
    (models / "loop").symlink_to(models)  # a symlink loop back to the top
    (models / "self.zip").symlink_to(models / "self.zip")  # a link to itself
    (models / "dangling.zip").symlink_to(models / "gone.zip")
    (models / "folder.zip").mkdir()
    os.mkfifo(models / "fifo.zip")  # reading would block forever: a real unreadable file
    copy_model(model_zoo["ppo21"], models / "odd\nname with\ttabs ü.zip")
    if os.geteuid() != 0:
        locked = copy_model(model_zoo["ppo21"], models / "locked.zip")
        locked.chmod(0)
    return models, canary


EXPECTED = {
    "random.zip": ("unreadable", ["not a zip file"]),
    "empty.zip": ("unreadable", ["empty file"]),
    "truncated.zip": ("unreadable", ["truncated zip"]),
    "no_data.zip": ("unreadable", ["no SB3 data member"]),
    "not_json.zip": ("unreadable", ["data is not JSON"]),
    "not_object.zip": ("unreadable", ["data is not a JSON object"]),
    "bomb_declared.zip": ("unreadable", ["data member over 10 MB, refused"]),
    "bomb_lying.zip": ("unreadable", ["data member header understates its size, refused"]),
    "lying_weights.zip": ("incompatible", ["weights have 5 action outputs but metadata says 21"]),
    "folder.zip": ("unreadable", ["is a directory"]),
    "fifo.zip": ("unreadable", ["not a regular file"]),
    "dangling.zip": ("unreadable", ["broken symlink"]),
    "self.zip": ("unreadable", ["symlink loop"]),
    "good run/model.zip": ("compatible", []),
    "odd\nname with\ttabs ü.zip": ("compatible", []),
    "malicious.zip": (
        "unsafe",
        ["UNSAFE data/policy_class: calls builtins.eval: the trader's PPO.load would unpickle it"],
    ),
}

# Peak memory from /proc's VmHWM, not getrusage: ru_maxrss survives execve on Linux, so a
# child started from a pytest worker holding torch would report the worker's peak.
LIST_AND_MEASURE = """
import json, sys
from kalshi_tui.cli import main

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

before = peak_kb()
code = main(["list", "--json", "--models-dir", sys.argv[1]])
after = peak_kb()
heavy = sorted(m for m in ("torch", "stable_baselines3") if m in sys.modules)
print(json.dumps({"code": code, "maxrss_kb": after, "growth_kb": after - before, "heavy": heavy}),
      file=sys.stderr)
"""


def run_list(models: Path) -> tuple[list[dict], dict]:
    out = subprocess.run([sys.executable, "-c", LIST_AND_MEASURE, str(models)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), json.loads(out.stderr.strip().splitlines()[-1])


def test_list_survives_every_bad_input(bad_folder):
    models, canary = bad_folder
    records, facts = run_list(models)
    by_path = {r["path"]: r for r in records}
    for path, (verdict, reasons) in EXPECTED.items():
        assert path in by_path, path
        assert (by_path[path]["verdict"], by_path[path]["reasons"]) == (verdict, reasons), path
    if os.geteuid() != 0:
        assert by_path["locked.zip"]["reasons"] == ["permission denied"]
    # the loop was not followed: nothing was listed twice under loop/
    assert not any(p.startswith("loop/") for p in by_path)
    assert facts["code"] == 0 and facts["heavy"] == []
    assert not canary.exists(), "a pickle payload ran"
    warnings = by_path["malicious.zip"]["warnings"]
    assert warnings == ["suspicious pickle globals (listed, never run): builtins.eval"]


def test_memory_stays_bounded_against_the_bomb(bad_folder):
    """The bomb inflates to 2 GiB; listing must stay far below (the cap is 10 MB)."""
    models, _ = bad_folder
    _, facts = run_list(models)
    assert facts["maxrss_kb"] < 400 * 1024, facts
    assert facts["growth_kb"] < 100 * 1024, facts


def test_bomb_is_refused_by_header_and_by_reading(tmp_path):
    declared = deflate_bomb(tmp_path / "declared.zip", 64 * 1024 ** 2, declared=64 * 1024 ** 2)
    lying = deflate_bomb(tmp_path / "lying.zip", 64 * 1024 ** 2, declared=10)
    with zipfile.ZipFile(lying) as zf:
        assert zf.getinfo("data").file_size == 10  # the header lies
    for path, reason in ((declared, "data member over 1 MB, refused"),
                         (lying, "data member header understates its size, refused")):
        with pytest.raises(UnreadableModel) as err:
            read_sb3_zip(path, max_data_bytes=1024 * 1024)
        assert err.value.reason == reason


def test_bomb_that_lies_plausibly_is_stopped_by_the_read_cap(tmp_path):
    """Header claims as much as the compressed bytes (so it looks honest) yet inflates to
    64 MB: the read stops at the declared size and the CRC fails; nothing big is held."""
    chunk = 1 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    stream_len = len(block) * 64 + 2
    bomb = deflate_bomb(tmp_path / "plausible.zip", 64 * chunk, declared=stream_len)
    with pytest.raises(UnreadableModel) as err:
        read_sb3_zip(bomb, max_data_bytes=10 * chunk)
    assert err.value.reason.startswith("corrupt zip (data member")


def test_every_truncation_point_is_unreadable_never_a_crash(model_zoo):
    raw = model_zoo["ppo21"].read_bytes()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / "cut.zip"
        for length in list(range(1, len(raw), 997)) + [len(raw) - 1, len(raw) - 21]:
            cut.write_bytes(raw[:length])
            with pytest.raises(UnreadableModel) as err:
                read_sb3_zip(cut)
            assert err.value.reason in ("truncated zip", "not a zip file"), (
                length,
                err.value.reason,
            )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_it_may_not_read(tmp_path, model_zoo):
    locked = copy_model(model_zoo["ppo21"], tmp_path / "locked.zip")
    locked.chmod(0)
    with pytest.raises(UnreadableModel) as err:
        read_sb3_zip(locked)
    assert err.value.reason == "permission denied"


def test_listing_without_hashes_judges_every_bad_file_alike(bad_folder, tmp_path):
    """The table and the TUI list without hashing (files read by position, not whole):
    every bad file must get the same verdict and reason as the hashed listing gives."""
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.config import load_config

    models, canary = bad_folder
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    config = load_config(empty, models_dir=models)
    listing = {r.path: r for r in scan_catalog(config, use_cache=False, hashes=False).records}
    hashed = {r.path: r for r in scan_catalog(config, use_cache=False).records}
    assert listing.keys() == hashed.keys() >= EXPECTED.keys()
    for path, (verdict, reasons) in EXPECTED.items():
        assert (listing[path].verdict, list(listing[path].reasons)) == (verdict, reasons), path
    for path, record in listing.items():
        assert {**record.to_dict(), "sha256": None} == {**hashed[path].to_dict(), "sha256": None}, (
            path
        )
    assert not canary.exists()


# ---- damaged zips that once took the whole listing down with a traceback -------------------

def _patched(src: Path, dst: Path, edit) -> Path:
    blob = bytearray(src.read_bytes())
    edit(blob)
    dst.write_bytes(bytes(blob))
    return dst


def _central_entries(blob) -> list[int]:
    """Offsets of the central directory entries of a zip held in `blob`."""
    end = blob.rfind(b"PK\x05\x06")
    count, _size, first = struct.unpack_from("<HII", blob, end + 10)
    found, pos = [], first
    for _ in range(count):
        found.append(pos)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", blob, pos + 28)
        pos += 46 + name_len + extra_len + comment_len
    return found


def _damaged_folder(folder: Path, good: Path) -> dict[str, str]:
    """One file per way a damaged zip used to escape as an exception; -> expected reason prefix."""
    folder.mkdir(parents=True, exist_ok=True)

    def name_runs_past_the_end(blob):  # struct.error in the directory parse
        struct.pack_into("<H", blob, _central_entries(blob)[-1] + 28, 60_000)

    def needs_zip_version_19_7(blob):  # zipfile: NotImplementedError
        struct.pack_into("<H", blob, _central_entries(blob)[0] + 6, 197)

    def directory_claimed_too_far(blob):  # zipfile: offsets before the file, OSError on seek
        end = blob.rfind(b"PK\x05\x06")
        offset, = struct.unpack_from("<I", blob, end + 16)
        struct.pack_into("<I", blob, end + 16, offset + 5_000)

    bad_pickle = b"\x80\x02\x96" + struct.pack("<Q", 2 ** 62) + b"."  # BYTEARRAY8 of 4 EB
    policy = io.BytesIO()
    with zipfile.ZipFile(policy, "w") as inner:
        inner.writestr("archive/data.pkl", bad_pickle)
        inner.writestr("archive/version", b"3\n")
    _patched(good, folder / "name_past_end.zip", name_runs_past_the_end)
    _patched(good, folder / "zip_version.zip", needs_zip_version_19_7)
    _patched(good, folder / "directory_too_far.zip", directory_claimed_too_far)
    rewrite_member(good, folder / "huge_bytearray_weights.zip", "policy.pth", policy.getvalue())
    return {
        "zip_version.zip": "corrupt zip (",
        "directory_too_far.zip": "corrupt zip (",
        "huge_bytearray_weights.zip": "policy.pth is not a readable state dict (malformed pickle)",
    }


def test_damaged_zips_are_badges_not_tracebacks(tmp_path, model_zoo, capfd):
    """Each of these once escaped as struct.error, NotImplementedError or OSError (and the
    last printed CPython's "SystemError: deallocated bytearray"): now each gets a reason,
    whichever way the listing reads it, and `list` exits 0."""
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.config import load_config

    models = tmp_path / "models"
    expected = _damaged_folder(models, model_zoo["ppo21"])
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    config = load_config(empty, models_dir=models)
    for hashes in (True, False):
        records = {r.path: r for r in scan_catalog(config, use_cache=False, hashes=hashes).records}
        assert len(records) == 4
        for path, reason in expected.items():
            assert records[path].verdict == "unreadable", (hashes, path, records[path].reasons)
            assert records[path].reasons[0].startswith(reason), (
                hashes,
                path,
                records[path].reasons,
            )
        # zipfile reads this one past the damage, as SB3's loader would
        assert records["name_past_end.zip"].verdict in ("compatible", "unreadable")
    listed, facts = run_list(models)
    assert facts["code"] == 0 and len(listed) == 4
    assert "SystemError" not in capfd.readouterr().err


def test_random_damage_never_escapes_and_both_reads_agree(model_zoo, tmp_path, capfd):
    """Bytes flipped at random in the directory, the data member and the weights: reading
    raises nothing but UnreadableModel, and the listing's read by position gives exactly
    what the whole-file read gives (facts, or the reason)."""
    from dataclasses import asdict

    src = model_zoo["ppo21"].read_bytes()
    size = len(src)
    regions = [(size - 400, size), (0, 300), (0, size)]
    rng = random.Random(2026)
    target = tmp_path / "damaged.zip"

    def outcome(whole):
        try:
            facts = asdict(read_sb3_zip(target, whole=whole))
        except UnreadableModel as exc:
            return exc.reason
        facts.pop("sha256")
        return facts

    for _ in range(400):
        blob = bytearray(src)
        low, high = rng.choice(regions)
        for _ in range(rng.randint(1, 3)):
            blob[rng.randrange(low, high)] = rng.randrange(256)
        target.write_bytes(bytes(blob))
        assert outcome(False) == outcome(True)
    assert "SystemError" not in capfd.readouterr().err
