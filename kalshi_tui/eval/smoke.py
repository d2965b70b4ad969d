"""Smoke test: can this model be loaded safely and trade the configured environment?

Loads the policy without unpickling, checks its spaces against the environment, then
lets it trade a few real markets from the session store and checks every action it
takes is one the environment has. A legacy 5-action model is reported UNUSABLE rather
than run: in the 21-action environment it would silently play only actions 0-4.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kalshi_tui.core.config import Config
from kalshi_tui.eval.model_fit import fit_problems

SMOKE_MARKETS = 4  # markets traded; enough to see the policy act on varied books
SMOKE_STEPS = 200  # steps per market at most
LATENCY_REPEATS = 30
BATCH_SIZE = 256


@dataclass
class SmokeResult:
    """What the smoke test found; `ok` only when every check passed."""

    path: str
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    algorithm: str | None = None
    policy_class: str | None = None
    n_actions: int | None = None
    obs_shape: list[int] | None = None
    load_seconds: float | None = None
    predict_latency_ms: float | None = None  # one observation, median
    batch_latency_ms: float | None = None  # BATCH_SIZE observations, median
    batch_size: int = BATCH_SIZE
    steps_run: int = 0
    markets_run: list[str] = field(default_factory=list)
    actions_seen: dict[str, int] = field(default_factory=dict)  # label -> count
    # the world the run traded in: profile, observation layout, fill model, sessions
    profile: str | None = None
    observation_layout: str | None = None
    fill_model: str | None = None
    session_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median_ms(call, repeats: int = LATENCY_REPEATS) -> float:
    call()  # the first call pays for lazy allocation; not what a trader waits for
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def smoke_test(path: Path, config: Config) -> SmokeResult:
    """Load, check the spaces, trade a few real markets; every problem becomes one line."""
    from kalshi_tui.eval.results_cache import session_source
    from kalshi_tui.eval.safe_load import PolicyLoadError, load_policy_safely

    path = Path(path)
    result = SmokeResult(path=str(path), **config.environment.world(),
                         session_source=session_source(config.sessions_db))
    try:
        policy = load_policy_safely(path, max_data_bytes=config.max_data_bytes,
                                    environment=config.environment)
    except PolicyLoadError as exc:
        result.problems.append(str(exc))
        return result
    result.algorithm, result.policy_class = policy.algorithm, policy.policy_class
    result.n_actions, result.obs_shape = policy.n_actions, list(policy.obs_shape)
    result.load_seconds = policy.load_seconds
    problems = fit_problems(path, policy.spec, config.environment)
    if problems:
        # Not run: its actions would mean something else here, and look fine doing it.
        result.problems.extend(problems)
        return result
    from kalshi_tui.eval.policy_runner import single_threaded_torch

    with single_threaded_torch():  # as validation and a trader's one-model process run it
        try:
            observations = _trade_real_markets(policy, config, result)
        except Exception as exc:  # noqa: BLE001 -- a smoke test reports, it does not crash
            result.problems.append(f"{path}: failed while trading: {type(exc).__name__}: {exc}")
            return result
        single = observations[:1]
        batch = np.resize(observations, (BATCH_SIZE, observations.shape[1]))
        result.predict_latency_ms = _median_ms(lambda: policy.predict(single))
        result.batch_latency_ms = _median_ms(lambda: policy.predict(batch))
    result.ok = not result.problems
    return result


def _trade_real_markets(policy, config: Config, result: SmokeResult) -> np.ndarray:
    """Let the policy trade the first markets of the validation sessions; check each action."""
    from kalshi_tui.env import StoreError, open_session_store, parse_session_list
    from kalshi_tui.env.tape import load_tapes
    from kalshi_tui.env.world import simulator_for, tape_options

    env = config.environment
    try:
        with open_session_store(config.sessions_db) as store:
            available = store.session_ids()
            try:
                sessions = parse_session_list(config.validation_sessions, available)
            except ValueError:
                sessions = available  # the smoke test needs real books, not these sessions
            tapes = []
            for session_id in sessions:
                found, _skips = load_tapes(store, [session_id], **tape_options(env))
                tapes.extend(found)
                if len(tapes) >= SMOKE_MARKETS:
                    break
    except StoreError as exc:
        result.problems.append(str(exc))
        raise
    if not tapes:
        raise RuntimeError(f"{config.sessions_name}: no market could be replayed")
    tapes = tapes[:SMOKE_MARKETS]
    sim = simulator_for(tapes, env)
    obs = sim.reset()
    seen = np.zeros(env.layout.n, np.int64)
    kept = []
    for _ in range(SMOKE_STEPS):
        if sim.all_done:
            break
        live = ~sim.done
        kept.append(obs[live])
        actions = np.asarray(policy.predict(obs))
        if actions.shape != (sim.n,) or not np.issubdtype(actions.dtype, np.integer):
            result.problems.append(f"{result.path}: predict gave {actions.dtype} of shape "
                                   f"{actions.shape}, not one action id per market")
            break
        bad = actions[live & ((actions < 0) | (actions >= env.layout.n))]
        if bad.size:
            result.problems.append(f"{result.path}: action {int(bad[0])} is outside the "
                                   f"environment's 0-{env.layout.n - 1}")
            break
        if not np.isfinite(policy.action_probabilities(obs[live])).all():
            result.problems.append(f"{result.path}: the policy gives NaN or infinite "
                                   "probabilities on real observations")
            break
        seen += np.bincount(actions[live], minlength=env.layout.n)
        obs, _rewards, _ended = sim.step(np.where(live, actions, 0))
    result.steps_run = int(seen.sum())
    result.markets_run = [t.name for t in tapes]
    result.actions_seen = {env.layout.label(a): int(c) for a, c in enumerate(seen) if c}
    return np.concatenate(kept) if kept else sim.observations()
