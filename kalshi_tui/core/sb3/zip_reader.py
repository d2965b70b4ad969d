"""The one way this project reads a zip's members: by position, its directory first.

A model zip (and the torch zip stored inside it as policy.pth) is read through a `fetch`
function, `fetch(position, length) -> bytes`, over an open file or bytes in memory. The
central directory is parsed from the end; a member is read only after its declared size
has been checked against the caller's bound and against what deflate could produce from
its compressed size, so a bomb is refused from its 46-byte header, before a byte is
inflated; inflating stops one byte past the declared size whatever the stream holds.

Only the layout SB3 and torch write is read (no zip64, no encryption, stored or deflated,
the directory right before its end record); anything else is an `UnreadableZip` whose
reason an operator can act on.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

Fetch = Callable[[int, int], bytes]

LOCAL_MAGIC = b"PK\x03\x04"
_CENTRAL_MAGIC = b"PK\x01\x02"
_END_MAGIC = b"PK\x05\x06"
_END = struct.Struct("<4sHHHHIIH")  # signature, disks, entries here/total, size, offset, comment
# signature, version needed, flags, method, crc, sizes, name/extra/comment lengths, offset
_CENTRAL = struct.Struct("<4s2xHHH4xIIIHHH8xI")
_LOCATOR = struct.Struct("<4sIQI")  # zip64 locator: signature, disk, offset of the zip64 record
_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_END_MAGIC = b"PK\x06\x06"
_LOCAL_LENGTHS = struct.Struct("<HH")  # a local header's name and extra lengths, at 26
_MAX_COMMENT = 0xFFFF
# The end of a file read first: the directory of an SB3 zip (six members) fits in it.
_TAIL_BYTES = 4096
_DEFLATE_SLACK = 1024  # deflate grows incompressible data by 5 bytes per 64 KB block
_MAX_EXTRACT_VERSION = 63  # what zipfile (and so SB3's loader) accepts


class UnreadableZip(Exception):
    """The zip (or one member) cannot be read; `reason` is the operator's one-line why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Member(NamedTuple):
    """One central-directory entry."""

    name: str
    flags: int
    method: int
    crc: int
    csize: int
    size: int
    offset: int  # of its local header


def size_words(n: int) -> str:
    """A bound in words: "10 MB", "4 KB", "100 bytes"."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def understated(method: int, csize: int, size: int) -> bool:
    """A deflated member whose compressed bytes could not come from its declared size."""
    return method != 0 and csize > size + size // 100 + _DEFLATE_SLACK


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def open_regular_file(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(an open file descriptor, its size) of a regular, non-empty file; else UnreadableZip.

    O_NONBLOCK and the fstat after opening: a fifo named *.zip must not block the listing.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise UnreadableZip(
            "broken symlink" if os.path.islink(path) else "file not found"
        ) from None
    except PermissionError:
        raise UnreadableZip("permission denied") from None
    except IsADirectoryError:
        raise UnreadableZip("is a directory") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableZip("symlink loop") from None
        raise UnreadableZip(f"cannot read: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) and st.st_size > 0:
        return fd, st.st_size
    os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableZip("is a directory")
    raise UnreadableZip("empty file" if stat.S_ISREG(st.st_mode) else "not a regular file")


def file_fetch(fd: int) -> Fetch:
    """`fetch` over an open file (positional reads: no shared file offset)."""
    return lambda position, length: os.pread(fd, max(0, length), position)


def bytes_fetch(blob: bytes | memoryview) -> Fetch:
    """`fetch` over bytes in memory."""
    view = memoryview(blob)
    return lambda position, length: bytes(view[position : position + max(0, length)])


def read_directory(
    fetch: Fetch, size: int, max_members: int, until: str | None = None
) -> dict[str, Member]:
    """name -> Member, from the directory at the end of a zip of `size` bytes.

    `until`: stop at the first member whose name ends so (torch lists data.pkl first, and an
    optimizer's directory has dozens of entries after it).
    """
    tail_start = max(0, size - _TAIL_BYTES)
    tail = fetch(tail_start, size - tail_start)
    end = len(tail) - _END.size
    if end < 0 or tail[end : end + 4] != _END_MAGIC:
        # A comment after the end record: look back as far as a comment can reach.
        tail_start = max(0, size - _END.size - _MAX_COMMENT)
        tail = fetch(tail_start, size - tail_start)
        end = tail.rfind(_END_MAGIC)
    if end < 0 or end + _END.size > len(tail):
        raise _not_a_zip(fetch)
    _magic, disk, cd_disk, here, count, cd_size, cd_offset, comment = _END.unpack_from(tail, end)
    end_at = tail_start + end
    at_end = end_at + _END.size + comment == size  # else bytes follow (appended, or not ours)
    if end_at + _END.size + comment > size:
        raise _not_a_zip(fetch)
    directory_end = end_at
    before = (
        tail[end - _LOCATOR.size : end]
        if end >= _LOCATOR.size
        else fetch(end_at - _LOCATOR.size, _LOCATOR.size)
        if end_at >= _LOCATOR.size
        else b""
    )
    if before[:4] == _LOCATOR_MAGIC:
        # torch writes a zip64 end record (and its locator) between the directory and the
        # end record, with the plain record's numbers still exact.
        directory_end = _LOCATOR.unpack_from(before)[2]
        if fetch(directory_end, 4) != _ZIP64_END_MAGIC:
            if not at_end:
                raise _not_a_zip(fetch)
            raise UnreadableZip("corrupt zip (damaged zip64 end record)")
    if disk or cd_disk or here != count or 0xFFFFFFFF in (cd_size, cd_offset):
        raise UnreadableZip("corrupt zip (multi-disk or zip64 directory)")
    if cd_offset + cd_size != directory_end:
        if not at_end:
            # The end record of something else (policy.pth is a zip inside this one): this
            # zip's own is missing, as it is in a zip cut short.
            raise _not_a_zip(fetch)
        raise UnreadableZip("corrupt zip (the directory is not where the end record says)")
    if count > max_members:
        raise UnreadableZip(f"zip has {count} members (limit {max_members}), refused")
    directory = (
        fetch(cd_offset, cd_size)
        if cd_offset < tail_start
        else tail[cd_offset - tail_start : directory_end - tail_start]
    )
    members: dict[str, Member] = {}
    pos = 0
    for _ in range(count):
        try:
            (
                magic,
                needs,
                flags,
                method,
                crc,
                csize,
                msize,
                name_len,
                extra_len,
                comment_len,
                offset,
            ) = _CENTRAL.unpack_from(directory, pos)
        except struct.error:
            raise UnreadableZip("corrupt zip (directory entries run past its end)") from None
        if magic != _CENTRAL_MAGIC:
            raise UnreadableZip("corrupt zip (damaged directory entry)")
        if needs > _MAX_EXTRACT_VERSION:
            raise UnreadableZip(f"corrupt zip (zip file version {needs / 10})")
        start = pos + _CENTRAL.size
        if 0xFFFFFFFF in (csize, msize, offset):
            extra = directory[start + name_len : start + name_len + extra_len]
            msize, csize, offset = _zip64_sizes(extra, msize, csize, offset)
        if offset + 30 > cd_offset:
            raise UnreadableZip("corrupt zip (a member lies outside the file)")
        raw_name = directory[start : start + name_len]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        members[name] = Member(name, flags, method, crc, csize, msize, offset)
        pos = start + name_len + extra_len + comment_len
        if until is not None and name.endswith(until):
            return members
    if pos != len(directory):
        raise UnreadableZip("corrupt zip (directory does not fill its space)")
    return members


def _zip64_sizes(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    """(size, compressed size, offset) with the zip64 extra field's values in place of the
    0xFFFFFFFF that point to it (how writers declare members past 4 GiB)."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            values = [size, csize, offset]
            field = pos + 4
            for i, value in enumerate(values):
                if value == 0xFFFFFFFF:
                    if field + 8 > pos + 4 + length or field + 8 > len(extra):
                        raise UnreadableZip("corrupt zip (damaged zip64 sizes)")
                    values[i] = struct.unpack_from("<Q", extra, field)[0]
                    field += 8
            return values[0], values[1], values[2]
        pos += 4 + length
    raise UnreadableZip("corrupt zip (zip64 sizes missing)")


def _not_a_zip(fetch: Fetch) -> UnreadableZip:
    # A zip cut short keeps its first local header but loses the directory at its end.
    return UnreadableZip("truncated zip" if fetch(0, 4) == LOCAL_MAGIC else "not a zip file")


def member_start(fetch: Fetch, member: Member, size: int) -> int:
    """Where a member's bytes begin: after its local header, which is checked."""
    header = fetch(member.offset, 30)
    if len(header) < 30 or header[:4] != LOCAL_MAGIC:
        raise UnreadableZip(f"corrupt zip ({member.name}: bad local header)")
    name_len, extra_len = _LOCAL_LENGTHS.unpack_from(header, 26)
    start: int = member.offset + 30 + name_len + extra_len
    if start + member.csize > size:
        raise UnreadableZip("truncated zip")
    return start


def read_member(fetch: Fetch, member: Member, size: int, cap: int, what: str) -> bytes:
    """A member's bytes, CRC-checked, refused when it declares (or inflates to) more than `cap`.

    `size`: the zip's size. `what`: the member as the operator's reason names it.
    """
    if member.flags & 0x1:
        raise UnreadableZip(f"cannot read {what}: encrypted")
    if member.size > cap:
        raise UnreadableZip(f"{what} over {size_words(cap)}, refused")
    if understated(member.method, member.csize, member.size):
        raise UnreadableZip(f"{what} header understates its size, refused")
    if member.method not in (0, 8):
        raise UnreadableZip(f"unsupported compression for {what}")
    packed = fetch(member_start(fetch, member, size), member.csize)
    if len(packed) != member.csize:
        raise UnreadableZip("truncated zip")
    if member.method == 0:
        if member.csize != member.size:
            raise UnreadableZip(f"corrupt zip ({what}: stored sizes differ)")
        out = packed
    else:
        try:
            out = zlib.decompressobj(-15).decompress(packed, member.size + 1)
        except zlib.error as exc:
            raise UnreadableZip(f"corrupt zip ({what}: {exc})") from None
        if len(out) > member.size:
            raise UnreadableZip(f"corrupt zip ({what}: inflates past its declared size)")
        if len(out) != member.size:
            raise UnreadableZip(f"corrupt zip ({what}: inflates to fewer bytes than declared)")
    if zlib.crc32(out) != member.crc:
        raise UnreadableZip(f"corrupt zip ({what}: CRC mismatch)")
    return out


def inner_zip_fetch(fetch: Fetch, member: Member, size: int, cap: int) -> tuple[Fetch, int]:
    """(fetch, size) over a zip stored inside this one (a torch member): read in place when
    stored, as SB3 writes it; inflated whole (bounded by `cap`) when a tool deflated it."""
    if member.method == 0 and not member.flags & 0x1:
        start = member_start(fetch, member, size)
        length = member.size

        def window(position: int, count: int) -> bytes:
            count = min(count, length - position)
            return fetch(start + position, count) if count > 0 and position >= 0 else b""

        return window, length
    inner = read_member(fetch, member, size, cap, member.name)
    return bytes_fetch(inner), len(inner)
