"""Which observation layout a model was trained on, read from its file without running it.

Layouts A and B are both Box(52,) float32, so the spaces cannot tell them apart. What can:
the observation SB3 saved last (`_last_obs` in `data`, one row per training env), read as
raw float32 bytes from its pickle by matching the pickle's opcodes exactly
(pickle_scan.plain_array, the match the trader-safety check already makes), and checked
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

import binascii
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from kalshi_tui.core.layout_features import LAYOUT_FEATURES
from kalshi_tui.core.pickle_scan import decode_as_sb3, plain_array
from kalshi_tui.core.profiles import LAYOUT_A, LAYOUT_B

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


def _prices(ix: dict[str, int]) -> Callable[[Row], bool]:
    names = ("best_yes_bid_norm", "best_yes_ask_norm", "best_no_bid_norm", "best_no_ask_norm")
    return lambda r: all(_cents(r[ix[n]]) for n in names)


def _mids(ix: dict[str, int]) -> Callable[[Row], bool]:
    def check(r: Row) -> bool:
        for side in ("yes", "no"):
            bid, ask = r[ix[f"best_{side}_bid_norm"]], r[ix[f"best_{side}_ask_norm"]]
            mid = r[ix[f"{side}_mid_price_norm"]]
            if not (_close(mid, _clamp((bid + ask) / 2, 0.01, 0.99)) or _close(mid, 0.5)):
                return False
        return True
    return check


def _replayed(ix: dict[str, int]) -> Callable[[Row], bool]:
    """Asks derived from the other side's bids: Vya = Vnb and Vna = Vyb."""
    return lambda r: (_close(r[ix["volume_imbalance"]], 0.0)
                      and _close(r[ix["no_side_imbalance"]], -r[ix["yes_side_imbalance"]]))


def _portfolio(ix: dict[str, int]) -> Callable[[Row], bool]:
    """One market: cash and position ratios sum to 1; count 0 or 0.1; long, short, bias and
    (A) diversity follow it; nothing but the ratios without a position."""
    def check(r: Row) -> bool:
        count = r[ix["position_count_norm"]]
        long_, short = r[ix["long_position_ratio"]], r[ix["short_position_ratio"]]
        if not _close(r[ix["cash_ratio"]] + r[ix["position_ratio"]], 1.0):
            return False
        if not (count == 0.0 or _close(count, 0.1)) or not (_binary(long_) and _binary(short)):
            return False
        held = count != 0.0
        if long_ + short != (1.0 if held else 0.0):
            return False
        if not _close(r[ix["net_position_bias"]], 0.7615941559557649 * (long_ - short)):
            return False
        if "position_diversity" in ix and r[ix["position_diversity"]] != (1.0 if held else 0.0):
            return False
        after = range(ix["position_count_norm"], ix["leverage"] + 1)
        return held or all(r[i] == 0.0 for i in after)
    return check


def _orders(ix: dict[str, int]) -> Callable[[Row], bool]:
    names = ("has_open_buy", "has_open_sell", "buy_distance", "sell_distance", "time_since_order")
    return lambda r: all(r[ix[n]] == 0.0 for n in names)


def _a_spreads(r: Row) -> bool:
    for side in ("yes", "no"):
        bid, ask = r[_A[f"best_{side}_bid_norm"]], r[_A[f"best_{side}_ask_norm"]]
        spread = r[_A[f"{side}_spread_norm"]]
        if not (_close(spread, _clamp(ask - bid, 0.001, 0.99)) or _close(spread, 0.1)):
            return False
    return True


def _a_efficiency(r: Row) -> bool:
    ym, nm = r[_A["yes_mid_price_norm"]], r[_A["no_mid_price_norm"]]
    arbitrage = r[_A["arbitrage_opportunity"]]
    return (_close(arbitrage, abs(ym + nm - 1))
            and _close(r[_A["market_efficiency"]], max(0.0, 1 - arbitrage))
            and _close(r[_A["cross_side_efficiency"]], max(0.0, 1 - 5 * abs(ym - (1 - nm)))))


def _a_volumes(r: Row) -> bool:
    yes, no, total = (r[_A[n]] for n in ("yes_volume_norm", "no_volume_norm", "total_volume_norm"))
    return -_EPS <= yes <= total + _EPS and -_EPS <= no <= total + _EPS and total <= 1 + _EPS


def _a_calendar(r: Row) -> bool:
    return _step_of(r[_A["time_of_day_norm"]], 7) and _step_of(r[_A["day_of_week_norm"]], 6)


def _a_indicators(r: Row) -> bool:
    burst, quiet = r[_A["activity_burst_indicator"]], r[_A["quiet_period_indicator"]]
    return (_binary(burst) and _binary(quiet) and burst + quiet <= 1
            and _step_of(r[_A["activity_persistence"]], 10))


def _b_spreads(r: Row) -> bool:
    for side in ("yes", "no"):
        bid, ask = r[_B[f"best_{side}_bid_norm"]], r[_B[f"best_{side}_ask_norm"]]
        cents = r[_B[f"{side}_spread_cents"]]
        if not (_close(cents, ask - bid) or _close(cents, 0.1)):
            return False
        if r[_B[f"{side}_breakeven_move"]] != cents:
            return False
    return True


def _b_spread_pct(r: Row) -> bool:
    for side in ("yes", "no"):
        bid, ask = r[_B[f"best_{side}_bid_norm"]], r[_B[f"best_{side}_ask_norm"]]
        cents, pct = r[_B[f"{side}_spread_cents"]], r[_B[f"{side}_spread_pct"]]
        mid = (bid + ask) / 2
        if not (_close(pct, _clamp(cents / mid, -2.0, 2.0)) or _close(pct, 0.2)):
            return False
    return True


def _b_regimes(r: Row) -> bool:
    return all(r[_B[f"{side}_spread_regime"]] == _regime(round(r[_B[f"{side}_spread_cents"]] * 100))
               for side in ("yes", "no"))


def _b_replayed(r: Row) -> bool:
    consistency = r[_B["yes_no_consistency"]]
    return (_replayed(_B)(r) and _close(r[_B["bid_ask_depth_ratio"]], 0.0)
            and any(_close(consistency, v) for v in (0.0, 0.01, 0.5)))


def _b_microprices(r: Row) -> bool:
    for side in ("yes", "no"):
        bid, ask = r[_B[f"best_{side}_bid_norm"]], r[_B[f"best_{side}_ask_norm"]]
        micro = r[_B[f"{side}_microprice_norm"]]
        if not (min(bid, ask) - _EPS <= micro <= max(bid, ask) + _EPS or _close(micro, 0.5)):
            return False
    return True


def _b_temporal(r: Row) -> bool:
    return _step_of(r[_B["time_of_day_norm"]], 7) and _binary(r[_B["activity_burst_indicator"]])


# (what an operator reads, the check): values only that layout's builder produces, together.
INVARIANTS: dict[str, tuple[tuple[str, Callable[[Row], bool]], ...]] = {
    LAYOUT_A: (
        ("best prices 0-3 in whole cents", _prices(_A)),
        ("spreads 4-5 = ask - bid, clamped, or 0.1", _a_spreads),
        ("mids 6-7 = (bid + ask) / 2, clamped, or 0.5", _mids(_A)),
        ("volumes 8-10: YES and NO <= total <= 1", _a_volumes),
        ("volume imbalance 11 = 0, side imbalances 13 = -12", _replayed(_A)),
        ("arbitrage 18, efficiencies 19-20 follow the mids", _a_efficiency),
        ("time of day 22 in sevenths, day of week 23 in sixths", _a_calendar),
        ("burst 27 and quiet 28 indicators 0/1, persistence 34 in tenths", _a_indicators),
        ("one-market portfolio 35-46", _portfolio(_A)),
        ("order features 47-51 = 0", _orders(_A)),
    ),
    LAYOUT_B: (
        ("best prices 0-3 in whole cents", _prices(_B)),
        ("mids 4-5 = (bid + ask) / 2, clamped, or 0.5", _mids(_B)),
        ("spreads 6-7 = ask - bid or 0.1, repeated in 12-13", _b_spreads),
        ("spread percentages 8-9 = spread / mid or 0.2", _b_spread_pct),
        ("spread regimes 10-11 step with the spread", _b_regimes),
        ("imbalances 15, 18 = 0, 17 = -16, consistency 19 in {0, 0.01, 0.5}", _b_replayed),
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

    Read from the pickle's bytes by pickle_scan.plain_array (an exact opcode match); a
    pickle that is anything but a plain array is never looked into, let alone run.
    """
    if not isinstance(last_obs, dict) or not isinstance(last_obs.get(":serialized:"), str):
        return None, "no saved last observation (_last_obs) in data"
    try:
        raw = decode_as_sb3(last_obs[":serialized:"])
    except (binascii.Error, ValueError, TypeError, UnicodeEncodeError):
        return None, "_last_obs is not base64"
    parts = plain_array(raw)
    if parts is None:
        return None, "_last_obs is not a plain numpy array pickle (not read, never run)"
    if parts.dtype != "f4":
        return None, f"_last_obs is {parts.dtype}, not float32"
    shape = parts.shape
    rows_n = 1 if len(shape) == 1 else shape[0]
    if shape[-1] != N_FEATURES or len(shape) > 2 or rows_n < 1 or len(parts.data) != 4 * N_FEATURES * rows_n:
        return None, f"_last_obs has shape {shape}, not (n_envs, 52)"
    values = array("f")
    values.frombytes(parts.data)
    native = "<" if sys.byteorder == "little" else ">"
    if parts.byte_order not in ("=", "|", native):
        values.byteswap()
    flat = values.tolist()
    if parts.fortran_order and len(shape) == 2:
        return [flat[i::rows_n] for i in range(rows_n)], ""
    return [flat[i * N_FEATURES:(i + 1) * N_FEATURES] for i in range(rows_n)], ""


def layout_from_rows(rows: list[list[float]]) -> tuple[str | None, str]:
    """(the layout every row fits and no row contradicts, or None; the evidence in words)."""
    used = [r for r in rows if any(v != 0.0 for v in r)]
    which = f"last observation ({len(rows)} rows)" if len(rows) > 1 else "last observation"
    if not used:
        return None, f"{which} is all zeros (a terminal or failed observation): no evidence"
    if len(used) < len(rows):
        which += f", {len(rows) - len(used)} all-zero rows skipped"
    fails = {layout: [failed_invariants(r, layout) for r in used] for layout in INVARIANTS}
    fits = {layout: all(not f for f in found) for layout, found in fails.items()}
    counts = {layout: len(INVARIANTS[layout]) for layout in INVARIANTS}
    if fits[LAYOUT_A] and fits[LAYOUT_B]:
        return None, f"{which} fits both A's {counts[LAYOUT_A]} and B's {counts[LAYOUT_B]} invariants"
    for layout, other in ((LAYOUT_A, LAYOUT_B), (LAYOUT_B, LAYOUT_A)):
        if fits[layout]:
            broken = {name for found in fails[other] for name in found}
            return layout, (f"{which} fits {layout}'s {counts[layout]} invariants, breaks "
                            f"{len(broken)} of {other}'s {counts[other]}")
    any_fit = {layout: any(not f for f in found) for layout, found in fails.items()}
    if any_fit[LAYOUT_A] and any_fit[LAYOUT_B]:
        return None, f"{which}: some rows fit A's invariants, others B's"
    first = {layout: next(name for found in fails[layout] for name in found) for layout in INVARIANTS}
    return None, (f"{which} fits neither A's invariants (breaks '{first[LAYOUT_A]}') nor B's "
                  f"(breaks '{first[LAYOUT_B]}')")


def obs_layout_evidence(obs_shape: list[int] | None, last_obs: Any,
                        trained_at: str | None) -> tuple[str | None, str | None]:
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
        return None, (f"{evidence}, but trained {day}, before layout B existed "
                      f"({LAYOUT_B_SINCE[:10]}): the two disagree")
    when = (f"trained {day}, before layout B existed" if before_b
            else f"trained {day}, when layout B existed")
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
