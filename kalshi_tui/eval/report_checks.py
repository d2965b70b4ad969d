"""The health check a report runs on the models it is about to recommend, and the lookup of
their stored A/B against the current model (`ab_lookup`).

`health_checker(config, progress)` is the `HealthCheck` the CLI hands to
`core.report.generate_report`: it runs `check_health` on the config's validation sessions
(torch, a few seconds), stores the result, and turns the evaluation layer's refusals into
the core's two answers: the model cannot run safely (it is barred), or nothing can be
checked here (the report says so and checks no further).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kalshi_tui.core.catalog import ModelRecord
from kalshi_tui.core.config import Config
from kalshi_tui.core.report import (
    ABFinding,
    ABLookup,
    HealthCheck,
    HealthCheckFailed,
    HealthCheckUnavailable,
)
from kalshi_tui.eval.health_result import HealthResult


def health_checker(config: Config, progress: Callable[[str], None] | None = None) -> HealthCheck:
    """A function that checks one model's health now; `progress` hears a line per check."""
    def check(record: ModelRecord) -> HealthResult:
        from kalshi_tui.eval.batched import ModelChanged, ValidationError
        from kalshi_tui.eval.health import check_health
        from kalshi_tui.eval.model_fit import IncompatibleModel
        from kalshi_tui.eval.results_cache import default_session_ids
        from kalshi_tui.eval.safe_load import PolicyLoadError

        sessions = default_session_ids(config)
        if not sessions:
            raise HealthCheckUnavailable(f"{config.sessions_db}: validation sessions "
                                         f"{config.validation_sessions} cannot be read")
        if progress is not None:
            progress(f"checking the health of {record.path} in the trader's mode "
                     f"(sessions {config.validation_sessions}) ...")
        try:
            return check_health(Path(record.abs_path), config, sessions)
        except (PolicyLoadError, IncompatibleModel, ModelChanged) as exc:
            raise HealthCheckFailed(str(exc)) from None
        except ValidationError as exc:
            raise HealthCheckUnavailable(str(exc)) from None

    return check


def ab_lookup(config: Config) -> ABLookup:
    """The stored A/B of a chosen model against the current model, for the report (reads
    only: the pointer and the stored A/B tests; runs nothing)."""
    from kalshi_tui.core.world.session_ids import session_ranges
    from kalshi_tui.eval.abtest_result import against_current

    def lookup(record: ModelRecord) -> ABFinding:
        found = against_current(record.sha256, config)
        if found.result is not None:
            return ABFinding(found.line, f"A/B test on sessions "
                             f"{session_ranges(found.result.session_ids)}, "
                             f"{found.result.created_at}", False)
        return ABFinding(found.line, "-", found.current.runnable and not found.same_model)

    return lookup
