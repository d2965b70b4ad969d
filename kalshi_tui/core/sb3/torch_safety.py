"""Would torch.load(weights_only=True) refuse a torch member's data.pkl? Decided by the one
opcode walk (pickle_calls.evaluate), mirrored from torch/_weights_only_unpickler.py (torch
2.13): the opcodes it reads, the globals it resolves, what a persistent id may be. The walk
keeps each tensor's size, so the weight shapes come from the same walk (weights.py).
"""

from __future__ import annotations

import re
from typing import Any

from kalshi_tui.core.sb3.pickle_calls import (
    MALFORMED,
    Made,
    Problem,
    Ref,
    Refusal,
    Walked,
    describe,
    evaluate,
)

# ---- torch members: mirrored from torch/_weights_only_unpickler.py (torch 2.13) -------------

_TORCH_OPCODES = frozenset(
    {
        "APPENDS",
        "APPEND",
        "BINFLOAT",
        "BINGET",
        "LONG_BINGET",
        "BININT1",
        "BININT2",
        "BININT",
        "BINPERSID",
        "BINPUT",
        "LONG_BINPUT",
        "BINUNICODE",
        "BUILD",
        "EMPTY_DICT",
        "EMPTY_LIST",
        "EMPTY_SET",
        "EMPTY_TUPLE",
        "GLOBAL",
        "LONG1",
        "MARK",
        "NEWFALSE",
        "NEWOBJ",
        "NEWTRUE",
        "NONE",
        "PROTO",
        "REDUCE",
        "SETITEMS",
        "SETITEM",
        "SHORT_BINSTRING",
        "STOP",
        "TUPLE1",
        "TUPLE2",
        "TUPLE3",
        "TUPLE",
    }
)
_TORCH_STORAGE = re.compile(
    r"torch\.(?:cuda\.)?(?:BFloat16|Bool|Byte|Char|ComplexDouble|ComplexFloat|Double|Float|"
    r"Half|Int|Long|Short)Storage|torch\.(?:QInt32|QInt8|QUInt2x4|QUInt4x2|QUInt8)Storage"
    r"|torch\.storage\.(?:Typed|Untyped)Storage"
)
_TORCH_TENSOR = re.compile(
    r"torch\.(?:(?:cuda\.)?(?:sparse\.)?)(?:BFloat16|Bool|Byte|Char|Double|"
    r"Float|Half|Int|Long|Short)Tensor|torch\.Tensor"
)
_TORCH_DTYPE = re.compile(
    r"torch\.(?:bfloat16|bits16|bits1x8|bits2x4|bits4x2|bits8|bool|"
    r"complex(?:128|32|64)|float(?:16|32|64)|float4_e2m1fn_x2|float8_e4m3fn(?:uz)?|"
    r"float8_e5m2(?:fnuz)?|float8_e8m0fnu|u?int[1-7]|int(?:16|32|64|8)|"
    r"uint(?:16|32|64|8)|qint32|qint8|quint2x4|quint4x2|quint8|"
    r"per_(?:channel_affine(?:_float_qparams)?|channel_symmetric|"
    r"tensor_affine|tensor_symmetric))"
)
_TORCH_NAMED = frozenset(
    {
        "collections.OrderedDict",
        "collections.Counter",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch.Size",
        "torch.device",
        "_codecs.encode",
        "builtins.bytearray",
        "builtins.set",
        "builtins.complex",
        "torch._tensor._rebuild_from_type_v2",
        *(
            f"torch._utils.{f}"
            for f in (
                "_rebuild_parameter",
                "_rebuild_parameter_with_state",
                "_rebuild_qtensor",
                "_rebuild_tensor",
                "_rebuild_tensor_v2",
                "_rebuild_tensor_v3",
                "_rebuild_sparse_tensor",
                "_rebuild_meta_tensor_no_storage",
                "_rebuild_nested_tensor",
                "_rebuild_wrapper_subclass",
                "_rebuild_device_tensor_from_numpy",
                "_rebuild_device_tensor_from_cpu_tensor",
            )
        ),
    }
)
_TORCH_BLOCKED_MODULES = frozenset({"sys", "os", "posix", "nt"})


def torch_allows(name: str) -> bool:
    """Whether torch.load(weights_only=True) resolves this GLOBAL (its default allowlist)."""
    return (
        name in _TORCH_NAMED
        or _TORCH_STORAGE.fullmatch(name) is not None
        or _TORCH_TENSOR.fullmatch(name) is not None
        or _TORCH_DTYPE.fullmatch(name) is not None
    )


_TENSOR_REBUILDERS = frozenset(
    f"torch._utils.{f}" for f in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3")
)


def _torch_judge(func: Any, args: tuple[Any, ...], how: str) -> Any:
    if how == "BUILD":
        if isinstance(func, Made):
            return None
        raise Refusal(f"BUILD on {describe(func)}, which weights_only refuses")
    if not isinstance(func, Ref):
        raise Refusal(f"calls {describe(func)}, which weights_only refuses")
    name = func.name
    # A tensor is kept as its shape (the listing's weight shapes), a state dict as its items.
    if name in _TENSOR_REBUILDERS and len(args) >= 3 and type(args[2]) is tuple:
        return Made("tensor", args[2])
    if name.startswith("torch._utils._rebuild_parameter") and args and isinstance(args[0], Made):
        return args[0]
    if name == "collections.OrderedDict":
        return Made(name, {})
    return Made(name)


def _torch_persistent_id(pid: Any) -> Any:
    if type(pid) is tuple and pid and pid[0] in ("storage", b"storage"):
        return Made("storage")
    if type(pid) is int:
        return Made("storage")
    raise Refusal("a persistent id that is not a storage")


def torch_pickle_problem(raw: bytes) -> Problem | None:
    """(why torch.load(weights_only=True) refuses this data.pkl, the globals at fault), or None."""
    return walk_torch_pickle(raw).problem


def walk_torch_pickle(raw: bytes) -> Walked:
    """The walk of a torch member's data.pkl, as torch's weights_only reader would judge it."""
    seen: list[str] = []
    refusal: Refusal | None
    try:
        value = evaluate(
            raw,
            _torch_judge,
            allowed_opcodes=_TORCH_OPCODES,
            on_global=seen.append,
            on_persistent_id=_torch_persistent_id,
        )
    except Refusal as exc:
        value, refusal = None, exc
    else:
        refusal = None
    listed = tuple(dict.fromkeys(seen))
    refused = [
        name
        for name in listed
        if name.split(".", 1)[0] in _TORCH_BLOCKED_MODULES or not torch_allows(name)
    ]
    if refusal is not None:
        names = tuple(dict.fromkeys([*refusal.names, *refused]))
        why = refusal.why + (f" (imports {', '.join(refused[:5])})" if refused else "")
        if MALFORMED in refusal.names:
            listed = (*listed, MALFORMED)
        return Walked(listed, (why, names), None)
    if refused:
        return Walked(listed, (f"imports {', '.join(refused[:5])}", tuple(refused)), None)
    return Walked(listed, None, value)
