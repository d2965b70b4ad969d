"""Which models an action on the marked models is about: compare takes two, an ensemble two
or more.

Plain functions over the marked paths (in the order marked) and the selected row, so the
rule is one place and its words are tested without a screen. With fewer than two marked,
the selected row joins the marks, as an operator expects ("mark one, move to the other").
"""

from __future__ import annotations

MARK_KEYS = "space (or m)"


def chosen_paths(marked: list[str], selected: str | None) -> list[str]:
    """The marked paths; with fewer than two marked, the selected row joins them (once)."""
    paths = list(marked)
    if len(paths) < 2 and selected is not None and selected not in paths:
        paths.append(selected)
    return paths


def compare_paths(marked: list[str], selected: str | None) -> tuple[list[str], str | None]:
    """(the two models to compare, None) or ([], why not, in words)."""
    paths = chosen_paths(marked, selected)
    if len(paths) == 2:
        return paths, None
    if len(marked) > 2:
        return [], (f"compare takes two models: {len(marked)} marked; unmark "
                    f"{len(marked) - 2} with {MARK_KEYS}, or M clears every mark")
    return [], f"compare takes two models: {len(marked)} marked; mark two with {MARK_KEYS}"


def ensemble_paths(marked: list[str], selected: str | None) -> tuple[list[str], str | None]:
    """(the members, None) or ([], why not): every marked model, or the one marked and the
    selected row; at least two."""
    paths = chosen_paths(marked, selected)
    if len(paths) >= 2:
        return paths, None
    return [], (f"an ensemble takes 2 or more models: {len(marked)} marked; mark the members "
                f"with {MARK_KEYS}")
