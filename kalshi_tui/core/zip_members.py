"""Members of a small, well-formed zip read straight from its bytes: the cold scan's fast path.

A model file is read whole once (it is hashed anyway), then its central directory is
parsed with struct from that buffer: no second open, no zipfile object, no stream
machinery. Only the plain case is handled (no comment, no zip64, no encryption, stored or
deflated, one disk, directory right before the end record); anything else, and any check
that fails, raises `NotPlain`, and the caller reads the file through zipfile instead, which
owns every operator-facing reason for odd files. So this path can be fast without having
to be clever about broken input.
"""

from __future__ import annotations

import struct
import zlib

_END = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_END_FORMAT = struct.Struct("<HHHHIIH")
# A central directory header, only the fields read: signature, flags, method, crc, sizes,
# name/extra/comment lengths, local header offset (the rest skipped as padding).
_CENTRAL_FIELDS = struct.Struct("<4s4xHH4xIIIHHH8xI")
_LOCAL_FORMAT = struct.Struct("<HHHHHIIIHH")


class NotPlain(Exception):
    """Not a zip this fast path reads; use zipfile."""


class OverCap(Exception):
    """A member is larger than the caller allows (by its header or by inflating)."""

    def __init__(self, lying_header: bool = False):
        super().__init__("over cap")
        self.lying_header = lying_header


class PlainZip:
    """The members of a zip held in memory: name -> (flags, method, crc, csize, size, offset)."""

    def __init__(self, blob: bytes):
        self.blob = blob
        self.entries: dict[str, tuple[int, int, int, int, int, int]] = {}
        self.order: list[str] = []
        self._parse()

    def _parse(self) -> None:
        blob = self.blob
        end = len(blob) - 22
        if end < 0 or blob[end:end + 4] != _END:
            raise NotPlain("no end record at the very end")
        disk, cd_disk, here, count, cd_size, cd_offset, comment = _END_FORMAT.unpack_from(blob, end + 4)
        if disk or cd_disk or here != count or comment or cd_offset + cd_size != end:
            raise NotPlain("multi-disk, commented or misplaced directory")
        pos = cd_offset
        lowest = None
        entries, order = self.entries, self.order
        unpack = _CENTRAL_FIELDS.unpack_from
        for _ in range(count):
            (magic, flags, method, crc, csize, size, name_len, extra_len, comment_len,
             offset) = unpack(blob, pos)
            if magic != _CENTRAL:
                raise NotPlain("bad central header")
            if csize == 0xFFFFFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF or flags & 0x1:
                raise NotPlain("zip64 or encrypted")
            name = blob[pos + 46:pos + 46 + name_len].decode("utf-8" if flags & 0x800 else "cp437")
            entries[name] = (flags, method, crc, csize, size, offset)
            order.append(name)
            if lowest is None or offset < lowest:
                lowest = offset
            pos += 46 + name_len + extra_len + comment_len
        if pos != end or (count and lowest != 0):
            raise NotPlain("directory does not fill its space or first member is not at 0")

    def names(self) -> list[str]:
        return list(self.order)

    def span(self, name: str) -> tuple[int, int]:
        """(start, compressed length) of a member's bytes, checked against its local header."""
        flags, method, crc, csize, size, offset = self.entries[name]
        blob = self.blob
        if blob[offset:offset + 4] != _LOCAL:
            raise NotPlain("bad local header")
        fields = _LOCAL_FORMAT.unpack_from(blob, offset + 4)
        start = offset + 30 + fields[8] + fields[9]
        if start + csize > len(blob):
            raise NotPlain("member runs past the end")
        return start, csize

    def read(self, name: str, cap: int) -> bytes:
        """A member's bytes, CRC-checked; OverCap past `cap`, NotPlain for anything unusual."""
        flags, method, crc, csize, size, offset = self.entries[name]
        if size > cap:
            raise OverCap()
        if method == 8 and csize > size + size // 100 + 1024:
            raise OverCap(lying_header=True)
        start, length = self.span(name)
        packed = self.blob[start:start + length]
        if method == 0:
            if csize != size:
                raise NotPlain("stored sizes differ")
            out = packed
        elif method == 8:
            inflater = zlib.decompressobj(-15)
            try:
                out = inflater.decompress(packed, size + 1)
            except zlib.error:
                raise NotPlain("bad deflate stream") from None
            if len(out) != size:
                raise NotPlain("inflated size differs from the header")
        else:
            raise NotPlain("compression method")
        if zlib.crc32(out) != crc:
            raise NotPlain("CRC mismatch")
        return out

    def stored_view(self, name: str) -> memoryview:
        """A stored member's bytes without copying (policy.pth, itself a zip)."""
        flags, method, crc, csize, size, offset = self.entries[name]
        if method != 0 or csize != size:
            raise NotPlain("not stored")
        start, length = self.span(name)
        return memoryview(self.blob)[start:start + length]
