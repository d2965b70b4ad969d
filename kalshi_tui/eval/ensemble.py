"""Validate an ensemble: N compatible models voting as one policy, beside each member.

Every member is loaded on the safe path and checked against the environment before
anything runs; the vote (kalshi_tui.eval.ensemble_vote) is run by the validation's batched
runner over every market of the sessions, then each member and the current model alone on
the same markets, so each row of the report is paired market by market. Runs in the
trader's mode unless told otherwise. The trader loads one zip: an ensemble is evidence
about its members, never a pointer target. A run that fails, is cancelled, or whose models
change underneath it stores nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kalshi_tui.core.config import Config
from kalshi_tui.eval.abtest import shifted_progress
from kalshi_tui.eval.batched import run_validation
from kalshi_tui.eval.current import CurrentModel, current_model
from kalshi_tui.eval.ensemble_result import (
    ENSEMBLE_SEED,
    VOTES,
    EnsembleResult,
    ensemble_id,
    ensemble_key,
    save_ensemble,
)
from kalshi_tui.eval.ensemble_vote import EnsemblePolicy
from kalshi_tui.eval.model_fit import (
    IncompatibleModel,
    ValidationCancelled,
    ValidationError,
    load_fitting_policy,
    require_unchanged,
    sha256_before_run,
)
from kalshi_tui.eval.paired import paired_difference
from kalshi_tui.eval.results_cache import save_validation
from kalshi_tui.eval.session_replay import load_while_replaying


def validate_ensemble(paths: list[Path], config: Config, session_ids: list[int], vote: str, *,
                      deterministic: bool | None = None,
                      current: CurrentModel | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      cancel: threading.Event | None = None, store_result: bool = True,
                      on_stored: Callable[[Path | None, str | None], None] | None = None,
                      ) -> EnsembleResult:
    """Run the vote, each member and the current model on the same markets; compare them.

    Raises ValidationError (fewer than 2 models, one named twice, an unknown vote or
    session), PolicyLoadError/PolicyRefused or IncompatibleModel naming the member,
    ValidationCancelled or ModelChanged; nothing is stored then. A current model that
    cannot run here is not an error: the result says why it is not beside the ensemble.
    """
    paths = [Path(p) for p in paths]
    started = time.perf_counter()
    if vote not in VOTES:
        raise ValidationError(f"--vote {vote}: choose {' or '.join(VOTES)}")
    shas = _distinct_members(paths, session_ids)
    current = current if current is not None else current_model(config)
    (members, (current_policy, current_note)), fingerprint, tapes, skips = load_while_replaying(
        config, session_ids,
        lambda: ([load_fitting_policy(path, config) for path in paths],
                 _current_beside(current, paths, shas, config)))
    deterministic = config.trader_deterministic if deterministic is None else deterministic
    identity = ensemble_id(shas, vote)
    shown_names = [model_name(path, config) for path in paths]
    names = " + ".join(shown_names)
    # (policy, label, sha256): the vote first, then each member, then the current model
    runs: list[tuple[Any, str, str]] = [
        (EnsemblePolicy(members, vote), f"ensemble ({vote}) of {names}", identity)]
    runs += [(policy, str(path), sha)
             for policy, path, sha in zip(members, paths, shas, strict=True)]
    if current_policy is not None:
        runs.append((current_policy, str(current.path), str(current.sha256)))
    per_run = sum(max(t.length - 1, 0) for t in tapes)
    results = []
    try:
        for index, (policy, label, sha) in enumerate(runs):
            results.append(run_validation(
                policy, config, session_ids, tapes, skips, label=label, sha256=sha,
                sessions_fp=fingerprint, deterministic=deterministic, seed=ENSEMBLE_SEED,
                progress=shifted_progress(progress, index * per_run, per_run * len(runs)),
                cancel=cancel))
    except ValidationCancelled:
        raise ValidationCancelled(f"ensemble of {names}: validation cancelled; "
                                  "nothing stored") from None
    for _policy, label, sha in runs[1:]:
        require_unchanged(Path(label), sha, "the ensemble validation")
    ensemble, member_results = results[0], results[1:len(paths) + 1]
    current_result = results[-1] if current_policy is not None else None
    if current.runnable and current.sha256 in shas:
        current_result = member_results[shas.index(current.sha256)]
    best = best_member(member_results)
    result = EnsembleResult(
        ensemble_id=identity, vote=vote, ensemble=ensemble, members=member_results,
        best_member=best,
        vs_best_member=paired_difference(ensemble.market_pnl_cents,
                                         member_results[best].market_pnl_cents),
        current=current_result, current_note=current_note,
        vs_current=(paired_difference(ensemble.market_pnl_cents, current_result.market_pnl_cents)
                    if current_result is not None else None),
        seconds=time.perf_counter() - started,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        member_names=shown_names,
        current_name=model_name(current.path, config) if current.path is not None else None,
    )
    if store_result:
        # The members and the current model ran as plain validations: stored as such too.
        for single in results[1:]:
            save_validation(single, config.cache_dir)
        key = ensemble_key(config, session_ids, fingerprint, deterministic, ENSEMBLE_SEED,
                           current.sha256 if current.runnable else None)
        stored = save_ensemble(result, key, config.cache_dir)
        if on_stored is not None:
            on_stored(*stored)
    return result


def model_name(path: Path, config: Config) -> str:
    """How a model is named in the rows: its path inside the models folder (run folders all
    hold a `model.zip`), else its file name."""
    try:
        return str(Path(path).resolve().relative_to(Path(config.models_dir).resolve()))
    except ValueError:
        return Path(path).name


def best_member(members: list) -> int:
    """The member with the highest mean P&L per market among those whose orders filled (a
    member that never traded is no strategy to beat), else among all; first named on a tie."""
    traded = [i for i, m in enumerate(members) if not m.never_traded] or list(range(len(members)))
    return max(traded, key=lambda i: (members[i].mean_pnl_cents, -i))


def _distinct_members(paths: list[Path], session_ids: list[int]) -> list[str]:
    """Each member's sha256 before the run; 2 or more, no model twice (a copy counts)."""
    if len(paths) < 2:
        named = f" ({paths[0]})" if paths else ""
        raise ValidationError(f"an ensemble needs at least 2 models, got {len(paths)}{named}")
    shas = [sha256_before_run(p, session_ids, "validate an ensemble on") for p in paths]
    for index, sha in enumerate(shas):
        first = shas.index(sha)
        if first != index:
            raise ValidationError(f"{paths[index]}: the same model as {paths[first]} (sha256 "
                                  f"{sha[:12]}): an ensemble needs different models")
    return shas


def _current_beside(current: CurrentModel, paths: list[Path], shas: list[str], config: Config):
    """(the current model's policy to run beside the ensemble, or None; why not, or None)."""
    from kalshi_tui.eval.safe_load import PolicyLoadError

    if not current.runnable or current.path is None or current.sha256 is None:
        return None, current.problem
    if current.sha256 in shas:
        member = model_name(paths[shas.index(current.sha256)], config)
        return None, f"the current model is the member {member}"
    try:
        return load_fitting_policy(current.path, config), None
    except (PolicyLoadError, IncompatibleModel) as exc:
        return None, f"current model not run: {exc}"


__all__ = ["EnsembleResult", "validate_ensemble"]
