"""Read an SB3 model zip's facts without unpickling anything and without importing torch.

`PPO.load` unpickles every `:serialized:` entry of the `data` member, so a crafted zip runs
code before any error; listing a folder of models must never do that. Everything here
comes from the JSON, from `system_info.txt`, from the opcodes of the pickles (listed with
pickletools, never run) and from the tensor shapes in `policy.pth` (see weights.py).
Every size is capped before it is read: a zip's header can lie about what it inflates to.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import orjson

from kalshi_tui.core.evidence.layout import obs_layout_evidence
from kalshi_tui.core.sb3.member_safety import (DEFAULT_MAX_MEMBER_BYTES, TORCH_MEMBERS, Finding,
                                           data_findings, size_findings, torch_member_finding,
                                           torch_pickle_in, torch_pickle_in_window)
from kalshi_tui.core.sb3.pickle_scan import pickle_globals, pickle_globals_of_bytes
from kalshi_tui.core.sb3.weights import (WeightsUnreadable, read_weight_shapes, stored_member_offset,
                                     weight_shapes_from_bytes, weight_shapes_from_pickle,
                                     weight_shapes_from_window, weights_io_dims)
from kalshi_tui.core.sb3.members import FileZip, NotPlain, OverCap, PlainZip

__all__ = ["Sb3ZipInfo", "UnreadableModel", "infer_algorithm", "pickle_globals",
           "pickle_globals_of_bytes", "read_sb3_zip", "read_weight_shapes"]

DATA_MEMBER = "data"
WEIGHTS_MEMBER = "policy.pth"
_SMALL_MEMBER_CAP = 64 * 1024  # system_info.txt and the version member are a few hundred bytes
_ZIP_LOCAL_MAGIC = b"PK\x03\x04"
# Files up to this size are read whole (and hashed from memory); real SB3 models are a few MB.
_WHOLE_FILE_LIMIT = 64 * 1024 * 1024
# A listing's first read covers `data` and, when it lies within this much after it, the
# first KBs of policy.pth (its pickle of tensor shapes; 2 KB for a 64x64 network).
_HEAD_SLACK_BYTES = 64 * 1024
_WEIGHTS_HEAD_BYTES = 4 * 1024 + 256  # weights.first_member_pickle's 4 KB past the local header
# Read by position, only the directory and a few members are read: any size zipfile would
# take without zip64 (the end record's offsets are 32-bit).
_FILE_ZIP_LIMIT = 0xFFFFFFFF
# O_BINARY: Windows would otherwise read in text mode.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))
_HYPERPARAMETER_KEYS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "ent_coef",
                        "gamma", "gae_lambda", "clip_range", "vf_coef", "max_grad_norm",
                        "n_envs", "buffer_size", "learning_starts", "tau",
                        "target_update_interval", "exploration_fraction",
                        "exploration_initial_eps", "exploration_final_eps", "train_freq",
                        "gradient_steps", "policy_kwargs", "seed")


class UnreadableModel(Exception):
    """The file cannot be read as an SB3 model; `reason` is the operator's one-line why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Sb3ZipInfo:
    """What an SB3 zip declares about itself, read without running any of it."""

    data: dict[str, Any]
    members: list[str]
    system_info: dict[str, str] = field(default_factory=dict)
    sb3_version: str | None = None
    algorithm: str | None = None
    action_space_type: str | None = None  # Discrete, MultiDiscrete, Box, ...
    n_actions: int | None = None  # Discrete n; sum of nvec for MultiDiscrete; dims for Box
    action_nvec: list[int] | None = None
    obs_shape: list[int] | None = None
    obs_dtype: str | None = None
    obs_low: str | None = None
    obs_high: str | None = None
    policy_class: str | None = None
    pickle_globals: list[str] = field(default_factory=list)
    weight_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    weights_n_actions: int | None = None
    weights_obs_dim: int | None = None
    weights_error: str | None = None  # why the weight shapes could not be read, if so
    sha256: str | None = None  # set when the file was read whole (read_sb3_zip's `whole`)
    raw_data: bytes = field(default=b"", repr=False)  # the data member's bytes, as read
    from_orjson: bool = False  # data was parsed by orjson (see _parse_data)
    # Set when only the per-checkpoint values of `data` were parsed (see _DataTemplate):
    # `data` then holds those alone, and the template the facts of the rest.
    spliced: Any = field(default=None, repr=False)
    num_timesteps: int | None = None
    start_time_utc: str | None = None
    # The observation layout it was trained on (A, B or None) and why (core.layout_evidence).
    obs_layout: str | None = None
    obs_layout_evidence: str | None = None
    # Shared with every model whose settings are the same (as pickle_globals and versions
    # are): read them, copy them to change them.
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # "field name" -> globals its pickle references, for warnings that name the field (the
    # lists may be shared with other models' infos: read them, never change them)
    globals_by_field: dict[str, list[str]] = field(default_factory=dict)
    # What the trader's PPO.load would refuse or run: [where, why, globals] (member_safety).
    trader_findings: list[Finding] = field(default_factory=list)

    @property
    def versions(self) -> dict[str, str]:
        """Library versions the model was saved with, keyed sb3/torch/gymnasium/python/numpy.

        One dict per distinct set of versions, shared: read it, copy it to change it.
        """
        key = (tuple(map(self.system_info.get, _VERSION_KEYS)), self.sb3_version)
        found = _VERSIONS.get(key)
        if found is None:
            found = {short: value for short, value in zip(_VERSION_KEYS.values(), key[0]) if value}
            if self.sb3_version and "sb3" not in found:
                found["sb3"] = self.sb3_version
            if len(_VERSIONS) >= 256:
                _VERSIONS.clear()
            _VERSIONS[key] = found
        return found


def _new_info(members: list[str]) -> Sb3ZipInfo:
    """`Sb3ZipInfo(data={}, members=members)` in one dict copy instead of the dataclass's
    __init__, which sets its 28 fields one by one (the fast path makes one per file)."""
    info = object.__new__(Sb3ZipInfo)
    fields = _INFO_DEFAULTS.copy()  # every field, in field order, as __init__ sets them
    # The fields with a default_factory, each its own (a test checks none is missing).
    fields.update(data={}, members=members, system_info={}, pickle_globals=[], weight_shapes={},
                  hyperparameters={}, globals_by_field={}, trader_findings=[])
    info.__dict__ = fields
    return info


_INFO_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Sb3ZipInfo)}


_VERSION_KEYS = {"Stable-Baselines3": "sb3", "PyTorch": "torch", "Gymnasium": "gymnasium",
                 "Python": "python", "Numpy": "numpy", "GYM": "gym", "Cloudpickle": "cloudpickle"}
_VERSIONS: dict[tuple[Any, ...], dict[str, str]] = {}


def _collect_globals(data: dict[str, Any]) -> dict[str, list[str]]:
    """Globals per `:serialized:` field, looking into nested dicts (three levels) as well."""
    by_field: dict[str, list[str]] = {}
    for key, value in data.items():
        if type(value) is dict:
            _visit_globals(by_field, key, value, 0)
    return by_field


def _visit_globals(by_field: dict[str, list[str]], key: str, value: dict[str, Any], depth: int) -> None:
    """One dict's `:serialized:` globals into `by_field`, then its nested dicts'. A plain
    function, not a closure made anew for every file."""
    blob = value.get(":serialized:")
    if isinstance(blob, str):
        names = pickle_globals(blob)
        if names:
            by_field[key] = names
    if depth < 3:
        for sub_key, sub_value in value.items():
            if type(sub_value) is dict:
                _visit_globals(by_field, f"{key}.{sub_key}", sub_value, depth + 1)


# ---- reading the members ----------------------------------------------------------------

def _open_zip(path: str | os.PathLike) -> tuple[zipfile.ZipFile, int]:
    """Open the zip, turning every way a file is not one into an operator's reason."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnreadableModel("broken symlink") from None
        raise UnreadableModel("file not found") from None
    except PermissionError:
        raise UnreadableModel("permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableModel("symlink loop") from None
        raise UnreadableModel(f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UnreadableModel("is a directory")
    if not stat.S_ISREG(st.st_mode):
        # Opening a fifo or a device would block or stream forever.
        raise UnreadableModel("not a regular file")
    if st.st_size == 0:
        raise UnreadableModel("empty file")
    try:
        handle = open(path, "rb")
    except PermissionError:
        raise UnreadableModel("permission denied") from None
    except OSError as exc:
        raise UnreadableModel(f"cannot read: {exc.strerror or exc}") from None
    try:
        return zipfile.ZipFile(handle), st.st_size
    except NotImplementedError as exc:  # "zip file version 19.7": a damaged directory, mostly
        handle.close()
        raise UnreadableModel(f"corrupt zip ({exc})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, struct.error):
        handle.seek(0)
        head = handle.read(4)
        handle.close()
        # A zip cut short keeps its local header but loses the directory at its end.
        raise UnreadableModel("truncated zip" if head == _ZIP_LOCAL_MAGIC
                              else "not a zip file") from None


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, what: str) -> bytes:
    """A member's bytes, refused when its header OR its real inflated size passes `cap`."""
    if info.file_size > cap:
        raise UnreadableModel(f"{what} over {_size_words(cap)}, refused")
    if info.compress_type != zipfile.ZIP_STORED and info.compress_size > info.file_size + info.file_size // 100 + 1024:
        # Deflate never grows data by more than a few bytes per block: the header lies about
        # the inflated size (a bomb hiding behind a small number). zipfile would stop at the
        # declared size anyway; saying why is kinder than a CRC error.
        raise UnreadableModel(f"{what} header understates its size, refused")
    try:
        in_place = stored_member_offset(zf, info)
    except WeightsUnreadable:
        raise UnreadableModel("truncated zip") from None
    if in_place is not None:
        raw = os.pread(in_place[0], info.file_size, in_place[1])
        if len(raw) != info.file_size:
            raise UnreadableModel("truncated zip")
        if zlib.crc32(raw) != info.CRC:
            raise UnreadableModel(f"corrupt zip ({what}: CRC mismatch)")
        return raw
    try:
        with zf.open(info) as member:
            raw = member.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UnreadableModel(f"corrupt zip ({what}: {exc})") from None
    except NotImplementedError:
        raise UnreadableModel(f"unsupported compression for {what}") from None
    except RuntimeError as exc:  # encrypted members
        raise UnreadableModel(f"cannot read {what}: {exc}") from None
    if len(raw) > cap:
        raise UnreadableModel(f"{what} over {_size_words(cap)}, refused")
    return raw


def _size_words(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


@lru_cache(maxsize=256)
def _system_info_of(text: str) -> dict[str, str]:
    """`_parse_system_info`, remembered: every model saved on one machine has the same text."""
    return _parse_system_info(text)


def _parse_system_info(text: str) -> dict[str, str]:
    """`- Key: value` lines, as SB3 writes them (the OS line has colons of its own)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().lstrip("-").strip().partition(":")
        if sep and key:
            info[key.strip()] = value.strip()
    return info


# ---- interpreting `data` ----------------------------------------------------------------

def _type_name(space: dict[str, Any]) -> str | None:
    """"Discrete" from "<class 'gymnasium.spaces.discrete.Discrete'>" (or gym.spaces...)."""
    text = space.get(":type:")
    if not isinstance(text, str):
        return None
    return text.strip("<>").replace("class ", "").strip("'\" ").rsplit(".", 1)[-1] or None


def _to_int(value: Any) -> int | None:
    """SB3 2.x writes numbers as strings ("21"), 0.x/1.x as ints: accept both."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _int_list(value: Any) -> list[int] | None:
    """A shape or nvec: a JSON list, or numpy text such as "[ 3 21]" or "(52,)"."""
    if isinstance(value, str):
        text = value.strip().strip("[]()")
        items = [t for t in text.replace(",", " ").split() if t]
        value = items
    if isinstance(value, (list, tuple)):
        out = [_to_int(v) for v in value]
        return out if all(v is not None for v in out) else None  # type: ignore[return-value]
    return None


def _parse_spaces(data: dict[str, Any], info: Sb3ZipInfo) -> None:
    act = data.get("action_space")
    if isinstance(act, dict):
        info.action_space_type = _type_name(act)
        if info.action_space_type == "Discrete":
            info.n_actions = _to_int(act.get("n"))
        elif info.action_space_type == "MultiDiscrete":
            info.action_nvec = _int_list(act.get("nvec"))
            info.n_actions = sum(info.action_nvec) if info.action_nvec else None
        elif info.action_space_type in ("Box", "MultiBinary"):
            shape = _int_list(act.get("_shape", act.get("shape")))
            info.n_actions = _product(shape) if shape is not None else _to_int(act.get("n"))
    obs = data.get("observation_space")
    if isinstance(obs, dict):
        info.obs_shape = _int_list(obs.get("_shape", obs.get("shape")))
        dtype = obs.get("dtype")
        info.obs_dtype = str(dtype) if dtype is not None else None
        for key in ("low", "high"):
            value = obs.get(key)
            setattr(info, f"obs_{key}", None if value is None else str(value))


def _product(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def infer_algorithm(data: dict[str, Any], policy_class: str | None) -> str | None:
    """The algorithm, which SB3 never stores: told apart by its policy class and its fields.

    PPO and A2C share ActorCriticPolicy, so their own fields decide: only PPO has
    clip_range and n_epochs. DQN, SAC and TD3 each have their own policies module and
    fields (target_update_interval / exploration_*, target_entropy, policy_delay).
    """
    module = (policy_class or "").lower()
    for marker, name in (("qrdqn", "QRDQN"), ("dqn", "DQN"), ("sac", "SAC"), ("td3", "TD3"),
                         ("ddpg", "DDPG"), ("recurrent", "RecurrentPPO"),
                         ("maskable", "MaskablePPO"), ("trpo", "TRPO"), ("ars", "ARS")):
        if f".{marker}" in module or module.startswith(marker):
            return name
    if "target_update_interval" in data or "exploration_final_eps" in data:
        return "DQN"
    if "policy_delay" in data or "target_policy_noise" in data:
        return "TD3"
    if "target_entropy" in data:
        return "SAC"
    if "clip_range" in data or "n_epochs" in data:
        return "PPO"
    if "n_steps" in data and ("gae_lambda" in data or "vf_coef" in data):
        return "A2C"
    return None


def _policy_class(data: dict[str, Any], by_field: dict[str, list[str]]) -> str | None:
    """The class named by the `policy_class` pickle: its only global when SB3 wrote it."""
    names = by_field.get("policy_class") or []
    real = [n for n in names if not n.startswith(("copyreg.", "builtins.", "cloudpickle."))]
    if real:
        return real[0]
    entry = data.get("policy_class")
    if isinstance(entry, dict) and isinstance(entry.get("__module__"), str):
        return entry["__module__"] + ".?"
    return None


def _start_time_utc(value: Any) -> str | None:
    """SB3's start_time is time.time_ns() (UTC); 1.x wrote seconds as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    seconds = number / 1e9 if number > 1e12 else number
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    if 1000 <= moment.year:
        # isoformat is a C call, several times cheaper than strftime, and gives the same
        # text for every four-digit year; strftime keeps the odd ones as they always were.
        return moment.isoformat(timespec="seconds")[:-6] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hyperparameters(data: dict[str, Any]) -> dict[str, Any]:
    """The readable training settings; schedules keep their readable text, never the pickle."""
    found: dict[str, Any] = {}
    for key in _HYPERPARAMETER_KEYS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, dict) and ":type:" in value:
            readable = {k: v for k, v in value.items()
                        if not k.startswith(":") and isinstance(v, (str, int, float, bool))
                        and not k.startswith("_")}
            if not readable:
                continue
            value = readable.get("value_schedule", readable)
        found[key] = value
    return found


def read_sb3_zip(path: str | os.PathLike, *, max_data_bytes: int = 10 * 1024 * 1024,
                 max_members: int = 64, known_size: int | None = None,
                 whole: bool = True, full_data: bool = True,
                 max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> Sb3ZipInfo:
    """Every fact the catalog shows about one SB3 zip; raises UnreadableModel with the reason.

    A plain zip is parsed straight from its bytes: with `whole`, read whole once and
    hashed (`info.sha256`); without, only its directory and the members the facts come
    from are read, by position (`info.sha256` stays None). Any other file goes through
    zipfile, which names what is wrong with it. `known_size`: the size of what the caller's
    stat found to be a regular file (the catalog's walk), saving a second stat.
    `full_data=False`: the caller needs the facts, not `info.data` whole, so a checkpoint
    whose settings text is byte-identical to the last one's may have only its own values
    parsed (see _DataTemplate); `info.data` then holds those alone.
    `max_member_bytes`: what any member, and all of them together, may declare; a member
    over it (or with a header that understates it) is a trader-safety finding, never read.
    """
    info = _read_plain(path, max_data_bytes, max_members, known_size, whole,
                       None if full_data else _LAST_TEMPLATE, max_member_bytes)
    if info is None:
        try:
            info = _read_with_zipfile(path, max_data_bytes, max_members, max_member_bytes)
        except _DAMAGE as exc:
            # zipfile trusts a damaged directory's numbers (negative offsets, absurd
            # lengths) and fails in ways of its own: one line, not a traceback.
            raise UnreadableModel(f"corrupt zip ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else 'damaged'})") from None
    _read_facts(info)
    if info.weight_shapes and info.weights_n_actions is None:
        info.weights_n_actions, info.weights_obs_dim = weights_io_dims(info.weight_shapes,
                                                                       info.algorithm)
    return info


# What zipfile and struct raise on a damaged zip that its own checks did not catch.
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, IndexError,
           KeyError, NotImplementedError, OverflowError)


# Keys of `data` whose values change from one checkpoint of a run to the next: SB3's state
# per learn() call and per rollout. The rest of `data` (spaces, policy, schedules, settings)
# is byte-identical across a run's checkpoints, so the facts read from it are remembered,
# keyed by its exact JSON text, and only these are read per model. Any key may appear in
# either part: a file that moves things around is simply a memo miss, never a wrong fact.
_PER_CHECKPOINT_KEYS = frozenset({
    "num_timesteps", "_num_timesteps_at_start", "_total_timesteps", "start_time",
    "_last_obs", "_last_episode_starts", "_last_original_obs", "_episode_num",
    "_current_progress_remaining", "ep_info_buffer", "ep_success_buffer", "_n_updates"})


@dataclass(frozen=True)
class _SharedFacts:
    """What the per-run part of `data` says: one object shared by every model it fits."""

    action_space_type: str | None
    n_actions: int | None
    action_nvec: list[int] | None
    obs_shape: list[int] | None
    obs_dtype: str | None
    obs_low: str | None
    obs_high: str | None
    globals_by_key: dict[str, list[tuple[str, list[str]]]]  # top-level key -> (field, globals)
    policy_class: str | None
    algorithm: str | None
    hyperparameters: dict[str, Any]
    huge_float: bool  # a float past 64-bit ints: orjson may have read an int as a float
    problems: list[Finding]  # trader-safety findings of its pickles (read-only, shared)


_FACTS_MEMO: dict[bytes, _SharedFacts] = {}


class _DataTemplate:
    """A `data` text with its per-checkpoint values cut out, and the facts of the rest.

    The next checkpoint of a run differs from the last only in those values, so its text
    is checked against the template instead of being parsed whole: every piece between
    the cut-outs must be byte-identical, and what fills each gap must parse (alone, as
    the members it stands for) into exactly the keys the gap held. Exact, not a guess: a
    JSON text whose pieces are identical and whose gaps hold complete members of the
    same names parses into the same tree with only those members' values changed, so the
    rest, and every fact read from it, is the template's. Anything else is parsed whole.
    """

    __slots__ = ("pieces", "groups", "heads", "facts", "keys")

    def __init__(self, pieces: list[bytes], groups: list[list[str]], facts: _SharedFacts,
                 keys: tuple[str, ...]):
        self.pieces, self.groups, self.facts, self.keys = pieces, groups, facts, keys
        self.heads = [b'{"' + group[0].encode() + b'": ' for group in groups]

    @classmethod
    def make(cls, raw: bytes, data: dict[str, Any], facts: _SharedFacts) -> _DataTemplate | None:
        """The template of `raw` (which parsed to `data`, whose shared part gave `facts`),
        or None when its per-checkpoint values cannot be cut out and checked."""
        own = [key for key in data if key in _PER_CHECKPOINT_KEYS]  # plain ASCII names
        if not own:
            return None
        # Where SB3 (json.dumps, indent=4) puts each top-level value; checked below.
        pieces, groups, position = [], [], 0
        for key in own:
            label = f'\n    "{key}": '.encode()
            found = raw.find(label, position)
            if found < 0:
                return None
            start = found + len(label)
            between = raw[position:start]
            if groups and between == b"," + label:
                groups[-1].append(key)  # right after the last one: one gap for both
            else:
                pieces.append(between)
                groups.append([key])
            end = raw.find(b',\n    "', start)
            if end < 0:
                end = raw.rfind(b"\n}")
                if end < start:
                    return None
            position = end
        pieces.append(raw[position:])
        # The check: the text with each gap filled by a marker must parse into the same
        # keys in the same order, each gap's keys holding their markers at the top level.
        markers = [f'"\\u0000{_GAP_MARK} {i}"'.encode() for i in range(len(groups))]
        filled = [pieces[0]]
        for i, group in enumerate(groups):
            filled.append(markers[i])
            for key in group[1:]:
                filled.append(f',\n    "{key}": '.encode() + markers[i])
            filled.append(pieces[i + 1])
        try:
            parsed = orjson.loads(b"".join(filled))
        except orjson.JSONDecodeError:
            return None
        if type(parsed) is not dict or list(parsed) != list(data):
            return None
        for i, group in enumerate(groups):
            if any(parsed[key] != f"\x00{_GAP_MARK} {i}" for key in group):
                return None
        return cls(pieces, groups, facts, tuple(data))

    def splice(self, raw: bytes) -> dict[str, Any] | None:
        """The per-checkpoint values of `raw` if the rest of it is this template's, else None."""
        pieces, groups = self.pieces, self.groups
        if not raw.startswith(pieces[0]):
            return None
        position = len(pieces[0])
        own: dict[str, Any] = {}
        last = len(groups) - 1
        for i, group in enumerate(groups):
            piece = pieces[i + 1]
            if i == last:
                end = len(raw) - len(piece)
                if end < position or not raw.endswith(piece):
                    return None
            else:
                end = raw.find(piece, position)
                if end < 0:
                    return None
            try:
                members = orjson.loads(self.heads[i] + raw[position:end] + b"}")
            except orjson.JSONDecodeError:
                return None
            if type(members) is not dict or list(members) != group:
                return None
            own.update(members)
            position = end + len(piece)
        return own


# Unguessable, so no file can hold a marker already (which could fake a gap's place).
_GAP_MARK = f"kalshi-tui gap {os.urandom(8).hex()}"
_LAST_TEMPLATE: list[_DataTemplate | None] = [None]  # the last run's, per process
_WANTS_TEMPLATE = object()  # Sb3ZipInfo.spliced: parsed whole, and a template is welcome
_LAST_FACTS: list[Any] = [None, None]  # [the last shared text looked up, its facts]
_FACTS_MEMO_LIMIT = 1024


def _shared_facts(shared: dict[str, Any]) -> _SharedFacts:
    """The facts of `data` without its per-checkpoint keys (callers must not mutate them)."""
    spaces = Sb3ZipInfo(data=shared, members=[])
    _parse_spaces(shared, spaces)
    by_field = _collect_globals(shared)
    by_key: dict[str, list[tuple[str, list[str]]]] = {}
    for name, found in by_field.items():
        by_key.setdefault(name.split(".", 1)[0], []).append((name, found))
    policy_class = _policy_class(shared, by_field)
    return _SharedFacts(spaces.action_space_type, spaces.n_actions, spaces.action_nvec,
                        spaces.obs_shape, spaces.obs_dtype, spaces.obs_low, spaces.obs_high,
                        by_key, policy_class, infer_algorithm(shared, policy_class),
                        _hyperparameters(shared), _has_huge_float_guarded(shared),
                        data_findings(shared))


def _memo_key(shared: dict[str, Any]) -> bytes | None:
    """The exact JSON text of the shared part (orjson writes 1, 1.0 and true apart)."""
    try:
        return orjson.dumps(shared)
    except TypeError:  # orjson.JSONEncodeError is one: an int past 64 bits, say
        return None


def _read_facts(info: Sb3ZipInfo) -> None:
    """Fill `info` from its `data`: the shared part remembered, the per-checkpoint part read."""
    data = info.data
    template = info.spliced
    if type(template) is _DataTemplate:
        facts, own, order = template.facts, data, template.keys
    else:
        order = data
        shared = dict(data)  # C-speed copy; popping keeps the order of the rest
        # In data's order, as a template's splice gives them (a set's order changes with
        # the process's string hashing, and the findings of two damaged values with it).
        own = {k: shared.pop(k) for k in data if k in _PER_CHECKPOINT_KEYS}
        # Only orjson's reading is keyed: json's may hold NaN or infinities, which orjson
        # would write as null, the text of a different value.
        key = _memo_key(shared) if info.from_orjson else None
        facts = None
        repeated = False
        if key is not None:
            last_key, last_facts = _LAST_FACTS
            # A run's checkpoints come one after another: the last answer is compared
            # first, a memcmp of the text where a dict lookup would hash all 10 KB of it.
            repeated = key == last_key
            facts = last_facts if repeated else _FACTS_MEMO.get(key)
        if facts is None:
            facts = _shared_facts(shared)
            if key is not None:
                if len(_FACTS_MEMO) >= _FACTS_MEMO_LIMIT:
                    _FACTS_MEMO.clear()
                _FACTS_MEMO[key] = facts
        if key is not None:
            _LAST_FACTS[:] = (key, facts)
        if repeated and template is _WANTS_TEMPLATE and not facts.huge_float:
            # Two models in a row with this settings text: a run's checkpoints, most likely,
            # so the next may need only its own values parsed.
            _LAST_TEMPLATE[0] = _DataTemplate.make(info.raw_data, data, facts) or _LAST_TEMPLATE[0]
    if info.from_orjson and (facts.huge_float or _has_huge_float_guarded(own)):
        # orjson read an int past 64 bits as a float where json keeps it an int: json decides.
        info.data = _parse_json(info.raw_data)
        info.from_orjson = False
        info.spliced = None
        _read_facts(info)
        return
    info.action_space_type, info.n_actions = facts.action_space_type, facts.n_actions
    info.action_nvec = None if facts.action_nvec is None else list(facts.action_nvec)
    info.obs_shape = None if facts.obs_shape is None else list(facts.obs_shape)
    info.obs_dtype, info.obs_low, info.obs_high = facts.obs_dtype, facts.obs_low, facts.obs_high
    own_globals = _collect_globals(own) if own else None
    info.globals_by_field, info.pickle_globals = _assembled_globals(facts, own_globals, order)
    own_problems = data_findings(own) if own else None
    info.trader_findings = (info.trader_findings + facts.problems + own_problems if own_problems
                            else info.trader_findings + facts.problems if info.trader_findings
                            else facts.problems)
    info.policy_class, info.algorithm = facts.policy_class, facts.algorithm
    info.num_timesteps = _to_int(own.get("num_timesteps"))
    info.start_time_utc = _start_time_utc(own.get("start_time"))
    info.obs_layout, info.obs_layout_evidence = obs_layout_evidence(
        info.obs_shape, own.get("_last_obs"), info.start_time_utc)
    info.hyperparameters = facts.hyperparameters


_GLOBALS_LISTS: dict[tuple[str, ...], list[str]] = {}


def _assembled_globals(facts: _SharedFacts, own_globals: dict[str, list[str]] | None,
                       data: Any) -> tuple[dict[str, list[str]], list[str]]:
    """(globals by field in data's order, the distinct globals): the shared part's merged
    with the model's own. Remembered by the shared facts, the own globals and the key
    order: a run's checkpoints all give the same answer (shared, read-only). `data`: the
    data dict, or its top-level keys in order (a tuple)."""
    if own_globals:
        own_sig: tuple[Any, ...] = tuple((name, tuple(found)) for name, found in own_globals.items())
        sig = (id(facts), own_sig, data if type(data) is tuple else tuple(data))
    else:
        sig = (id(facts), (), None)
    known = _ASSEMBLED.get(sig)
    if known is not None and known[0] is facts:
        return known[1], known[2]
    by_key = facts.globals_by_key
    if own_globals:
        # In data's order, as one walk over the whole of it would list them.
        by_key = dict(by_key)
        for name, found in own_globals.items():
            top = name.split(".", 1)[0]
            by_key[top] = [*by_key.get(top, ()), (name, found)]  # the memo's lists stay as they are
        by_field = {name: found for key_name in data for name, found in by_key.get(key_name, ())}
    else:
        by_field = {name: found for entries in by_key.values() for name, found in entries}
    names = tuple(dict.fromkeys(g for found in by_field.values() for g in found))
    # One list per distinct set of globals: the catalog ships a run's models with one copy.
    listed = _GLOBALS_LISTS.get(names)
    if listed is None:
        if len(_GLOBALS_LISTS) >= 1024:
            _GLOBALS_LISTS.clear()
        listed = _GLOBALS_LISTS[names] = list(names)
    if len(_ASSEMBLED) >= 1024:
        _ASSEMBLED.clear()
    _ASSEMBLED[sig] = (facts, by_field, listed)  # `facts` kept: its id stays its own
    return by_field, listed


_ASSEMBLED: dict[tuple[Any, ...], tuple[_SharedFacts, dict[str, list[str]], list[str]]] = {}


def _parse_data(info: Sb3ZipInfo, raw: bytes) -> None:
    """`data` parsed into `info`; orjson (twice json's speed: a cold scan's biggest single cost) first.

    orjson reads an int past 64 bits as a float where json keeps it an int: `_read_facts`
    looks for such floats and has json read the text again (`raw_data` is kept for that).
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # orjson is strict where json is lenient (NaN, a BOM, UTF-16, lone surrogates, deep
        # nesting): json decides those, so what reads and why it fails is exactly as before.
        data = _parse_json(raw)
    else:
        info.from_orjson = True
    if not isinstance(data, dict):
        raise UnreadableModel("data is not a JSON object")
    info.data, info.raw_data = data, raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UnreadableModel("data is not JSON") from None


def _has_huge_float_guarded(data: dict[str, Any]) -> bool:
    """`_has_huge_float`, True (so json decides) when the nesting is too deep to walk."""
    try:
        return _has_huge_float(data.values())
    except RecursionError:
        return True


def _has_huge_float(values: Any) -> bool:
    """True when a float lies beyond 64-bit ints, where orjson may have read an int as float."""
    for value in values:
        kind = type(value)
        if kind in _NO_FLOATS:
            continue
        if kind is float:
            if not -9.2e18 < value < 9.2e18:  # inside 64-bit ints, orjson kept ints ints
                return True
        elif kind is dict:
            inner = value.values()
            # A serialized object's dict holds strings alone: one C pass says so.
            if not _NO_FLOATS.issuperset(map(type, inner)) and _has_huge_float(inner):
                return True
        elif kind is list and not _NO_FLOATS.issuperset(map(type, value)) and _has_huge_float(value):
            return True
    return False


_NO_FLOATS = frozenset({str, int, bool, type(None)})  # JSON values that hold no float


def _read_plain(path: str | os.PathLike, max_data_bytes: int, max_members: int,
                known_size: int | None = None, whole: bool = True,
                templates: list[Any] | None = None,
                max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> Sb3ZipInfo | None:
    """The fast path, the directory parsed by struct (see zip_members); None = use zipfile.

    `whole`: read the file whole into memory and hash it (`info.sha256`); otherwise read
    by position only the directory and the members the facts come from (a ninth of a
    real model's bytes), and leave hashing to whoever needs the hash.
    """
    try:
        # stat before open: opening a fifo named *.zip would block until a writer came.
        if known_size is None:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return None
            known_size = st.st_size
        if not 0 < known_size <= (_WHOLE_FILE_LIMIT if whole else _FILE_ZIP_LIMIT):
            return None
        # O_NONBLOCK: a file swapped for a fifo since the stat must not block the open.
        fd = os.open(path, _READ_FLAGS)
        try:
            if whole:
                # os.read, not open().read(): no buffered-file object, and one read call
                # instead of a second one to find the end.
                blob = os.read(fd, known_size + 1)
                if len(blob) != known_size:
                    return None  # changed while being read: let the careful path look
                members: PlainZip = PlainZip(blob)
            else:
                members = FileZip(fd, known_size)
            info = _read_members(members, max_data_bytes, max_members, templates, max_member_bytes)
        finally:
            os.close(fd)
    except (OSError, NotPlain):
        return None
    if whole and info is not None:
        info.sha256 = hashlib.sha256(blob).hexdigest()
    return info


def _read_members(members: PlainZip, max_data_bytes: int, max_members: int,
                  templates: list[Any] | None = None,
                  max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> Sb3ZipInfo | None:
    """Every fact the members give, through either kind of PlainZip; None = use zipfile.

    `templates`: where the last data template is kept, when the caller lets `data` be
    spliced (read_sb3_zip's `full_data=False`).
    """
    names = members.names()
    if len(names) > max_members:
        raise UnreadableModel(f"zip has {len(names)} members (limit {max_members}), refused")
    entries = members.entries
    if DATA_MEMBER not in entries:
        raise UnreadableModel("no SB3 data member")
    # Judged from the directory before a byte is inflated (flags, method, crc, csize, size, offset).
    sized = size_findings([(n, e[1], e[3], e[4]) for n, e in entries.items()], max_member_bytes)
    if isinstance(members, FileZip):
        # SB3 writes data first and policy.pth soon after: one read covers data and the
        # pickle at the start of policy.pth (a few KB), unless the layout is odd.
        data_end = entries[DATA_MEMBER][5] + 30 + 64 + entries[DATA_MEMBER][3]
        weights = entries.get(WEIGHTS_MEMBER)
        head_end = max(data_end, weights[5] + _WEIGHTS_HEAD_BYTES if weights else 0)
        members.read_head(head_end if head_end <= data_end + _HEAD_SLACK_BYTES else data_end)
    try:
        raw = members.read(DATA_MEMBER, max_data_bytes)
    except OverCap as over:
        raise UnreadableModel("data member header understates its size, refused" if over.lying_header
                              else f"data member over {_size_words(max_data_bytes)}, refused") from None
    except NotPlain:
        return None
    info = _new_info(names)
    template = templates[0] if templates else None
    own = template.splice(raw) if template is not None else None
    if own is not None:
        info.data, info.raw_data, info.from_orjson, info.spliced = own, raw, True, template
    else:
        _parse_data(info, raw)
        if templates is not None:
            info.spliced = _WANTS_TEMPLATE  # _read_facts makes one if the next may fit it
    for name, target in (("system_info.txt", "system_info"),
                         ("_stable_baselines3_version", "sb3_version")):
        if name not in members.entries:
            continue
        try:
            text = members.read(name, _SMALL_MEMBER_CAP).decode("utf-8", "replace")
        except (OverCap, NotPlain):
            continue  # an odd info member loses its facts, not the model
        setattr(info, target, dict(_system_info_of(text)) if target == "system_info"
                else text.strip() or None)
    info.trader_findings = sized
    flagged = {finding[0] for finding in sized}
    weights_pickle = None
    for name in TORCH_MEMBERS:
        if name in entries and name not in flagged and "zip" not in flagged:
            pickle_bytes = _member_torch_pickle(members, name, max_member_bytes)
            finding = torch_member_finding(name, pickle_bytes)
            if finding is not None:
                info.trader_findings.append(finding)
            elif name == WEIGHTS_MEMBER:
                weights_pickle = pickle_bytes  # read once: its shapes come from it too
    if WEIGHTS_MEMBER not in members.entries:
        info.weights_error = "no policy.pth (weights) member"
        return info
    if flagged:
        info.weights_error = "policy.pth not read: the zip's sizes are refused (see trader safety)"
        return info
    try:
        info.weight_shapes = (_pickle_weight_shapes(weights_pickle, max_data_bytes)
                              or _member_weight_shapes(members, max_data_bytes))
    except WeightsUnreadable as exc:
        info.weights_error = str(exc)
    return info


def _pickle_weight_shapes(exact: bytes | None, max_data_bytes: int) -> dict[str, tuple[int, ...]] | None:
    """Shapes from policy.pth's data.pkl as already read; None (the member decides) if unsure."""
    if exact is None or len(exact) > max_data_bytes:
        return None
    try:
        return weight_shapes_from_pickle(exact, WEIGHTS_MEMBER)
    except WeightsUnreadable:
        return None


def _member_torch_pickle(members: PlainZip, name: str, max_member_bytes: int) -> bytes | None:
    """A torch member's data.pkl: read in place where stored, else from the member inflated
    (its declared size already checked against the bound; zlib stops at that size)."""
    try:
        start = members.stored_start(name)
    except NotPlain:
        start = None
    if start is not None:
        found = torch_pickle_in_window(members.fetch, start, members.entries[name][4])
        if found is not None:
            return found
    if members.entries[name][4] > _WHOLE_FILE_LIMIT:
        return None  # not torch's plain layout, and too big to read whole: not shown safe
    try:
        return torch_pickle_in(members.read(name, _WHOLE_FILE_LIMIT))
    except (OverCap, NotPlain):
        return None


def _member_weight_shapes(members: PlainZip, max_data_bytes: int) -> dict[str, tuple[int, ...]]:
    """policy.pth's shapes: from its directory and data.pkl alone where it is stored (SB3
    never compresses), else from the whole member, which decides what is wrong."""
    try:
        start = members.stored_start(WEIGHTS_MEMBER)
    except NotPlain:
        start = None
    if start is not None:
        length = members.entries[WEIGHTS_MEMBER][4]
        found = weight_shapes_from_window(members.fetch, start, length, WEIGHTS_MEMBER,
                                          max_bytes=max_data_bytes)
        if found is not None:
            return found
        if length > _WHOLE_FILE_LIMIT:
            # Not read whole into memory: zipfile's path reads it in place, and says why.
            raise NotPlain("policy.pth too large to read whole")
        return weight_shapes_from_bytes(members.fetch(start, length), WEIGHTS_MEMBER,
                                        max_bytes=max_data_bytes)
    try:
        packed = members.read(WEIGHTS_MEMBER, _WHOLE_FILE_LIMIT)
    except (OverCap, NotPlain):
        raise WeightsUnreadable(f"{WEIGHTS_MEMBER} could not be read") from None
    return weight_shapes_from_bytes(packed, WEIGHTS_MEMBER, max_bytes=max_data_bytes)


def _read_with_zipfile(path: str | os.PathLike, max_data_bytes: int, max_members: int,
                       max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> Sb3ZipInfo:
    """The careful path: zipfile, with every odd case turned into an operator's reason."""
    zf, _size = _open_zip(path)
    with zf:
        infos = zf.infolist()
        if any(i.header_offset < 0 for i in infos):
            raise UnreadableModel("corrupt zip (a member's offset points before the file)")
        if infos and min(i.header_offset for i in infos) > 0:
            # The directory found belongs to a zip stored INSIDE this one (policy.pth is
            # a zip): the outer file was cut short and lost its own directory.
            raise UnreadableModel("truncated zip")
        if len(infos) > max_members:
            raise UnreadableModel(f"zip has {len(infos)} members (limit {max_members}), refused")
        by_name = {i.filename: i for i in infos}
        data_info = by_name.get(DATA_MEMBER)
        if data_info is None:
            raise UnreadableModel("no SB3 data member")
        raw = _read_capped(zf, data_info, max_data_bytes, "data member")
        info = Sb3ZipInfo(data={}, members=[i.filename for i in infos])
        _parse_data(info, raw)
        for name, target in (("system_info.txt", "system_info"),
                             ("_stable_baselines3_version", "sb3_version")):
            member = by_name.get(name)
            if member is None:
                continue
            try:
                text = _read_capped(zf, member, _SMALL_MEMBER_CAP, name).decode("utf-8", "replace")
            except UnreadableModel:
                continue  # an oversized info member loses its facts, not the model
            setattr(info, target, _parse_system_info(text) if target == "system_info"
                    else text.strip() or None)
        info.trader_findings = size_findings(
            [(i.filename, i.compress_type, i.compress_size, i.file_size) for i in infos], max_member_bytes)
        flagged = {finding[0] for finding in info.trader_findings}
        for name in TORCH_MEMBERS:
            if name in by_name and name not in flagged and "zip" not in flagged:
                try:  # bounded like the fast path: a member too big to read whole is not shown safe
                    inner = _read_capped(zf, by_name[name], _WHOLE_FILE_LIMIT, name)
                except UnreadableModel:
                    inner = None
                finding = torch_member_finding(name, None if inner is None else torch_pickle_in(inner))
                if finding is not None:
                    info.trader_findings.append(finding)
        weights = by_name.get(WEIGHTS_MEMBER)
        if weights is None:
            info.weights_error = "no policy.pth (weights) member"
        elif flagged:
            info.weights_error = "policy.pth not read: the zip's sizes are refused (see trader safety)"
        else:
            try:
                info.weight_shapes = read_weight_shapes(zf, WEIGHTS_MEMBER,
                                                        max_bytes=max_data_bytes)
            except WeightsUnreadable as exc:
                info.weights_error = str(exc)
    return info
