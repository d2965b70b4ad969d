"""Build the bundled demo registry `trained_models/` from the bundled sessions.

The demo re-creates the situation the seed analysis found: CURRENT_MODEL.json still
points at a 5-action model trained before the action space grew to 21, while newer
21-action models sit beside it. Every model is really trained by the pipeline on the
bundled sessions (nothing is hand-made), and the runs are stamped with `--as-of` dates
so the legacy models come before the action-space change; each run's files say so in
their `backdated` block. One file is a deliberately truncated copy, so the catalog's
unreadable badge appears too.

The registry is built in a staging folder and swapped in at the end, so an interrupted
build leaves the old registry as it was.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from kalshi_tui.core import EnvironmentSpec
from kalshi_tui.train.demo_pointer import write_demo_pointer, write_registry_readme
from kalshi_tui.train.pipeline import TrainingError, TrainRequest, TrainResult, train

MARKER = "DEMO_REGISTRY.md"
FINAL_NAME = "session32_final.zip"
UNREADABLE_NAME = "demo_unreadable_truncated.zip"
POINTER_NAME = "CURRENT_MODEL.json"


class DemoError(Exception):
    """The demo registry cannot be built; one line naming why."""


@dataclass(frozen=True)
class DemoRun:
    """One training run of the demo and the badge or story it is there for."""

    session_ids: tuple[int, ...]
    algorithm: str
    n_actions: int
    timesteps: int
    as_of: str  # UTC
    purpose: str
    checkpoints: int = 0  # how many checkpoints over the run
    legacy_layout: bool = False
    extra_features: int = 0
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    # The world it is trained in: "original-training" replays the profile's training-time
    # accounting, where a SELL without a position opens the other side and is paid for.
    fill_model: str = "realistic"


# Longest first, so two workers finish together. Dates: the 5-action runs come before
# the action space grew (Dec 12, 2025); each run is dated after its session was recorded.
# A larger learning step than the pipeline's default makes the policies commit within a
# demo-sized run, so the histograms the TUI shows are clearly uneven: measured on the
# bundled sessions, bars end up between a fifth and four times the uniform share (PPO at
# 1e-2 can also collapse onto one action). The whole-run histogram includes the early,
# near-uniform steps, so its normalised entropy stays higher (0.8-0.95) than the last
# episodes' exploration ratio (0.5-0.75).
FAST = {"learning_rate": 1e-2}
MEDIUM = {"learning_rate": 5e-3}
# The session 32 run re-creates the original's lost day: trained where selling without a
# position was rewarded (the `original-training` fill model), it learns to sell on every
# step. Its training summary, counted while the policy samples, still trades on ~98 % of
# steps with all 21 actions; in the trader's deterministic mode it plays SELL_NO x100 on
# every recorded step (measured: COLLAPSED, 100.0 % of 30,121 steps; 0 fills in a real
# market). Its model.zip is copied to session32_final.zip, as the original kept its finals.
COLLAPSED_PURPOSE = ("21-action PPO trained under the original-training fill model, where "
                     "selling without a position was rewarded: its training summary trades "
                     "on most steps, but in the trader's deterministic mode it sells on every "
                     "step (COLLAPSED) and never fills in a real market; copied to "
                     "session32_final.zip")
DEMO_RUNS: tuple[DemoRun, ...] = (
    DemoRun((32,), "ppo", 21, 30_000, "2026-01-03T00:15:49", COLLAPSED_PURPOSE, checkpoints=2,
            hyperparameters=FAST, fill_model="original-training"),
    DemoRun((10,), "ppo", 21, 30_000, "2025-12-15T07:13:01", "21-action PPO", checkpoints=2,
            hyperparameters=FAST),
    DemoRun((5,), "ppo", 21, 30_000, "2025-12-15T00:37:22", "21-action PPO", checkpoints=2,
            hyperparameters=FAST),
    DemoRun((7,), "ppo", 21, 30_000, "2025-12-15T08:27:05", "21-action PPO", checkpoints=2,
            hyperparameters=MEDIUM),
    DemoRun((5, 6, 7), "a2c", 21, 20_000, "2025-12-14T18:12:03",
            "21-action A2C on three sessions (sessions{a_b_c} naming)"),
    DemoRun((9,), "ppo", 5, 20_000, "2025-12-11T22:10:54",
            "legacy 5-action PPO in the Dec 11 layout (trained_model.zip); CURRENT_MODEL.json "
            "points here, as in the seed analysis", checkpoints=2, legacy_layout=True,
            hyperparameters=MEDIUM),
    DemoRun((8,), "ppo", 5, 15_000, "2025-12-12T10:45:00",
            "legacy 5-action PPO in the current layout", hyperparameters=MEDIUM),
    DemoRun((6,), "ppo", 21, 10_000, "2025-12-13T14:02:33",
            "21 actions but 54 observation features (2 extra): incompatible observation",
            extra_features=2, hyperparameters=FAST),
)

REQUIRED_SESSIONS = sorted({s for run in DEMO_RUNS for s in run.session_ids})


def _request(run: DemoRun, out: Path, seed: int, scale: float) -> TrainRequest:
    timesteps = max(64, int(run.timesteps * scale))
    as_of = datetime.fromisoformat(run.as_of).replace(tzinfo=UTC)
    return TrainRequest(
        session_ids=list(run.session_ids), algorithm=run.algorithm, timesteps=timesteps,
        n_actions=run.n_actions, out=out, seed=seed,
        checkpoint_every=timesteps // run.checkpoints if run.checkpoints else 0,
        as_of=as_of, legacy_layout=run.legacy_layout, extra_features=run.extra_features,
        hyperparameters=dict(run.hyperparameters), progress=False)


def _train_one(
    request: TrainRequest, sessions_db: Path | str, environment: EnvironmentSpec
) -> TrainResult:
    """Worker entry point: one run in its own process."""
    return train(request, sessions_db=sessions_db, layout=environment.layout_for(request.n_actions),
                 environment=environment)


def _run_environment(run: DemoRun, environment: EnvironmentSpec) -> EnvironmentSpec:
    """The configured world with the run's fill model (every run shares layout and sizes)."""
    import dataclasses

    if run.fill_model == environment.fill_model:
        return environment
    if run.fill_model == "original-training" and environment.profile.training_rules is None:
        raise DemoError(f"profile {environment.profile.name} has no original training rules: "
                        "the demo's collapsed model needs them (use a kalshiflow profile)")
    return dataclasses.replace(environment, fill_model=run.fill_model)


def _check_replaceable(out: Path) -> None:
    """Only an empty folder or an earlier demo build may be replaced: never real models."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DemoError(f"{out}: exists and is not a folder")
    visible = [p for p in out.iterdir() if not p.name.startswith(".")]
    if visible and not (out / MARKER).is_file():
        raise DemoError(f"{out}: holds files but no {MARKER}, so it is not a demo registry; "
                        f"refusing to replace it (choose another --out)")


def _check_sessions(sessions_db: Path | str) -> None:
    from kalshi_tui.env import StoreError, open_session_store

    try:
        with open_session_store(sessions_db) as store:
            available = set(store.session_ids())
    except StoreError as exc:
        raise DemoError(str(exc)) from None
    missing = [s for s in REQUIRED_SESSIONS if s not in available]
    if missing:
        raise DemoError(f"{sessions_db}: the demo needs sessions {REQUIRED_SESSIONS}; "
                        f"missing {', '.join(map(str, missing))}")


def build_demo(out: Path, *, sessions_db: Path | str, environment: EnvironmentSpec, seed: int = 0,
               jobs: int = 2, scale: float = 1.0, runs: tuple[DemoRun, ...] = DEMO_RUNS,
               log=print) -> dict[str, Any]:
    """Train every demo run, add the flat final, the unreadable file and the pointer; swap in."""
    began = time.perf_counter()
    out = Path(out).resolve()
    _check_replaceable(out)
    _check_sessions(sessions_db)
    # The staging folder has the registry's own name, so every path the runs write
    # ("trained_models/session9_.../trained_model.zip") is already the final one.
    staging_parent = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(staging_parent, ignore_errors=True)
    staging = staging_parent / out.name
    staging.mkdir(parents=True)
    try:
        results = _train_all(runs, staging, sessions_db, environment, seed, scale, jobs, log)
        by_run = list(zip(runs, results, strict=True))
        session32 = next(r for run, r in by_run if run.session_ids == (32,) and run.n_actions == 21)
        shutil.copyfile(session32.model_path, staging / FINAL_NAME)
        data = (staging / FINAL_NAME).read_bytes()
        # Half a zip: the central directory is gone, which is what an interrupted copy leaves.
        (staging / UNREADABLE_NAME).write_bytes(data[: len(data) // 2])
        pointed = next(r for run, r in by_run if run.legacy_layout)
        write_demo_pointer(staging / POINTER_NAME, pointed, base_dir=staging.parent,
                           layout=environment.legacy_layout)
        lines = _report_lines(by_run, staging)
        write_registry_readme(staging / MARKER, lines, seed=seed, scale=scale,
                              final_name=FINAL_NAME, unreadable_name=UNREADABLE_NAME)
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging_parent, ignore_errors=True)
    zips = list(out.rglob("*.zip"))
    return {
        "out": str(out),
        "models": len(zips),
        "total_bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
        "seconds": time.perf_counter() - began,
        "runs": lines,
    }


def _train_all(
    runs, staging, sessions_db, environment, seed, scale, jobs, log
) -> list[TrainResult]:
    requests = [_request(run, staging, seed + index, scale) for index, run in enumerate(runs)]
    results: dict[int, TrainResult] = {}  # by run index; finished in any order
    started = time.perf_counter()
    if jobs <= 1:
        for index, request in enumerate(requests):
            world = _run_environment(runs[index], environment)
            results[index] = _run_or_fail(
                lambda request=request, world=world: _train_one(request, sessions_db, world))
            log(f"[{index + 1}/{len(runs)}] {results[index].run_dir.name} "
                f"({time.perf_counter() - started:.0f} s)")
        return [results[index] for index in range(len(runs))]
    # spawn, not fork: each worker starts clean instead of inheriting a parent's torch threads.
    # A multiprocessing Pool rather than a ProcessPoolExecutor: leaving the `with` terminates
    # its workers (public API), so an interrupted or failed build stops the other runs at
    # once instead of waiting minutes for them.
    work = [(index, request, sessions_db, _run_environment(runs[index], environment))
            for index, request in enumerate(requests)]
    with get_context("spawn").Pool(jobs) as pool:
        try:
            for done, (index, result) in enumerate(pool.imap_unordered(_train_indexed, work),
                                                   start=1):
                results[index] = result
                log(f"[{done}/{len(runs)}] {result.run_dir.name} "
                    f"({time.perf_counter() - started:.0f} s)")
        except TrainingError as exc:
            raise DemoError(f"demo run failed: {exc}") from None
    return [results[index] for index in range(len(runs))]


def _train_indexed(work: tuple[int, TrainRequest, Path | str, EnvironmentSpec]
                   ) -> tuple[int, TrainResult]:
    """One run in a pool worker, with its index (runs finish in any order)."""
    index, request, sessions_db, environment = work
    return index, _train_one(request, sessions_db, environment)


def _run_or_fail(call) -> TrainResult:
    try:
        return call()
    except TrainingError as exc:
        raise DemoError(f"demo run failed: {exc}") from None


def _report_lines(by_run: list[tuple[DemoRun, TrainResult]], staging: Path) -> list[dict[str, Any]]:
    import json

    lines = []
    for run, result in by_run:
        summary = json.loads(result.layout.summary_path.read_text(encoding="utf-8"))
        actions = summary["final_statistics"]["action_statistics"]
        lines.append({
            "path": result.model_path.relative_to(staging).as_posix(),
            "n_actions": run.n_actions,
            "algorithm": run.algorithm,
            "timesteps": result.timesteps,
            "episodes": result.episodes,
            "checkpoints": len(result.checkpoints),
            "hold_pct": actions["hold_dominance"]["hold_percentage"],
            "entropy": actions["overall_entropy_normalized"],
            "exploration_ratio": actions["exploration_analysis"]["exploration_ratio"],
            "fill_model": run.fill_model,
            "purpose": run.purpose,
        })
    return lines


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` with the finished build; the old registry goes only once the new is in."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
