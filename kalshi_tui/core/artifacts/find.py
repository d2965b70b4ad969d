"""Training artifacts beside a model: where they are, and the figures they hold.

`find_artifacts` locates a model's training_summary.json, training_results.json (or the
curriculum trainer's curriculum_training_results.json),
diagnostics.jsonl and diagnostics.log with a few stat calls (the catalog runs it for every
one of thousands of models); `read_training_metrics` turns them into a `TrainingMetrics`
saying which file every figure came from. Entropy lives here once (`entropy_normalised`)
so reports, validation and the catalog all compute it the same way.
"""

from __future__ import annotations

import filecmp
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from kalshi_tui.core.artifacts.stream import entropy_of_counts
from kalshi_tui.core.model_record import TrainingMetrics

# Bumped whenever read_training_metrics would give a different answer for the same files,
# so a cache of its results (the catalog's) can tell its entries are stale.
METRICS_VERSION = 1

TRAINING_SUMMARY = "training_summary"
TRAINING_RESULTS = "training_results"
DIAGNOSTICS_JSONL = "diagnostics_jsonl"
DIAGNOSTICS_LOG = "diagnostics_log"
ARTIFACT_KEYS = (TRAINING_SUMMARY, TRAINING_RESULTS, DIAGNOSTICS_JSONL, DIAGNOSTICS_LOG)

RESULTS_FILE = "training_results.json"
# The original's curriculum trainer wrote the same keys under this name (FORMATS.md section 2).
CURRICULUM_RESULTS_FILE = "curriculum_training_results.json"
RESULTS_FILES = (RESULTS_FILE, CURRICULUM_RESULTS_FILE)  # preferred first
DIAGNOSTICS_FILES = {
    TRAINING_SUMMARY: "training_summary.json",
    DIAGNOSTICS_JSONL: "diagnostics.jsonl",
    DIAGNOSTICS_LOG: "diagnostics.log",
}
DIAGNOSTICS_SUBDIR = "diagnostics"
CHECKPOINTS_SUBDIR = "checkpoints"
RUN_MODEL_FILES = ("model.zip", "trained_model.zip")

# `session32_final` -> `session32`; `sessions5_6_7_final` -> `sessions5_6_7`;
# `curriculum_session9_best` -> `curriculum_session9`. Run folders start with the same
# prefix followed by `_` (FORMATS.md section 2).
_SESSION_PREFIX = re.compile(r"^((?:curriculum_)?(?:session\d+|sessions\d+(?:_\d+)*))(?=_|$)")


class Entry(Protocol):
    """A file found in a folder listing (os.DirEntry is one)."""

    def stat(self) -> os.stat_result: ...


class FolderView:
    """How the rules below see the disk: listings, sizes and byte comparisons.

    This one asks the disk each time; the catalog's walk answers the same questions from
    the listings it has already made (catalog.walk.ArtifactIndex), so both follow one rule.
    """

    def files_in(self, folder: str, wanted: frozenset[str]) -> dict[str, Entry]:
        """Entries of `folder` named in `wanted`: regular files, and the diagnostics folder."""
        found: dict[str, Entry] = {}
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name not in wanted:
                        continue
                    try:
                        if entry.is_dir() if entry.name == DIAGNOSTICS_SUBDIR else entry.is_file():
                            found[entry.name] = entry
                    except OSError:
                        continue
        except OSError:
            return {}
        return found

    def subfolders(self, folder: str) -> list[str]:
        """Names of the folders inside `folder`."""
        names = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir():
                            names.append(entry.name)
                    except OSError:
                        continue
        except OSError:
            return []
        return names

    def size(self, path: str) -> int | None:
        """The size of the file at `path`, None when there is none."""
        try:
            return os.stat(path).st_size
        except OSError:
            return None

    def same_bytes(self, a: str, b: str) -> bool:
        """Whether two files hold the same bytes."""
        try:
            return filecmp.cmp(a, b, shallow=False)
        except OSError:
            return False

    def run_artifacts(self, run_dir: str) -> dict[str, Path]:
        """`artifacts_in(run_dir)` as this view sees the folder (a view may remember it)."""
        return artifacts_in(run_dir, self)


_DISK = FolderView()


def find_artifacts(
    model_path: Path | str, models_dir: Path | str, view: FolderView = _DISK
) -> dict[str, Path]:
    """The training artifacts that belong to `model_path`: artifact key -> existing file.

    A run folder's model (`<run>/model.zip`, `<run>/trained_model.zip`) and its checkpoints
    (`<run>/checkpoints/*_steps.zip`) share the run's artifacts. A model in a folder with
    no artifacts of its own (a flat final such as `trained_models/session32_final.zip`) is
    matched to its run by content, see `matching_run_folder`; so is any other-named zip
    at the top of `models_dir`. Keys present only for files that exist; an empty dict when
    the model has none.
    """
    # Text paths (os.path): the catalog asks this for thousands of models.
    path = os.fspath(model_path)
    folder, name = os.path.split(path)
    if os.path.basename(folder) == CHECKPOINTS_SUBDIR:
        return view.run_artifacts(os.path.dirname(folder))
    is_run_model = name in RUN_MODEL_FILES
    if is_run_model or not _same_folder(folder, os.fspath(models_dir)):
        found = view.run_artifacts(folder)
        if found or is_run_model:
            return found
    # A flat final: artifacts at the top of the models folder belong to a run that wrote
    # its model.zip / trained_model.zip there, never to a final copied in beside it.
    run = matching_run_folder(Path(path), view)
    return view.run_artifacts(os.fspath(run)) if run is not None else {}


def artifacts_in(run_dir: Path | str, view: FolderView = _DISK) -> dict[str, Path]:
    """The artifacts of one run folder, looking in the folder and its `diagnostics/`.

    The original system wrote the diagnostics beside the model first and into a
    `diagnostics/` subfolder later; when a run has both copies, the one written last is
    the one the run finished with. Two directory listings instead of seven stats.
    """
    base = os.fspath(run_dir)
    beside = view.files_in(base, _WANTED_BESIDE)
    inside = (
        view.files_in(os.path.join(base, DIAGNOSTICS_SUBDIR), _WANTED_INSIDE)
        if beside.pop(DIAGNOSTICS_SUBDIR, None) is not None
        else {}
    )
    if not beside and not inside:
        return {}
    run_dir = Path(base)
    found: dict[str, Path] = {}
    results = results_file_among(beside)
    if results is not None:
        found[TRAINING_RESULTS] = run_dir / results
    for key, name in DIAGNOSTICS_FILES.items():
        in_subdir, alongside = inside.get(name), beside.get(name)
        if in_subdir is not None and (alongside is None or _mtime(in_subdir) >= _mtime(alongside)):
            found[key] = run_dir / DIAGNOSTICS_SUBDIR / name
        elif alongside is not None:
            found[key] = run_dir / name
    # Keys in a fixed order, so cache keys built from this dict are stable.
    return {key: found[key] for key in ARTIFACT_KEYS if key in found}


_WANTED_INSIDE = frozenset(DIAGNOSTICS_FILES.values())
_WANTED_BESIDE = _WANTED_INSIDE | set(RESULTS_FILES) | {DIAGNOSTICS_SUBDIR}
ARTIFACT_FILE_NAMES = _WANTED_INSIDE | frozenset(RESULTS_FILES)


def results_file_among(names: Iterable[str]) -> str | None:
    """The run's results file among the names in its folder: training_results.json, else the
    curriculum trainer's curriculum_training_results.json (a run writes one of them)."""
    present = set(names)
    return next((name for name in RESULTS_FILES if name in present), None)


def _mtime(entry: Entry) -> int:
    try:
        return entry.stat().st_mtime_ns
    except OSError:
        return -1


def matching_run_folder(model_path: Path, view: FolderView = _DISK) -> Path | None:
    """The run folder whose model is byte-identical to this flat final, or None.

    A flat final was copied out of its run by hand, so only its content ties it to the
    run: the name gives the session (`session32_final` -> run folders `session32_*`), and
    the run whose model.zip / trained_model.zip has the same size and then the same bytes
    is its run. Sizes are compared first, bytes only for a candidate of equal size.
    Guessing by name alone would show one run's training figures for another run's
    weights, so a final with no identical run model gets no artifacts; among identical
    copies the newest run name (latest stamp) is taken.
    """
    match = _SESSION_PREFIX.match(model_path.stem)
    if not match:
        return None
    size = view.size(os.fspath(model_path))
    if size is None:
        return None
    prefix = match.group(1) + "_"
    folder = os.fspath(model_path.parent)
    for name in sorted((n for n in view.subfolders(folder) if n.startswith(prefix)), reverse=True):
        for model_file in RUN_MODEL_FILES:
            candidate = os.path.join(folder, name, model_file)
            if view.size(candidate) == size and view.same_bytes(os.fspath(model_path), candidate):
                return model_path.parent / name
    return None


def _same_folder(a: str, b: str) -> bool:
    """Whether two paths name one folder, without resolving every symlink on the way."""
    if os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b)):
        return True
    if os.path.basename(os.path.normpath(a)) != os.path.basename(os.path.normpath(b)):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def read_training_metrics(
    artifacts: dict[str, Path], n_actions: int | None
) -> TrainingMetrics | None:
    """Figures from a run's artifacts for a model of `n_actions` actions; None if it has none.

    Never raises on a malformed artifact: what can be read is returned, and each problem
    becomes a one-line note naming the file. diagnostics.jsonl is streamed.
    """
    from kalshi_tui.core.artifacts.metrics import compose_metrics

    return compose_metrics(artifacts, n_actions)


def entropy_normalised(histogram: Any, n_actions: int) -> float:
    """Entropy of an action histogram divided by ln(n_actions): 0 = one action, 1 = uniform.

    `histogram` is a dict of action id (int or numeric str) -> count, or a sequence of
    counts indexed by id (list, tuple, numpy array). Entries whose id or count cannot be
    read are ignored; an empty histogram or n_actions < 2 gives 0.0.
    """
    return entropy_of_counts(_counts(histogram), n_actions)


def summarise_histogram(
    histogram: Any, n_actions: int | None = None, layout: Any = None
) -> dict[str, Any]:
    """Totals, percentages, hold/trading %, entropy and actions used of an action histogram.

    Every id 0..n-1 appears, zeros included (n defaults to the highest id + 1); `layout`
    (an ActionLayout) adds labels such as "BUY_YES x20" for ids it covers.
    """
    raw = _counts(histogram)
    n = max(n_actions or 0, len(raw))
    counts = [int(raw[i]) if i < len(raw) else 0 for i in range(n)]
    total = sum(counts)
    percentages = [c / total * 100 if total else 0.0 for c in counts]
    hold_pct = percentages[0] if total else None
    summary: dict[str, Any] = {
        "n_actions": n,
        "total": total,
        "counts": {str(i): counts[i] for i in range(n)},
        "percentages": {str(i): percentages[i] for i in range(n)},
        "hold_pct": hold_pct,
        "trading_pct": 100.0 - hold_pct if hold_pct is not None else None,
        "entropy": entropy_of_counts(counts, n) if total else None,
        "actions_used": sum(1 for c in counts if c > 0),
    }
    if layout is not None:
        summary["labels"] = {str(i): layout.label(i) for i in range(min(n, layout.n))}
    return summary


def _counts(histogram: Any) -> list[float]:
    """Counts indexed by action id from a dict or a sequence; unreadable entries dropped."""
    from kalshi_tui.core.artifacts.values import as_float, as_int

    if histogram is None:
        return []
    if isinstance(histogram, Mapping):  # a record's is read-only (model_record.freeze)
        by_id: dict[int, float] = {}
        for key, value in histogram.items():
            action, count = as_int(key), as_float(value)
            if action is None or action < 0 or count is None or count < 0:
                continue
            by_id[action] = by_id.get(action, 0.0) + count
        size = max(by_id) + 1 if by_id else 0
        return [by_id.get(i, 0.0) for i in range(size)]
    values = []
    for value in list(histogram):
        count = as_float(value.item() if hasattr(value, "item") else value)
        values.append(count if count is not None and count >= 0 else 0.0)
    return values
