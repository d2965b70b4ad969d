"""Validate a model on recorded sessions: every market at once, one forward pass per step.

The markets of the chosen sessions become rows of the environment's `BatchSimulator` (the
same trading rules the gym env runs, one market per episode). Each step, one policy
forward pass covers every live market, then the simulator trades all of them. A run that
is cancelled, or whose model file changed underneath it, stores nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kalshi_tui.core.config import Config
from kalshi_tui.eval.model_fit import (
    IncompatibleModel,
    ModelChanged,
    ValidationCancelled,
    ValidationError,
    load_fitting_policy,
    require_unchanged,
    sha256_before_run,
)
from kalshi_tui.eval.results import ValidationResult, bootstrap_mean_ci
from kalshi_tui.eval.results_cache import save_validation, session_source
from kalshi_tui.eval.session_replay import load_while_replaying

# Progress is reported at most this often (in steps) so a 5-row batch is not callback-bound.
PROGRESS_EVERY = 16


def entropy_normalised(counts, n: int) -> float:
    """Entropy of a histogram over n actions divided by ln(n): 0 = one action, 1 = uniform.

    The catalog's implementation, so training figures and validation figures agree.
    """
    from kalshi_tui.core.artifacts.find import entropy_normalised as shared

    return float(shared(list(counts), n))


def market_batches(tapes: list, budget_steps: int) -> list[list]:
    """Markets grouped so each batch's padded arrays stay small; shortest first.

    BatchSimulator pads every row to the batch's longest market, so a session of 1,000
    markets with one 20,000-step market would pad to gigabytes. Sorting by length and
    cutting when rows x longest passes the budget keeps padding and memory bounded; the
    figures do not depend on how markets are grouped (each row is its own episode).
    """
    batches: list[list] = []
    current: list = []
    for tape in sorted(tapes, key=lambda t: t.length):
        if current and (len(current) + 1) * tape.length > budget_steps:
            batches.append(current)
            current = []
        current.append(tape)
    if current:
        batches.append(current)
    return batches


# Resamples of the P&L-per-market bootstrap, and its fixed seed: the same run, the same CI.
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0

# Rows x steps per batch: about 300 bytes a cell (ladders, marks, features), so ~300 MB.
BATCH_BUDGET_STEPS = 1_000_000


class _Tally:
    """What the batches add up to: actions, entropy, and per-episode outcomes."""

    def __init__(self, n_actions: int, total_steps: int,
                 progress: Callable[[int, int], None] | None):
        self.histogram = np.zeros(n_actions, np.int64)
        self.entropy_sum = 0.0
        self.pnl: list[np.ndarray] = []
        self.drawdown: list[np.ndarray] = []
        self.fills = 0
        self.traded: list[np.ndarray] = []  # per episode: did anything fill
        self.orders = 0
        self.unfilled: dict[str, int] = {}
        self.unheld_sells = 0
        self.fees = 0.0
        self.total_steps = total_steps
        self.done_steps = 0
        self.progress = progress


def validate_model(path: Path, config: Config, session_ids: list[int], *,
                   deterministic: bool = True,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None,
                   seed: int = 0, store_result: bool = True,
                   on_stored: Callable[[Path | None, str | None], None] | None = None,
                   budget_steps: int = BATCH_BUDGET_STEPS,
                   ) -> ValidationResult:
    """Run the model over every market of the sessions and measure what it did.

    Raises IncompatibleModel, PolicyLoadError/PolicyRefused, ValidationError,
    ValidationCancelled or ModelChanged; stores only a finished, unchanged-model result.
    """
    path = Path(path)
    started = time.perf_counter()
    sha_before = sha256_before_run(path, session_ids, "validate on")
    policy, fingerprint, tapes, skips = load_while_replaying(
        config, session_ids, lambda: load_fitting_policy(path, config))
    result = run_validation(policy, config, session_ids, tapes, skips, label=str(path),
                            sha256=sha_before, sessions_fp=fingerprint,
                            deterministic=deterministic, seed=seed, progress=progress,
                            cancel=cancel, budget_steps=budget_steps, started=started)
    require_unchanged(path, sha_before, "validation")
    if store_result:
        stored = save_validation(result, config.cache_dir)
        if on_stored is not None:
            on_stored(*stored)
    return result


def run_validation(policy, config: Config, session_ids: list[int], tapes: list, skips: list, *,
                   label: str, sha256: str, sessions_fp: str, deterministic: bool = True,
                   seed: int = 0, progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None,
                   budget_steps: int = BATCH_BUDGET_STEPS,
                   watch: Callable[[np.ndarray, np.ndarray], None] | None = None,
                   started: float | None = None) -> ValidationResult:
    """The run itself, for a policy already loaded and checked: figures, nothing stored.

    `policy` is anything with `forward`, `n_actions` and `algorithm` (a LoadedPolicy, an
    ensemble). `label` and `sha256` name what ran. `watch(observations, actions)` sees
    every step's live observations and the actions played (the A/B test's agreement
    count); markets come out in `market_batches` order, the same for the same tapes.
    """
    from kalshi_tui.env.world import simulator_for
    from kalshi_tui.eval.policy_runner import single_threaded_torch

    started = time.perf_counter() if started is None else started
    env = config.environment
    n_actions = policy.n_actions
    tally = _Tally(n_actions, sum(max(t.length - 1, 0) for t in tapes), progress)
    rng = np.random.default_rng(seed)
    with single_threaded_torch():
        for batch in market_batches(tapes, budget_steps):
            sim = simulator_for(batch, env)
            _run_batch(sim, policy, deterministic, rng, tally, cancel, label, watch=watch)
    pnl = np.concatenate(tally.pnl)
    traded = np.concatenate(tally.traded)
    histogram = tally.histogram
    steps = int(histogram.sum())
    hold = 100.0 * histogram[0] / steps if steps else 0.0
    ci_low, ci_high = bootstrap_mean_ci(pnl, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)
    seconds = time.perf_counter() - started
    mean_entropy = tally.entropy_sum / steps if steps else 0.0
    return ValidationResult(
        model_path=label, sha256=sha256, algorithm=policy.algorithm,
        n_actions=n_actions, session_ids=sorted(session_ids), deterministic=deterministic,
        environment_fingerprint=env.fingerprint(),
        sessions_fingerprint=sessions_fp,
        profile=env.profile.name, observation_layout=env.observation_layout,
        fill_model=env.fill_model, session_source=session_source(config.sessions_db),
        action_labels=env.layout.labels[:n_actions], histogram=histogram.tolist(),
        steps=steps, hold_pct=hold,
        trading_pct=100.0 * tally.fills / steps if steps else 0.0,
        attempted_pct=100.0 * tally.orders / steps if steps else 0.0,
        orders_attempted=tally.orders,
        unfilled_by_cause={c: n for c, n in tally.unfilled.items() if n},
        episodes_traded=int(traded.sum()),
        market_pnl_cents=[float(x) for x in pnl],
        pnl_ci_low_cents=ci_low, pnl_ci_high_cents=ci_high,
        bootstrap_resamples=BOOTSTRAP_RESAMPLES, bootstrap_seed=BOOTSTRAP_SEED,
        histogram_entropy=entropy_normalised(histogram, n_actions),
        mean_policy_entropy=mean_entropy,
        mean_policy_entropy_normalised=mean_entropy / np.log(n_actions) if n_actions > 1 else 0.0,
        episodes=len(pnl), markets=len({t.ticker for t in tapes}),
        win_rate=float((pnl[traded] > 0).mean()) if traded.any() else 0.0,
        total_pnl_cents=float(pnl.sum()),
        mean_pnl_cents=float(pnl.mean()),
        max_drawdown_cents=float(np.concatenate(tally.drawdown).max()),
        fills=tally.fills, fees_cents=tally.fees,
        seconds=seconds, steps_per_second=steps / seconds if seconds > 0 else 0.0,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        seed=None if deterministic else seed, skipped=list(skips),
        unheld_sells=tally.unheld_sells,
    )


def _run_batch(sim, policy, deterministic: bool, rng: np.random.Generator, tally: _Tally,
               cancel: threading.Event | None, label: str | Path,
               watch: Callable[[np.ndarray, np.ndarray], None] | None = None) -> None:
    """Step every market of one batch to its end, adding what happened to the tally."""
    from kalshi_tui.eval.policy_runner import distribution_entropy, sample_actions

    obs = sim.reset()
    peak = sim.values().copy()
    drawdown = np.zeros(sim.n)
    actions = np.zeros(sim.n, np.int64)
    iteration = 0
    while not sim.all_done:
        if cancel is not None and cancel.is_set():
            raise ValidationCancelled(f"{label}: validation cancelled; nothing stored")
        live = np.flatnonzero(~sim.done)
        out = policy.forward(obs[live])
        chosen = out.greedy_actions if deterministic else sample_actions(out.probabilities, rng)
        if watch is not None:
            watch(obs[live], chosen)
        actions[:] = 0
        actions[live] = chosen
        tally.histogram += np.bincount(chosen, minlength=len(tally.histogram))
        tally.entropy_sum += float(distribution_entropy(out.probabilities).sum())
        obs, _rewards, _ended = sim.step(actions)
        values = sim.values()
        peak[live] = np.maximum(peak[live], values[live])
        drawdown[live] = np.maximum(drawdown[live], peak[live] - values[live])
        tally.done_steps += len(live)
        iteration += 1
        # The first step reports at once so a progress bar appears before the run is far in.
        if tally.progress is not None and (iteration == 1 or iteration % PROGRESS_EVERY == 0
                                           or sim.all_done):
            tally.progress(tally.done_steps, tally.total_steps)
    tally.pnl.append(sim.values() - sim.initial_cash)
    tally.drawdown.append(drawdown)
    tally.fills += int(sim.fill_count.sum())
    tally.traded.append(sim.fill_count > 0)
    tally.orders += int(sim.orders.sum())
    for cause, counts in sim.unfilled.items():
        tally.unfilled[cause] = tally.unfilled.get(cause, 0) + int(counts.sum())
    tally.unheld_sells += int(sim.unheld_sells.sum())
    tally.fees += float(sim.fees.sum())


__all__ = ["validate_model", "run_validation", "ValidationError", "ValidationCancelled",
           "ModelChanged", "IncompatibleModel", "entropy_normalised", "market_batches"]
