"""Read an SB3 model zip's facts without unpickling anything and without importing torch.

`PPO.load` unpickles every `:serialized:` entry of the `data` member, so a crafted zip runs
code before any error; listing a folder of models must never do that. Everything here
comes from the JSON, from `system_info.txt`, and from one opcode walk of each pickle
(pickle_facts: globals, the trader-safety verdict, `_last_obs`, the weight shapes).
Members are read by position through zip_reader, every size bounded before it is read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from kalshi_tui.core.sb3.data_facts import (
    DataUnreadable,
    infer_algorithm,
    parse_data,
    parse_system_info,
    policy_class,
    read_hyperparameters,
    spaces,
    start_time_utc,
    to_int,
)
from kalshi_tui.core.sb3.layout_evidence import obs_layout_evidence
from kalshi_tui.core.sb3.member_safety import (
    DEFAULT_MAX_MEMBER_BYTES,
    TORCH_MEMBERS,
    Finding,
    data_finding,
    serialized_fields,
    size_findings,
    torch_member_finding,
)
from kalshi_tui.core.sb3.pickle_facts import (
    pickle_globals,
    pickle_globals_of_bytes,
    torch_pickle_facts,
)
from kalshi_tui.core.sb3.weights import (
    WeightsUnreadable,
    read_torch_pickle,
    weight_shapes,
    weights_io_dims,
)
from kalshi_tui.core.sb3.zip_reader import (
    Fetch,
    Member,
    UnreadableZip,
    bytes_fetch,
    file_fetch,
    open_regular_file,
    read_directory,
    read_member,
)

__all__ = [
    "Sb3ZipInfo",
    "UnreadableModel",
    "infer_algorithm",
    "pickle_globals",
    "pickle_globals_of_bytes",
    "read_sb3_zip",
]

DATA_MEMBER = "data"
WEIGHTS_MEMBER = "policy.pth"
_SMALL_MEMBER_CAP = 64 * 1024  # system_info.txt and the version member are a few hundred bytes
# Files up to this size are read whole when they are to be hashed; real SB3 models are a few MB.
_WHOLE_FILE_LIMIT = 64 * 1024 * 1024
_VERSION_KEYS = {
    "Stable-Baselines3": "sb3",
    "PyTorch": "torch",
    "Gymnasium": "gymnasium",
    "Python": "python",
    "Numpy": "numpy",
    "GYM": "gym",
    "Cloudpickle": "cloudpickle",
}


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
    num_timesteps: int | None = None
    start_time_utc: str | None = None
    # The observation layout it was trained on (A, B or None) and why (evidence.layout).
    obs_layout: str | None = None
    obs_layout_evidence: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # "field name" -> globals its pickle references, for warnings that name the field
    globals_by_field: dict[str, list[str]] = field(default_factory=dict)
    # What the trader's PPO.load would refuse or run: (where, why, globals) (member_safety).
    trader_findings: list[Finding] = field(default_factory=list)

    @property
    def versions(self) -> dict[str, str]:
        """Library versions the model was saved with, keyed sb3/torch/gymnasium/python/numpy."""
        found = {
            short: self.system_info[key]
            for key, short in _VERSION_KEYS.items()
            if self.system_info.get(key)
        }
        if self.sb3_version and "sb3" not in found:
            found["sb3"] = self.sb3_version
        return found


def read_sb3_zip(
    path: str | os.PathLike[str],
    *,
    max_data_bytes: int = 10 * 1024 * 1024,
    max_members: int = 64,
    whole: bool = True,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Sb3ZipInfo:
    """Every fact the catalog shows about one SB3 zip; raises UnreadableModel with the reason.

    `whole`: read the file whole once and hash it (`info.sha256`); otherwise only its
    directory and the members the facts come from are read, by position (a ninth of a
    real model's bytes), and `info.sha256` stays None. `max_member_bytes`: what any
    member, and all of them together, may declare; a member over it (or with a header
    that understates it) is a trader-safety finding, never read.
    """
    try:
        fd, size = open_regular_file(path)
    except UnreadableZip as exc:
        raise UnreadableModel(exc.reason) from None
    try:
        blob = None
        if whole and size <= _WHOLE_FILE_LIMIT:
            blob = os.pread(fd, size + 1, 0)
            if len(blob) != size:
                raise UnreadableModel("file changed while being read")
        fetch = bytes_fetch(blob) if blob is not None else file_fetch(fd)
        info = _read(fetch, size, max_data_bytes, max_members, max_member_bytes)
    except UnreadableZip as exc:
        raise UnreadableModel(exc.reason) from None
    except OSError as exc:
        raise UnreadableModel(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if blob is not None:
        info.sha256 = hashlib.sha256(blob).hexdigest()
    return info


def _read(
    fetch: Fetch, size: int, max_data_bytes: int, max_members: int, max_member_bytes: int
) -> Sb3ZipInfo:
    members = read_directory(fetch, size, max_members)
    if DATA_MEMBER not in members:
        raise UnreadableModel("no SB3 data member")
    findings = size_findings(list(members.values()), max_member_bytes)
    raw = read_member(fetch, members[DATA_MEMBER], size, max_data_bytes, "data member")
    try:
        data = parse_data(raw)
    except DataUnreadable as exc:
        raise UnreadableModel(str(exc)) from None
    info = Sb3ZipInfo(data=data, members=list(members), trader_findings=findings)
    info.system_info = parse_system_info(_small_text(fetch, members, size, "system_info.txt"))
    info.sb3_version = (
        _small_text(fetch, members, size, "_stable_baselines3_version").strip() or None
    )
    _read_torch_members(info, fetch, members, size, max_member_bytes)
    _read_data_facts(info)
    return info


def _small_text(fetch: Fetch, members: dict[str, Member], size: int, name: str) -> str:
    """An info member's text; an odd or oversized one loses its facts, not the model."""
    member = members.get(name)
    if member is None:
        return ""
    try:
        return read_member(fetch, member, size, _SMALL_MEMBER_CAP, name).decode("utf-8", "replace")
    except UnreadableZip:
        return ""


def _read_torch_members(
    info: Sb3ZipInfo, fetch: Fetch, members: dict[str, Member], size: int, max_member_bytes: int
) -> None:
    """Each torch member's data.pkl judged as torch.load(weights_only=True) would, and the
    weight shapes from policy.pth's, unless the directory's sizes were refused."""
    flagged = {finding[0] for finding in info.trader_findings}
    if WEIGHTS_MEMBER not in members:
        info.weights_error = "no policy.pth (weights) member"
    elif flagged:
        info.weights_error = "policy.pth not read: the zip's sizes are refused (see trader safety)"
    if flagged:
        return
    for name in TORCH_MEMBERS:
        if name not in members:
            continue
        try:
            facts = torch_pickle_facts(
                read_torch_pickle(fetch, members[name], size, max_member_bytes)
            )
        except WeightsUnreadable as exc:
            facts = None
            if name == WEIGHTS_MEMBER:
                info.weights_error = str(exc)
        finding = torch_member_finding(name, facts)
        if finding is not None:
            info.trader_findings.append(finding)
        if name == WEIGHTS_MEMBER and facts is not None:
            try:
                info.weight_shapes = weight_shapes(facts, name)
            except WeightsUnreadable as exc:
                info.weights_error = str(exc)
    if info.weight_shapes:
        info.weights_n_actions, info.weights_obs_dim = weights_io_dims(info.weight_shapes)


def _read_data_facts(info: Sb3ZipInfo) -> None:
    """Fill `info` from its `data`: spaces, pickles (globals and verdicts), settings, layout."""
    data = info.data
    for name, value in spaces(data).items():
        setattr(info, name, value)
    for field_name, facts in serialized_fields(data):
        if facts.globals:
            info.globals_by_field[field_name] = list(facts.globals)
        finding = data_finding(field_name, facts)
        if finding is not None:
            info.trader_findings.append(finding)
    info.pickle_globals = list(
        dict.fromkeys(name for found in info.globals_by_field.values() for name in found)
    )
    info.policy_class = policy_class(data, info.globals_by_field)
    info.algorithm = infer_algorithm(data, info.policy_class)
    info.hyperparameters = read_hyperparameters(data)
    info.num_timesteps = to_int(data.get("num_timesteps"))
    info.start_time_utc = start_time_utc(data.get("start_time"))
    info.obs_layout, info.obs_layout_evidence = obs_layout_evidence(
        info.obs_shape, data.get("_last_obs"), info.start_time_utc
    )
