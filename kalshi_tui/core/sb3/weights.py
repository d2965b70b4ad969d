"""Tensor shapes from an SB3 torch member (`policy.pth`), read without torch and without
running any of its pickle.

A torch member is a zip whose `*/data.pkl` rebuilds each tensor through
`torch._utils._rebuild_tensor_v2(storage, offset, size, ...)`. The one opcode walk
(pickle_facts) judges that pickle as torch.load(weights_only=True) would and keeps each
tensor's size: the shapes are read from the same walk that says whether the trader may
load the member. `read_torch_pickle` is the one way a torch member's data.pkl is read.
"""

from __future__ import annotations

import re

from kalshi_tui.core.sb3.pickle_facts import MALFORMED, PickleFacts, torch_pickle_facts
from kalshi_tui.core.sb3.zip_reader import (
    Fetch,
    Member,
    UnreadableZip,
    inner_zip_fetch,
    read_directory,
    read_member,
)

__all__ = [
    "TORCH_PICKLE_CAP",
    "WeightsUnreadable",
    "read_torch_pickle",
    "weight_shapes",
    "weights_io_dims",
]

_MAX_TENSOR_MEMBERS = 4096  # a torch zip holds one member per tensor
TORCH_PICKLE_CAP = 16 * 1024 * 1024  # a state dict's data.pkl is a few KB; an optimizer's too


class WeightsUnreadable(Exception):
    """The weights' shapes could not be read; the message says why in operator words."""


def read_torch_pickle(fetch: Fetch, member: Member, size: int, max_member_bytes: int) -> bytes:
    """The data.pkl of a torch member of the zip that `fetch` reads (`size` bytes long).

    Raises WeightsUnreadable naming the member and what is wrong.
    """
    name = member.name
    try:
        inner, inner_size = inner_zip_fetch(fetch, member, size, max_member_bytes)
        entries = read_directory(inner, inner_size, _MAX_TENSOR_MEMBERS, until="data.pkl")
    except UnreadableZip as exc:
        if exc.reason in ("not a zip file", "truncated zip") and member.method == 0:
            raise WeightsUnreadable(
                f"{name} is not a torch zip (legacy format), shapes not checked"
            ) from None
        raise WeightsUnreadable(f"{name} is corrupt ({exc.reason})") from None
    found = next((entry for entry in entries.values() if entry.name.endswith("data.pkl")), None)
    if found is None:
        raise WeightsUnreadable(f"{name} has no data.pkl")
    try:
        return read_member(inner, found, inner_size, TORCH_PICKLE_CAP, f"{name} data.pkl")
    except UnreadableZip as exc:
        if exc.reason.endswith("refused"):
            raise WeightsUnreadable(f"{name} data.pkl over the size limit, refused") from None
        raise WeightsUnreadable(f"{name} is corrupt ({exc.reason})") from None


def weight_shapes(facts: PickleFacts, member: str = "policy.pth") -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} of the state dict whose data.pkl gave `facts`."""
    if facts.problem is not None:
        why, names = facts.problem
        if MALFORMED in names or MALFORMED in facts.globals:
            raise WeightsUnreadable(f"{member} is not a readable state dict (malformed pickle)")
        foreign = next((n for n in names if not n.startswith("<")), None)
        if foreign is not None:
            raise WeightsUnreadable(f"{member} refused: {foreign} is not a weights global")
        raise WeightsUnreadable(f"{member} refused: {why}")
    if facts.shapes is None:
        raise WeightsUnreadable(f"{member} is not a state dict")
    return dict(facts.shapes)


def shapes_of_pickle(raw: bytes, member: str = "policy.pth") -> dict[str, tuple[int, ...]]:
    """{parameter name: shape} from the bytes of a torch member's data.pkl."""
    return weight_shapes(torch_pickle_facts(raw), member)


def _layers(shapes: dict[str, tuple[int, ...]], prefix: str) -> list[tuple[int, tuple[int, ...]]]:
    """(index, shape) of `prefix<i>.weight` matrices, in layer order."""
    found = []
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.weight$")
    for key, shape in shapes.items():
        match = pattern.match(key)
        if match and len(shape) == 2:
            found.append((int(match.group(1)), shape))
    return sorted(found)


def weights_io_dims(shapes: dict[str, tuple[int, ...]]) -> tuple[int | None, int | None]:
    """(action outputs, observation inputs) the weights were built for, where the layout is known.

    PPO/A2C: `action_net.weight` is (n_actions, hidden) and the first policy layer
    `mlp_extractor.policy_net.0.weight` is (hidden, obs_dim). DQN: the first and last
    `q_net.q_net.<i>.weight`. SAC/TD3: `actor.mu` and `actor.latent_pi.0`.
    """
    action = shapes.get("action_net.weight")
    if action is not None and len(action) == 2:
        first = _layers(shapes, "mlp_extractor.policy_net.") or _layers(
            shapes, "mlp_extractor.shared_net."
        )
        return action[0], (first[0][1][1] if first else action[1])
    q_layers = _layers(shapes, "q_net.q_net.") or _layers(shapes, "quantile_net.quantile_net.")
    if q_layers:
        return q_layers[-1][1][0], q_layers[0][1][1]
    mu = shapes.get("actor.mu.weight")
    if mu is not None and len(mu) == 2:
        latent = _layers(shapes, "actor.latent_pi.")
        return mu[0], (latent[0][1][1] if latent else mu[1])
    return None, None
