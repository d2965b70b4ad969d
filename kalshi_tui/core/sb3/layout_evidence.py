"""Which observation layout a model was trained on, read from its file without running it.

Layouts A and B are both Box(52,) float32, so the spaces cannot tell them apart. What can:
the observation SB3 saved last (`_last_obs` in `data`, one row per training env), read as
raw float32 bytes from the `_frombuffer` call the one opcode walk of its pickle saw
(pickle_facts: the walk the trader-safety check makes; nothing is unpickled), and checked
against each layout's invariants: values only that layout's builder can produce
(ORIGINAL_ENV.md section 1; tests/core/test_layout_evidence.py checks every invariant
against observations our own builders produce for both layouts). And the model's
`start_time`: layout B did not exist before 4e388df (2025-12-17 09:02 -0500).

When the evidence does not single out one layout (no `_last_obs`, all zeros, not float32,
fits both or neither, rows that disagree, a date that contradicts the values) the answer
is None with the reason: the verdict then warns, it never guesses. Pure Python (no numpy),
as the listing is.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kalshi_tui.core.sb3.pickle_facts import serialized_facts
from kalshi_tui.core.world.layout_features import LAYOUT_FEATURES
from kalshi_tui.core.world.profiles import LAYOUT_A, LAYOUT_B

# 4e388df, 2025-12-17 09:02 -0500: the first commit whose extractor builds layout B.
LAYOUT_B_SINCE = "2025-12-17T14:02:00Z"
N_FEATURES = 52
_EPS = 1e-5  # float32 keeps ~7 digits; every value checked here is within [-2, 2]

Row = Sequence[float]


def _index(layout: str) -> dict[str, int]:
    return {name: i for i, name in enumerate(LAYOUT_FEATURES[layout])}


_A, _B = _index(LAYOUT_A), _index(LAYOUT_B)


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= _EPS * max(1.0, abs(y))


def _clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


def _step_of(x: float, steps: int) -> bool:
    """x is k/steps for a whole k in 0..steps."""
    k = round(x * steps)
    return 0 <= k <= steps and _close(x, k / steps)


def _cents(x: float) -> bool:
    """A best price: whole cents in 1..99, or the 0.5 of a missing side."""
    return 0.01 - _EPS <= x <= 0.99 + _EPS and abs(x * 100 - round(x * 100)) < 1e-3


def _binary(x: float) -> bool:
    return x == 0.0 or x == 1.0


def _regime(spread_cents: float) -> float:
    for limit, value in ((2, 0.0), (5, 0.25), (10, 0.5), (20, 0.75)):
        if spread_cents < limit:
            return value
    return 1.0


# Indices are looked up once, here: the checks run for every model a cold listing reads.
def _at(ix: dict[str, int], *names: str) -> tuple[int, ...]:
    return tuple(ix[n] for n in names)


def _sides(ix: dict[str, int], *suffixes: str) -> tuple[tuple[int, ...], ...]:
    """Per side (YES, NO): the indices of best bid, best ask and each `{side}_{suffix}`."""
    return tuple(
        _at(
            ix,
            f"best_{side}_bid_norm",
            f"best_{side}_ask_norm",
            *(f"{side}_{suffix}" for suffix in suffixes),
        )
        for side in ("yes", "no")
    )


def _prices(ix: dict[str, int]) -> Callable[[Row], bool]:
    at = _at(ix, "best_yes_bid_norm", "best_yes_ask_norm", "best_no_bid_norm", "best_no_ask_norm")
    return lambda r: all(_cents(r[i]) for i in at)


def _mids(ix: dict[str, int]) -> Callable[[Row], bool]:
    sides = _sides(ix, "mid_price_norm")

    def check(r: Row) -> bool:
        for b, a, m in sides:
            mid = r[m]
            if not (_close(mid, _clamp((r[b] + r[a]) / 2, 0.01, 0.99)) or _close(mid, 0.5)):
                return False
        return True

    return check


def _replayed(ix: dict[str, int]) -> Callable[[Row], bool]:
    """Asks derived from the other side's bids: Vya = Vnb and Vna = Vyb."""
    imbalance, yes, no = _at(ix, "volume_imbalance", "yes_side_imbalance", "no_side_imbalance")
    return lambda r: abs(r[imbalance]) <= _EPS and _close(r[no], -r[yes])


def _portfolio(ix: dict[str, int]) -> Callable[[Row], bool]:
    """One market: cash and position ratios sum to 1; count 0 or 0.1; long, short, bias and
    (A) diversity follow it; nothing but the ratios without a position."""
    cash, position, count_i, long_i, short_i, bias = _at(
        ix,
        "cash_ratio",
        "position_ratio",
        "position_count_norm",
        "long_position_ratio",
        "short_position_ratio",
        "net_position_bias",
    )
    diversity = ix.get("position_diversity")
    after = slice(count_i, ix["leverage"] + 1)

    def check(r: Row) -> bool:
        count, long_, short = r[count_i], r[long_i], r[short_i]
        if not _close(r[cash] + r[position], 1.0):
            return False
        if not (count == 0.0 or _close(count, 0.1)) or not (_binary(long_) and _binary(short)):
            return False
        held = count != 0.0
        if long_ + short != (1.0 if held else 0.0):
            return False
        if not _close(r[bias], 0.7615941559557649 * (long_ - short)):
            return False
        if diversity is not None and r[diversity] != (1.0 if held else 0.0):
            return False
        return held or not any(r[after])

    return check


def _orders(ix: dict[str, int]) -> Callable[[Row], bool]:
    at = slice(ix["has_open_buy"], ix["time_since_order"] + 1)
    assert at.stop - at.start == 5
    return lambda r: not any(r[at])


_A_SPREADS = _sides(_A, "spread_norm")


def _a_spreads(r: Row) -> bool:
    for b, a, s in _A_SPREADS:
        spread = r[s]
        if not (_close(spread, _clamp(r[a] - r[b], 0.001, 0.99)) or _close(spread, 0.1)):
            return False
    return True


_A_EFFICIENCY = _at(
    _A,
    "yes_mid_price_norm",
    "no_mid_price_norm",
    "arbitrage_opportunity",
    "market_efficiency",
    "cross_side_efficiency",
)


def _a_efficiency(r: Row) -> bool:
    y, n, arb, eff, cross = _A_EFFICIENCY
    ym, nm, arbitrage = r[y], r[n], r[arb]
    return (
        _close(arbitrage, abs(ym + nm - 1))
        and _close(r[eff], max(0.0, 1 - arbitrage))
        and _close(r[cross], max(0.0, 1 - 5 * abs(ym - (1 - nm))))
    )


_A_VOLUMES = _at(_A, "yes_volume_norm", "no_volume_norm", "total_volume_norm")


def _a_volumes(r: Row) -> bool:
    yes, no, total = (r[i] for i in _A_VOLUMES)
    return -_EPS <= yes <= total + _EPS and -_EPS <= no <= total + _EPS and total <= 1 + _EPS


_A_CALENDAR = _at(_A, "time_of_day_norm", "day_of_week_norm")


def _a_calendar(r: Row) -> bool:
    return _step_of(r[_A_CALENDAR[0]], 7) and _step_of(r[_A_CALENDAR[1]], 6)


_A_INDICATORS = _at(
    _A, "activity_burst_indicator", "quiet_period_indicator", "activity_persistence"
)


def _a_indicators(r: Row) -> bool:
    burst, quiet, persistence = (r[i] for i in _A_INDICATORS)
    return _binary(burst) and _binary(quiet) and burst + quiet <= 1 and _step_of(persistence, 10)


_B_SPREADS = _sides(_B, "spread_cents", "breakeven_move", "spread_pct", "spread_regime")


def _b_spreads(r: Row) -> bool:
    for b, a, c, move, _pct, _regime_i in _B_SPREADS:
        cents = r[c]
        if not (_close(cents, r[a] - r[b]) or _close(cents, 0.1)) or r[move] != cents:
            return False
    return True


def _b_spread_pct(r: Row) -> bool:
    for b, a, c, _move, p, _regime_i in _B_SPREADS:
        pct = r[p]
        if not (_close(pct, _clamp(r[c] / ((r[b] + r[a]) / 2), -2.0, 2.0)) or _close(pct, 0.2)):
            return False
    return True


def _b_regimes(r: Row) -> bool:
    return all(r[g] == _regime(round(r[c] * 100)) for _b, _a, c, _move, _pct, g in _B_SPREADS)


_B_REPLAYED = _replayed(_B)
_B_DEPTH_RATIO, _B_CONSISTENCY = _at(_B, "bid_ask_depth_ratio", "yes_no_consistency")


def _b_replayed(r: Row) -> bool:
    consistency = r[_B_CONSISTENCY]
    return (
        _B_REPLAYED(r)
        and abs(r[_B_DEPTH_RATIO]) <= _EPS
        and any(_close(consistency, v) for v in (0.0, 0.01, 0.5))
    )


_B_MICRO = _sides(_B, "microprice_norm")


def _b_microprices(r: Row) -> bool:
    for b, a, m in _B_MICRO:
        bid, ask, micro = r[b], r[a], r[m]
        if not (min(bid, ask) - _EPS <= micro <= max(bid, ask) + _EPS or _close(micro, 0.5)):
            return False
    return True


_B_TEMPORAL = _at(_B, "time_of_day_norm", "activity_burst_indicator")


def _b_temporal(r: Row) -> bool:
    return _step_of(r[_B_TEMPORAL[0]], 7) and _binary(r[_B_TEMPORAL[1]])


# (what an operator reads, the check): values only that layout's builder produces, together.
INVARIANTS: dict[str, tuple[tuple[str, Callable[[Row], bool]], ...]] = {
    LAYOUT_A: (
        ("volume imbalance 11 = 0, side imbalances 13 = -12", _replayed(_A)),
        ("best prices 0-3 in whole cents", _prices(_A)),
        ("spreads 4-5 = ask - bid, clamped, or 0.1", _a_spreads),
        ("mids 6-7 = (bid + ask) / 2, clamped, or 0.5", _mids(_A)),
        ("volumes 8-10: YES and NO <= total <= 1", _a_volumes),
        ("arbitrage 18, efficiencies 19-20 follow the mids", _a_efficiency),
        ("time of day 22 in sevenths, day of week 23 in sixths", _a_calendar),
        ("burst 27 and quiet 28 indicators 0/1, persistence 34 in tenths", _a_indicators),
        ("one-market portfolio 35-46", _portfolio(_A)),
        ("order features 47-51 = 0", _orders(_A)),
    ),
    LAYOUT_B: (
        ("imbalances 15, 18 = 0, 17 = -16, consistency 19 in {0, 0.01, 0.5}", _b_replayed),
        ("best prices 0-3 in whole cents", _prices(_B)),
        ("mids 4-5 = (bid + ask) / 2, clamped, or 0.5", _mids(_B)),
        ("spreads 6-7 = ask - bid or 0.1, repeated in 12-13", _b_spreads),
        ("spread percentages 8-9 = spread / mid or 0.2", _b_spread_pct),
        ("spread regimes 10-11 step with the spread", _b_regimes),
        ("microprices 20-21 between bid and ask", _b_microprices),
        ("time of day 27 in sevenths, burst indicator 31 0/1", _b_temporal),
        ("one-market portfolio 36-46", _portfolio(_B)),
        ("order features 47-51 = 0", _orders(_B)),
    ),
}


def failed_invariants(row: Row, layout: str) -> list[str]:
    """The invariants of `layout` one 52-value observation breaks (empty: it fits)."""
    out = []
    for name, check in INVARIANTS[layout]:
        try:
            fits = check(row)
        except (ZeroDivisionError, OverflowError, ValueError):
            fits = False
        if not fits:
            out.append(name)
    return out


def last_observation_rows(last_obs: Any) -> tuple[list[list[float]] | None, str]:
    """The rows of a `_last_obs` value of `data` as floats, or (None, why they cannot be read).

    Read from the opcode walk of its pickle (pickle_facts); a pickle that is anything but
    a plain array is never looked into, let alone run.
    """
    if not isinstance(last_obs, dict) or not isinstance(last_obs.get(":serialized:"), str):
        return None, "no saved last observation (_last_obs) in data"
    facts = serialized_facts(last_obs[":serialized:"])
    if facts is None:
        return None, "_last_obs is not base64"
    parts = facts.array
    if parts is None or facts.problem is not None:
        return None, "_last_obs is not a plain numpy array pickle (not read, never run)"
    if parts.dtype != "f4":
        return None, f"_last_obs is {parts.dtype}, not float32"
    shape = parts.shape
    rows_n = 1 if len(shape) == 1 else shape[0]
    if (
        shape[-1] != N_FEATURES
        or len(shape) > 2
        or rows_n < 1
        or len(parts.data) != 4 * N_FEATURES * rows_n
    ):
        return None, f"_last_obs has shape {shape}, not (n_envs, 52)"
    order = (
        "<"
        if parts.byte_order in ("=", "|") and sys.byteorder == "little"
        else (">" if parts.byte_order in ("=", "|") else parts.byte_order)
    )
    flat = list(struct.unpack(f"{order}{len(parts.data) // 4}f", parts.data))
    if parts.fortran_order and len(shape) == 2:
        return [flat[i::rows_n] for i in range(rows_n)], ""
    return [flat[i * N_FEATURES : (i + 1) * N_FEATURES] for i in range(rows_n)], ""


def first_failure(row: Row, layout: str) -> str | None:
    """The first invariant of `layout` the row breaks (None: it fits them all); the cheap
    check the listing makes, where failed_invariants lists them all."""
    for name, check in INVARIANTS[layout]:
        try:
            if not check(row):
                return name
        except (ZeroDivisionError, OverflowError, ValueError):
            return name
    return None


def layout_from_rows(rows: list[list[float]]) -> tuple[str | None, str]:
    """(the layout every row fits and not every row fits the other, or None; the evidence)."""
    used = [r for r in rows if any(r)]
    which = f"last observation ({len(rows)} rows)" if len(rows) > 1 else "last observation"
    if not used:
        return None, f"{which} is all zeros (a terminal or failed observation): no evidence"
    if len(used) < len(rows):
        which += f", {len(rows) - len(used)} all-zero rows skipped"
    broken = {layout: [first_failure(r, layout) for r in used] for layout in INVARIANTS}
    first = {
        layout: next((name for name in found if name is not None), None)
        for layout, found in broken.items()
    }
    counts = {layout: len(INVARIANTS[layout]) for layout in INVARIANTS}
    if first[LAYOUT_A] is None and first[LAYOUT_B] is None:
        return (
            None,
            f"{which} fits both A's {counts[LAYOUT_A]} and B's {counts[LAYOUT_B]} invariants",
        )
    for layout, other in ((LAYOUT_A, LAYOUT_B), (LAYOUT_B, LAYOUT_A)):
        if first[layout] is None:
            return layout, (
                f"{which} fits {layout}'s {counts[layout]} invariants, not {other}'s "
                f"(breaks '{first[other]}')"
            )
    if any(name is None for name in broken[LAYOUT_A]) and any(
        name is None for name in broken[LAYOUT_B]
    ):
        return None, f"{which}: some rows fit A's invariants, others B's"
    return None, (
        f"{which} fits neither A's invariants (breaks '{first[LAYOUT_A]}') nor B's "
        f"(breaks '{first[LAYOUT_B]}')"
    )


def obs_layout_evidence(
    obs_shape: list[int] | None, last_obs: Any, trained_at: str | None
) -> tuple[str | None, str | None]:
    """(the layout a model was trained on, or None; the evidence), for a Box(52,) model.

    Any other observation shape is neither layout: (None, None), and the shape says so.
    `trained_at`: the ISO UTC start_time.
    """
    if obs_shape != [N_FEATURES]:
        return None, None
    rows, why = last_observation_rows(last_obs)
    layout, evidence = (None, why) if rows is None else layout_from_rows(rows)
    if trained_at is None:
        return layout, f"{evidence}; no start_time"
    day = trained_at[:10]
    before_b = trained_before_layout_b(trained_at)
    if layout == LAYOUT_B and before_b:
        return None, (
            f"{evidence}, but trained {day}, before layout B existed "
            f"({LAYOUT_B_SINCE[:10]}): the two disagree"
        )
    when = (
        f"trained {day}, before layout B existed"
        if before_b
        else f"trained {day}, when layout B existed"
    )
    if layout is None:
        return None, f"{evidence}; {when}"
    return layout, f"trained on layout {layout} ({evidence}; {when})"


def trained_before_layout_b(trained_at: str | None) -> bool:
    """Whether an ISO UTC start_time is before the first commit that built layout B."""
    return trained_at is not None and _utc_key(trained_at) < _utc_key(LAYOUT_B_SINCE)


def _utc_key(iso: str) -> str:
    """ISO UTC times compare as text once written alike ("...Z" and "+00:00")."""
    return iso.replace("+00:00", "Z")[:19]


def layout_words(record: Any) -> str | None:
    """The model's observation layout and its evidence in one line, for `show`, the TUI's
    compatibility pane and the report (None: not a Box(52,) model, nothing to say)."""
    evidence = record.obs_layout_evidence
    if evidence is None:
        return None
    return evidence if record.obs_layout else f"unknown ({evidence})"
