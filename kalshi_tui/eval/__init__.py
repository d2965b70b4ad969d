"""Running models, safely: loading without unpickling, smoke tests, validation, health.

The stores of results (`load_validation`, `load_health`, `stored_evidence`) read JSON only and
import neither torch nor numpy, so listing may ask them; the runners import torch inside
the calls that need it.
"""

from typing import TYPE_CHECKING

from kalshi_tui.lazy_api import attach

if TYPE_CHECKING:
    from kalshi_tui.eval.abtest import run_abtest as run_abtest
    from kalshi_tui.eval.abtest_result import (
        NO_AB as NO_AB,
        ABResult as ABResult,
        AgainstCurrent as AgainstCurrent,
        against_current as against_current,
        load_abtest as load_abtest,
        stored_ab_candidates as stored_ab_candidates,
        vs_current_line as vs_current_line,
    )
    from kalshi_tui.eval.batched import (
        ModelChanged as ModelChanged,
        ValidationCancelled as ValidationCancelled,
        ValidationError as ValidationError,
        validate_model as validate_model,
    )
    from kalshi_tui.eval.current import (
        CurrentModel as CurrentModel,
        current_model as current_model,
    )
    from kalshi_tui.eval.ensemble import validate_ensemble as validate_ensemble
    from kalshi_tui.eval.ensemble_result import (
        ENSEMBLE_SEED as ENSEMBLE_SEED,
        EVIDENCE_NOTE as EVIDENCE_NOTE,
        MAJORITY as MAJORITY,
        TIE_RULE as TIE_RULE,
        VOTES as VOTES,
        EnsembleResult as EnsembleResult,
        ensemble_id as ensemble_id,
        ensemble_key as ensemble_key,
        find_ensemble as find_ensemble,
        stored_ensembles as stored_ensembles,
    )
    from kalshi_tui.eval.health import check_health as check_health
    from kalshi_tui.eval.health_result import HealthResult as HealthResult
    from kalshi_tui.eval.health_store import (
        collapse_alarm as collapse_alarm,
        load_health as load_health,
    )
    from kalshi_tui.eval.model_fit import (
        IncompatibleModel as IncompatibleModel,
        file_sha256 as file_sha256,
    )
    from kalshi_tui.eval.paired import (
        PairedDifference as PairedDifference,
        paired_difference as paired_difference,
    )
    from kalshi_tui.eval.policy_runner import LoadedPolicy as LoadedPolicy
    from kalshi_tui.eval.report_checks import (
        ab_lookup as ab_lookup,
        health_checker as health_checker,
    )
    from kalshi_tui.eval.results import ValidationResult as ValidationResult
    from kalshi_tui.eval.results_cache import (
        default_session_ids as default_session_ids,
        fill_model_disagreement_line as fill_model_disagreement_line,
        load_validation as load_validation,
        sessions_fingerprint as sessions_fingerprint,
    )
    from kalshi_tui.eval.safe_load import (
        PolicyLoadError as PolicyLoadError,
        PolicyRefused as PolicyRefused,
        load_policy_safely as load_policy_safely,
    )
    from kalshi_tui.eval.smoke import SmokeResult as SmokeResult, smoke_test as smoke_test
    from kalshi_tui.eval.stored import (
        any_health_stored as any_health_stored,
        stored_evidence as stored_evidence,
        stored_healths as stored_healths,
        stored_validations as stored_validations,
    )
else:
    __getattr__, __dir__, __all__ = attach(__name__, {
        "abtest": ["run_abtest"],
        "abtest_result": ["NO_AB", "ABResult", "AgainstCurrent", "against_current", "load_abtest",
                          "stored_ab_candidates", "vs_current_line"],
        "current": ["CurrentModel", "current_model"],
        "ensemble": ["validate_ensemble"],
        "ensemble_result": ["ENSEMBLE_SEED", "EVIDENCE_NOTE", "MAJORITY", "TIE_RULE", "VOTES",
                            "EnsembleResult", "ensemble_id", "ensemble_key", "find_ensemble",
                            "stored_ensembles"],
        "paired": ["PairedDifference", "paired_difference"],
        "safe_load": ["PolicyLoadError", "PolicyRefused", "load_policy_safely"],
        "policy_runner": ["LoadedPolicy"],
        "model_fit": ["IncompatibleModel", "file_sha256"],
        "smoke": ["SmokeResult", "smoke_test"],
        "batched": ["ModelChanged", "ValidationCancelled", "ValidationError", "validate_model"],
        "health": ["check_health"],
        "health_result": ["HealthResult"],
        "health_store": ["collapse_alarm", "load_health"],
        "results": ["ValidationResult"],
        "results_cache": ["default_session_ids", "fill_model_disagreement_line", "load_validation",
                          "sessions_fingerprint"],
        "stored": ["any_health_stored", "stored_evidence", "stored_healths", "stored_validations"],
        "report_checks": ["ab_lookup", "health_checker"],
    })
