"""Members of a well-formed zip read straight from its bytes: the cold scan's fast path.

Two sources, one parser. `PlainZip` reads a zip held in memory (a file read whole, to be
hashed as well); `FileZip` reads an open file by position (`os.pread`): its directory from
the end, then only the members asked for. A listing needs `data` (13 KB of a 230 KB
model), the two small info members and the first few KB of `policy.pth`; the optimizer's
state, most of the file, is never read.

Only the plain case is handled (no comment, no zip64, no encryption, stored or deflated,
one disk, directory right before the end record); anything else, and any check that
fails, raises `NotPlain`, and the caller reads the file through zipfile instead, which
owns every operator-facing reason for odd files. So this path can be fast without having
to be clever about broken input.
"""

from __future__ import annotations

import os
import struct
import zlib

try:
    from isal.isal_zlib import crc32
except ImportError:  # an optional speed-up: zlib's gives the same number, ten times slower
    from zlib import crc32

_END = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_END_FORMAT = struct.Struct("<HHHHIIH")
# A central directory header, only the fields read: signature, version needed, flags,
# method, crc, sizes, name/extra/comment lengths, local header offset (the rest skipped).
_CENTRAL_FIELDS = struct.Struct("<4s2xHHH4xIIIHHH8xI")
_MAX_EXTRACT_VERSION = 63  # zipfile's: a higher one it refuses, and so SB3's loader fails
_LOCAL_NAME_EXTRA = struct.Struct("<HH")  # a local header's name and extra lengths, at 26
# FileZip reads this much of the end of the file first: the directory of an SB3 zip (six
# members) and its two small info members, which sit just before it, in one read.
_TAIL_BYTES = 4096
# Slack read past a member's name in its local header: its extra field is usually empty,
# and a longer one costs a second read, not a wrong answer.
_EXTRA_GUESS = 64


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
        self.size = len(blob)
        self.entries: dict[str, tuple[int, int, int, int, int, int]] = {}
        self.order: list[str] = []
        self._parse(blob, 0)

    def fetch(self, start: int, length: int) -> bytes | memoryview:
        """Up to `length` bytes of the file from `start` (fewer at its end)."""
        return memoryview(self.blob)[start:start + length]

    def _parse(self, tail: bytes, base: int) -> None:
        """The directory, from `tail`: the file's bytes from offset `base` to its end."""
        end = len(tail) - 22
        if end < 0 or tail[end:end + 4] != _END:
            raise NotPlain("no end record at the very end")
        disk, cd_disk, here, count, cd_size, cd_offset, comment = _END_FORMAT.unpack_from(tail, end + 4)
        if disk or cd_disk or here != count or comment or cd_offset + cd_size != base + end:
            raise NotPlain("multi-disk, commented or misplaced directory")
        if cd_offset < base:
            raise NotPlain("directory starts before the bytes read")
        pos = cd_offset - base
        entries, order = self.entries, self.order
        offsets = []
        unpack = _CENTRAL_FIELDS.unpack_from
        for _ in range(count):
            try:
                (magic, needs, flags, method, crc, csize, size, name_len, extra_len,
                 comment_len, offset) = unpack(tail, pos)
            except struct.error:  # lengths that run past the directory: zipfile says why
                raise NotPlain("directory entries run past its end") from None
            # Not the central header's signature; zip64 (a size or offset of all ones) or
            # encrypted; or a version zipfile refuses: zipfile reads it and says why.
            if (magic != _CENTRAL or flags & 0x1 or needs > _MAX_EXTRACT_VERSION
                    or 0xFFFFFFFF in (csize, size, offset)):
                raise NotPlain("unusual central header")
            start = pos + 46
            raw_name = tail[start:start + name_len]
            # Without the UTF-8 flag a name is cp437, which is ASCII below 0x80: the C codec
            # for the names every SB3 zip has, the Python one for the rest.
            name = raw_name.decode("utf-8" if flags & 0x800 or raw_name.isascii() else "cp437")
            entries[name] = (flags, method, crc, csize, size, offset)
            order.append(name)
            offsets.append(offset)
            pos = start + name_len + extra_len + comment_len
        if pos != end or (count and min(offsets) != 0):
            raise NotPlain("directory does not fill its space or first member is not at 0")

    def names(self) -> list[str]:
        return list(self.order)

    def _packed(self, name: str) -> memoryview:
        """A member's bytes as stored, found through its local header (read with them)."""
        flags, method, crc, csize, size, offset = self.entries[name]
        want = 30 + len(name) + _EXTRA_GUESS + csize
        chunk = self.fetch(offset, want)
        if len(chunk) < 30 or chunk[:4] != _LOCAL:
            raise NotPlain("bad local header")
        name_len, extra_len = _LOCAL_NAME_EXTRA.unpack_from(chunk, 26)
        start = 30 + name_len + extra_len
        if start + csize > len(chunk):
            if offset + start + csize > self.size:
                raise NotPlain("member runs past the end")
            chunk = self.fetch(offset, start + csize)
            if start + csize > len(chunk):
                raise NotPlain("member runs past the end")
        return memoryview(chunk)[start:start + csize]

    def read(self, name: str, cap: int) -> bytes:
        """A member's bytes, CRC-checked; OverCap past `cap`, NotPlain for anything unusual."""
        flags, method, crc, csize, size, offset = self.entries[name]
        if size > cap:
            raise OverCap()
        if method == 8 and csize > size + size // 100 + 1024:
            raise OverCap(lying_header=True)
        packed = self._packed(name)
        if method == 0:
            if csize != size:
                raise NotPlain("stored sizes differ")
            out = bytes(packed)
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
        if crc32(out) != crc:
            raise NotPlain("CRC mismatch")
        return out

    def stored_start(self, name: str) -> int:
        """Where a stored member's bytes begin in the file (its local header read to find out)."""
        flags, method, crc, csize, size, offset = self.entries[name]
        if method != 0 or csize != size:
            raise NotPlain("not stored")
        header = self.fetch(offset, 30)
        if len(header) < 30 or header[:4] != _LOCAL:
            raise NotPlain("bad local header")
        name_len, extra_len = _LOCAL_NAME_EXTRA.unpack_from(header, 26)
        start = offset + 30 + name_len + extra_len
        if start + csize > self.size:
            raise NotPlain("member runs past the end")
        return start


class FileZip(PlainZip):
    """A zip read from an open file by position: the end first (directory and the small
    members before it), then only what is asked for. `size` is the file's size as the
    caller's stat found it; a file that is not that size now is NotPlain (it changed: the
    careful path looks)."""

    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size
        self.entries = {}
        self.order = []
        base = max(0, size - _TAIL_BYTES)
        tail = os.pread(fd, size - base + 1, base)  # one byte more: a grown file shows it
        if len(tail) != size - base:
            raise NotPlain("file changed size")
        end = len(tail) - 22
        if end >= 0 and tail[end:end + 4] == _END:
            cd_offset = _END_FORMAT.unpack_from(tail, end + 4)[5]
            if cd_offset < base:  # a directory bigger than the tail: read it whole
                base = cd_offset
                tail = os.pread(fd, size - base + 1, base)
                if len(tail) != size - base:
                    raise NotPlain("file changed size")
        self._tail, self._base = tail, base
        self._head = b""  # bytes [0, len) once `read_head` has read them
        self._parse(tail, base)

    def read_head(self, end: int) -> None:
        """Read bytes [0, end) in one go, for the members that lie there to be served from
        memory: `data` and the start of policy.pth are at the front of an SB3 zip, one read
        instead of four."""
        end = min(end, self._base)
        if end > len(self._head):
            self._head = os.pread(self.fd, end, 0)

    def fetch(self, start: int, length: int) -> bytes | memoryview:
        base = self._base
        if start >= base:
            return memoryview(self._tail)[start - base:start - base + length]
        if start + length <= len(self._head):
            return memoryview(self._head)[start:start + length]
        return os.pread(self.fd, max(0, min(length, self.size - start)), start)
