"""Hostile model zips made from real SB3 zips: payloads that would create a canary file if
anything ever ran them, and zip bombs with true and understated headers."""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

from model_factory import edit_data, rewrite_member

TORCH_MEMBERS = ("policy.pth", "pytorch_variables.pth", "policy.optimizer.pth")


class SystemCall:
    """Reduces to os.system(command): what PPO.load would run on unpickling."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def canary_command(canary: Path) -> str:
    return f"touch {canary}"


def system_pickle(canary: Path, protocol: int = 4) -> bytes:
    return pickle.dumps(SystemCall(canary_command(canary)), protocol=protocol)


def with_stray_bang(raw: bytes) -> str:
    """Base64 with a "!" in it: a strict decoder refuses it, SB3's b64decode skips it."""
    text = base64.b64encode(raw).decode()
    return text[:8] + "!" + text[8:]


def plant_data_payload(src: Path, dst: Path, field: str, serialized: str) -> Path:
    def edit(data):
        entry = data.get(field)
        entry = dict(entry) if isinstance(entry, dict) else {":type:": "<class 'object'>"}
        entry[":serialized:"] = serialized
        data[field] = entry

    return edit_data(src, dst, edit)


def torch_member_with_payload(original: bytes, canary: Path) -> bytes:
    """The member's torch zip with its data.pkl replaced by an os.system reducer (what a
    crafted file does), every other entry kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                body = system_pickle(canary, protocol=2)
            zout.writestr(info, body)
    return out.getvalue()


def plant_torch_payload(src: Path, dst: Path, member: str, canary: Path) -> Path:
    with zipfile.ZipFile(src) as z:
        original = z.read(member)
    return rewrite_member(src, dst, member, torch_member_with_payload(original, canary))


def bomb(src: Path, dst: Path, member: str = "policy.pth", gib: int = 6,
         understate: bool = False) -> Path:
    """`member` replaced by `gib` GiB of zeros, deflated (about 6 MB for 6 GiB) and built
    from one compressed chunk repeated, so the test never holds or deflates gigabytes.
    Past 4 GiB the sizes go in a zip64 extra field, as zip writers do. With `understate`
    the local header and the central directory both claim 1 KB."""
    size = gib << 30
    chunk = bytes(1 << 24)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # A full flush resets the compressor, so every chunk compresses to the same bytes.
    piece = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = size // len(chunk)
    deflated = piece * count + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    declared = 1024 if understate else size
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin:
        kept = [(i, zin.read(i.filename)) for i in zin.infolist() if i.filename != member]
    with open(dst, "wb") as out:
        central = []
        for info, body in kept:
            central.append(_write_member(out, info.filename, body, 0, len(body), len(body),
                                         zlib.crc32(body)))
        central.append(_write_member(out, member, deflated, 8, len(deflated), declared, crc))
        start = out.tell()
        for entry in central:
            out.write(entry)
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central),
                              out.tell() - start, start, 0))
    return dst


def _write_member(
    out, name: str, body: bytes, method: int, csize: int, size: int, crc: int
) -> bytes:
    offset = out.tell()
    raw_name = name.encode()
    extra = b""
    if size > 0xFFFFFFFF or csize > 0xFFFFFFFF:
        extra = struct.pack("<HHQQ", 1, 16, size, csize)
        size = csize = 0xFFFFFFFF
    version = 45 if extra else 20
    out.write(
        struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            version,
            0,
            method,
            0,
            0,
            crc,
            csize,
            size,
            len(raw_name),
            len(extra),
        )
        + raw_name
        + extra
    )
    out.write(body)
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            version,
            version,
            0,
            method,
            0,
            0,
            crc,
            csize,
            size,
            len(raw_name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        + raw_name
        + extra
    )


def data_of(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("data"))
