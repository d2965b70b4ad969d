"""What one pickle of a model imports, whether the trader may load it, and what it holds.

Every pickle a listing looks at (each `:serialized:` value of `data`, each torch member's
data.pkl) goes through here, and through one opcode walk (trader_safety, over
pickle_calls.evaluate): the globals the listing shows, the UNSAFE verdict, the `_last_obs`
array the layout evidence reads and the weight shapes all come from that one walk.

The two speed measures of the listing live here, each with its measurement (a real
64x64 PPO checkpoint, 2 cores shared with other work):

- `_walk` remembers its answers by the pickle's exact bytes (functools.lru_cache:
  bounded, thread-safe). A run's checkpoints repeat most pickles byte for byte
  (spaces, schedules, policy class, every torch data.pkl): walking them costs about
  2.0 ms a model (action_space 0.35 ms, observation_space 0.12 ms, policy.pth's data.pkl
  0.46 ms, the optimizer's 0.94 ms), remembered 0.01 ms.
- SB3's `ep_info_buffer` (a deque of 100 episode records, different in every checkpoint)
  is recognised by an exact opcode pattern instead of walked: 1.39 ms walked, about
  0.01 ms matched. The pattern admits only those opcodes with their exact argument
  lengths, so a match is a pickle whose one global is collections.deque, called with
  dicts of numbers; anything else is walked (tests compare the two on generated buffers).
- A numpy array as cloudpickle writes it (`_last_obs`, different in every checkpoint) is
  walked with its element bytes zeroed, so the walk is remembered across checkpoints: 30 us
  walked, about 1 us remembered (10 % of a cold listing's reading). Only an exact opcode
  frame qualifies (`_ARRAY_HEAD`, the bytes, `_ARRAY_TAIL`), one in which nothing reads the
  bytes back (no memo fetch), so the zeroed pickle calls exactly what the real one calls;
  the real bytes are put back into the array the facts hold (tests compare the two).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from kalshi_tui.core.sb3.pickle_calls import MALFORMED, Made, Problem, Walked
from kalshi_tui.core.sb3.torch_safety import walk_torch_pickle
from kalshi_tui.core.sb3.trader_safety import walk_data_pickle

__all__ = [
    "MALFORMED",
    "PickleFacts",
    "PlainArray",
    "data_pickle_facts",
    "decode_as_sb3",
    "pickle_globals",
    "pickle_globals_of_bytes",
    "serialized_facts",
    "torch_pickle_facts",
]


@dataclass(frozen=True)
class PlainArray:
    """A numpy array's parts, as the walk saw `_frombuffer` called: never built."""

    dtype: str  # numpy's code: "f4", "f8", "i8", ...
    byte_order: str  # "<", ">", "|" or "="
    shape: tuple[int, ...]
    fortran_order: bool
    data: bytes  # the raw element bytes


@dataclass(frozen=True)
class PickleFacts:
    """What the listing keeps of one pickle's walk (frozen: shared by the memo)."""

    globals: tuple[str, ...]
    problem: Problem | None  # why the trader must not load it, the globals at fault
    array: PlainArray | None = None  # when it is a plain numpy array
    shapes: tuple[tuple[str, tuple[int, ...]], ...] | None = None  # a state dict's tensors


def decode_as_sb3(serialized_b64: str) -> bytes:
    """The bytes SB3 unpickles from a `:serialized:` text: `base64.b64decode(s.encode())`,
    which skips characters outside the alphabet (a stray "!" hides nothing from the walk)."""
    return binascii.a2b_base64(serialized_b64.encode())


def serialized_facts(serialized_b64: str) -> PickleFacts | None:
    """The facts of a `:serialized:` text; None when it is not base64 (SB3 fails on it too,
    before anything is unpickled)."""
    try:
        raw = decode_as_sb3(serialized_b64)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return data_pickle_facts(raw)


def data_pickle_facts(raw: bytes) -> PickleFacts:
    """The facts of a `data` value's pickle bytes."""
    if _EPISODE_BUFFER.fullmatch(raw) is not None:
        return _EPISODE_FACTS
    span = _array_bytes(raw)
    if span is None:
        return _walk("data", raw)
    start, end = span
    facts = _walk("data", raw[:start] + bytes(end - start) + raw[end:])
    if facts.array is None:
        return facts
    return replace(facts, array=replace(facts.array, data=raw[start:end]))


def _array_bytes(raw: bytes) -> tuple[int, int] | None:
    """Where a cloudpickled numpy array's element bytes lie, when `raw` is exactly such a
    pickle (_ARRAY_HEAD, the bytes, _ARRAY_TAIL); None for anything else."""
    head = _ARRAY_HEAD.match(raw)
    if head is None:
        return None
    start = head.end()
    end = start + int.from_bytes(head.group(1), "little")
    return (start, end) if _ARRAY_TAIL.fullmatch(raw, end) is not None else None


def torch_pickle_facts(raw: bytes) -> PickleFacts:
    """The facts of a torch member's data.pkl, judged as torch.load(weights_only=True) would."""
    return _walk("torch", raw)


def pickle_globals(serialized_b64: str) -> list[str]:
    """Every "module.name" a base64 pickle would import, read from its opcodes, never run."""
    facts = serialized_facts(serialized_b64)
    return [] if facts is None else list(facts.globals)


def pickle_globals_of_bytes(raw: bytes) -> list[str]:
    """The globals in raw pickle bytes, in order; a malformed pickle adds "<malformed pickle>"."""
    return list(data_pickle_facts(raw).globals)


@lru_cache(maxsize=2048)
def _walk(kind: str, raw: bytes) -> PickleFacts:
    walked: Walked = walk_data_pickle(raw) if kind == "data" else walk_torch_pickle(raw)
    value = walked.value
    return PickleFacts(
        walked.globals,
        walked.problem,
        _array_parts(value),
        _state_dict_shapes(value) if kind == "torch" else None,
    )


def _array_parts(value: Any) -> PlainArray | None:
    """A `_frombuffer(bytes, dtype, shape, order)` call's parts, when that is what the
    pickle built (cloudpickle writes every contiguous numpy array so)."""
    if not (isinstance(value, Made) and value.kind.endswith("numeric._frombuffer")):
        return None
    args = value.detail["args"]
    if len(args) != 4:
        return None
    data, dtype, shape, order = args
    if not (
        type(data) is bytes
        and isinstance(dtype, Made)
        and dtype.kind == "numpy.dtype"
        and type(shape) is tuple
        and all(type(d) is int and d >= 0 for d in shape)
        and order in ("C", "F")
    ):
        return None
    code = dtype.detail["args"][0] if dtype.detail["args"] else None
    state = dtype.detail["state"]
    byte_order = state[1] if type(state) is tuple and len(state) > 1 else "="
    if type(code) is not str or byte_order not in ("<", ">", "|", "="):
        return None
    return PlainArray(code, byte_order, shape, order == "F", data)


def _state_dict_shapes(value: Any) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """{name: shape} of the tensors of a state dict the torch walk built, as pairs."""
    if not (isinstance(value, Made) and isinstance(value.detail, dict)):
        return None
    return tuple(
        (str(name), tuple(int(d) for d in tensor.detail))
        for name, tensor in value.detail.items()
        if isinstance(tensor, Made)
        and tensor.kind == "tensor"
        and all(type(d) is int for d in tensor.detail)
    )


_EPISODE_FACTS = PickleFacts(("collections.deque",), None)
# SB3's ep_info_buffer as cloudpickle writes it (protocol 5): deque's STACK_GLOBAL and its
# maxlen, the first record naming its keys {"r": float, "l": int, "t": float}, the rest
# fetching those keys from the memo, then APPENDS and STOP (one record: APPEND). Every
# opcode with its exact argument length, so a full match is a pickle made of exactly
# these opcodes. "." under DOTALL is any byte.
_EPISODE_TEXT = rb"\}\x94\(h.G.{8}h.(?:M..|K.|J....)h.G.{8}u"
_FIRST_EPISODE = rb"\}\x94\(\x8c\x01r\x94G.{8}\x8c\x01l\x94(?:M..|K.|J....)\x8c\x01t\x94G.{8}u"
_EPISODE_BUFFER = re.compile(
    rb"\x80\x05\x95.{8}\x8c\x0bcollections\x94\x8c\x05deque\x94\x93\x94"
    rb"\)(?:K.|M..|J....)\x86\x94R\x94"
    rb"(?>\(" + _FIRST_EPISODE + b"(?:" + _EPISODE_TEXT + b")*+e|" + _FIRST_EPISODE + rb"a)\.",
    re.DOTALL,
)


# numpy's _frombuffer(bytes, dtype, shape, order) as cloudpickle writes an array (protocol
# 5): the function's STACK_GLOBAL (numpy 2's module name or numpy 1's), MARK, the bytes as
# BYTEARRAY8 (its 8-byte length captured) ...
_ARRAY_HEAD = re.compile(
    rb"\x80\x05\x95.{8}\x8c(?:\x13numpy\._core|\x12numpy\.core)\.numeric\x94"
    rb"\x8c\x0b_frombuffer\x94\x93\x94\(\x96(.{8})",
    re.DOTALL,
)
# ... then numpy.dtype(code, False, True) with its state (byte order), the shape as 1-3
# ints and a tuple, the order, TUPLE, REDUCE, STOP: every opcode with its exact argument
# length, and no memo fetch, so nothing after the bytes can read them.
_ARRAY_TAIL = re.compile(
    rb"\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02[fiub][1248]\x94\x89\x88\x87\x94R\x94"
    rb"\(K\x03\x8c\x01[<>|=]\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b"
    rb"(?:K.|M..){1,3}[\x85\x86\x87]\x94\x8c\x01[CF]\x94t\x94R\x94\.",
    re.DOTALL,
)
