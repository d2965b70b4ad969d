"""What a policy is, read from a model's JSON: shared by the loader and the runner.

Its own module so the safe loader (which builds a policy) and the runner (which calls one)
both depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The two policy families the safe loader builds: SB3's ActorCriticPolicy (PPO, A2C) and
# DQNPolicy (DQN); the runner turns their outputs into action probabilities differently.
ACTOR_CRITIC = "actor_critic"
Q_NETWORK = "q_network"


@dataclass
class PolicySpec:
    """Everything needed to build the policy, read from the zip without running it."""

    family: str
    policy_class: str
    algorithm: str
    n_actions: int
    obs_shape: tuple[int, ...]
    obs_dtype: str
    policy_kwargs: dict[str, Any] = field(default_factory=dict)  # activation as a name
    exploration_rate: float = 0.0  # DQN's epsilon when acting stochastically
