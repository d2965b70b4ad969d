"""Would the trader's `PPO.load` run code from this model? Decided from opcodes, never by loading.

`PPO.load` runs `cloudpickle.loads` on every `:serialized:` value of `data` and
`torch.load(weights_only=True)` on policy.pth, pytorch_variables.pth and
policy.optimizer.pth. A model is UNSAFE when any of those pickles imports or calls
something outside what SB3 itself writes (plus the team's `catalog.trusted_globals`), or
when torch's weights_only reader would refuse one of the torch members.

"What SB3 itself writes", precisely (checked against every model SB3 2.9 makes in
tests/hostile): its own policy, buffer, schedule, noise, extractor and train-frequency
classes; gymnasium spaces; the numpy reconstructors of arrays, dtypes, scalars and random
generators; collections.deque/OrderedDict; torch optimizer and activation classes. Each
of those may be called (that is how a pickle makes instances); nothing else may be.

Schedules: SB3 up to 2.5 wrote `learning_rate`, `lr_schedule`, `clip_range` as
cloudpickled closures (`constant_fn.<locals>.func`, `get_linear_fn.<locals>.func`),
functions rebuilt from a code object, and PPO.load calls lr_schedule while building the
optimizer: that code runs. Such a function is accepted only when its code object is, field
for field (bytecode, constants, names, variables, flags, stack size), what this Python
(the trader's) compiles SB3's own closure to, only its file name and line numbers free;
and when every closure cell and default is a number and its globals hold plain data. Any
other code object is UNSAFE: it is code, and the trader would run it (CPython never
checks bytecode, so even "harmless-looking" opcodes with crafted arguments read memory).
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

# ---- data pickles: what SB3 itself writes ---------------------------------------------------

_SB3_CLASS = re.compile(
    r"(stable_baselines3|sb3_contrib)\.(?:"
    r"(?:\w+\.)*policies\.\w*(?:Policy|Policies)"
    r"|common\.(?:\w+\.)?buffers\.\w*Buffer"
    r"|common\.utils\.(?:FloatSchedule|LinearSchedule|ConstantSchedule)"
    r"|common\.type_aliases\.(?:TrainFreq|TrainFrequencyUnit)"
    r"|common\.noise\.\w*Noise"
    r"|common\.torch_layers\.\w*Extractor"
    r"|common\.sb2_compat\.rmsprop_tf_like\.RMSpropTFLike"
    r"|her\.her_replay_buffer\.HerReplayBuffer"
    r"|her\.goal_selection_strategy\.GoalSelectionStrategy)"
)
_OTHER_CLASS = re.compile(
    r"gymnasium\.spaces\.\w+\.[A-Z]\w*|gym\.spaces\.\w+\.[A-Z]\w*"
    r"|torch\.optim\.\w+\.[A-Z]\w*|torch\.nn\.modules\.activation\.[A-Z]\w*"
    r"|numpy\.dtypes\.\w+DType|numpy\.(?:float|int|uint|complex)\d*|numpy\.bool_?"
)
_NUMPY_CALLS = frozenset(
    f"numpy.{core}.{name}"
    for core in ("core", "_core")
    for name in ("multiarray._reconstruct", "multiarray.scalar", "numeric._frombuffer")
) | {
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pcg64.PCG64",
    "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._mt19937.MT19937",
    "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
    "numpy.random._generator.Generator",
    "numpy.random.mtrand.RandomState",
}
_PLAIN_CALLS = _NUMPY_CALLS | {
    "collections.deque",
    "collections.OrderedDict",
    "builtins.float",
    "builtins.int",
    "builtins.bool",
    "builtins.str",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.complex",
    "builtins.tuple",
    "builtins.list",
    "builtins.dict",
    "builtins.set",
    "builtins.frozenset",
    "builtins.slice",
    "builtins.range",
    "copyreg._reconstructor",
    "copyreg.__newobj__",
}
# Named but never called on their own: cloudpickle's helpers (judged below), torch dtypes.
_CLOUDPICKLE = tuple(f"cloudpickle.{m}." for m in ("cloudpickle", "cloudpickle_fast"))
_CLOUDPICKLE_HELPERS = frozenset(
    {"_builtin_type", "_make_function", "_make_empty_cell", "_make_cell", "_function_setstate"}
)
_VALUE_ONLY = re.compile(
    r"torch\.(?:b?float\d*|u?int\d+|bool|complex\d+|half|double)|builtins\.object"
    r"|builtins\.getattr|types\.CodeType"
)
# SB3's own schedule closures, the only functions-by-value SB3 ever wrote, as SB3 2.x's
# stable_baselines3/common/utils.py defines them. Compiled here (our own text, never the
# file's) so a pickled code object can be compared with what this Python makes of them.
SB3_SCHEDULE_SOURCE = """
def constant_fn(val):
    def func(_):
        return val
    return func

def get_linear_fn(start, end, end_fraction):
    def func(progress_remaining: float) -> float:
        if (1 - progress_remaining) > end_fraction:
            return end
        else:
            return start + (1 - progress_remaining) * (end - start) / end_fraction
    return func
"""


def _schedule_codes() -> dict[str, Any]:
    # dont_inherit: this module's own `from __future__ import annotations` would set a flag
    # in the code that SB3's (compiled without it) does not have.
    outer = compile(SB3_SCHEDULE_SOURCE, "<sb3 schedules>", "exec", dont_inherit=True)
    found = {}
    for factory in outer.co_consts:
        for inner in getattr(factory, "co_consts", ()):
            if hasattr(inner, "co_code"):
                found[inner.co_qualname] = inner
    return found


SB3_SCHEDULE_CODES = _schedule_codes()
SB3_SCHEDULE_FUNCTIONS = frozenset(SB3_SCHEDULE_CODES)


def _is_sb3_class(name: str, trusted: frozenset[str]) -> bool:
    return (
        name in trusted
        or _SB3_CLASS.fullmatch(name) is not None
        or _OTHER_CLASS.fullmatch(name) is not None
    )


def known_data_global(name: str, trusted: frozenset[str] = frozenset()) -> bool:
    """Whether SB3's own pickles (or the team's trusted list) ever name this global."""
    if name in _PLAIN_CALLS or _is_sb3_class(name, trusted) or _VALUE_ONLY.fullmatch(name):
        return True
    return name.startswith(_CLOUDPICKLE) and name.rsplit(".", 1)[1] in _CLOUDPICKLE_HELPERS


def _number(value: Any) -> bool:
    return type(value) in (int, float, bool)


def _literal(value: Any, depth: int = 0) -> bool:
    """Plain data the pickle spelled out (no global, nothing a call made)."""
    if value is None or type(value) in (int, float, bool, str, bytes, complex):
        return True
    if depth > 8:
        return False
    if type(value) in (tuple, list):
        return all(_literal(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(_literal(k, depth + 1) and _literal(v, depth + 1) for k, v in value.items())
    return False


class _DataJudge:
    """The call judge for `data` pickles (see pickle_calls.evaluate)."""

    def __init__(self, trusted: frozenset[str]):
        self.trusted = trusted
        # Globals outside SB3's set that the pickle calls. Recorded, and the walk goes on:
        # stopping at the first (a team's own class, which config may trust) would hide an
        # os.system called after it.
        self.calls: list[str] = []

    def __call__(self, func: Any, args: tuple[Any, ...], how: str) -> Any:
        if how == "BUILD":
            return self._build(func, args[0])
        if not isinstance(func, Ref):
            raise Refusal(f"calls an object the pickle built ({describe(func)})")
        name = func.name
        if name.startswith(_CLOUDPICKLE):
            return self._cloudpickle(name.rsplit(".", 1)[1], name, args)
        if name == "builtins.getattr":
            return self._getattr(args)
        if name == "types.CodeType":
            return Made("code", _code_facts(args))
        if name == "copyreg._reconstructor":
            if len(args) != 3 or not isinstance(args[0], Ref) or args[1] != Ref("builtins.object"):
                raise Refusal("copyreg._reconstructor with unusual arguments", (name,))
            return self(args[0], (), "NEWOBJ")
        if name == "copyreg.__newobj__":
            if not args:
                raise Refusal("copyreg.__newobj__ without a class", (name,))
            return self(args[0], args[1:], "NEWOBJ")
        if name == "numpy.dtype" or name.endswith("numeric._frombuffer"):
            # Kept for the listing's layout evidence (an array's parts, see array_parts).
            return Made(name, {"args": args, "state": None})
        if name in _PLAIN_CALLS or _is_sb3_class(name, self.trusted):
            return Made(name)
        self.calls.append(name)
        return Made(name)

    def _build(self, target: Any, state: Any) -> None:
        if isinstance(target, Made) and target.kind == "function":
            _check_function_state(target, state)
        elif isinstance(target, Made) and target.kind == "numpy.dtype":
            target.detail["state"] = state
        elif not (isinstance(target, Made) and target.kind not in ("code", "cell")):
            # BUILD on a class sets attributes on it (monkeypatching), on a literal fails.
            raise Refusal(
                f"sets the state of {describe(target)}",
                (target.name,) if isinstance(target, Ref) else (),
            )

    def _getattr(self, args: tuple[Any, ...]) -> Ref:
        """getattr(global, "name"): only as another name SB3 writes (an enum member, say)."""
        if len(args) != 2 or not isinstance(args[0], Ref) or not isinstance(args[1], str):
            raise Refusal("calls builtins.getattr on something computed", ("builtins.getattr",))
        found = f"{args[0].name}.{args[1]}"
        # Public members only (an enum's, say): "_" names are how a pickle climbs from a
        # harmless class to its module's globals (__init__.__globals__, ...).
        if not _is_sb3_class(args[0].name, self.trusted) or args[1].startswith("_"):
            raise Refusal(f"calls builtins.getattr to reach {found}", (found,))
        return Ref(found)

    def _cloudpickle(self, helper: str, name: str, args: tuple[Any, ...]) -> Any:
        if helper == "_builtin_type":
            if len(args) != 1 or args[0] != "CodeType":
                raise Refusal(f"calls {name}{args!r:.60}", (name,))
            return Ref("types.CodeType")
        if helper == "_make_empty_cell":
            return Made("cell", {"value": 0.0})
        if helper == "_make_cell":
            if len(args) != 1 or not _number(args[0]):
                raise Refusal("closes over something other than a number", (name,))
            return Made("cell", {"value": args[0]})
        if helper == "_make_function":
            code = args[0] if args else None
            if not (isinstance(code, Made) and code.kind == "code"):
                raise Refusal("makes a function from something other than a code object", (name,))
            problem = code.detail.get("problem")
            if problem:
                raise Refusal(
                    f"builds a function from code ({problem})", (f"{name}", "types.CodeType")
                )
            globals_dict = args[1] if len(args) > 1 else {}
            closure = args[4] if len(args) > 4 else None
            if not _literal(globals_dict) or not _cells(closure):
                raise Refusal(
                    "builds a function with a non-literal globals dict or closure", (name,)
                )
            return Made("function", code.detail)
        if helper == "_function_setstate":
            if len(args) != 2 or not (isinstance(args[0], Made) and args[0].kind == "function"):
                raise Refusal("sets the state of something other than an SB3 schedule", (name,))
            _check_function_state(args[0], args[1])
            return None
        raise Refusal(f"calls {name}", (name,))


def _cells(closure: Any) -> bool:
    return closure is None or (
        type(closure) is tuple and all(isinstance(c, Made) and c.kind == "cell" for c in closure)
    )


def _check_function_state(func: Made, state: Any) -> None:
    """cloudpickle's (state, slotstate) for a function: only numbers and names may be in it."""
    if type(state) is not tuple or len(state) != 2:
        raise Refusal("a function state that is not cloudpickle's", ("cloudpickle",))
    plain, slots = state
    if not (type(plain) is dict and _literal(plain) and type(slots) is dict):
        raise Refusal("a function state holding objects", ("cloudpickle",))
    for key, value in slots.items():
        if key == "__closure__":
            ok = value is None or (
                type(value) is tuple
                and all(
                    isinstance(c, Made) and c.kind == "cell" and _number(c.detail["value"])
                    for c in value
                )
            )
        elif key == "__annotations__":
            ok = type(value) is dict and all(
                _literal(v) or v in (Ref("builtins.float"), Ref("builtins.int"))
                for v in value.values()
            )
        elif key == "_cloudpickle_submodules":
            ok = value == []
        elif key in ("__defaults__", "__kwdefaults__"):
            ok = value is None or (
                _literal(value)
                and all(_number(v) for v in (value.values() if type(value) is dict else value))
            )
        else:
            ok = _literal(value)
        if not ok:
            raise Refusal(f"a function whose {key} holds more than numbers", ("cloudpickle",))
    qualname = slots.get("__qualname__", func.detail.get("qualname"))
    if (
        qualname not in SB3_SCHEDULE_FUNCTIONS
        or slots.get("__module__") != "stable_baselines3.common.utils"
    ):
        raise Refusal(
            f"a function by value ({qualname!s:.80}), not one of SB3's schedules",
            ("cloudpickle.cloudpickle._make_function", "types.CodeType"),
        )


# CodeType's positional arguments since Python 3.11 (the project's floor), in order.
_CODE_FIELDS = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_nlocals",
    "co_stacksize",
    "co_flags",
    "co_code",
    "co_consts",
    "co_names",
    "co_varnames",
    "co_filename",
    "co_name",
    "co_qualname",
    "co_firstlineno",
    "co_linetable",
    "co_exceptiontable",
    "co_freevars",
    "co_cellvars",
)
# Fields that only place the code (file, line numbers): any value of the right type will do.
# Every other field, the bytecode above all, must be exactly what this Python compiles SB3's
# closure to: CPython never checks bytecode, so anything else could read or write memory.
_PLACE_FIELDS = frozenset({"co_filename", "co_name", "co_firstlineno", "co_linetable"})


def _code_facts(args: tuple[Any, ...]) -> dict[str, Any]:
    """What a CodeType call would build, and why it is not SB3's own code (detail["problem"])."""
    if len(args) != len(_CODE_FIELDS):
        return {
            "problem": f"a code object of {len(args)} fields, not this Python's {len(_CODE_FIELDS)}"
        }
    fields = dict(zip(_CODE_FIELDS, args, strict=True))
    qualname = fields["co_qualname"]
    known = SB3_SCHEDULE_CODES.get(qualname) if isinstance(qualname, str) else None
    if known is None:
        return {
            "qualname": qualname,
            "problem": f"code of {str(qualname)[:80]}, not one of SB3's schedules",
        }
    for name, value in fields.items():
        expected = getattr(known, name)
        if name in _PLACE_FIELDS:
            if type(value) is not type(expected) or (name == "co_linetable" and len(value) > 256):
                return {"qualname": qualname, "problem": f"a code object with an unusual {name}"}
        elif value != expected or type(value) is not type(expected):
            return {
                "qualname": qualname,
                "problem": f"code named {qualname} whose {name} is not SB3's",
            }
    return {"qualname": qualname}


def data_pickle_problem(raw: bytes, trusted: frozenset[str] = frozenset()) -> Problem | None:
    """(why the trader must not unpickle this `data` value, the globals at fault), or None."""
    return walk_data_pickle(raw, trusted).problem


def walk_data_pickle(raw: bytes, trusted: frozenset[str] = frozenset()) -> Walked:
    """The walk of a `data` value's pickle: what it imports, calls and builds."""
    seen: list[str] = []
    judge = _DataJudge(trusted)
    value = None
    refusal = None
    try:
        value = evaluate(raw, judge, on_global=seen.append)
    except Refusal as refused:
        refusal = refused
    listed = tuple(dict.fromkeys(seen))
    unknown = [name for name in listed if not known_data_global(name, trusted)]
    if refusal is not None:
        # What SB3 never does with any global (code, a climb through getattr, patching a
        # class, a malformed pickle): no trusted_globals entry can make it safe, which the
        # "<refused>" name (never trusted: compat.NEVER_TRUSTED) keeps so.
        names = tuple(dict.fromkeys([*refusal.names, *judge.calls, *unknown, UNTRUSTABLE]))
        why = refusal.why + (f" (imports {', '.join(unknown[:5])})" if unknown else "")
        if MALFORMED in refusal.names:
            listed = (*listed, MALFORMED)
        return Walked(listed, (why, names), None)
    if judge.calls:
        names = tuple(dict.fromkeys([*judge.calls, *unknown]))
        return Walked(listed, (f"calls {', '.join(dict.fromkeys(judge.calls[:5]))}", names), value)
    if unknown:
        return Walked(listed, (f"imports {', '.join(unknown[:5])}", tuple(unknown)), value)
    return Walked(listed, None, value)


UNTRUSTABLE = "<refused>"
