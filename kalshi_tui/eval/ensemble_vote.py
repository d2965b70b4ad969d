"""N safely loaded policies voting as one: what `validate --ensemble` runs.

- majority: each member plays its deterministic action; the ensemble plays the action most
  members chose. Tie rule: when two or more actions share the most votes, the ensemble
  plays HOLD (action 0): a split vote does not trade. Its distribution, for a trader that
  samples, is the members' vote shares.
- mean-prob: the members' action probabilities are averaged and the ensemble plays the
  argmax (an exact tie goes to the lowest action id, HOLD first); a trader that samples
  draws from the averaged distribution.
"""

from __future__ import annotations

import numpy as np

from kalshi_tui.eval.ensemble_result import MEAN_PROB, VOTES
from kalshi_tui.eval.policy_runner import PolicyOutput

HOLD_ACTION = 0


class EnsemblePolicy:
    """Duck-types LoadedPolicy's `forward`, `n_actions`, `obs_shape` and `algorithm`."""

    def __init__(self, members: list, vote: str):
        if vote not in VOTES:
            raise ValueError(f"vote {vote!r}: choose {' or '.join(VOTES)}")
        self.members = members
        self.vote = vote
        self.n_actions = members[0].n_actions
        self.obs_shape = members[0].obs_shape
        self.algorithm = f"ensemble of {len(members)}, {vote} vote"

    def forward(self, obs: np.ndarray) -> PolicyOutput:
        outputs = [member.forward(obs) for member in self.members]
        if self.vote == MEAN_PROB:
            probabilities = np.mean([out.probabilities for out in outputs], axis=0)
            return PolicyOutput(probabilities, probabilities.argmax(axis=1).astype(np.int64))
        return majority_vote(np.stack([out.greedy_actions for out in outputs]), self.n_actions)


def majority_vote(actions: np.ndarray, n_actions: int) -> PolicyOutput:
    """(members, batch) actions -> the plurality action per column, HOLD on a tied top."""
    members, batch = actions.shape
    votes = np.zeros((batch, n_actions), np.int64)
    np.add.at(votes, (np.broadcast_to(np.arange(batch), actions.shape), actions), 1)
    top = votes.max(axis=1)
    tied = (votes == top[:, None]).sum(axis=1) > 1
    chosen = np.where(tied, HOLD_ACTION, votes.argmax(axis=1)).astype(np.int64)
    return PolicyOutput(votes / members, chosen)
