"""One market's order book at one moment, and how a recorded delta changes it.

Kalshi books hold bids only: a bid for NO at price p is an offer to sell YES. The original
system derived the other side as "NO bid = 99 - YES ask" (FORMATS.md section 4), so the
same rule runs both ways here: YES ask = 99 - NO bid and NO ask = 99 - YES bid. The real
exchange uses 100; we keep the original's 99 so models see the prices they were trained on.
A delta's `side` names the bid book it changes: "yes" = YES bids, "no" = NO bids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The original's complement rule (FORMATS.md section 4): NO bid = 99 - YES ask.
COMPLEMENT = 99
MIN_PRICE, MAX_PRICE = 1, 99
DELTA_SIDES = ("yes", "no")
DELTA_ACTIONS = ("add", "remove", "update")


class BookError(ValueError):
    """A book state that cannot be traded on: crossed, or a price outside 1-99."""


@dataclass
class BookState:
    """Bids on both sides of one market after a given sequence number; asks derive from bids."""

    timestamp_ms: int
    sequence_number: int
    yes_bids: dict[int, int] = field(default_factory=dict)  # price_cents -> contracts
    no_bids: dict[int, int] = field(default_factory=dict)

    @property
    def yes_asks(self) -> dict[int, int]:
        return {COMPLEMENT - p: s for p, s in self.no_bids.items()}

    @property
    def no_asks(self) -> dict[int, int]:
        return {COMPLEMENT - p: s for p, s in self.yes_bids.items()}

    @property
    def best_yes_bid(self) -> int | None:
        return max(self.yes_bids) if self.yes_bids else None

    @property
    def best_yes_ask(self) -> int | None:
        return COMPLEMENT - max(self.no_bids) if self.no_bids else None

    def copy(self) -> BookState:
        return BookState(self.timestamp_ms, self.sequence_number,
                         dict(self.yes_bids), dict(self.no_bids))

    def same_book(self, other: BookState) -> bool:
        """Equal levels, whatever the timestamps: how a replay is checked against a snapshot."""
        return self.yes_bids == other.yes_bids and self.no_bids == other.no_bids

    def check(self) -> None:
        """Raise BookError when the book is crossed or holds a price the exchange cannot."""
        for name, book in (("yes_bids", self.yes_bids), ("no_bids", self.no_bids)):
            for price, size in book.items():
                # The derived ask is 99 - p, so a bid of 99 would be an ask of 0.
                if not MIN_PRICE <= price <= MAX_PRICE - 1:
                    raise BookError(f"{name} price {price} outside 1-98 "
                                    f"(its derived ask {COMPLEMENT - price} must be 1-99)")
                if size <= 0:
                    raise BookError(f"{name} size {size} at price {price} is not positive")
        bid, ask = self.best_yes_bid, self.best_yes_ask
        if bid is not None and ask is not None and bid >= ask:
            raise BookError(f"crossed book: YES bid {bid} >= YES ask {ask}")

    def check_change(self, side: str, price: int) -> None:
        """`check` for a book that was valid before one level changed: the fast path of a replay."""
        book = self.yes_bids if side == "yes" else self.no_bids
        if price in book and not MIN_PRICE <= price <= MAX_PRICE - 1:
            raise BookError(f"{side}_bids price {price} outside 1-98 "
                            f"(its derived ask {COMPLEMENT - price} must be 1-99)")
        if self.yes_bids and self.no_bids:
            bid, no_bid = max(self.yes_bids), max(self.no_bids)
            if bid >= COMPLEMENT - no_bid:
                raise BookError(f"crossed book: YES bid {bid} >= YES ask {COMPLEMENT - no_bid}")

    def apply_delta(self, side: str, action: str, price: int, old_size: int, new_size: int,
                    timestamp_ms: int, sequence_number: int) -> bool:
        """Apply one recorded change; False when its old_size disagreed (counted, not fatal)."""
        if side not in DELTA_SIDES:
            raise BookError(f"delta side {side!r} is not yes or no")
        if action not in DELTA_ACTIONS:
            raise BookError(f"delta action {action!r} is not add, remove or update")
        book = self.yes_bids if side == "yes" else self.no_bids
        # A recorder that missed a message leaves old_size stale; new_size is still the
        # exchange's word for the level, so we trust it and let the caller count the gap.
        matched = book.get(price, 0) == int(old_size or 0)
        if action == "remove" or new_size <= 0:
            book.pop(price, None)
        else:
            book[price] = int(new_size)
        self.timestamp_ms = timestamp_ms
        self.sequence_number = sequence_number
        return matched


def book_from_maps(
    timestamp_ms: int, sequence_number: int, yes_bids: dict, no_bids: dict
) -> BookState:
    """A book from stored {price_cents: size} maps (JSON keys are strings)."""
    return BookState(int(timestamp_ms), int(sequence_number),
                     {int(p): int(s) for p, s in yes_bids.items() if int(s) > 0},
                     {int(p): int(s) for p, s in no_bids.items() if int(s) > 0})
