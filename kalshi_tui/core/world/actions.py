"""Action layouts: how an action id maps to a side and a contract count.

The environment, the TUI, reports and validation all label actions through one
`ActionLayout`, so "BUY_YES x20" means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

HOLD = "HOLD"


@dataclass(frozen=True)
class DecodedAction:
    action_id: int
    side: str  # HOLD, BUY_YES, SELL_YES, BUY_NO, SELL_NO
    size: int  # contracts; 0 for HOLD

    @property
    def label(self) -> str:
        return self.side if self.side == HOLD else f"{self.side} x{self.size}"


@dataclass(frozen=True)
class ActionLayout:
    """HOLD plus every trading side at every position size, in the original id order.

    Id 0 is HOLD; for a >= 1, side = sides[(a-1) // len(sizes)] and
    size = sizes[(a-1) % len(sizes)], so with sizes [5, 10, 20, 50, 100] ids 1-5 are
    BUY_YES, 6-10 SELL_YES, 11-15 BUY_NO, 16-20 SELL_NO.
    """

    base_actions: tuple[str, ...]  # HOLD first, then the trading sides
    sizes: tuple[int, ...]

    @property
    def sides(self) -> tuple[str, ...]:
        return self.base_actions[1:]

    @property
    def n(self) -> int:
        return 1 + len(self.sides) * len(self.sizes)

    def decode(self, action_id: int) -> DecodedAction:
        a = int(action_id)
        if not 0 <= a < self.n:
            raise ValueError(f"action {a} is outside this layout's 0-{self.n - 1}")
        if a == 0:
            return DecodedAction(0, self.base_actions[0], 0)
        side = self.sides[(a - 1) // len(self.sizes)]
        return DecodedAction(a, side, self.sizes[(a - 1) % len(self.sizes)])

    def encode(self, side: str, size: int = 0) -> int:
        if side == self.base_actions[0]:
            return 0
        try:
            return 1 + self.sides.index(side) * len(self.sizes) + self.sizes.index(size)
        except ValueError:
            raise ValueError(f"no action {side} x{size} in this layout") from None

    def label(self, action_id: int) -> str:
        return self.decode(action_id).label

    @property
    def labels(self) -> list[str]:
        return [self.label(a) for a in range(self.n)]

    def describe(self) -> str:
        """Words for the pointer's `performance_metrics.action_space`."""
        if len(self.sizes) == 1:
            return f"{self.n} actions (single position size)"
        return f"{self.n} actions ({len(self.sizes)} position sizes)"


def decode_action(action_id: int, layout: ActionLayout) -> DecodedAction:
    """The one decoder the env, TUI and reports share."""
    return layout.decode(action_id)
