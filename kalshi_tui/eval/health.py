"""Policy health: does the policy, in the trader's mode, do more than one thing?

Runs a model loaded on the safe path (nothing unpickled, torch imported here, lazily) over
(a) every step of the configured validation sessions, trading as the trader would so the
portfolio features are the ones it would see, and (b) probe observations: draws inside the
configured observation bounds, recorded observations plus noise, and the all-zero
observation. One forward pass per batch gives, per source, the deterministic and the
sampled histogram, the entropy, the top probability and the logit margin. A run that is
interrupted, cancelled, or whose model changed underneath it stores nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kalshi_tui.core.config import Config
from kalshi_tui.eval.batched import BATCH_BUDGET_STEPS, market_batches
from kalshi_tui.eval.health_result import (
    HEALTH_SEED,
    NOISE,
    RECORDED,
    UNIFORM,
    WIDE_MARGIN_NATS,
    ZERO,
    HealthResult,
    SourceHealth,
)
from kalshi_tui.eval.health_store import health_key, load_health
from kalshi_tui.eval.model_fit import (
    ModelChanged,
    ValidationCancelled,
    ValidationError,
    load_fitting_policy,
    require_unchanged,
    sha256_before_run,
)
from kalshi_tui.eval.results_cache import HEALTH, save_entry, session_source
from kalshi_tui.eval.session_replay import load_while_replaying

UNIFORM_PROBES = 4000
NOISE_PROBES = 4000
NOISE_SCALE = 0.1  # standard deviation of the noise, as a share of the bounds' width
PROBE_BATCH = 4096


class _Figures:
    """Running sums of one source's figures over its batches."""

    def __init__(self, n_actions: int):
        self.det = np.zeros(n_actions, np.int64)
        self.sto = np.zeros(n_actions, np.int64)
        self.entropy = 0.0
        self.top_prob = 0.0
        self.wide = 0
        self.count = 0

    def add(self, probabilities: np.ndarray, greedy: np.ndarray, rng: np.random.Generator) -> None:
        from kalshi_tui.eval.policy_runner import distribution_entropy, sample_actions

        n = probabilities.shape[1]
        self.det += np.bincount(greedy, minlength=n)
        self.sto += np.bincount(sample_actions(probabilities, rng), minlength=n)
        self.entropy += float(distribution_entropy(probabilities).sum())
        top2 = np.sort(probabilities, axis=1)[:, -2:] if n > 1 else np.ones((len(greedy), 2))
        # log-probability gap = logit gap (softmax keeps differences); a 0 runner-up is wide
        with np.errstate(divide="ignore"):
            gap = np.log(top2[:, 1]) - np.log(top2[:, 0])
        self.wide += int((gap >= WIDE_MARGIN_NATS).sum())
        self.top_prob += float(top2[:, 1].sum())
        self.count += len(greedy)

    def result(self, source: str, n_actions: int) -> SourceHealth:
        count = max(self.count, 1)
        ln_n = np.log(n_actions) if n_actions > 1 else 1.0
        return SourceHealth(source=source, observations=self.count,
                            deterministic_histogram=self.det.tolist(),
                            stochastic_histogram=self.sto.tolist(),
                            mean_entropy_normalised=float(self.entropy / count / ln_n),
                            mean_top_probability=float(self.top_prob / count),
                            wide_margin_share=float(self.wide / count))


def check_health(path: Path, config: Config, session_ids: list[int], *,
                 cancel: threading.Event | None = None, store_result: bool = True,
                 on_stored: Callable[[Path | None, str | None], None] | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 ) -> HealthResult:
    """Run the policy in the trader's mode over recorded steps and probes; store the result.

    `progress(done, total)` counts observations run through the policy (recorded steps, then
    probes); the recorded count is the tapes' steps, so the total is known before the run.

    Raises PolicyLoadError/PolicyRefused, IncompatibleModel, ValidationError (an unknown or
    empty session), ValidationCancelled or ModelChanged; nothing is stored then.
    """
    from kalshi_tui.eval.policy_runner import single_threaded_torch

    path = Path(path)
    started = time.perf_counter()
    sha_before = sha256_before_run(path, session_ids, "check health on")
    policy, fingerprint, tapes, _skips = load_while_replaying(
        config, session_ids, lambda: load_fitting_policy(path, config))
    env = config.environment
    n = policy.n_actions
    rng = np.random.default_rng(HEALTH_SEED)
    counter = _Progress(progress, sum(max(t.length - 1, 0) for t in tapes)
                        + UNIFORM_PROBES + NOISE_PROBES + 1)
    with single_threaded_torch():
        recorded, observations = _recorded(policy, tapes, config, rng, cancel, path, counter)
        probes = _probes(policy, observations, env, rng, cancel, path, counter)
    counter.finish()
    require_unchanged(path, sha_before, "the health check")
    result = HealthResult(
        model_path=str(path), sha256=sha_before, algorithm=policy.algorithm, n_actions=n,
        session_ids=sorted(session_ids), deterministic=config.trader_deterministic,
        environment_fingerprint=env.fingerprint(), sessions_fingerprint=fingerprint,
        profile=env.profile.name, observation_layout=env.observation_layout,
        fill_model=env.fill_model, session_source=session_source(config.sessions_db),
        action_labels=env.layout.labels[:n], collapse_share=config.health_collapse_share,
        sources=[recorded.result(RECORDED, n)] + [f.result(name, n) for name, f in probes],
        seed=HEALTH_SEED, seconds=time.perf_counter() - started,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        extra={"key": health_key(config, session_ids, fingerprint)},
    )
    if store_result:
        stored = save_entry(HEALTH, sha_before, result.extra["key"], result.to_dict(),
                            config.cache_dir)
        if on_stored is not None:
            on_stored(*stored)
    return result


class _Progress:
    """Observations done, reported as they go; never past the total announced first."""

    def __init__(self, report: Callable[[int, int], None] | None, total: int):
        self.report, self.total, self.done = report, max(total, 1), 0

    def add(self, count: int) -> None:
        self.done = min(self.done + count, self.total)
        if self.report is not None:
            self.report(self.done, self.total)

    def finish(self) -> None:
        self.add(self.total)


def _check_cancel(cancel: threading.Event | None, path: Path) -> None:
    if cancel is not None and cancel.is_set():
        raise ValidationCancelled(f"{path}: health check cancelled; nothing stored")


def _recorded(policy, tapes, config: Config, rng, cancel, path: Path, counter: _Progress):
    """Every step of the sessions, trading in the trader's mode; also the observations seen."""
    from kalshi_tui.env.world import simulator_for
    from kalshi_tui.eval.policy_runner import sample_actions

    figures = _Figures(policy.n_actions)
    seen: list[np.ndarray] = []
    for batch in market_batches(tapes, BATCH_BUDGET_STEPS):
        sim = simulator_for(batch, config.environment)
        obs = sim.reset()
        actions = np.zeros(sim.n, np.int64)
        while not sim.all_done:
            _check_cancel(cancel, path)
            live = np.flatnonzero(~sim.done)
            out = policy.forward(obs[live])
            figures.add(out.probabilities, out.greedy_actions, rng)
            seen.append(obs[live])
            counter.add(len(live))
            chosen = (out.greedy_actions if config.trader_deterministic
                      else sample_actions(out.probabilities, rng))
            actions[:] = 0
            actions[live] = chosen
            obs, _rewards, _ended = sim.step(actions)
    return figures, np.concatenate(seen) if seen else np.zeros((0, policy.obs_shape[0]), np.float32)


def _probes(policy, recorded: np.ndarray, env, rng, cancel, path: Path, counter: _Progress):
    """Figures on observations the sessions never showed: bounds, noise, all zeros."""
    dim = policy.obs_shape[0]
    low, high = float(env.observation_low), float(env.observation_high)
    uniform = rng.uniform(low, high, (UNIFORM_PROBES, dim)).astype(np.float32)
    if len(recorded):
        picks = recorded[rng.integers(0, len(recorded), NOISE_PROBES)]
        noise = rng.normal(0.0, NOISE_SCALE * (high - low), picks.shape)
        noisy = np.clip(picks + noise, low, high).astype(np.float32)
    else:
        noisy = np.zeros((0, dim), np.float32)
    sources = [(UNIFORM, uniform), (NOISE, noisy), (ZERO, np.zeros((1, dim), np.float32))]
    out = []
    for name, observations in sources:
        figures = _Figures(policy.n_actions)
        for start in range(0, len(observations), PROBE_BATCH):
            _check_cancel(cancel, path)
            forward = policy.forward(observations[start:start + PROBE_BATCH])
            figures.add(forward.probabilities, forward.greedy_actions, rng)
            counter.add(len(forward.greedy_actions))
        out.append((name, figures))
    return out


__all__ = ["check_health", "load_health", "health_key", "HealthResult", "ModelChanged",
           "ValidationCancelled", "ValidationError"]
