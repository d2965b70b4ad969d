"""The trader-safety findings of one SB3 zip: sizes first, then the torch pickles and `data`'s.

Every finding is `(where, why, names)` (names: the globals at fault), kept on the record and
turned into the UNSAFE verdict by compat.judge (which drops the ones the team trusts).
Sizes are judged from the directory alone, before any byte is inflated: a member declaring
more than `max_member_bytes`, all members together declaring more, or a deflated member
whose compressed bytes outnumber what deflate could ever need for its declared size (a
header that understates a bomb). Such a file is never read further here. The pickles'
findings are the one opcode walk's verdicts (pickle_facts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kalshi_tui.core.sb3.pickle_facts import PickleFacts, serialized_facts
from kalshi_tui.core.sb3.zip_reader import Member, understated

TORCH_MEMBERS = ("policy.pth", "pytorch_variables.pth", "policy.optimizer.pth")
DEFAULT_MAX_MEMBER_BYTES = 256 * 1024 * 1024

Finding = tuple[str, str, tuple[str, ...]]  # (where, why, the globals at fault)


def size_words(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def size_findings(members: list[Member], max_member_bytes: int) -> list[Finding]:
    """Findings from every member's directory entry, before anything is read."""
    found: list[Finding] = []
    total = 0
    for member in members:
        total += member.size
        if member.size > max_member_bytes:
            found.append(
                (
                    member.name,
                    f"declares {size_words(member.size)} inflated, over "
                    f"catalog.max_member_bytes ({size_words(max_member_bytes)}): "
                    "the trader would inflate it all",
                    (),
                )
            )
        elif understated(member.method, member.csize, member.size):
            found.append(
                (
                    member.name,
                    f"header understates its size ({size_words(member.csize)} "
                    f"compressed for {size_words(member.size)} declared): "
                    "a zip bomb",
                    (),
                )
            )
        elif member.method == 0 and member.csize != member.size:
            found.append((member.name, "stored member whose sizes disagree", ()))
    if total > max_member_bytes and not found:
        found.append(
            (
                "zip",
                f"members declare {size_words(total)} together, over "
                f"catalog.max_member_bytes ({size_words(max_member_bytes)})",
                (),
            )
        )
    return found


def serialized_fields(data: dict[str, Any]) -> Iterator[tuple[str, PickleFacts]]:
    """(field name, its pickle's facts) of every `:serialized:` value of `data`, looking into
    nested dicts three levels deep ("policy_kwargs.activation_fn", say), in data's order.
    A text that is not base64 is left out: SB3 fails on it before unpickling anything."""
    for key, value in data.items():
        if type(value) is dict:
            yield from _serialized_in(key, value, 0)


def _serialized_in(
    key: str, value: dict[str, Any], depth: int
) -> Iterator[tuple[str, PickleFacts]]:
    blob = value.get(":serialized:")
    if isinstance(blob, str):
        facts = serialized_facts(blob)
        if facts is not None:
            yield key, facts
    if depth < 3:
        for sub_key, sub_value in value.items():
            if type(sub_value) is dict:
                yield from _serialized_in(f"{key}.{sub_key}", sub_value, depth + 1)


def data_finding(field: str, facts: PickleFacts) -> Finding | None:
    """The finding for one `data` field's pickle (None: the trader may unpickle it)."""
    if facts.problem is None:
        return None
    why, names = facts.problem
    return (f"data/{field}", f"{why}: the trader's PPO.load would unpickle it", names)


def torch_member_finding(name: str, facts: PickleFacts | None) -> Finding | None:
    """The finding for one torch member's data.pkl (None: the trader's torch.load accepts it;
    `facts` None: no data.pkl could be read)."""
    if facts is None:
        return (
            name,
            "no data.pkl could be read from it, so torch.load(weights_only=True) "
            "cannot be shown to accept it",
            (),
        )
    if facts.problem is None:
        return None
    why, names = facts.problem
    return (name, f"{why}: torch.load(weights_only=True) refuses it", names)
