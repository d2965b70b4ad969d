"""Tensor shapes from an SB3 `policy.pth`, read without torch and without running pickle code.

`policy.pth` is a torch zip whose `*/data.pkl` rebuilds each tensor through
`torch._utils._rebuild_tensor_v2(storage, offset, size, ...)`. An Unpickler whose
`find_class` hands back inert stand-ins for that short allowlist (and refuses every other
global) turns the pickle into {name: shape} without importing torch or touching a tensor
byte; a crafted file that names os.system gets a refusal, not a call.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import re
import struct
import zipfile
import zlib
from typing import Any

_MAX_TENSOR_MEMBERS = 4096  # a torch zip holds one member per tensor


class WeightsUnreadable(Exception):
    """The weights' shapes could not be read; the message says why in operator words."""


class _TensorShape(tuple):
    """What a tensor becomes here: only its size."""


class _InertStorage:
    """Stands in for torch.FloatStorage and friends: named, never constructed with data."""


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, *_rest: Any, **_kw: Any) -> _TensorShape:
    return _TensorShape(int(d) for d in size)


def _rebuild_parameter(data: Any, *_rest: Any, **_kw: Any) -> Any:
    return data


def _rebuild_tensor_v3(storage: Any, storage_offset: Any, size: Any, *_rest: Any, **_kw: Any) -> _TensorShape:
    return _TensorShape(int(d) for d in size)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): tuple,
}


class _ShapeUnpickler(pickle.Unpickler):
    """Resolves only the allowlist above, to inert stand-ins; refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return _InertStorage
        if module == "torch" and re.fullmatch(r"(b?float\d*|u?int\d+|bool|complex\d+|half|double)", name):
            return name  # a dtype: only ever passed along, never called
        raise pickle.UnpicklingError(f"{module}.{name} is not a weights global")

    def persistent_load(self, pid: Any) -> Any:
        return _InertStorage


def read_weight_shapes(zip_file: zipfile.ZipFile, member: str = "policy.pth", *,
                       max_bytes: int = 10 * 1024 * 1024) -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} of the state dict in `member`; raises WeightsUnreadable."""
    try:
        info = zip_file.getinfo(member)
    except KeyError:
        raise WeightsUnreadable(f"no {member} (weights) member") from None
    try:
        window = _stored_window(zip_file, info)
        if window is not None:
            fast = _first_member_shapes(window, max_bytes, member)
            if fast is not None:
                return fast
            # Stored (SB3 never compresses): read the inner zip in place, seeking freely.
            if not zipfile.is_zipfile(window):
                raise WeightsUnreadable(f"{member} is not a torch zip (legacy format), shapes not checked")
            with zipfile.ZipFile(window) as inner:
                return _shapes_from_torch_zip(inner, member, max_bytes)
        with zip_file.open(info) as handle:
            if not zipfile.is_zipfile(handle):
                raise WeightsUnreadable(f"{member} is not a torch zip (legacy format), shapes not checked")
            handle.seek(0)
            with zipfile.ZipFile(handle) as inner:
                return _shapes_from_torch_zip(inner, member, max_bytes)
    except WeightsUnreadable:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise WeightsUnreadable(f"{member} is corrupt ({exc})") from None


class _FileWindow(io.RawIOBase):
    """A read-only, seekable view of bytes [start, start+length) of an open file."""

    def __init__(self, fd: int, start: int, length: int):
        super().__init__()
        self._fd, self._start, self._length, self._pos = fd, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        left = self._length - self._pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        data = os.pread(self._fd, size, self._start + self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def stored_member_offset(zip_file: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """(file descriptor, offset of the bytes) of a stored, unencrypted member, else None.

    SB3 stores its members uncompressed, so a member can be read in place with one pread
    instead of through zipfile's stream machinery, which dominates a cold scan.
    """
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or info.header_offset < 0:
        return None  # a negative offset: a damaged directory, which zipfile's own reading reports
    try:
        fd = zip_file.fp.fileno()  # type: ignore[union-attr]
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    header = os.pread(fd, 30, info.header_offset)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if start + info.compress_size > os.fstat(fd).st_size:
        raise WeightsUnreadable(f"{info.filename} runs past the end of the file (truncated zip)")
    return fd, start


def _stored_window(zip_file: zipfile.ZipFile, info: zipfile.ZipInfo) -> _FileWindow | None:
    """A window on a stored member's bytes in the outer file, or None when not possible."""
    found = stored_member_offset(zip_file, info)
    if found is None:
        return None
    return _FileWindow(found[0], found[1], info.file_size)


def _first_member_shapes(window: _FileWindow, max_bytes: int, member: str) -> dict[str, tuple[int, ...]] | None:
    """Shapes from torch's first member, `*/data.pkl`, read straight from its local header.

    torch writes data.pkl first, stored, with its sizes in a trailing data descriptor, so
    the local header says 0; but a pickle ends itself (STOP), so the Unpickler can read it
    in place without parsing the inner zip's directory. None when the layout is anything
    else, or the fast read fails: then the full zipfile path decides.
    """
    header = window.read(30)
    window.seek(0)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    method = struct.unpack("<H", header[8:10])[0]
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    if method != zipfile.ZIP_STORED:
        return None
    name = os.pread(window._fd, name_len, window._start + 30)
    if not name.endswith(b"data.pkl"):
        return None
    begin = 30 + name_len + extra_len
    # Read into memory and unpickled from a BytesIO: a damaged pickle that asks for
    # gigabytes gets what there is, where a buffered reader would allocate them. At most
    # what a state dict's pickle takes (a few KB even for big networks): one longer is cut
    # short, fails here, and the full zipfile path reads it by its real size.
    limit = min(max_bytes, _SHAPES_MEMO_MAX_PICKLE, window._length - begin)
    pickle_bytes = os.pread(window._fd, max(0, limit), window._start + begin)
    try:
        return _shapes_from_pickle(io.BytesIO(pickle_bytes), member)
    except WeightsUnreadable:
        return None


def _first_member_size(view: memoryview | bytes, base: int = 0) -> int | None:
    """The stored size of the member at offset 0, from the central directory; None if unsure.

    `view`: the torch zip's bytes from offset `base` to its end (the directory's offsets
    count from the start of the zip).
    """
    end = len(view) - 22
    if end < 0 or bytes(view[end:end + 4]) != b"PK\x05\x06":
        return None
    count, _cd_size, pos = struct.unpack_from("<HII", view, end + 10)
    pos -= base
    if pos < 0:
        return None
    for _ in range(min(count, _MAX_TENSOR_MEMBERS)):
        if pos + 46 > end or bytes(view[pos:pos + 4]) != b"PK\x01\x02":
            return None
        method, = struct.unpack_from("<H", view, pos + 10)
        csize, size, name_len, extra_len, comment_len = struct.unpack_from("<IIHHH", view, pos + 20)
        offset, = struct.unpack_from("<I", view, pos + 42)
        if offset == 0:
            plain = method == zipfile.ZIP_STORED and csize == size != 0xFFFFFFFF
            return size if plain else None
        pos += 46 + name_len + extra_len + comment_len
    return None


# How much of a torch zip's end is read first for its directory: a policy's dozen members
# take about 1.5 KB; a bigger directory is read whole on a second try.
_TORCH_TAIL_BYTES = 4096


def weight_shapes_from_window(fetch: Any, start: int, length: int, member: str = "policy.pth", *,
                              max_bytes: int = 10 * 1024 * 1024) -> dict[str, tuple[int, ...]] | None:
    """Shapes of a stored torch zip at [start, start+length) of a file, reading only its
    directory and its data.pkl (a 70 KB policy.pth needs about 3 KB of it).

    `fetch(position, length)` reads the file. None when the layout is anything but torch's
    plain one or the read fails: the caller then reads the member whole
    (`weight_shapes_from_bytes`), which decides, and says why.
    """
    exact = first_member_pickle(fetch, start, length, min(max_bytes, _SHAPES_MEMO_MAX_PICKLE))
    if exact is None:
        return None
    try:
        return _shapes_of_exact(exact, member)
    except WeightsUnreadable:
        return None


def first_member_pickle(fetch: Any, start: int, length: int, max_bytes: int) -> bytes | None:
    """The exact bytes of a stored torch zip's first member, `*/data.pkl`, read by position
    from [start, start+length) of a file; None when the layout is not torch's plain one."""
    # One read for the local header, the pickle and the descriptor after it (most often).
    head = fetch(start, min(length, _FIRST_READ))
    if len(head) < 30 or bytes(head[:4]) != b"PK\x03\x04":
        return None
    flags, method = struct.unpack_from("<HH", head, 6)
    size, = struct.unpack_from("<I", head, 18)
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    if method != zipfile.ZIP_STORED or not bytes(head[30:30 + name_len]).endswith(b"data.pkl"):
        return None
    begin = 30 + name_len + extra_len
    if flags & 0x8:  # sizes follow the data (torch writes so)
        probe = memoryview(head)[begin:]
        size = _size_by_descriptor(probe)
        if size is not None:
            return bytes(probe[:size]) if size <= max_bytes else None
        size = _window_first_member_size(fetch, start, length) or 0  # ask the directory
    if not 0 < size <= max_bytes or begin + size > length:
        return None
    exact = bytes(fetch(start + begin, size))
    return exact if len(exact) == size else None


# data.pkl of a policy or its optimizer is 2-3 KB: the first read usually holds it and the
# descriptor after it.
_FIRST_READ = 4096
_DESCRIPTOR = re.compile(rb"PK\x07\x08")


def _size_by_descriptor(probe: bytes | memoryview) -> int | None:
    """The stored first member's size from the data descriptor right after its bytes: the
    first "PK\\x07\\x08" whose sizes equal its own offset. Read this way, a descriptor
    forged inside the pickle gives a prefix of the real member; an unpickler stops at the
    first STOP either way, so the prefix unpickles as the member does, or (cut before its
    STOP) is malformed, and refused."""
    view = bytes(probe)
    for found in _DESCRIPTOR.finditer(view):
        at = found.start()
        if at + 16 <= len(view):
            csize, size = struct.unpack_from("<II", view, at + 8)
            if csize == size == at:
                return at
        if at + 24 <= len(view):
            csize, size = struct.unpack_from("<QQ", view, at + 8)
            if csize == size == at:
                return at
    return None


def _window_first_member_size(fetch: Any, start: int, length: int) -> int | None:
    tail_len = min(length, _TORCH_TAIL_BYTES)
    tail = fetch(start + length - tail_len, tail_len)
    if len(tail) != tail_len:
        return None
    found = _first_member_size(tail, length - tail_len)
    if found is None and tail_len < length and len(tail) >= 22:
        cd_offset, = struct.unpack_from("<I", tail, len(tail) - 22 + 16)
        if cd_offset < length - tail_len:  # a directory bigger than the tail: read it whole
            tail = fetch(start + cd_offset, length - cd_offset)
            if len(tail) != length - cd_offset:
                return None
            found = _first_member_size(tail, cd_offset)
    return found


_SHAPES_MEMO: dict[bytes, dict[str, tuple[int, ...]]] = {}
_SHAPES_MEMO_LIMIT = 256
_SHAPES_MEMO_MAX_PICKLE = 256 * 1024


def weight_shapes_from_bytes(view: memoryview | bytes, member: str = "policy.pth", *,
                             max_bytes: int = 10 * 1024 * 1024) -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} from the bytes of a torch zip already in memory."""
    view = memoryview(view)
    if len(view) >= 30 and bytes(view[:4]) == b"PK\x03\x04":
        method = struct.unpack_from("<H", view, 8)[0]
        name_len, extra_len = struct.unpack_from("<HH", view, 26)
        if method == zipfile.ZIP_STORED and bytes(view[30:30 + name_len]).endswith(b"data.pkl"):
            begin = 30 + name_len + extra_len
            flags, = struct.unpack_from("<H", view, 6)
            size, = struct.unpack_from("<I", view, 18)
            if flags & 0x8:  # sizes follow the data (torch writes so): ask the directory
                size = _first_member_size(view) or 0
            try:
                if 0 < size <= min(max_bytes, _SHAPES_MEMO_MAX_PICKLE):
                    return _shapes_of_exact(bytes(view[begin:begin + size]), member)
                return _shapes_from_pickle(io.BytesIO(view[begin:begin + max_bytes]), member)
            except WeightsUnreadable:
                pass  # the careful path below decides, and says why
    try:
        with zipfile.ZipFile(io.BytesIO(view)) as inner:
            return _shapes_from_torch_zip(inner, member, max_bytes)
    except WeightsUnreadable:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        if not zipfile.is_zipfile(io.BytesIO(view)):
            raise WeightsUnreadable(f"{member} is not a torch zip (legacy format), shapes not checked") from None
        raise WeightsUnreadable(f"{member} is corrupt ({exc})") from None


def weight_shapes_from_pickle(exact: bytes, member: str = "policy.pth") -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} from the exact bytes of a torch zip's data.pkl."""
    return _shapes_of_exact(exact, member)


def _shapes_of_exact(exact: bytes, member: str) -> dict[str, tuple[int, ...]]:
    """Shapes from data.pkl's exact bytes, remembered by them.

    Checkpoints of one architecture have byte-identical data.pkl (names, shapes, storage
    keys; the numbers live in other members): keyed by the exact bytes, a remembered answer
    is the answer.
    """
    known = _SHAPES_MEMO.get(exact)
    if known is not None:
        return dict(known)
    shapes = _shapes_from_pickle(io.BytesIO(exact), member)
    if len(_SHAPES_MEMO) >= _SHAPES_MEMO_LIMIT:
        _SHAPES_MEMO.clear()
    _SHAPES_MEMO[exact] = dict(shapes)
    return shapes


def _shapes_from_torch_zip(inner: zipfile.ZipFile, member: str, max_bytes: int) -> dict[str, tuple[int, ...]]:
    infos = inner.infolist()
    if len(infos) > _MAX_TENSOR_MEMBERS:
        raise WeightsUnreadable(f"{member} has {len(infos)} members, refused")
    pkl = next((i for i in infos if i.filename.endswith("data.pkl")), None)
    if pkl is None:
        raise WeightsUnreadable(f"{member} has no data.pkl")
    if pkl.file_size > max_bytes:
        raise WeightsUnreadable(f"{member} data.pkl over the size limit, refused")
    with inner.open(pkl) as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise WeightsUnreadable(f"{member} data.pkl over the size limit, refused")
    return _shapes_from_pickle(io.BytesIO(raw), member)


def _shapes_from_pickle(stream: Any, member: str) -> dict[str, tuple[int, ...]]:
    if isinstance(stream, io.BytesIO):
        # Walked first, never run: a damaged length (a bytearray of 5 EB) is refused here,
        # where the unpickler would try to allocate it (and CPython prints a SystemError).
        from kalshi_tui.core.sb3.pickle_scan import MALFORMED, pickle_globals_of_bytes

        if MALFORMED in pickle_globals_of_bytes(stream.getvalue()):
            raise WeightsUnreadable(f"{member} is not a readable state dict (malformed pickle)")
    try:
        state = _ShapeUnpickler(stream).load()
    except pickle.UnpicklingError as exc:
        raise WeightsUnreadable(f"{member} refused: {exc}") from None
    except (EOFError, TypeError, ValueError, AttributeError, IndexError, KeyError,
            RecursionError, MemoryError) as exc:
        raise WeightsUnreadable(f"{member} is not a readable state dict ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise WeightsUnreadable(f"{member} is not a state dict")
    return {str(k): tuple(v) for k, v in state.items() if isinstance(v, _TensorShape)}


def _layers(shapes: dict[str, tuple[int, ...]], prefix: str) -> list[tuple[int, tuple[int, ...]]]:
    """(index, shape) of `prefix<i>.weight` matrices, in layer order."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.weight$")
    for key, shape in shapes.items():
        match = pattern.match(key)
        if match and len(shape) == 2:
            found.append((int(match.group(1)), shape))
    return sorted(found)


def weights_io_dims(shapes: dict[str, tuple[int, ...]], algorithm: str | None = None) -> tuple[int | None, int | None]:
    """(action outputs, observation inputs) the weights were built for, where the layout is known.

    PPO/A2C: `action_net.weight` is (n_actions, hidden) and the first policy layer
    `mlp_extractor.policy_net.0.weight` is (hidden, obs_dim). DQN: the first and last
    `q_net.q_net.<i>.weight`. SAC/TD3: `actor.mu` and `actor.latent_pi.0`.
    Remembered by the shapes: a run's checkpoints all have the same ones.
    """
    last_shapes, last_known = _LAST_IO_DIMS
    if shapes == last_shapes:  # the run's next checkpoint: compared, not hashed
        return last_known
    key = tuple(shapes.items())  # the layout alone decides; `algorithm` is not needed
    known = _IO_DIMS_MEMO.get(key)
    if known is None:
        if len(_IO_DIMS_MEMO) >= 1024:
            _IO_DIMS_MEMO.clear()
        known = _IO_DIMS_MEMO[key] = _io_dims(shapes)
    _LAST_IO_DIMS[:] = (dict(shapes), known)  # a copy: the caller may change its dict
    return known


_LAST_IO_DIMS: list[Any] = [None, None]  # [the last shapes looked up, their dims]


_IO_DIMS_MEMO: dict[tuple[tuple[str, tuple[int, ...]], ...], tuple[int | None, int | None]] = {}


def _io_dims(shapes: dict[str, tuple[int, ...]]) -> tuple[int | None, int | None]:
    action = shapes.get("action_net.weight")
    if action is not None and len(action) == 2:
        first = _layers(shapes, "mlp_extractor.policy_net.")
        if not first:
            first = _layers(shapes, "mlp_extractor.shared_net.")
        obs_dim = first[0][1][1] if first else action[1]
        return action[0], obs_dim
    q_layers = _layers(shapes, "q_net.q_net.") or _layers(shapes, "quantile_net.quantile_net.")
    if q_layers:
        return q_layers[-1][1][0], q_layers[0][1][1]
    mu = shapes.get("actor.mu.weight")
    if mu is not None and len(mu) == 2:
        latent = _layers(shapes, "actor.latent_pi.")
        return mu[0], (latent[0][1][1] if latent else mu[1])
    return None, None
