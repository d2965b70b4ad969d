"""The globals a pickle would import, listed from its opcodes without running any of it.

SB3 hides every non-JSON object of a model (the policy class, spaces, schedules) in a
base64 cloudpickle; the class names in it are what an operator needs to see, and a name
like os.system is what must be flagged. pickletools can walk the opcodes safely, but is
slow enough to dominate a cold scan, so a hand loop over the same opcode table does the
common case and pickletools double-checks anything it finds malformed. Two shortcuts keep
a checkpoint's own pickles cheap, both exact: an array's bytes are never looked into, so
its globals are remembered by the bytes around them; and ep_info_buffer's hundred episode
records are passed over as one run (see _EPISODE_TEXT).
"""

from __future__ import annotations

import binascii
import pickletools
import re
from dataclasses import dataclass

try:
    from pybase64 import b64decode as _b64decode_simd
except ImportError:  # an optional speed-up: binascii decodes the same bytes
    _b64decode_simd = None


def pickle_globals(serialized_b64: str) -> list[str]:
    """Every "module.name" a base64 pickle would import, read from its opcodes, never run."""
    # Long blobs are never remembered (below): looking one up would only hash 4 KB for nothing.
    if len(serialized_b64) <= _MEMO_MAX_CHARS:
        cached = _GLOBALS_MEMO.get(serialized_b64)
        if cached is not None:
            return list(cached)
    try:
        raw = decode_as_sb3(serialized_b64)
    except (binascii.Error, ValueError, TypeError, AttributeError, UnicodeEncodeError):
        return []  # SB3 fails on these too, before any unpickling
    found, varies = _globals_of(raw)
    # Checkpoints of one run repeat most blobs (spaces, schedules, policy class) byte for
    # byte. Not the long ones (ep_info_buffer's, 4 KB), nor arrays (_last_obs): they differ
    # in every checkpoint, and remembering them would only hold them, and fill the memo
    # until it is cleared of the ones that do repeat.
    if not varies and len(serialized_b64) <= _MEMO_MAX_CHARS:
        if len(_GLOBALS_MEMO) > 4096:
            _GLOBALS_MEMO.clear()
        _GLOBALS_MEMO[serialized_b64] = tuple(found)
    return found


def decode_as_sb3(serialized_b64: str) -> bytes:
    """The bytes SB3 unpickles from a `:serialized:` text: `base64.b64decode(s.encode())`.

    That decoder skips characters outside the alphabet: a strict one would refuse a blob
    with a stray "!" in it, list no globals, and miss the os.system that PPO.load runs. So
    a strict SIMD decode (pybase64) is tried first, as it gives the same bytes for any
    well-formed text at a tenth of the cost, and anything it refuses is decoded as SB3 does.
    """
    if _b64decode_simd is not None:
        try:
            return _b64decode_simd(serialized_b64, validate=True)
        except (binascii.Error, ValueError):
            pass
    return binascii.a2b_base64(serialized_b64.encode())


_GLOBALS_MEMO: dict[str, tuple[str, ...]] = {}
_MEMO_MAX_CHARS = 2048
MALFORMED = "<malformed pickle>"  # listed among the globals of a pickle that does not parse
# opcode byte -> (name, argument bytes: >= 0 fixed, -1 up to newline, < -1 length-prefixed)
_OPCODES = {op.code.encode("latin-1")[0]: (op.name, 0 if op.arg is None else op.arg.n)
            for op in pickletools.opcodes}
_STRING_OPS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "SHORT_BINSTRING",
                         "BINSTRING", "UNICODE", "STRING"})


def pickle_globals_of_bytes(raw: bytes) -> list[str]:
    """The globals in raw pickle bytes, in order; a malformed pickle adds "<malformed pickle>".

    GLOBAL carries its names inline; STACK_GLOBAL takes the two strings pushed before it
    (directly or fetched from the memo). A hand loop over the opcode table: pickletools'
    genops is correct but slow enough to dominate a cold scan.
    """
    return _globals_of(raw)[0]


def _globals_of(raw: bytes) -> tuple[list[str], bool]:
    """(pickle_globals_of_bytes(raw), whether the pickle carries bytes that differ from one
    checkpoint to the next: an array's numbers, or episode records)."""
    for prefix, suffix, known in _PAYLOAD_BY_LENGTH.get(len(raw), ()):
        if raw.startswith(prefix) and raw.endswith(suffix):
            return list(known), True  # see _remember_payload: exact, and no opcode walked
    if _EPISODE_BUFFER.fullmatch(raw) is not None:
        return ["collections.deque"], True  # its one global, as the walk below would list it
    try:
        return _scan_globals(raw)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        return _scan_globals_slow(raw), False


# Per opcode byte, what the fast loop does with it (ints: cheaper to test than names):
_OTHER, _SKIP, _PUT1, _PUT4, _GET1, _GET4, _MEMOIZE, _STACK_GLOBAL, _STOP, _STRING, _GLOBAL = range(11)
_ACTION = [_OTHER] * 256
_ARG = [None] * 256  # None: not an opcode (a malformed pickle)
for _code, (_name, _size) in _OPCODES.items():
    _ARG[_code] = _size
    _ACTION[_code] = {"FRAME": _SKIP, "BINPUT": _PUT1, "LONG_BINPUT": _PUT4, "BINGET": _GET1,
                      "LONG_BINGET": _GET4, "MEMOIZE": _MEMOIZE, "STACK_GLOBAL": _STACK_GLOBAL,
                      "STOP": _STOP, "GLOBAL": _GLOBAL, "INST": _GLOBAL}.get(
                          _name, _STRING if _name in _STRING_OPS else _OTHER)
_LENGTH_BYTES = {-2: 1, -3: 4, -4: 4, -5: 8}  # argument size code -> bytes of its length
_WIDTH_OF = [_LENGTH_BYTES.get(_ARG[_c], 0) if _ARG[_c] is not None else 0 for _c in range(256)]


def _scan_globals(raw: bytes) -> tuple[list[str], bool]:
    """(the globals, whether a large bytes argument was passed over: see _globals_of)."""
    found: list[str] = []
    below: str | None = None  # the second string from the top of the stack, if any
    top: str | None = None
    memo: dict[int, str | None] = {}
    i, end = 0, len(raw)
    action_of, arg_of, width_of = _ACTION, _ARG, _WIDTH_OF
    payload_key: tuple[bytes, bytes] | None = None
    dense = True  # the memo's keys are 0..len-1 (no PUT past its end), as MEMOIZE needs
    unsettled: list[tuple[int, int]] = []  # skipped episode runs whose MEMOIZEs are not yet counted
    while i < end:
        code = raw[i]
        if code == _EMPTY_DICT and dense:
            run = _EPISODE_RUN.match(raw, i)
            if run is not None:
                # ep_info_buffer's episodes: each record memoizes one None and leaves no
                # string on top, whatever its numbers are, so a run of them is skipped whole.
                # How many there were matters only to a later memo index: counted then.
                unsettled.append((i, run.end()))
                below = top = None
                i = run.end()
                continue
        action, size = action_of[code], arg_of[code]
        i += 1
        if size is None:
            raise ValueError("unknown opcode")
        if size > 0:
            if action == _OTHER:
                below, top = top, None
            elif action != _SKIP:  # FRAME has no stack effect; the rest use the memo
                if unsettled:
                    _settle(memo, raw, unsettled)
                if action == _PUT1:
                    if raw[i] > len(memo):
                        dense = False
                    memo[raw[i]] = top
                elif action == _GET1:
                    below, top = top, memo.get(raw[i])
                elif action == _PUT4:
                    index = int.from_bytes(raw[i:i + 4], "little")
                    if index > len(memo):
                        dense = False
                    memo[index] = top
                else:  # _GET4
                    below, top = top, memo.get(int.from_bytes(raw[i:i + 4], "little"))
            i += size
        elif size == 0:
            if action == _OTHER:
                below, top = top, None
            elif action == _MEMOIZE:
                if unsettled:
                    _settle(memo, raw, unsettled)
                memo[len(memo)] = top
            elif action == _STACK_GLOBAL:
                found.append(f"{below or '?'}.{top or '?'}")
                below = top = None
            elif action == _STOP:
                break
            # PROTO has an argument, so never reaches here
        elif size == -1:
            stop = raw.index(b"\n", i)
            if action == _GLOBAL:
                stop2 = raw.index(b"\n", stop + 1)
                found.append(raw[i:stop].decode() + "." + raw[stop + 1:stop2].decode())
                stop = stop2
            elif action == _STRING:
                below, top = top, raw[i:stop].decode("utf-8", "replace")
                i = stop + 1
                continue
            below, top = top, None
            i = stop + 1
        else:
            width = width_of[code]
            length = int.from_bytes(raw[i:i + width], "little")
            i += width
            if i + length > end:
                raise ValueError("argument runs past the end")
            if action == _STRING:
                below, top = top, raw[i:i + length].decode("utf-8", "surrogatepass")
            else:
                below, top = top, None
                if length >= _PAYLOAD_MIN and payload_key is None:
                    # A large bytes argument (an array's numbers) is never looked into, so
                    # the globals depend only on the bytes around it: a checkpoint's
                    # _last_obs differs from the last one's only inside that argument.
                    payload_key = (raw[:i], raw[i + length:])
                    known = _PAYLOAD_MEMO.get(payload_key)
                    if known is not None:
                        return list(known), True
            i += length
    else:
        raise ValueError("no STOP opcode")
    result = list(dict.fromkeys(found))
    if payload_key is not None:
        _remember_payload(payload_key, end, tuple(result))
    return result, payload_key is not None


def _remember_payload(key: tuple[bytes, bytes], length: int, found: tuple[str, ...]) -> None:
    """Remember the globals of a pickle by the bytes around its large bytes argument.

    Exact: a pickle of the same length whose bytes before and after that argument are the
    same parses the same way (up to the argument, opcode for opcode; the argument has the
    same length, declared by the same bytes, so it ends at the same place; after it the
    same again), whatever the argument's bytes are. Filed by length as well, so the next
    checkpoint's _last_obs is matched by two comparisons instead of walking up to its array.
    """
    if len(_PAYLOAD_MEMO) >= 4096:
        _PAYLOAD_MEMO.clear()
        _PAYLOAD_BY_LENGTH.clear()
    _PAYLOAD_MEMO[key] = found
    same_length = _PAYLOAD_BY_LENGTH.setdefault(length, [])
    if len(same_length) >= 8:  # a few per length: each costs a comparison on every lookup
        del same_length[0]
    same_length.append((key[0], key[1], found))


_EMPTY_DICT = ord("}")
# SB3 episode records as cloudpickle writes ep_info_buffer once their keys are memoized:
# EMPTY_DICT MEMOIZE MARK, BINGET "r" BINFLOAT, BINGET "l" <BININT2, BININT1 or BININT>,
# BINGET "t" BINFLOAT, SETITEMS. Each opcode with its exact argument length, so a match is
# a run of whole opcodes. The run is possessive, so the regex engine never backtracks into
# it; the int's three forms begin with three different opcode bytes, so at most one can
# match and a plain group is as exact as an atomic one, and cheaper (a fifth of the match):
# a hundred records in about 5 us, where walking their 1,100 opcodes costs over 100.
# "." under DOTALL is any byte, as [\s\S] is, at a third of the cost in the re engine.
_EPISODE_TEXT = rb"\}\x94\(h.G.{8}h.(?:M..|K.|J....)h.G.{8}u"
_EPISODE = re.compile(_EPISODE_TEXT, re.DOTALL)
_EPISODE_RUN = re.compile(b"(?:" + _EPISODE_TEXT + b")++", re.DOTALL)
# A whole ep_info_buffer as SB3 pickles it with cloudpickle (protocol 5): deque's one
# STACK_GLOBAL and its maxlen, the first record naming its keys, the rest as above, then
# APPENDS and STOP (one record: no MARK, and APPEND). Every opcode with its exact
# argument length, so a full match is a pickle made of exactly these opcodes, whose only
# global is collections.deque: one regular expression instead of walking its header and
# first record opcode by opcode.
_FIRST_EPISODE = rb"\}\x94\(\x8c\x01r\x94G.{8}\x8c\x01l\x94(?:M..|K.|J....)\x8c\x01t\x94G.{8}u"
_EPISODE_BUFFER = re.compile(
    rb"\x80\x05\x95.{8}\x8c\x0bcollections\x94\x8c\x05deque\x94\x93\x94"
    rb"\)(?:K.|M..|J....)\x86\x94R\x94"
    rb"(?>\(" + _FIRST_EPISODE + b"(?:" + _EPISODE_TEXT + b")*+e|" + _FIRST_EPISODE + rb"a)\.",
    re.DOTALL)


def is_episode_buffer(raw: bytes) -> bool:
    """Whether these pickle bytes are exactly an ep_info_buffer as SB3 writes it: a deque of
    episode dicts of numbers, every opcode matched with its exact argument length."""
    return _EPISODE_BUFFER.fullmatch(raw) is not None


def is_plain_array(raw: bytes) -> bool:
    """Whether these pickle bytes are exactly a numpy array as cloudpickle writes one
    (`_last_obs` and friends): see plain_array."""
    return plain_array(raw) is not None


@dataclass(frozen=True)
class PlainArray:
    """A numpy array's parts, read from the opcodes of its pickle without running it."""

    dtype: str  # numpy's code: "f4", "f8", "i8", ...
    byte_order: str  # "<", ">", "|" or "="
    shape: tuple[int, ...]
    fortran_order: bool
    data: bytes  # the raw element bytes, as numpy's _frombuffer would wrap them


def plain_array(raw: bytes) -> PlainArray | None:
    """The parts of a numpy array pickled as cloudpickle writes one (`_last_obs` and friends):
    `_frombuffer(<bytes>, dtype(<2-3 chars>, False, True) with its state, <shape of 1-3
    ints>, "C")`; None for anything else. Every opcode matched with its exact argument
    length (the data's own length read from its header), so a match is a pickle made of
    exactly these opcodes, whose only calls are numpy's _frombuffer and dtype: the parts
    are read from the match, and nothing is ever unpickled."""
    last = _LAST_ARRAY[0]
    if last is not None and len(raw) == last[0] and raw.startswith(last[1]) and raw.endswith(last[2]):
        # The same pickle as the last one around its data (a run's next checkpoint): the same
        # opcodes with the same arguments, the data's own length included, so the same parts.
        # Exact, as _remember_payload is: two comparisons instead of two regular expressions.
        head_end, data_end, parts = len(last[1]), len(raw) - len(last[2]), last[3]
        return PlainArray(parts.dtype, parts.byte_order, parts.shape, parts.fortran_order,
                          raw[head_end:data_end])
    head = _ARRAY_HEAD.match(raw)
    if head is None:
        return None
    data_end = head.end() + int.from_bytes(raw[head.end() - 8:head.end()], "little")
    tail = _ARRAY_TAIL.fullmatch(raw, data_end)
    if tail is None:
        return None
    dtype, byte_order, shape_ops, order = tail.group("dtype", "order", "shape", "layout")
    shape = []
    i = 0
    while i < len(shape_ops) - 1:  # the last byte is TUPLE1/2/3
        width = _INT_WIDTH[shape_ops[i]]
        shape.append(int.from_bytes(shape_ops[i + 1:i + 1 + width], "little", signed=width == 4))
        i += 1 + width
    parts = PlainArray(dtype[1:].decode("ascii"), byte_order.decode("ascii"), tuple(shape),
                       order == b"F", raw[head.end():data_end])
    _LAST_ARRAY[0] = (len(raw), raw[:head.end()], raw[data_end:], parts)
    return parts


# (pickle length, bytes before the data, bytes after it, its parts) of the last array matched
_LAST_ARRAY: list[tuple[int, bytes, bytes, PlainArray] | None] = [None]


_ARRAY_HEAD = re.compile(rb"\x80\x05\x95.{8}\x8c(?:\x13numpy\._core|\x12numpy\.core)\.numeric\x94"
                         rb"\x8c\x0b_frombuffer\x94\x93\x94\(\x96.{8}", re.DOTALL)
_INT = rb"(?:K.|M..|J....)"
_INT_WIDTH = {ord("K"): 1, ord("M"): 2, ord("J"): 4}  # BININT1, BININT2, BININT
_ARRAY_TAIL = re.compile(
    rb"\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c(?P<dtype>\x02[a-zA-Z?][0-9]|\x03[a-zA-Z][0-9]{2})"
    rb"\x94\x89\x88\x87\x94R\x94\(K\x03\x8c\x01(?P<order>[<>|=])\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b"
    rb"(?P<shape>" + _INT + rb"\x85|" + _INT + _INT + rb"\x86|" + _INT + _INT + _INT + rb"\x87)"
    rb"\x94\x8c\x01(?P<layout>[CF])\x94t\x94R\x94\.", re.DOTALL)


def _settle(memo: dict[int, str | None], raw: bytes, unsettled: list[tuple[int, int]]) -> None:
    """Add the None each skipped record memoized, as its MEMOIZE would have, before the memo
    is next used (the memo's keys were 0..len-1 when the records were skipped)."""
    for start, stop in unsettled:
        first = len(memo)
        memo.update(dict.fromkeys(range(first, first + len(_EPISODE.findall(raw, start, stop)))))
    unsettled.clear()


_PAYLOAD_MIN = 32  # bytes: smaller arguments are cheaper to walk past than to key on
# (pickle bytes before a large bytes argument, bytes after it) -> the globals found
_PAYLOAD_MEMO: dict[tuple[bytes, bytes], tuple[str, ...]] = {}
# pickle length -> the last few (bytes before, bytes after, globals) of that length
_PAYLOAD_BY_LENGTH: dict[int, list[tuple[bytes, bytes, tuple[str, ...]]]] = {}


def _scan_globals_slow(raw: bytes) -> list[str]:
    """The pickletools walk, for pickles the fast loop finds malformed (to say so right)."""
    found: list[str] = []
    pushed: list[str | None] = []
    memo: dict[int, str | None] = {}
    try:
        for opcode, arg, _pos in pickletools.genops(raw):
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                found.append(f"{module}.{attr}")
                pushed.append(None)
            elif name == "STACK_GLOBAL":
                module = pushed[-2] if len(pushed) >= 2 else None
                attr = pushed[-1] if pushed else None
                found.append(f"{module or '?'}.{attr or '?'}")
                pushed[-2:] = [None]
            elif name in _STRING_OPS:
                pushed.append(str(arg))
            elif name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = pushed[-1] if pushed else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                pushed.append(memo.get(int(arg)))
            elif name not in ("FRAME", "PROTO", "STOP"):
                pushed.append(None)
            if len(pushed) > 64:
                del pushed[:32]
    except (ValueError, EOFError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        found.append(MALFORMED)
    return list(dict.fromkeys(found))
