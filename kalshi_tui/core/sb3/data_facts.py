"""What an SB3 `data` JSON says about its model, read from the JSON and never run.

Spaces, algorithm, policy class, training settings, timesteps and start time; the
pickled values' globals and verdicts come from member_safety.serialized_fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DataUnreadable",
    "infer_algorithm",
    "parse_data",
    "parse_system_info",
    "policy_class",
    "read_hyperparameters",
    "spaces",
    "start_time_utc",
    "to_int",
]

HYPERPARAMETER_KEYS = (
    "learning_rate",
    "n_steps",
    "batch_size",
    "n_epochs",
    "ent_coef",
    "gamma",
    "gae_lambda",
    "clip_range",
    "vf_coef",
    "max_grad_norm",
    "n_envs",
    "buffer_size",
    "learning_starts",
    "tau",
    "target_update_interval",
    "exploration_fraction",
    "exploration_initial_eps",
    "exploration_final_eps",
    "train_freq",
    "gradient_steps",
    "policy_kwargs",
    "seed",
)


class DataUnreadable(Exception):
    """`data` is not a JSON object; the message is the operator's reason."""


def parse_data(raw: bytes) -> dict[str, Any]:
    """`data` as json reads it (orjson was measured too: 21 against json's 25 us on a real
    13 KB `data`, most of it long base64 strings, not worth a second parser's edge cases)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DataUnreadable("data is not JSON") from None
    if not isinstance(data, dict):
        raise DataUnreadable("data is not a JSON object")
    return data


def parse_system_info(text: str) -> dict[str, str]:
    """`- Key: value` lines, as SB3 writes them (the OS line has colons of its own)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().lstrip("-").strip().partition(":")
        if sep and key:
            info[key.strip()] = value.strip()
    return info


def _type_name(space: dict[str, Any]) -> str | None:
    """ "Discrete" from "<class 'gymnasium.spaces.discrete.Discrete'>" (or gym.spaces...)."""
    text = space.get(":type:")
    if not isinstance(text, str):
        return None
    return text.strip("<>").replace("class ", "").strip("'\" ").rsplit(".", 1)[-1] or None


def to_int(value: Any) -> int | None:
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
        value = [t for t in value.strip().strip("[]()").replace(",", " ").split() if t]
    if isinstance(value, (list, tuple)):
        out = [to_int(v) for v in value]
        return [v for v in out if v is not None] if all(v is not None for v in out) else None
    return None


def _product(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def spaces(data: dict[str, Any]) -> dict[str, Any]:
    """The action and observation spaces' facts, keyed as Sb3ZipInfo's fields."""
    found: dict[str, Any] = {}
    act = data.get("action_space")
    if isinstance(act, dict):
        kind = found["action_space_type"] = _type_name(act)
        if kind == "Discrete":
            found["n_actions"] = to_int(act.get("n"))
        elif kind == "MultiDiscrete":
            nvec = found["action_nvec"] = _int_list(act.get("nvec"))
            found["n_actions"] = sum(nvec) if nvec else None
        elif kind in ("Box", "MultiBinary"):
            shape = _int_list(act.get("_shape", act.get("shape")))
            found["n_actions"] = _product(shape) if shape is not None else to_int(act.get("n"))
    obs = data.get("observation_space")
    if isinstance(obs, dict):
        found["obs_shape"] = _int_list(obs.get("_shape", obs.get("shape")))
        dtype = obs.get("dtype")
        found["obs_dtype"] = str(dtype) if dtype is not None else None
        for key in ("low", "high"):
            value = obs.get(key)
            found[f"obs_{key}"] = None if value is None else str(value)
    return found


def infer_algorithm(data: dict[str, Any], policy_class_name: str | None) -> str | None:
    """The algorithm, which SB3 never stores: told apart by its policy class and its fields.

    PPO and A2C share ActorCriticPolicy, so their own fields decide: only PPO has
    clip_range and n_epochs. DQN, SAC and TD3 each have their own policies module and
    fields (target_update_interval / exploration_*, target_entropy, policy_delay).
    """
    module = (policy_class_name or "").lower()
    for marker, name in (
        ("qrdqn", "QRDQN"),
        ("dqn", "DQN"),
        ("sac", "SAC"),
        ("td3", "TD3"),
        ("ddpg", "DDPG"),
        ("recurrent", "RecurrentPPO"),
        ("maskable", "MaskablePPO"),
        ("trpo", "TRPO"),
        ("ars", "ARS"),
    ):
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


def policy_class(data: dict[str, Any], globals_by_field: dict[str, list[str]]) -> str | None:
    """The class named by the `policy_class` pickle: its only global when SB3 wrote it."""
    names = globals_by_field.get("policy_class") or []
    real = [n for n in names if not n.startswith(("copyreg.", "builtins.", "cloudpickle."))]
    if real:
        return real[0]
    entry = data.get("policy_class")
    module = entry.get("__module__") if isinstance(entry, dict) else None
    if isinstance(module, str):
        return module + ".?"
    return None


def start_time_utc(value: Any) -> str | None:
    """SB3's start_time is time.time_ns() (UTC); 1.x wrote seconds as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    seconds = number / 1e9 if number > 1e12 else number
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_hyperparameters(data: dict[str, Any]) -> dict[str, Any]:
    """The readable training settings; schedules keep their readable text, never the pickle."""
    found: dict[str, Any] = {}
    for key in HYPERPARAMETER_KEYS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, dict) and ":type:" in value:
            readable = {
                k: v
                for k, v in value.items()
                if not k.startswith(":")
                and isinstance(v, (str, int, float, bool))
                and not k.startswith("_")
            }
            if not readable:
                continue
            value = readable.get("value_schedule", readable)
        if _deeper_than(value, MAX_HYPERPARAMETER_DEPTH):
            # SB3 writes scalars, a schedule's text or a shallow policy_kwargs; a value nested
            # hundreds deep is a hostile file's, and copying it would exhaust Python's stack.
            value = f"(nested deeper than {MAX_HYPERPARAMETER_DEPTH} levels: not shown)"
        found[key] = value
    return found


# policy_kwargs (a dict) holding net_arch (a list of ints or a dict of lists) is 3 deep.
MAX_HYPERPARAMETER_DEPTH = 8


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest more than `limit` deep in `value` (without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
