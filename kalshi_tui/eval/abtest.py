"""A/B test: a candidate against another model (the current one) on the same markets.

Both models are loaded on the safe path (nothing unpickled; torch imported here, lazily),
checked against the environment, and run in the trader's mode (trader.deterministic) over
every market of the sessions by the validation's batched runner. Each market's P&L is
paired: the mean of the per-market differences with its 95 % bootstrap CI, the share of
markets the candidate wins; and on every observation the candidate saw, the other model
is asked what it would play there, which gives how often the two choose the same action.
A run that fails, is cancelled, or whose models change underneath it stores nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kalshi_tui.core.config import Config
from kalshi_tui.eval.abtest_result import ABResult, abtest_key, save_abtest
from kalshi_tui.eval.batched import run_validation
from kalshi_tui.eval.model_fit import (
    ValidationCancelled,
    ValidationError,
    load_fitting_policy,
    require_unchanged,
    sha256_before_run,
)
from kalshi_tui.eval.paired import paired_difference
from kalshi_tui.eval.results_cache import session_source
from kalshi_tui.eval.session_replay import load_while_replaying

AB_SEED = 0  # the sampling seed when the trader samples: the same models, the same figures


class _Agreement:
    """Counts the steps where the other model, shown the candidate's observation, agrees."""

    def __init__(self, other, deterministic: bool):
        self.other = other
        self.deterministic = deterministic
        self.rng = np.random.default_rng(AB_SEED + 1)
        self.same = 0
        self.steps = 0

    def __call__(self, observations: np.ndarray, chosen: np.ndarray) -> None:
        from kalshi_tui.eval.policy_runner import sample_actions

        out = self.other.forward(observations)
        theirs = (out.greedy_actions if self.deterministic
                  else sample_actions(out.probabilities, self.rng))
        self.same += int((theirs == chosen).sum())
        self.steps += len(chosen)


def run_abtest(candidate: Path, against: Path, config: Config, session_ids: list[int], *,
               against_is_current: bool = False,
               progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None, store_result: bool = True,
               on_stored: Callable[[Path | None, str | None], None] | None = None,
               ) -> ABResult:
    """Run both models on the same markets in the trader's mode; compare them market by market.

    Raises PolicyLoadError/PolicyRefused or IncompatibleModel (naming the model),
    ValidationError (no or unknown sessions, the same model twice), ValidationCancelled or
    ModelChanged; nothing is stored then.
    """
    candidate, against = Path(candidate), Path(against)
    started = time.perf_counter()
    purpose = "run an A/B test on"
    sha_candidate = sha256_before_run(candidate, session_ids, purpose)
    sha_against = sha256_before_run(against, session_ids, purpose)
    if sha_candidate == sha_against:
        raise ValidationError(f"{candidate}: the same model as {against} (sha256 "
                              f"{sha_candidate[:12]}): an A/B test needs two different models")
    env = config.environment
    policies, fingerprint, tapes, skips = load_while_replaying(
        config, session_ids,
        lambda: [load_fitting_policy(candidate, config), load_fitting_policy(against, config)])
    deterministic = config.trader_deterministic
    agreement = _Agreement(policies[1], deterministic)
    total = 2 * sum(max(t.length - 1, 0) for t in tapes)
    results = []
    try:
        for index, (path, sha, policy) in enumerate(((candidate, sha_candidate, policies[0]),
                                                     (against, sha_against, policies[1]))):
            results.append(run_validation(
                policy, config, session_ids, tapes, skips, label=str(path), sha256=sha,
                sessions_fp=fingerprint, deterministic=deterministic, seed=AB_SEED,
                progress=shifted_progress(progress, index * total // 2, total), cancel=cancel,
                watch=agreement if index == 0 else None))
    except ValidationCancelled:
        raise ValidationCancelled(f"{candidate}: A/B test cancelled; nothing stored") from None
    require_unchanged(candidate, sha_candidate, "the A/B test")
    require_unchanged(against, sha_against, "the A/B test")
    mine, theirs = results
    result = ABResult(
        candidate_path=str(candidate), candidate_sha256=sha_candidate,
        against_path=str(against), against_sha256=sha_against,
        against_is_current=against_is_current, session_ids=sorted(session_ids),
        sessions_fingerprint=fingerprint, session_source=session_source(config.sessions_db),
        environment_fingerprint=env.fingerprint(), profile=env.profile.name,
        observation_layout=env.observation_layout, fill_model=env.fill_model,
        deterministic=deterministic, seed=None if deterministic else AB_SEED,
        paired=paired_difference(mine.market_pnl_cents, theirs.market_pnl_cents),
        candidate_headline=mine.headline(), against_headline=theirs.headline(),
        candidate_fills=mine.fills, against_fills=theirs.fills,
        agreement_steps=agreement.same, compared_steps=agreement.steps,
        seconds=time.perf_counter() - started,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    if store_result:
        key = abtest_key(sha_against, config, session_ids, fingerprint, deterministic, AB_SEED)
        stored = save_abtest(result, key, config.cache_dir)
        if on_stored is not None:
            on_stored(*stored)
    return result


def shifted_progress(progress: Callable[[int, int], None] | None, offset: int, total: int
             ) -> Callable[[int, int], None] | None:
    """One bar over both runs: the second run's steps count on from the first's."""
    if progress is None:
        return None
    return lambda done, _run_total: progress(offset + done, total)


__all__ = ["ABResult", "run_abtest"]
