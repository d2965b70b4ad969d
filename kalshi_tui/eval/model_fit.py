"""Does a loaded model fit the configured environment? Reasons an operator can act on.

`model.predict` never checks the action space, so a 5-action model runs silently in the
21-action environment and only ever plays actions 0-4. Smoke and validation both refuse
to run such a model as if it were fine; this is the one place that says why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from kalshi_tui.core.config import Config, EnvironmentSpec
from kalshi_tui.eval.policy_spec import PolicySpec

if TYPE_CHECKING:
    from kalshi_tui.eval.policy_runner import LoadedPolicy


class IncompatibleModel(Exception):
    """The model's spaces do not fit the configured environment; the message says how."""


class ValidationError(Exception):
    """A run could not start or finish; one line naming the file, session or reason."""


class ValidationCancelled(ValidationError):
    """The caller cancelled the run; nothing was stored."""


class ModelChanged(ValidationError):
    """The model file changed while it was being run; nothing was stored."""


def fit_problems(path: Path, spec: PolicySpec, env: EnvironmentSpec) -> list[str]:
    """One line per way the model's spaces differ from the environment's; empty when it fits."""
    problems: list[str] = []
    if spec.n_actions != env.n_actions:
        if spec.n_actions == env.legacy_n_actions:
            problems.append(
                f"{path}: UNUSABLE: legacy {spec.n_actions}-action model in the "
                f"{env.n_actions}-action environment: it would silently emit only actions "
                f"0-{spec.n_actions - 1}, which here mean {_labels(env, spec.n_actions)}")
        else:
            problems.append(
                f"{path}: UNUSABLE: {spec.n_actions}-action model in the "
                f"{env.n_actions}-action environment")
    if env.observation_shape and tuple(spec.obs_shape) != tuple(env.observation_shape):
        problems.append(f"{path}: UNUSABLE: observations of shape {list(spec.obs_shape)}, "
                        f"the environment gives {list(env.observation_shape)}")
    if spec.obs_dtype != env.observation_dtype:
        problems.append(f"{path}: observation dtype {spec.obs_dtype}, the environment "
                        f"gives {env.observation_dtype}")
    return problems


def _labels(env: EnvironmentSpec, n: int) -> str:
    """What ids 0..n-1 mean in the environment: the model's 'SELL_NO' is really 'BUY_YES x50'."""
    return ", ".join(env.layout.label(a) for a in range(min(n, env.layout.n)))


def require_fit(path: Path, spec: PolicySpec, env: EnvironmentSpec) -> None:
    problems = fit_problems(path, spec, env)
    if problems:
        raise IncompatibleModel(problems[0])


def load_fitting_policy(path: Path, config: Config) -> LoadedPolicy:
    """The policy built on the safe path (nothing unpickled) and checked against the
    environment: what every run starts with. Raises PolicyLoadError/PolicyRefused or
    IncompatibleModel, each naming the file."""
    from kalshi_tui.eval.safe_load import load_policy_safely

    policy = load_policy_safely(path, max_data_bytes=config.max_data_bytes,
                                environment=config.environment)
    require_fit(path, policy.spec, config.environment)
    return policy


def file_sha256(path: Path) -> str:
    """The model file's content hash: what stored results are keyed by."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_before_run(path: Path, session_ids: list[int], purpose: str) -> str:
    """The start every run shares: sessions to run on, and the model's hash before it runs.

    `purpose` completes "no sessions to ...": "validate on", "check health on".
    """
    if not session_ids:
        raise ValidationError(f"no sessions to {purpose}")
    try:
        return file_sha256(path)
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read model file ({exc.strerror})") from None


def require_unchanged(path: Path, sha_before: str, during: str) -> None:
    """Raise ModelChanged when the file's content is not what was hashed before the run.

    A file removed or unreadable afterwards counts as changed: its result cannot be tied
    to the bytes that were run. `during` names the run: "validation", "the A/B test".
    """
    try:
        unchanged = file_sha256(path) == sha_before
    except OSError:
        unchanged = False
    if not unchanged:
        raise ModelChanged(f"{path}: the model file changed during {during}; "
                           "result discarded, nothing stored")
