"""Action layouts: every id of both layouts decodes and encodes back to itself."""

from __future__ import annotations

import pytest

from kalshi_tui.core.world.actions import ActionLayout, decode_action

BASES = ("HOLD", "BUY_YES", "SELL_YES", "BUY_NO", "SELL_NO")
NEW = ActionLayout(BASES, (5, 10, 20, 50, 100))
LEGACY = ActionLayout(BASES, (10,))


@pytest.mark.parametrize("layout", [NEW, LEGACY])
def test_round_trip_every_id(layout):
    for action_id in range(layout.n):
        decoded = decode_action(action_id, layout)
        assert layout.encode(decoded.side, decoded.size) == action_id


def test_original_id_order():
    assert NEW.n == 21 and LEGACY.n == 5
    assert NEW.label(0) == "HOLD"
    assert [NEW.label(a) for a in (1, 5, 6, 10, 11, 15, 16, 20)] == [
        "BUY_YES x5", "BUY_YES x100", "SELL_YES x5", "SELL_YES x100",
        "BUY_NO x5", "BUY_NO x100", "SELL_NO x5", "SELL_NO x100"]
    assert NEW.label(3) == "BUY_YES x20"
    assert LEGACY.labels == ["HOLD", "BUY_YES x10", "SELL_YES x10", "BUY_NO x10", "SELL_NO x10"]


def test_out_of_range_is_refused():
    with pytest.raises(ValueError):
        NEW.decode(21)
    with pytest.raises(ValueError):
        LEGACY.decode(-1)
