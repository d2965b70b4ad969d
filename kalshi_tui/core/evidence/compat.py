"""Verdicts: does a model fit the configured environment, and why not, in an operator's words.

A model that does not fit never crashes the trader: a Discrete(5) model silently emits
only actions 0-4 in the 21-action environment. So the reasons have to be said here, before
anyone promotes it. Reasons block (incompatible); warnings are worth knowing but do not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from kalshi_tui.core.config import EnvironmentSpec
from kalshi_tui.core.model_record import (
    COMPATIBLE,
    INCOMPATIBLE,
    UNREADABLE,
    UNSAFE,
    ModelRecord,
    freeze,
)
from kalshi_tui.core.sb3.layout_evidence import LAYOUT_B_SINCE, trained_before_layout_b

# Modules a normal SB3 save references; anything else in a pickle deserves a second look.
_HARMLESS_MODULE_PREFIXES = (
    "stable_baselines3.", "sb3_contrib.", "gymnasium.", "gym.", "numpy.", "torch.",
    "collections.", "cloudpickle.", "abc.", "copyreg.", "functools.", "typing.", "enum.",
    "_codecs.", "datetime.", "math.", "operator.", "types.", "re.", "__main__.",
)
_HARMLESS_BUILTINS = frozenset({
    "builtins.object", "builtins.type", "builtins.getattr", "builtins.dict", "builtins.list",
    "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.range",
    "builtins.complex", "builtins.float", "builtins.int", "builtins.str", "builtins.bytes",
    "builtins.bytearray", "builtins.bool", "builtins.property", "builtins.staticmethod",
    "builtins.classmethod", "builtins.len", "builtins.print", "builtins.NotImplemented",
    "builtins.Ellipsis",
})
# Names that mean "runs a command, evaluates code or touches the network": always flagged,
# even under an otherwise harmless module (numpy.testing... could not, but torch.hub could).
_DANGEROUS = re.compile(r"(^|\.)(system|popen|exec|eval|compile|__import__|spawn\w*|"
                        r"execv\w*|fork|run|call|check_output|load_module|import_module|"
                        r"urlopen|hub)($|\.)")


def is_suspicious_global(name: str) -> bool:
    """True when a pickle global is outside what SB3, numpy and torch normally reference."""
    if name in _HARMLESS_BUILTINS:
        return False
    if name.startswith("<"):
        return True  # "<malformed pickle>": whoever crafted it wanted something
    if _DANGEROUS.search(name.split(".", 1)[-1] if "." in name else name):
        return True
    return not name.startswith(_HARMLESS_MODULE_PREFIXES)


@lru_cache(maxsize=1)
def installed_sb3_version() -> str | None:
    """The installed SB3 version, read from files: importing SB3 would import torch.

    SB3 ships its version in `stable_baselines3/version.txt`; finding the package's folder
    costs a path lookup, where importlib.metadata scans every distribution (25 ms, paid by
    every `list`). The metadata is the fallback.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec("stable_baselines3")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        try:
            with open(
                os.path.join(os.path.dirname(spec.origin), "version.txt"), encoding="utf-8"
            ) as handle:
                text = handle.read(64).strip()
            if text:
                return text
        except OSError:
            pass
    from importlib import metadata

    try:
        return metadata.version("stable-baselines3")
    except metadata.PackageNotFoundError:
        return None


def _major(version: str | None) -> str | None:
    if not version:
        return None
    match = re.match(r"\s*(\d+)", version)
    return match.group(1) if match else None


def _bounds_values(text: str | None) -> tuple[float, ...] | None:
    """The numbers in numpy's text of a bound ("[-2. -2. ...]"); elided arrays give a sample."""
    if text is None:
        return None
    values = []
    for token in text.replace("[", " ").replace("]", " ").replace(",", " ").split():
        if token == "...":
            continue
        try:
            values.append(float(token))
        except ValueError:
            return None
    return tuple(values) or None


def _bound_warning(key: str, text: str | None, expected: float) -> str | None:
    """The warning for one bound's numpy text against the configured value, if they differ."""
    values = _bounds_values(text)
    if values is None or all(v == expected for v in values):
        return None
    shown = sorted(set(values))
    words = f"{shown[0]:g}" if len(shown) == 1 else f"{shown[0]:g}..{shown[-1]:g}"
    return f"observation {key} bound {words} differs from the configured {expected:g}"


def _shape_words(shape: list[int] | tuple[int, ...] | None) -> str:
    if shape is None:
        return "unknown"
    if len(shape) == 1:
        return f"{shape[0]} features"
    return "shape (" + ", ".join(str(d) for d in shape) + ")"


def _env_shape_words(env: EnvironmentSpec) -> str:
    shape = env.observation_shape
    return str(shape[0]) if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"


def compatibility_reasons(record: ModelRecord, env: EnvironmentSpec) -> list[str]:
    """What stops this readable model from trading in `env`, most telling first."""
    reasons: list[str] = []
    space = record.action_space_type
    if space is None:
        reasons.append("action space unknown (no action_space in data)")
    elif space != "Discrete":
        reasons.append(f"action space is {space}, environment Discrete({env.n_actions})")
    elif record.n_actions is None:
        reasons.append("action count unreadable in data")
    elif record.n_actions != env.n_actions:
        if record.n_actions == env.legacy_n_actions:
            reasons.append(
                f"legacy {record.n_actions}-action model (environment has {env.n_actions})"
            )
        else:
            reasons.append(f"model has {record.n_actions} actions, environment {env.n_actions}")
    if record.obs_shape is None:
        reasons.append("observation shape unknown (no observation_space in data)")
    elif tuple(record.obs_shape) != tuple(env.observation_shape):
        if len(record.obs_shape) == 1 and len(env.observation_shape) == 1:
            reasons.append(f"observation has {record.obs_shape[0]} features, "
                           f"environment {env.observation_shape[0]}")
        else:
            reasons.append(f"observation is {_shape_words(record.obs_shape)}, "
                           f"environment {_env_shape_words(env)}")
    layout = layout_reason(record, env)
    if layout:
        reasons.append(layout)
    if (record.weights_n_actions is not None and record.n_actions is not None
            and record.weights_n_actions != record.n_actions):
        reasons.append(f"weights have {record.weights_n_actions} action outputs "
                       f"but metadata says {record.n_actions}")
    if (record.weights_obs_dim is not None and record.obs_shape and len(record.obs_shape) == 1
            and record.weights_obs_dim != record.obs_shape[0]):
        reasons.append(f"weights take {record.weights_obs_dim} observation inputs "
                       f"but metadata says {record.obs_shape[0]}")
    return reasons


def _layout_applies(record: ModelRecord, env: EnvironmentSpec) -> bool:
    """Both sides are 52 numbers: only then can a layout mismatch go unseen by the shapes."""
    return (record.obs_shape is not None and list(record.obs_shape) == [52]
            and tuple(env.observation_shape) == (52,))


def layout_reason(record: ModelRecord, env: EnvironmentSpec) -> str | None:
    """Why the model reads the environment's 52 numbers wrong, when its file shows it."""
    if not _layout_applies(record, env):
        return None
    built = env.observation_layout
    if record.obs_layout is not None and record.obs_layout != built:
        return (f"trained on observation layout {record.obs_layout}, the environment builds layout "
                f"{built}: same 52 numbers, different meanings")
    trained_at = record.trained_at
    if (record.obs_layout is None and built == "B" and trained_at is not None
            and trained_before_layout_b(trained_at)):
        return (
            f"trained {trained_at[:10]}, before layout B existed ({LAYOUT_B_SINCE[:10]}), "
            f"the environment builds layout B: same 52 numbers, different meanings"
        )
    return None


def layout_warning(record: ModelRecord, env: EnvironmentSpec) -> str | None:
    """The evidence was too weak to name the model's layout: said, never guessed (for a
    Discrete model: one of another action space never trades here anyway)."""
    if (record.action_space_type != "Discrete" or not _layout_applies(record, env)
            or record.obs_layout is not None or layout_reason(record, env)):
        return None
    return (f"observation layout unknown, so not shown to match the environment's "
            f"{env.observation_layout}: {record.obs_layout_evidence or 'no evidence read'}")


def compatibility_warnings(record: ModelRecord, env: EnvironmentSpec) -> list[str]:
    """What an operator should know that does not stop the model from trading."""
    warnings: list[str] = []
    layout = layout_warning(record, env)
    if layout:
        warnings.append(layout)
    if record.obs_dtype and record.obs_dtype != env.observation_dtype:
        warnings.append(
            f"observation dtype {record.obs_dtype}, environment {env.observation_dtype}"
        )
    for key, expected in (("low", env.observation_low), ("high", env.observation_high)):
        warning = _bound_warning(key, getattr(record, f"obs_{key}"), expected)
        if warning:
            warnings.append(warning)
    model_sb3 = record.versions.get("sb3")
    installed = installed_sb3_version()
    if _major(model_sb3) and _major(installed) and _major(model_sb3) != _major(installed):
        warnings.append(
            f"saved with SB3 {model_sb3}, installed {installed} (major version differs)"
        )
    suspicious = [g for g in record.pickle_globals if is_suspicious_global(g)]
    if suspicious:
        shown = ", ".join(suspicious[:5]) + (
            f" and {len(suspicious) - 5} more" if len(suspicious) > 5 else ""
        )
        warnings.append(f"suspicious pickle globals (listed, never run): {shown}")
    return warnings


# Modules no trusted_globals entry can make safe: a team's policy classes live elsewhere,
# and these run commands, load code or reach the interpreter.
NEVER_TRUSTED = tuple(f"{m}." for m in (
    "os", "posix", "nt", "sys", "subprocess", "builtins", "shutil", "socket", "importlib", "runpy",
    "pickle", "marshal", "types", "cloudpickle", "ctypes", "code", "pty", "multiprocessing", "<"))


def unsafe_reasons(record: ModelRecord, env: EnvironmentSpec) -> list[str]:
    """Why the trader must never load this model (empty: nothing found), one line per finding."""
    return trader_refusals(record.trader_findings, env.trusted_globals)


def trader_refusals(
    findings: Sequence[Sequence[Any]], trusted_globals: tuple[str, ...] | list[str]
) -> list[str]:
    """One "UNSAFE where: why" line per trader-safety finding (core.member_safety).

    A finding in `data` whose globals the team trusts (catalog.trusted_globals) is dropped;
    one with no globals (code, a bomb, a torch refusal) is never trusted away.
    """
    trusted = {name for name in trusted_globals if not name.startswith(NEVER_TRUSTED)}
    out = []
    for where, why, names in findings:
        if names and str(where).startswith("data/") and trusted.issuperset(names):
            continue
        named = [n for n in names if not n.startswith("<")][:5]
        shown = f" [{', '.join(named)}]" if named and not all(n in why for n in named) else ""
        out.append(f"UNSAFE {where}: {why}{shown}")
    return out


# Warnings the reading made (not the judging): a re-judge keeps them.
READ_WARNINGS = ("weights not checked", "training artifacts unreadable")


def judge(record: ModelRecord, env: EnvironmentSpec) -> None:
    """Set the record's verdict, reasons and warnings against `env`.

    An unreadable record keeps its reasons (why the file could not be read); anything
    else is judged afresh, so a changed environment config re-judges cached records.
    """
    if record.verdict == UNREADABLE and record.reasons:
        record.warnings = tuple(w for w in record.warnings if w.startswith(READ_WARNINGS))
        return
    obs_shape = record.obs_shape
    facts = _JudgedFacts(
        record.action_space_type, record.n_actions,
        None if obs_shape is None else tuple(obs_shape), record.weights_n_actions,
        record.weights_obs_dim, record.obs_dtype, record.obs_low, record.obs_high,
        record.versions.get("sb3"), tuple(record.pickle_globals), record.obs_layout,
        record.obs_layout_evidence, record.trained_at,
        tuple((where, why, tuple(names)) for where, why, names in record.trader_findings))
    reasons, warnings, is_unsafe = _verdict(facts, env)
    kept = tuple(w for w in record.warnings if w.startswith(READ_WARNINGS))
    record.reasons = reasons
    record.warnings = kept + warnings
    record.verdict = UNSAFE if is_unsafe else INCOMPATIBLE if reasons else COMPATIBLE


class _JudgedFacts(NamedTuple):
    """Every fact of a record the verdict reads: equal facts, equal verdict."""

    action_space_type: str | None
    n_actions: int | None
    obs_shape: tuple[int, ...] | None
    weights_n_actions: int | None
    weights_obs_dim: int | None
    obs_dtype: str | None
    obs_low: str | None
    obs_high: str | None
    sb3_version: str | None
    pickle_globals: tuple[str, ...]
    obs_layout: str | None
    obs_layout_evidence: str | None
    trained_at: str | None
    trader_findings: tuple[tuple[str, str, tuple[str, ...]], ...]


# The one memo of the verdicts, keyed by exact content (the facts and the environment),
# bounded, and thread-safe (functools' lock). Why: a run's checkpoints share every fact the
# verdict reads, so a 10,000-model listing has a few hundred distinct verdicts; judging each
# file afresh costs 14.7 us against 2.3 us remembered (measured on the demo's 20 models),
# 0.12 s of a warm 10,000-model listing whose target is 0.5 s.
@lru_cache(maxsize=4096)
def _verdict(facts: _JudgedFacts, env: EnvironmentSpec
             ) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    # The verdict's rules read a record; this one holds exactly the facts (nothing else).
    record = ModelRecord(path="", abs_path="", name="")
    (record.action_space_type, record.n_actions, shape, record.weights_n_actions,
     record.weights_obs_dim, record.obs_dtype, record.obs_low, record.obs_high, sb3,
     pickle_globals, record.obs_layout, record.obs_layout_evidence, record.trained_at,
     findings) = facts
    record.obs_shape = shape
    if sb3 is not None:
        record.versions = freeze({"sb3": sb3})
    record.pickle_globals = pickle_globals
    record.trader_findings = findings
    unsafe = unsafe_reasons(record, env)
    return (tuple(unsafe + compatibility_reasons(record, env)),
            tuple(compatibility_warnings(record, env)), bool(unsafe))


def badge(record: ModelRecord, env: EnvironmentSpec) -> str:
    """A short label for tables: OK, LEGACY 5-ACT, OBS 54, MULTIDISCRETE, UNREADABLE, ..."""
    if record.verdict == UNREADABLE:
        return "UNREADABLE"
    if record.verdict == UNSAFE:
        return "UNSAFE"
    if record.verdict == COMPATIBLE:
        return "OK"
    space = record.action_space_type
    if space and space != "Discrete":
        return space.upper()[:13]
    if record.n_actions is not None and record.n_actions != env.n_actions:
        if record.n_actions == env.legacy_n_actions:
            return f"LEGACY {record.n_actions}-ACT"
        return f"{record.n_actions}-ACT"
    if record.obs_shape and tuple(record.obs_shape) != tuple(env.observation_shape):
        return f"OBS {record.obs_shape[0]}" if len(record.obs_shape) == 1 else "OBS SHAPE"
    if layout_reason(record, env):
        return f"LAYOUT {record.obs_layout}" if record.obs_layout else "LAYOUT"
    if any(r.startswith("weights") for r in record.reasons):
        return "BAD WEIGHTS"
    return "INCOMPATIBLE"
