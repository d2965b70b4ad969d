"""What a pickle would import and CALL, worked out from its opcodes without running any of it.

Listing the globals is not enough: `builtins.getattr` is harmless until it is called on a
module with "system", and a cloudpickled function is harmless until its code object says
what it does. So the opcodes are evaluated symbolically: literals (numbers, strings,
bytes, tuples, lists, dicts) are rebuilt as they are, a global becomes `Ref(name)`, and
every REDUCE / NEWOBJ / INST / OBJ / BUILD is handed to a judge (trader_safety) that
says what the call yields, or why it is refused. Nothing is imported, nothing is called.
"""

from __future__ import annotations

import pickletools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A pickle too large to evaluate here is judged by its size alone (the caller's rule).
MAX_EVAL_BYTES = 64 * 1024 * 1024
_MAX_STACK = 100_000


@dataclass(frozen=True)
class Ref:
    """A global the pickle would import: `module.name`, never resolved."""

    name: str


@dataclass(frozen=True, eq=False)
class Made:
    """What a judged call yields: an object of `kind` ("code", "function", "cell", an
    allowed class's name for its instances), with `detail` for the judge's later checks."""

    kind: str
    detail: Any = None


class Refusal(Exception):
    """The pickle does something outside what the judge allows; `names` are the globals at fault."""

    def __init__(self, why: str, names: tuple[str, ...] = ()):
        super().__init__(why)
        self.why, self.names = why, names


class _Mark:
    pass


_MARK = _Mark()
# Call judge: (callable, positional args, opcode name) -> what the call yields.
Judge = Callable[[Any, tuple[Any, ...], str], Any]


def evaluate(
    raw: bytes,
    judge: Judge,
    *,
    allowed_opcodes: frozenset[str] | None = None,
    on_global: Callable[[str], None] | None = None,
    on_persistent_id: Callable[[Any], Any] | None = None,
) -> Any:
    """The value the pickle builds, with every global and call passed through the callbacks.

    Raises Refusal for anything refused, or for a malformed pickle ("<malformed pickle>").
    `allowed_opcodes`: refuse any other opcode (torch's weights_only reader knows few).
    """
    if len(raw) > MAX_EVAL_BYTES:
        raise Refusal(f"pickle of {len(raw)} bytes is too large to check")
    stack: list[Any] = []
    marks: list[list[Any]] = []
    memo: dict[int, Any] = {}
    try:
        for opcode, arg, _pos in pickletools.genops(raw):
            name = opcode.name
            if allowed_opcodes is not None and name not in allowed_opcodes:
                raise Refusal(f"opcode {name} is refused by torch.load(weights_only=True)")
            if len(stack) > _MAX_STACK:
                raise Refusal("pickle stack too deep to check")
            result = _step(name, arg, stack, marks, memo, judge, on_global, on_persistent_id)
            if result is not _CONTINUE:
                return result
    except Refusal:
        raise
    except (
        ValueError,
        EOFError,
        KeyError,
        IndexError,
        TypeError,
        UnicodeDecodeError,
        RecursionError,
        OverflowError,
    ) as exc:
        raise Refusal(f"malformed pickle ({type(exc).__name__})", ("<malformed pickle>",)) from None
    raise Refusal("malformed pickle (no STOP)", ("<malformed pickle>",))


_CONTINUE = object()
_LITERAL_OPS = frozenset(
    {
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "FLOAT",
        "BINFLOAT",
        "BYTEARRAY8",
    }
)


def _pop_mark(stack: list[Any], marks: list[list[Any]]) -> list[Any]:
    items = stack[:]
    stack[:] = marks.pop()
    return items


def _step(
    name: str,
    arg: Any,
    stack: list[Any],
    marks: list[list[Any]],
    memo: dict[int, Any],
    judge: Judge,
    on_global: Callable[[str], None] | None,
    on_persistent_id: Callable[[Any], Any] | None,
) -> Any:
    """One opcode's effect on the stack, as pickle's own machine would have it."""
    if name in _LITERAL_OPS:
        stack.append(arg if name != "BYTEARRAY8" else bytes(arg))
    elif name in ("PROTO", "FRAME"):
        pass
    elif name == "STOP":
        return stack.pop()
    elif name == "NONE":
        stack.append(None)
    elif name in ("NEWTRUE", "NEWFALSE"):
        stack.append(name == "NEWTRUE")
    elif name in ("GLOBAL", "INST"):
        module, _, attr = str(arg).partition(" ")
        full = f"{module}.{attr}"
        if on_global is not None:
            on_global(full)
        if name == "GLOBAL":
            stack.append(Ref(full))
        else:
            stack.append(judge(Ref(full), tuple(_pop_mark(stack, marks)), "INST"))
    elif name == "STACK_GLOBAL":
        attr, module = stack.pop(), stack.pop()
        if not isinstance(module, str) or not isinstance(attr, str):
            raise Refusal("STACK_GLOBAL with names that are not strings", ("<computed global>",))
        full = f"{module}.{attr}"
        if on_global is not None:
            on_global(full)
        stack.append(Ref(full))
    elif name == "REDUCE":
        args = stack.pop()
        func = stack.pop()
        if not isinstance(args, tuple):
            raise Refusal("REDUCE with arguments that are not a tuple")
        stack.append(judge(func, args, "REDUCE"))
    elif name == "NEWOBJ":
        args = stack.pop()
        cls = stack.pop()
        stack.append(judge(cls, tuple(args) if isinstance(args, tuple) else (args,), "NEWOBJ"))
    elif name == "NEWOBJ_EX":
        _kwargs, args, cls = stack.pop(), stack.pop(), stack.pop()
        stack.append(judge(cls, tuple(args) if isinstance(args, tuple) else (args,), "NEWOBJ"))
    elif name == "OBJ":
        items = _pop_mark(stack, marks)
        if not items:
            raise IndexError("OBJ without a class")
        stack.append(judge(items[0], tuple(items[1:]), "OBJ"))
    elif name == "BUILD":
        state = stack.pop()
        judge(stack[-1], (state,), "BUILD")
    elif name == "MARK":
        marks.append(stack[:])
        stack.clear()
    elif name == "POP":
        stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack, marks)
    elif name == "DUP":
        stack.append(stack[-1])
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[int(arg)] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[int(arg)])
    elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "EMPTY_TUPLE"):
        stack.append(
            {"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_SET": list, "EMPTY_TUPLE": tuple}[
                name
            ]()
        )
    elif name in ("LIST", "TUPLE", "FROZENSET"):
        items = _pop_mark(stack, marks)
        stack.append(list(items) if name == "LIST" else tuple(items))
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        made = tuple(stack[-n:])
        if len(made) != n:
            raise IndexError("tuple of missing items")
        del stack[-n:]
        stack.append(made)
    elif name == "DICT":
        items = _pop_mark(stack, marks)
        stack.append(_pairs({}, items))
    elif name == "APPEND":
        value = stack.pop()
        _extend(stack[-1], [value])
    elif name in ("APPENDS", "ADDITEMS"):
        items = _pop_mark(stack, marks)
        _extend(stack[-1], items)
    elif name == "SETITEM":
        value, key = stack.pop(), stack.pop()
        _pairs(stack[-1], [key, value])
    elif name == "SETITEMS":
        items = _pop_mark(stack, marks)
        _pairs(stack[-1], items)
    elif name in ("PERSID", "BINPERSID"):
        pid = arg if name == "PERSID" else stack.pop()
        if on_persistent_id is None:
            raise Refusal("a persistent id, which a plain unpickler refuses")
        stack.append(on_persistent_id(pid))
    elif name in ("EXT1", "EXT2", "EXT4"):
        raise Refusal(
            "an extension-registry reference (copyreg), which names no global", ("<extension>",)
        )
    elif name == "NEXT_BUFFER" or name == "READONLY_BUFFER":
        raise Refusal("an out-of-band buffer, which SB3 never writes")
    else:
        raise Refusal(f"opcode {name}", ("<malformed pickle>",))
    return _CONTINUE


# Containers whose append/__setitem__ are the standard library's own: filling one is data.
_CONTAINER_CLASSES = frozenset(
    {"collections.deque", "collections.OrderedDict", "collections.Counter"}
)


def _extend(target: Any, items: list[Any]) -> None:
    """APPEND(S) on a list is a list's; on anything else the unpickler calls its
    `extend`/`append`: a call, judged as such by refusing it here."""
    if isinstance(target, Made) and target.kind in _CONTAINER_CLASSES:
        return  # a deque's own append: the items are judged where they were made
    if type(target) is not list:
        raise Refusal("APPEND on an object that is not a list (calls its append method)")
    target.extend(items)


def _pairs(target: Any, items: list[Any]) -> dict[Any, Any]:
    """SETITEM(S) on a dict; on anything else the unpickler calls its __setitem__: refused."""
    if isinstance(target, Made) and target.kind in _CONTAINER_CLASSES:
        # An OrderedDict's own __setitem__; a judge that keeps its items gave it a dict.
        if isinstance(target.detail, dict):
            for i in range(0, len(items) - 1, 2):
                try:
                    target.detail[items[i]] = items[i + 1]
                except TypeError:
                    raise Refusal("a dict key that is not hashable") from None
        return {}
    if type(target) is not dict:
        raise Refusal("SETITEM on an object that is not a dict (calls its __setitem__)")
    if len(items) % 2:
        raise IndexError("odd number of dict items")
    for i in range(0, len(items), 2):
        key = items[i]
        try:
            target[key] = items[i + 1]
        except TypeError:  # an unhashable key (a list): the real unpickler fails too
            raise Refusal("a dict key that is not hashable") from None
    return target


MALFORMED = "<malformed pickle>"  # among the globals listed for a pickle that does not parse
Problem = tuple[str, tuple[str, ...]]  # (why, the globals at fault)


@dataclass(frozen=True)
class Walked:
    """One opcode walk of a pickle: every global it imports (in order, a malformed pickle
    adding "<malformed pickle>"), why the trader must not load it (None: it may), and the
    value the walk built (None when refused)."""

    globals: tuple[str, ...]
    problem: Problem | None
    value: Any


def describe(value: Any) -> str:
    """A value the walk built, in a refusal's words: a global's name, "a code", a type."""
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Made):
        return f"a {value.kind}"
    return type(value).__name__
