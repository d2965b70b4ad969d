"""Helpers for the eval and eval-CLI tests: real session stores, configs and edited real models."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from model_factory import rewrite_member

from kalshi_tui.core.config import Config, load_config
from kalshi_tui.env import BookState, SessionStore


def write_config(folder: Path, sessions_db: Path, *, environment: dict | None = None,
                 **validation) -> Config:
    """A real config file naming the store, models and cache folders; loaded as the CLI does."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[paths]", 'models_dir = "models"', f'sessions_db = "{sessions_db}"',
             'cache_dir = "cache"']
    if environment:
        lines.append("[environment]")
        lines += [f'{k} = "{v}"' for k, v in environment.items()]
    if validation:
        lines.append("[validation]")
        lines += [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {str(v).lower()}"
                  for k, v in validation.items()]
    (folder / "models").mkdir(exist_ok=True)
    (folder / "kalshi_tui.toml").write_text("\n".join(lines) + "\n")
    return load_config(folder / "kalshi_tui.toml")


def book(ts: int, seq: int, yes_bid: int, yes_ask: int, size: int = 500) -> BookState:
    """A one-level book: YES bid and YES ask (stored as the NO bid 99 - ask)."""
    return BookState(ts, seq, {yes_bid: size}, {99 - yes_ask: size})


def write_hand_built_store(path: Path) -> Path:
    """Session 1: market UP goes 40/44 -> 30/34 -> 60/64; market DOWN goes 40/44 -> 20/24."""
    snapshots = [("UP", book(1_000, 1, 40, 44)), ("UP", book(2_000, 3, 30, 34)),
                 ("UP", book(3_000, 5, 60, 64)),
                 ("DOWN", book(1_000, 2, 40, 44)), ("DOWN", book(2_000, 4, 20, 24))]
    with SessionStore(path, writable=True) as store:
        store.write_session(1, ["UP", "DOWN"], "2025-12-01T14:00:00Z", "2025-12-01T14:00:03Z",
                            snapshots, [])
        # Session 2 names a market that was never recorded: nothing in it can be replayed.
        store.write_session(2, ["GHOST"], "2025-12-02T14:00:00Z", "2025-12-02T14:00:03Z", [], [])
    return path


def always_action(src: Path, dst: Path, action: int) -> Path:
    """A real PPO zip whose weights are edited so it plays `action` whatever it sees."""
    import torch

    with zipfile.ZipFile(src) as z:
        state = torch.load(io.BytesIO(z.read("policy.pth")), weights_only=True)
    state["action_net.weight"].zero_()
    state["action_net.bias"].fill_(-20.0)
    state["action_net.bias"][action] = 20.0
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return rewrite_member(src, dst, "policy.pth", buffer.getvalue())


def _edit_action_net(src: Path, dst: Path, edit) -> Path:
    """A real PPO zip whose action head (in policy.pth) is changed by `edit(state)`."""
    import torch

    with zipfile.ZipFile(src) as z:
        state = torch.load(io.BytesIO(z.read("policy.pth")), weights_only=True)
    edit(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return rewrite_member(src, dst, "policy.pth", buffer.getvalue())


def collapsed_but_sampling_widely(src: Path, dst: Path, action: int) -> Path:
    """The original team's trap: `action` is the argmax on every observation, yet sampling
    spreads over every action (logit 1 against 0: p = e / (e + n - 1), 12 % of 21 actions),
    so a stochastic training histogram looks varied while the trader sends one order."""
    def edit(state):
        state["action_net.weight"].zero_()
        state["action_net.bias"].zero_()
        state["action_net.bias"][action] = 1.0

    return _edit_action_net(src, dst, edit)


def healthy_policy(src: Path, dst: Path) -> Path:
    """A policy whose argmax follows the observation: a steep random action head, seeded."""
    import torch

    def edit(state):
        generator = torch.Generator().manual_seed(7)
        weight = state["action_net.weight"]
        weight.copy_(torch.randn(weight.shape, generator=generator) * 3.0)
        state["action_net.bias"].zero_()

    return _edit_action_net(src, dst, edit)
