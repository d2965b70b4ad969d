"""Train a model on recorded sessions and leave the original system's run folder behind.

`train(request)` checks everything it can before the first step (store, sessions,
action count, output folder), so a mistake costs a one-line `TrainingError`, not a run
that dies half way. `run_training(env, ...)` is the part after the checks: it takes any
gymnasium env with the trading env's info keys, which is how the tests drive it.
SB3 and torch are imported inside the functions, never at import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.world import ActionLayout
from kalshi_tui.train.stats import TrainingStats
from kalshi_tui.train.writer import (
    DiagnosticsLog,
    RunClock,
    RunLayout,
    iso_utc,
    new_run_dir,
    write_json,
)

ALGORITHMS = ("ppo", "a2c")

# kalshi-tui's defaults. The original's tuned PPO (lr 1e-4, n_steps 4096, batch 256,
# gamma 0.99) was made for million-step runs; on the bundled sessions it leaves a policy
# still near uniform after 30,000 steps. Shorter rollouts, a larger step and a shorter
# horizon learn a clearly uneven policy in 20,000 steps (measured on session 5).
DEFAULT_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "ppo": {"learning_rate": 3e-3, "n_steps": 512, "batch_size": 128, "n_epochs": 10,
            "gamma": 0.9, "gae_lambda": 0.95, "clip_range": 0.2, "ent_coef": 0.0,
            "vf_coef": 0.5, "max_grad_norm": 0.5},
    "a2c": {"learning_rate": 7e-4, "n_steps": 5, "gamma": 0.99, "gae_lambda": 1.0,
            "ent_coef": 0.01, "vf_coef": 0.25, "max_grad_norm": 0.5},
}
DEFAULT_NET_ARCH = (64, 64)


class TrainingError(Exception):
    """A training request that cannot run, said in one line naming what is wrong."""


@dataclass
class TrainRequest:
    """Everything `kalshi-tui train` takes."""

    session_ids: list[int]
    algorithm: str = "ppo"
    timesteps: int = 10_000
    n_actions: int = 21
    out: Path = Path("trained_models")
    seed: int | None = None
    checkpoint_every: int | None = None  # None: a quarter of the run; 0: no checkpoints
    as_of: datetime | None = None  # stamp the run as if it started then (demo history)
    legacy_layout: bool = False  # trained_model.zip with diagnostics beside it (Dec 11 runs)
    net_arch: tuple[int, ...] = DEFAULT_NET_ARCH
    # Zero features appended to each observation: a model for an environment variant with
    # more features (the demo's 54-feature model, which the catalog must flag).
    extra_features: int = 0
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    progress: bool = True
    label: str = ""


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path
    layout: RunLayout
    checkpoints: list[Path]
    timesteps: int
    episodes: int
    duration_seconds: float
    skipped_markets: list[str]


def checkpoint_interval(request: TrainRequest) -> int:
    if request.checkpoint_every is None:
        return max(1, request.timesteps // 4)
    return max(0, int(request.checkpoint_every))


def check_request(request: TrainRequest, layout: ActionLayout | None) -> ActionLayout:
    """Refuse a request that cannot run before any data is loaded; the layout to train."""
    if request.algorithm not in ALGORITHMS:
        raise TrainingError(
            f"--algorithm {request.algorithm}: choose one of {', '.join(ALGORITHMS)}"
        )
    if request.timesteps <= 0:
        raise TrainingError(f"--timesteps {request.timesteps}: must be a positive number of steps")
    if layout is None:
        raise TrainingError(f"--actions {request.n_actions}: the configured environment has "
                            f"layouts of 21 and 5 actions only")
    if not request.session_ids:
        raise TrainingError("no session to train on: pass --session N or --sessions a,b")
    if request.out.exists() and not request.out.is_dir():
        raise TrainingError(f"{request.out}: --out must be a folder, this is a file")
    if request.extra_features < 0:
        raise TrainingError(f"--extra-features {request.extra_features}: must be 0 or more")
    if any(width <= 0 for width in request.net_arch):
        raise TrainingError(f"--net-arch {request.net_arch}: layer widths must be positive")
    return layout


def train(request: TrainRequest, *, sessions_db: Path | str, layout: ActionLayout | None,
          environment=None) -> TrainResult:
    """Check the request, load the sessions' markets, train, and write the run folder.

    `sessions_db` is a SQLite file or a postgresql:// URL. `environment` (the config's
    `EnvironmentSpec`) names the world trained in: observation layout, complement, fill
    model; without it, the default profile's (layout A, k = 99, realistic fills).
    """
    from kalshi_tui.core import source_name
    from kalshi_tui.env import (
        KalshiTradingEnv,
        StoreError,
        load_tapes,
        open_session_store,
        tape_options,
    )

    layout = check_request(request, layout)
    name = source_name(sessions_db)
    try:
        with open_session_store(sessions_db) as store:
            available = store.session_ids()
            unknown = [s for s in request.session_ids if s not in available]
            if unknown:
                raise TrainingError(
                    f"{name}: session {', '.join(map(str, unknown))} not in the store "
                    f"(available: {', '.join(map(str, available)) or 'none'})")
            tapes, skips = load_tapes(store, request.session_ids,
                                      **(tape_options(environment) if environment else {}))
    except StoreError as exc:
        raise TrainingError(str(exc)) from None
    if not tapes:
        reasons = f": {skips[0]}" if skips else ""
        raise TrainingError(f"{name}: sessions {request.session_ids} have no usable "
                            f"market ({len(skips)} skipped){reasons}")
    world = {} if environment is None else {
        "fill_model": environment.fill_model,
        "training_rules": environment.profile.training_rules}
    env = KalshiTradingEnv(tapes, layout, seed=request.seed, **world)
    if request.extra_features:
        env = with_extra_features(env, request.extra_features)
    environment_info = {
        "total_markets": len(tapes),
        "markets": sorted({t.ticker for t in tapes}),
        "session_ids": list(request.session_ids),
        "total_steps_per_pass": int(sum(t.length for t in tapes)),
        "skipped_markets": skips,
        "sessions_db": name,
        # the world trained in: a model fits only the layout it saw
        "observation_layout": tapes[0].obs_layout,
        "complement": tapes[0].complement,
        "fill_model": world.get("fill_model", "realistic"),
        **({"profile": environment.profile.name} if environment is not None else {}),
    }
    return run_training(env, layout, request, environment_info=environment_info)


def with_extra_features(env, count: int):
    """The env with `count` zero features appended to every observation."""
    import gymnasium as gym
    import numpy as np

    class ExtraZeroFeatures(gym.ObservationWrapper):
        def __init__(self, inner):
            super().__init__(inner)
            space = inner.observation_space
            low = np.concatenate([space.low, np.full(count, space.low.min(), space.dtype)])
            high = np.concatenate([space.high, np.full(count, space.high.max(), space.dtype)])
            self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)

        def observation(self, observation):
            return np.concatenate([observation, np.zeros(count, observation.dtype)])

    return ExtraZeroFeatures(env)


def _make_model(request: TrainRequest, vec_env):
    from stable_baselines3 import A2C, PPO

    params = {**DEFAULT_HYPERPARAMETERS[request.algorithm], **request.hyperparameters}
    if "n_steps" in params and int(params["n_steps"]) > request.timesteps:
        # One rollout longer than the whole run would train past --timesteps.
        params["n_steps"] = max(2, request.timesteps)
        if "batch_size" in params:
            params["batch_size"] = params["n_steps"]
    algorithm = {"ppo": PPO, "a2c": A2C}[request.algorithm]
    return algorithm("MlpPolicy", vec_env, seed=request.seed, device="cpu", verbose=0,
                     policy_kwargs={"net_arch": list(request.net_arch)}, **params), params


def _shown(path: Path, out: Path) -> str:
    """A path as the original wrote it: relative to the folder that holds the models folder."""
    try:
        return path.resolve().relative_to(out.resolve().parent).as_posix()
    except ValueError:
        return path.as_posix()


def run_training(env, layout: ActionLayout, request: TrainRequest, *,
                 environment_info: dict[str, Any] | None = None) -> TrainResult:
    """Train on a ready env and write model, checkpoints, results, summary and logs."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from kalshi_tui.train.progress import ProgressBarCallback
    from kalshi_tui.train.tracker import BackdatedCheckpoints, DiagnosticsCallback

    layout = check_request(request, layout)
    if getattr(env.action_space, "n", None) != layout.n:
        raise TrainingError(
            f"the environment has {env.action_space} actions, the layout {layout.n}"
        )
    # One thread: tiny networks gain nothing from more, runs stay reproducible, and the
    # demo build can train two models side by side on two cores.
    torch.set_num_threads(1)
    clock = RunClock(request.as_of)
    out = Path(request.out)
    run_dir = new_run_dir(out, request.session_ids, request.algorithm, clock)
    run_layout = RunLayout.legacy(run_dir) if request.legacy_layout else RunLayout.current(run_dir)
    started = clock.now()
    session_id = request.session_ids[0] if len(request.session_ids) == 1 else None
    obs_space = env.observation_space
    metadata: dict[str, Any] = {
        "session_id": session_id,
        "session_ids": list(request.session_ids),
        "algorithm": request.algorithm,
        "start_time": iso_utc(started),
        "output_directory": _shown(run_dir, out) + "/",
        "n_actions": layout.n,
        "action_space": layout.describe(),
        "position_sizes": list(layout.sizes),
        "diagnostics_files": {
            "text_log": _shown(run_layout.log_path, out),
            "json_log": _shown(run_layout.jsonl_path, out),
            "summary": _shown(run_layout.summary_path, out),
        },
    }
    if clock.backdated:
        metadata["backdated"] = {"as_of": iso_utc(started), "real_start": iso_utc(clock.real_start),
                                 "note": "dates shifted by --as-of; durations are real"}
    stats = TrainingStats(layout, n_envs=1, obs_low=float(obs_space.low.min()),
                          obs_high=float(obs_space.high.max()))
    vec_env = DummyVecEnv([lambda: Monitor(env)])
    model, params = _make_model(request, vec_env)
    interval = checkpoint_interval(request)
    with DiagnosticsLog(run_layout, clock, metadata) as log:
        tracker = DiagnosticsCallback(stats, log)
        callbacks: list[BaseCallback] = [tracker]
        if interval:
            callbacks.append(BackdatedCheckpoints(clock, save_freq=interval,
                                                   save_path=str(run_layout.checkpoints_dir),
                                                   name_prefix=run_layout.checkpoint_prefix))
        if request.progress:
            callbacks.append(
                ProgressBarCallback(request.timesteps, label=request.label or run_dir.name)
            )
        model.learn(total_timesteps=request.timesteps, callback=CallbackList(callbacks))
        finished = clock.now()
        duration = (finished - started).total_seconds()
        real_start_ns = model.start_time
        model.start_time = clock.shift_ns(real_start_ns)
        model.save(run_layout.model_path)
        model.start_time = real_start_ns
        log.event("training", "milestone", {"event": "training_completed",
                                            "total_timesteps": int(model.num_timesteps),
                                            "total_episodes": len(stats.episodes)})
    final_training = {**tracker.training_metadata(), "algorithm": request.algorithm,
                      "session_id": session_id, "session_ids": list(request.session_ids)}
    write_json(run_layout.summary_path, {
        "training_metadata": metadata,
        "completion_time": iso_utc(finished),
        "final_statistics": {
            "training_metadata": final_training,
            "action_statistics": stats.action_statistics(),
            "reward_statistics": stats.reward_statistics(),
            "observation_statistics": stats.observation_statistics(
                int(math.prod(obs_space.shape)) if obs_space.shape else None),
        },
        "file_locations": {"diagnostics_log": metadata["diagnostics_files"]["text_log"],
                           "json_log": metadata["diagnostics_files"]["json_log"],
                           "run_directory": metadata["output_directory"]},
    })
    checkpoints = sorted(run_layout.checkpoints_dir.glob("*.zip")) if interval else []
    timesteps = int(model.num_timesteps)
    write_json(run_layout.results_path, {
        "training_completed": True,
        "total_timesteps": timesteps,
        "requested_timesteps": request.timesteps,
        "training_duration_seconds": duration,
        "timesteps_per_second": timesteps / duration if duration > 0 else None,
        "algorithm": request.algorithm,
        "session_ids": list(request.session_ids),
        "n_actions": layout.n,
        "seed": request.seed,
        "training_start": iso_utc(started),
        "training_end": iso_utc(finished),
        "final_model_path": _shown(run_layout.model_path, out),
        "checkpoints": [_shown(p, out) for p in checkpoints],
        "hyperparameters": {**params, "net_arch": list(request.net_arch)},
        "environment_info": environment_info or {},
        "portfolio_statistics": stats.portfolio_statistics(),
        **({"backdated": metadata["backdated"]} if clock.backdated else {}),
    })
    return TrainResult(run_dir=run_dir, model_path=run_layout.model_path, layout=run_layout,
                       checkpoints=checkpoints, timesteps=timesteps, episodes=len(stats.episodes),
                       duration_seconds=duration,
                       skipped_markets=list((environment_info or {}).get("skipped_markets", [])))
