"""Running models, safely: loading without unpickling, smoke tests, batched validation.

Public API (import from the modules; this package imports nothing heavy itself):
- safe_load.load_policy_safely(path, *, max_data_bytes, environment) -> LoadedPolicy;
  PolicyLoadError, PolicyRefused
- policy_runner.LoadedPolicy: predict, action_probabilities, entropy, q_values, forward
- smoke.smoke_test(path, config) -> SmokeResult
- batched.validate_model(path, config, session_ids, *, deterministic, progress, cancel)
  -> ValidationResult; ValidationError, ValidationCancelled, ModelChanged
- results_cache.load_validation(path, sha256, config, session_ids=None) -> result or None
  (no torch: safe at listing time)
"""
