"""Environment profiles: the trading world of one date of the original system, by name.

Both original observation layouts are Box(52,) float32, so a model cannot say from its
spaces which world it was trained in; the profile says which world kalshi-tui builds.
Each profile fixes the observation layout, the action decoding (sides x sizes), the
YES/NO complement the books derive their asks with, and the training-time fill,
accounting and reward rules of that date (ORIGINAL_ENV.md sections 0-3).

Pure data, no numpy: the config reads it at listing time.
"""

from __future__ import annotations

from dataclasses import dataclass

SIDES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
LAYOUT_A, LAYOUT_B, LAYOUT_DEMO = "A", "B", "kalshi-tui-demo"
OBSERVATION_LAYOUTS = (LAYOUT_A, LAYOUT_B, LAYOUT_DEMO)
REALISTIC, ORIGINAL_TRAINING = "realistic", "original-training"
FILL_MODELS = (REALISTIC, ORIGINAL_TRAINING)
# The training-time rules `original-training` replays (ORIGINAL_ENV.md sections 3.2-3.3).
RULES_1211, RULES_1215, RULES_1217 = "2025-12-11", "2025-12-15", "2025-12-17"


@dataclass(frozen=True)
class EnvironmentProfile:
    """What the trader of one date ran: layout, actions, complement, training rules."""

    name: str
    observation_layout: str  # A, B or the retired demo layout
    position_sizes: tuple[int, ...]
    complement: int  # derived asks: YES ask = complement - best NO bid
    training_rules: str | None  # which date's fills and reward `original-training` replays
    summary: str

    @property
    def n_actions(self) -> int:
        return 1 + (len(SIDES) - 1) * len(self.position_sizes)


PROFILES: dict[str, EnvironmentProfile] = {p.name: p for p in (
    EnvironmentProfile(
        "kalshiflow-2025-12-11", LAYOUT_A, (10,), 99, RULES_1211,
        "f51fdc0: layout A, 5 actions x 10 contracts, asks 99-p, marked at the mid, "
        "reward raw cents"),
    EnvironmentProfile(
        "kalshiflow-2025-12-15", LAYOUT_A, (5, 10, 20, 50, 100), 99, RULES_1215,
        "761a376: layout A, 21 actions (5/10/20/50/100), asks 99-p, marked at bid/ask, "
        "reward raw cents (the seed's environment)"),
    EnvironmentProfile(
        "kalshiflow-2025-12-17", LAYOUT_B, (20,), 100, RULES_1217,
        "4e388df/03f09f3: layout B, 5 actions x 20 contracts as the trader of that day "
        "ran, asks 100-p, reward x0.001 minus fees"),
    # kalshi-tui's own earlier layout, kept only because models trained by earlier
    # kalshi-tui versions were trained on it: validating them on A or B would run them on
    # features they never saw. No original model knows it; it has no date to replay.
    EnvironmentProfile(
        "kalshi-tui-demo", LAYOUT_DEMO, (5, 10, 20, 50, 100), 99, None,
        "kalshi-tui's own earlier 26/10/11/5 layout (models trained by earlier kalshi-tui "
        "versions); not an original world"),
)}
DEFAULT_PROFILE = "kalshiflow-2025-12-15"


def profile_named(name: str) -> EnvironmentProfile | None:
    return PROFILES.get(name)
