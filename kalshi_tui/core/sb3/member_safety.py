"""The trader-safety findings of one SB3 zip: sizes first, then the torch pickles and `data`'s.

Every finding is `[where, why, names]` (names: the globals at fault, a list), kept on the
record and turned into the UNSAFE verdict by compat.judge (which drops the ones the team
trusts). Sizes are judged from the directory alone, before any byte is inflated: a member
declaring more than `max_member_bytes`, all members together declaring more, or a
deflated member whose compressed bytes outnumber what deflate could ever need for its
declared size (a header that understates a bomb). Such a file is never read further here.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from kalshi_tui.core.sb3.pickle_scan import decode_as_sb3, is_episode_buffer, is_plain_array
from kalshi_tui.core.sb3.trader_safety import data_pickle_problem, torch_pickle_problem

TORCH_MEMBERS = ("policy.pth", "pytorch_variables.pth", "policy.optimizer.pth")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024
# Deflate stores incompressible data with 5 bytes per 64 KB block: anything beyond this
# slack means the declared (inflated) size is a lie.
_STORED_SLACK = 1024
_TORCH_PICKLE_CAP = 16 * 1024 * 1024  # a state dict's data.pkl is a few KB; an optimizer's too

Finding = list[Any]
_UNSEEN = object()
_TORCH_MEMO: dict[bytes, Any] = {}
_TORCH_MEMO_MAX_BYTES = 256 * 1024


def size_words(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def understated(method: int, csize: int, size: int) -> bool:
    """A deflated member whose compressed bytes could not come from its declared size."""
    return method != 0 and csize > size + size // 100 + _STORED_SLACK


def size_findings(entries: list[tuple[str, int, int, int]], max_member_bytes: int) -> list[Finding]:
    """Findings from (name, method, csize, size) of every member, before anything is read."""
    found: list[Finding] = []
    total = 0
    for name, method, csize, size in entries:
        total += size
        if size > max_member_bytes:
            found.append([name, f"declares {size_words(size)} inflated, over catalog.max_member_bytes "
                                f"({size_words(max_member_bytes)}): the trader would inflate it all", []])
        elif understated(method, csize, size):
            found.append([name, f"header understates its size ({size_words(csize)} compressed for "
                                f"{size_words(size)} declared): a zip bomb", []])
        elif method == 0 and csize != size:
            found.append([name, "stored member whose sizes disagree", []])
    if total > max_member_bytes and not found:
        found.append(["zip", f"members declare {size_words(total)} together, over "
                             f"catalog.max_member_bytes ({size_words(max_member_bytes)})", []])
    return found


def data_findings(data: dict[str, Any]) -> list[Finding]:
    """Trader-safety findings of every `:serialized:` value of `data` (three levels deep, as
    sb3_zip lists their globals)."""
    found: list[Finding] = []
    for key, value in data.items():
        if type(value) is dict:
            _visit_problems(found, key, value, 0)
    return found


def _visit_problems(found: list[Finding], key: str, value: dict[str, Any], depth: int) -> None:
    blob = value.get(":serialized:")
    if isinstance(blob, str):
        problem = _blob_problem(blob)
        if problem is not None:
            found.append([f"data/{key}", f"{problem[0]}: the trader's PPO.load would unpickle it",
                          list(problem[1])])
    if depth < 3:
        for sub_key, sub_value in value.items():
            if type(sub_value) is dict:
                _visit_problems(found, f"{key}.{sub_key}", sub_value, depth + 1)


def _blob_problem(blob: str) -> tuple[str, tuple[str, ...]] | None:
    """data_pickle_problem of a `:serialized:` text decoded exactly as SB3 decodes it
    (leniently: a stray "!" is skipped), remembered for the short texts a run repeats."""
    known = _PROBLEM_MEMO.get(blob, _MISSING) if len(blob) <= 4096 else _MISSING
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    try:
        raw = decode_as_sb3(blob)
    except (ValueError, TypeError, UnicodeEncodeError):
        return None  # SB3's b64decode fails too, before anything is unpickled
    if is_episode_buffer(raw) or is_plain_array(raw):
        # ep_info_buffer and _last_obs as SB3 writes them, matched opcode for opcode: their
        # only calls are deque and numpy's array rebuilders (a checkpoint's own values,
        # different in every file, so never remembered, and never walked one by one).
        answer = None
    else:
        answer = data_pickle_problem(raw)
    if len(blob) <= 4096:
        if len(_PROBLEM_MEMO) >= 4096:
            _PROBLEM_MEMO.clear()
        _PROBLEM_MEMO[blob] = answer
    return answer


_MISSING = object()
_PROBLEM_MEMO: dict[str, Any] = {}


def torch_member_finding(name: str, pickle_bytes: bytes | None) -> Finding | None:
    """The finding for one torch member's data.pkl (None: the trader's torch.load accepts it)."""
    if pickle_bytes is None:
        return [name, "no data.pkl could be read from it, so torch.load(weights_only=True) "
                      "cannot be shown to accept it", []]
    problem = _TORCH_MEMO.get(pickle_bytes, _UNSEEN)
    if problem is _UNSEEN:
        problem = torch_pickle_problem(pickle_bytes)
        # A run's checkpoints have byte-identical data.pkl (names, shapes, storage keys; the
        # numbers live in other members): by its exact bytes, a remembered answer is the answer.
        if len(pickle_bytes) <= _TORCH_MEMO_MAX_BYTES:
            if len(_TORCH_MEMO) >= 256:
                _TORCH_MEMO.clear()
            _TORCH_MEMO[pickle_bytes] = problem
    if problem is None:
        return None
    why, names = problem
    return [name, f"{why}: torch.load(weights_only=True) refuses it", list(names)]


def torch_pickle_in(member_bytes: bytes | memoryview) -> bytes | None:
    """data.pkl from a torch zip held in memory (bounded), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(member_bytes)) as inner:
            return _data_pkl(inner)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError, KeyError):
        return None


def torch_pickle_in_window(fetch: Callable[[int, int], Any], start: int, length: int) -> bytes | None:
    """data.pkl of a stored torch zip at [start, start+length) of a file, read by position."""
    from kalshi_tui.core.sb3.weights import first_member_pickle

    return first_member_pickle(fetch, start, length, _TORCH_PICKLE_CAP)


def _data_pkl(inner: zipfile.ZipFile) -> bytes | None:
    infos = inner.infolist()
    if len(infos) > 4096:
        return None
    pkl = next((i for i in infos if i.filename.endswith("data.pkl")), None)
    if pkl is None or pkl.file_size > _TORCH_PICKLE_CAP or understated(pkl.compress_type, pkl.compress_size,
                                                                     pkl.file_size):
        return None
    with inner.open(pkl) as handle:
        raw = handle.read(_TORCH_PICKLE_CAP + 1)
    return raw if len(raw) <= _TORCH_PICKLE_CAP else None
