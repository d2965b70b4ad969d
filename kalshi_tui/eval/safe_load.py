"""Build a model's policy from its zip without unpickling anything, then run it.

`PPO.load` unpickles the zip's `:serialized:` entries, so a crafted zip runs code before
any error. Here the policy class comes from an allowlist (named by the pickle's globals,
read with pickletools, never executed), the spaces and policy_kwargs from the readable
JSON, and the weights from `torch.load(weights_only=True)` with `strict=True`. torch and
stable-baselines3 are imported inside the functions that need them, never at import time.
"""

from __future__ import annotations

import ast
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_tui.eval.policy_runner import LoadedPolicy
from kalshi_tui.eval.policy_spec import ACTOR_CRITIC, Q_NETWORK, PolicySpec

# Policy classes we know how to build, by the global the pickle names -> (family, algorithm
# hint). The aliases are the same classes under the names `PPO("MlpPolicy")` resolves to.
POLICY_ALLOWLIST: dict[str, str] = {
    "stable_baselines3.common.policies.ActorCriticPolicy": ACTOR_CRITIC,
    "stable_baselines3.ppo.policies.MlpPolicy": ACTOR_CRITIC,
    "stable_baselines3.a2c.policies.MlpPolicy": ACTOR_CRITIC,
    "stable_baselines3.dqn.policies.DQNPolicy": Q_NETWORK,
    "stable_baselines3.dqn.policies.MlpPolicy": Q_NETWORK,
}
# Activations a policy_kwargs pickle may name; all are stateless torch.nn modules.
ACTIVATION_ALLOWLIST = frozenset({
    "ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Softplus", "SELU",
    "CELU", "Mish", "Hardtanh", "Hardswish", "ReLU6", "Tanhshrink", "Softsign",
})
ACTIVATION_MODULE = "torch.nn.modules.activation"
# policy_kwargs that change nothing at inference time (optimiser, init, gSDE for Box).
_INFERENCE_IRRELEVANT = frozenset({
    "optimizer_class", "optimizer_kwargs", "ortho_init", "log_std_init", "full_std",
    "use_expln", "squash_output", "use_sde",
})
_FLATTEN_EXTRACTOR = "stable_baselines3.common.torch_layers.FlattenExtractor"
MAX_WEIGHTS_BYTES = 512 * 1024 * 1024


class PolicyLoadError(Exception):
    """A model that cannot be loaded, phrased as one line naming the file and the reason."""


class PolicyRefused(PolicyLoadError):
    """A model this loader will not build: something in it is outside the allowlist."""


def _pickle_globals(serialized_b64: str) -> list[str]:
    """The 'module.Name' globals a pickle would import, read from its opcodes, never run."""
    from kalshi_tui.core.sb3.model_zip import pickle_globals

    return pickle_globals(serialized_b64)


def read_policy_spec(path: Path, data: dict[str, Any]) -> PolicySpec:
    """Decide from the readable JSON whether we can build this policy, and how."""
    entry = data.get("policy_class")
    if not isinstance(entry, dict) or ":serialized:" not in entry:
        raise PolicyRefused(f"{path}: 'policy_class' is missing from the data JSON")
    names = _pickle_globals(entry[":serialized:"])
    if not names:
        raise PolicyRefused(f"{path}: the policy_class pickle names no importable class")
    if len(names) != 1:
        # SB3 pickles its own classes by reference (one global); more means code inside.
        raise PolicyRefused(f"{path}: policy class is pickled by value ({', '.join(names[:4])}): "
                            "a custom class, refused without running it")
    policy_class = names[0]
    family = POLICY_ALLOWLIST.get(policy_class)
    if family is None:
        raise PolicyRefused(f"{path}: policy class {policy_class} is not on the allowlist "
                            "(ActorCriticPolicy/MlpPolicy for PPO and A2C, DQNPolicy for DQN)")
    n_actions = _discrete_n(path, data.get("action_space"))
    obs_shape, obs_dtype = _box_shape(path, data.get("observation_space"))
    kwargs = _policy_kwargs(path, data.get("policy_kwargs"), family)
    if family == Q_NETWORK:
        algorithm = "DQN"
    else:
        # PPO is the only actor-critic algorithm with a clip range; A2C has none.
        algorithm = "PPO" if "clip_range" in data else "A2C"
    epsilon = data.get("exploration_rate", 0.0) if family == Q_NETWORK else 0.0
    return PolicySpec(family, policy_class, algorithm, n_actions, obs_shape, obs_dtype,
                      kwargs, float(epsilon) if isinstance(epsilon, (int, float)) else 0.0)


def _discrete_n(path: Path, space: Any) -> int:
    if not isinstance(space, dict):
        raise PolicyLoadError(f"{path}: 'action_space' is missing from the data JSON")
    kind = str(space.get(":type:", "")).rsplit(".", 1)[-1].rstrip("'>")
    if kind != "Discrete":
        raise PolicyRefused(f"{path}: action space {kind or 'unknown'} is not supported: "
                            "the trading environment's actions are Discrete")
    try:
        # n: an int in SB3 0.x/1.x, a string such as "21" in 2.x; anything else is refused
        n_written: Any = space.get("n")
        start_written: Any = space.get("start", 0)
        n, start = int(n_written), int(start_written)
    except (TypeError, ValueError):
        raise PolicyLoadError(
            f"{path}: action_space.n {space.get('n')!r} is not a number"
        ) from None
    if n < 1 or start != 0:
        raise PolicyRefused(f"{path}: Discrete(n={n}, start={start}) is not supported")
    return n


def _box_shape(path: Path, space: Any) -> tuple[tuple[int, ...], str]:
    if not isinstance(space, dict):
        raise PolicyLoadError(f"{path}: 'observation_space' is missing from the data JSON")
    kind = str(space.get(":type:", "")).rsplit(".", 1)[-1].rstrip("'>")
    if kind != "Box":
        raise PolicyRefused(f"{path}: observation space {kind or 'unknown'} is not supported "
                            "(only a flat Box vector, as the trading environment gives)")
    raw: Any = space.get("_shape", space.get("shape"))  # `shape` in old files
    try:
        shape = tuple(int(x) for x in (json.loads(raw) if isinstance(raw, str) else raw))
    except (TypeError, ValueError):
        raise PolicyLoadError(f"{path}: observation shape {raw!r} is not readable") from None
    dtype = str(space.get("dtype", "float32"))
    if len(shape) != 1 or dtype not in ("float32", "float64", "float16"):
        raise PolicyRefused(f"{path}: observation space Box{list(shape)} {dtype} is not "
                            "supported (only a flat float vector)")
    return shape, dtype


def _literal(value: Any) -> Any:
    """A readable attribute as a Python value; SB3 writes non-JSON ones as their repr."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)  # literals only: never calls anything
        except (ValueError, SyntaxError):
            return value
    return value


def _policy_kwargs(path: Path, raw: Any, family: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyLoadError(f"{path}: 'policy_kwargs' is not a table")
    globals_named: list[str] = []
    if ":serialized:" in raw:
        globals_named = _pickle_globals(raw[":serialized:"])
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(":") and key.endswith(":"):
            continue
        if key in _INFERENCE_IRRELEVANT:
            continue
        if key == "net_arch":
            kwargs["net_arch"] = _net_arch(path, _literal(value), family)
        elif key == "activation_fn":
            kwargs["activation_fn"] = _activation(path, globals_named)
        elif key in ("normalize_images", "share_features_extractor"):
            flag = _literal(value)
            if not isinstance(flag, bool):
                raise PolicyLoadError(f"{path}: policy_kwargs.{key} {value!r} is not true/false")
            if key == "share_features_extractor" and family == Q_NETWORK:
                raise PolicyRefused(f"{path}: policy_kwargs.{key} does not apply to DQN")
            kwargs[key] = flag
        elif key == "features_extractor_class":
            if _FLATTEN_EXTRACTOR not in globals_named:
                raise PolicyRefused(f"{path}: policy_kwargs.features_extractor_class {value} "
                                    "is not supported (only FlattenExtractor)")
        elif key == "features_extractor_kwargs":
            if _literal(value) not in ({}, None):
                raise PolicyRefused(f"{path}: policy_kwargs.features_extractor_kwargs "
                                    f"{value} is not supported")
        else:
            raise PolicyRefused(f"{path}: policy_kwargs.{key} is not supported by the safe loader")
    return kwargs


def _net_arch(path: Path, arch: Any, family: str) -> Any:
    """net_arch as SB3 2.x builds it; old actor-critic files wrote `[dict(pi=..., vf=...)]`."""
    if arch is None:
        return None
    if family == ACTOR_CRITIC and isinstance(arch, list) and arch and isinstance(arch[-1], dict):
        if len(arch) > 1:
            raise PolicyRefused(f"{path}: net_arch {arch} has layers shared by actor and "
                                "critic, which stable-baselines3 2.x cannot build")
        arch = arch[0]
    ok_list = isinstance(arch, list) and all(isinstance(x, int) and x > 0 for x in arch)
    ok_dict = (family == ACTOR_CRITIC and isinstance(arch, dict)
               and set(arch) <= {"pi", "vf"}
               and all(isinstance(v, list) and all(isinstance(x, int) and x > 0 for x in v)
                       for v in arch.values()))
    if not (ok_list or ok_dict):
        raise PolicyRefused(f"{path}: net_arch {arch!r} is not a list of layer sizes")
    return arch


def _activation(path: Path, globals_named: list[str]) -> str:
    found = [g for g in globals_named if g.startswith("torch.nn.")]
    for name in found:
        module, _, cls = name.rpartition(".")
        if module == ACTIVATION_MODULE and cls in ACTIVATION_ALLOWLIST:
            return cls
    shown = ", ".join(found) or "no torch.nn class"
    raise PolicyRefused(f"{path}: policy_kwargs.activation_fn names {shown}, "
                        "not an allowed torch.nn activation")


def _read_members(path: Path, max_data_bytes: int,
                  environment: Any = None) -> tuple[dict[str, Any], bytes]:
    """The data JSON (through the catalog's reader: same limits, same reasons) and policy.pth.

    A model the trader's PPO.load would run code from (or torch would refuse, or a bomb) is
    refused here, before a byte of its weights is read: smoke and validate (CLI and TUI) never
    run an UNSAFE model, whatever the caller checked before.
    """
    from kalshi_tui.core.evidence.compat import trader_refusals
    from kalshi_tui.core.sb3.model_zip import UnreadableModel, read_sb3_zip

    bound = {} if environment is None else {"max_member_bytes": environment.max_member_bytes}
    try:
        info = read_sb3_zip(path, max_data_bytes=max_data_bytes, **bound)
    except UnreadableModel as exc:
        raise PolicyLoadError(f"{path}: {exc.reason}") from None
    refusals = trader_refusals(info.trader_findings, () if environment is None
                               else environment.trusted_globals)
    if refusals:
        more = f" (and {len(refusals) - 1} more)" if len(refusals) > 1 else ""
        raise PolicyRefused(f"{path}: {refusals[0]}{more}; never run")
    if "policy.pth" not in info.members:
        raise PolicyLoadError(f"{path}: not an SB3 model zip (no 'policy.pth' member)")
    try:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("policy.pth")
            if member.file_size > MAX_WEIGHTS_BYTES:
                raise PolicyLoadError(f"{path}: 'policy.pth' is {member.file_size} bytes, "
                                      f"over the {MAX_WEIGHTS_BYTES}-byte limit")
            weights = _read_counted(archive, member, min(member.file_size, MAX_WEIGHTS_BYTES))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError) as exc:
        raise PolicyLoadError(f"{path}: cannot read policy.pth ({exc})") from None
    if len(weights) > MAX_WEIGHTS_BYTES:  # the header lied about the inflated size
        raise PolicyLoadError(f"{path}: 'policy.pth' inflates past {MAX_WEIGHTS_BYTES} bytes")
    return info.data, weights


def _read_counted(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes streamed with a counter: at most `limit` + 1 are ever inflated, so a
    header that understates its size costs one chunk past the bound, not the bomb."""
    chunks, total = [], 0
    with archive.open(member) as handle:
        while total <= limit:
            chunk = handle.read(min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def load_policy_safely(path: Path, *, max_data_bytes: int = 10 * 1024 * 1024,
                       environment: Any = None) -> LoadedPolicy:
    """Build the model's policy from its zip with nothing unpickled; ready to predict.

    `environment` (config.environment): its trusted globals and member bound judge trader
    safety; without it the defaults do (nothing trusted).
    """
    path = Path(path)
    started = time.perf_counter()
    data, weights_bytes = _read_members(path, max_data_bytes, environment)
    spec = read_policy_spec(path, data)
    module = _build_policy(path, spec)
    _load_weights(path, module, weights_bytes)
    return LoadedPolicy(path=path, spec=spec, module=module,
                        load_seconds=time.perf_counter() - started)


class _NoOptimizer:
    """What the built policy gets as its optimizer: inference never steps one.

    SB3 builds an Adam in the policy's constructor, and torch's Optimizer imports
    torch._dynamo on first use: 1.3 s of a 2-3 s health check, for nothing.
    """

    def __init__(self, params, lr: float = 0.0, **kwargs):
        del params, lr, kwargs


def _build_policy(path: Path, spec: PolicySpec):
    import gymnasium as gym
    import torch
    from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
    from stable_baselines3.dqn.policies import DQNPolicy

    policy_cls: type[BasePolicy] = ActorCriticPolicy if spec.family == ACTOR_CRITIC else DQNPolicy
    kwargs = dict(spec.policy_kwargs)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = getattr(torch.nn, kwargs["activation_fn"])
    if spec.family == ACTOR_CRITIC:
        kwargs["ortho_init"] = False  # the weights are replaced below; skip the slow init
    kwargs["optimizer_class"] = _NoOptimizer
    obs_space = gym.spaces.Box(-np.inf, np.inf, spec.obs_shape, np.dtype(spec.obs_dtype))
    act_space = gym.spaces.Discrete(spec.n_actions)
    try:
        module = policy_cls(obs_space, act_space, lambda _progress: 0.0, **kwargs)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PolicyLoadError(f"{path}: cannot build {spec.policy_class}: {exc}") from None
    module.set_training_mode(False)
    return module


def _load_weights(path: Path, module, weights_bytes: bytes) -> None:
    import pickle

    import torch

    try:
        state = torch.load(io.BytesIO(weights_bytes), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise PolicyRefused(f"{path}: policy.pth holds more than tensors ({first})") from None
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise PolicyLoadError(
            f"{path}: policy.pth is not readable ({type(exc).__name__})"
        ) from None
    if not isinstance(state, dict):
        raise PolicyLoadError(f"{path}: policy.pth is not a state dict")
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise PolicyLoadError(f"{path}: weights do not fit the declared spaces "
                              f"({detail[:300]})") from None
