"""One place that turns the configured world (profile, layout, fill model) into a simulator.

The gym env, smoke, validation and the benchmarks all ask here, so a figure is always
measured in the world the config names.
"""

from __future__ import annotations

from kalshi_tui.core.world.actions import ActionLayout
from kalshi_tui.core.world.profiles import FILL_MODELS, ORIGINAL_TRAINING, REALISTIC
from kalshi_tui.env.simulator import INITIAL_CASH_CENTS, BatchSimulator
from kalshi_tui.env.tape import MarketTape


def make_simulator(tapes: list[MarketTape], layout: ActionLayout, *, fill_model: str = REALISTIC,
                   training_rules: str | None = None, initial_cash: float = INITIAL_CASH_CENTS,
                   observation_low: float = -2.0, observation_high: float = 2.0) -> BatchSimulator:
    """A batch simulator of the fill model: `realistic` or the profile's `original-training`."""
    if fill_model not in FILL_MODELS:
        raise ValueError(f"fill model must be one of {', '.join(FILL_MODELS)}, not {fill_model!r}")
    bounds = {"observation_low": observation_low, "observation_high": observation_high}
    if fill_model == ORIGINAL_TRAINING:
        from kalshi_tui.env.original_sim import OriginalTrainingSimulator

        if training_rules is None:
            raise ValueError("original-training needs a profile with training rules")
        return OriginalTrainingSimulator(tapes, layout, training_rules, initial_cash=initial_cash,
                                         **bounds)
    return BatchSimulator(tapes, layout, initial_cash=initial_cash, **bounds)


def simulator_for(tapes: list[MarketTape], environment) -> BatchSimulator:
    """The simulator a config's `EnvironmentSpec` names."""
    return make_simulator(tapes, environment.layout, fill_model=environment.fill_model,
                          training_rules=environment.profile.training_rules,
                          observation_low=environment.observation_low,
                          observation_high=environment.observation_high)


def tape_options(environment) -> dict:
    """The `load_tapes` / `build_tape` keywords of a config's `EnvironmentSpec`."""
    return {"obs_layout": environment.observation_layout, "complement": environment.complement}
