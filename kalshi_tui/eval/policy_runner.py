"""A safely loaded policy: batched action probabilities, actions and entropies as numpy.

One forward pass serves a whole batch of observations (one per live market), which is
what makes batched validation fast. Deterministic actions are the argmax SB3 takes
(`Categorical.mode` for PPO/A2C, `q_values.argmax` for DQN), so they match `PPO.load`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_tui.eval.policy_spec import Q_NETWORK, PolicySpec


@dataclass
class PolicyOutput:
    """What one forward pass over a batch gives: probabilities and the greedy action."""

    probabilities: np.ndarray  # (batch, n) float64, the distribution a stochastic run samples
    greedy_actions: np.ndarray  # (batch,) int64, what a deterministic run plays


class LoadedPolicy:
    """A policy built without unpickling; call it on (batch, obs_dim) float arrays."""

    def __init__(self, *, path: Path, spec: PolicySpec, module: Any, load_seconds: float):
        self.path = path
        self.spec = spec
        self.module = module
        self.load_seconds = load_seconds

    @property
    def n_actions(self) -> int:
        return self.spec.n_actions

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return self.spec.obs_shape

    @property
    def algorithm(self) -> str:
        return self.spec.algorithm

    @property
    def policy_class(self) -> str:
        return self.spec.policy_class

    def _as_batch(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.shape == self.obs_shape:
            obs = obs[None, :]
        if obs.ndim != 2 or obs.shape[1:] != self.obs_shape:
            raise ValueError(f"{self.path}: observations of shape {obs.shape} do not fit "
                             f"the model's {self.obs_shape}")
        return obs

    def forward(self, obs: np.ndarray) -> PolicyOutput:
        """One forward pass for a batch: the action distribution and the greedy action."""
        import torch

        batch = self._as_batch(obs)
        with torch.inference_mode():
            tensor = torch.as_tensor(batch)
            if self.spec.family == Q_NETWORK:
                q_values = self.module.q_net(tensor)
                greedy = q_values.argmax(dim=1).numpy().astype(np.int64)
                # DQN acts epsilon-greedily when not deterministic, as `DQN.predict` does.
                eps = self.spec.exploration_rate
                probs = np.full((len(batch), self.n_actions), eps / self.n_actions)
                probs[np.arange(len(batch)), greedy] += 1.0 - eps
            else:
                dist = self.module.get_distribution(tensor).distribution
                probs_t = dist.probs
                greedy = torch.argmax(probs_t, dim=1).numpy().astype(np.int64)
                probs = probs_t.numpy().astype(np.float64)
        return PolicyOutput(probs, greedy)

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """DQN's action values for a batch; what its greedy action is the argmax of."""
        import torch

        if self.spec.family != Q_NETWORK:
            raise ValueError(f"{self.path}: {self.algorithm} has no q-values")
        with torch.inference_mode():
            return self.module.q_net(torch.as_tensor(self._as_batch(obs))).numpy()

    def predict(self, obs: np.ndarray, deterministic: bool = True,
                rng: np.random.Generator | None = None) -> np.ndarray:
        """Actions for a batch of observations: greedy, or sampled from the distribution."""
        out = self.forward(obs)
        if deterministic:
            return out.greedy_actions
        return sample_actions(out.probabilities, rng or np.random.default_rng())

    def action_probabilities(self, obs: np.ndarray) -> np.ndarray:
        """(batch, n) probabilities of each action: what a stochastic run samples from."""
        return self.forward(obs).probabilities

    def entropy(self, obs: np.ndarray) -> np.ndarray:
        """Entropy (nats) of the action distribution for each observation of the batch."""
        return distribution_entropy(self.forward(obs).probabilities)


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    """Run torch on one thread for the duration, then restore the setting.

    The policies are tiny MLPs: splitting a 52x64 matmul over threads buys nothing, and on
    a busy 2-core machine the threads' spin-waiting made each forward pass 4-40x slower
    (measured: 0.25 ms on one thread against 1-4 ms on two while other work ran).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sample_actions(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row drawn from its probabilities, by inverse CDF (vectorised)."""
    cumulative = np.cumsum(probabilities, axis=1)
    draws = rng.random(len(probabilities)) * cumulative[:, -1]
    actions = (cumulative < draws[:, None]).sum(axis=1)
    return np.minimum(actions, probabilities.shape[1] - 1).astype(np.int64)


def distribution_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row; 0 log 0 counts as 0."""
    p = np.clip(probabilities, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=1)
