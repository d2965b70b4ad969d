"""`kalshi-tui list` and `kalshi-tui show`: the catalog, headless, as a table or as JSON.

Listing exits 0 whatever the verdicts: an incompatible model is information, not a
failure. It never imports torch: the catalog reads zips, never runs them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kalshi_tui.cli.common import (
    CommandError,
    add_json_flag,
    config_from_args,
    is_existing_file,
    print_json,
)
from kalshi_tui.core import printable, raw_stream, safe_lines
from kalshi_tui.core.sb3 import layout_words

_COLOURS = {"OK": "\033[32m", "UNREADABLE": "\033[1;31m", "UNSAFE": "\033[1;37;41m"}
_INCOMPATIBLE_COLOUR = "\033[33m"
_RESET = "\033[0m"


def register(subparsers, common) -> None:
    lister = subparsers.add_parser(
        "list", parents=[common],
        help="every model in the models folder with its verdict (never runs a model)")
    add_json_flag(lister)
    lister.add_argument("--no-cache", action="store_true",
                        help="read every file again instead of trusting the catalog cache")
    lister.set_defaults(handler=list_command)
    shower = subparsers.add_parser(
        "show", parents=[common],
        help="everything known about one model: verdict, reasons, spaces, versions, metrics")
    shower.add_argument("model", metavar="MODEL",
                        help="path relative to the models folder, an absolute path, "
                             "or a unique fragment of the path")
    add_json_flag(shower)
    shower.set_defaults(handler=show_command)


def _scan(args: argparse.Namespace, *, use_cache: bool = True, hashes: bool = True):
    from kalshi_tui.core.catalog import scan_catalog

    config = config_from_args(args)
    try:
        return config, scan_catalog(config, use_cache=use_cache, hashes=hashes)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CommandError(str(exc)) from None
    except PermissionError as exc:
        raise CommandError(
            f"{config.models_dir}: cannot read models folder ({exc.strerror})"
        ) from None


def _use_colour(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _short_date(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"


def render_table(records, env, *, colour: bool = False, healths: dict | None = None) -> str:
    """The aligned table `list` prints: badge, name, algorithm, actions, observation, ...

    `healths` (path -> stored HealthResult): once any is known, a HEALTH column follows the
    badge (COLLAPSED, NARROW, HEALTHY, or "-" for a model not checked).
    """
    from kalshi_tui.core.evidence import badge
    from kalshi_tui.core.report import fmt_bytes

    header: list[str] = ["BADGE", "NAME", "ALGO", "ACTIONS", "OBS", "TIMESTEPS",
                         "TRAINED (UTC)", "SIZE", "PATH"]
    if healths:
        header.insert(1, "HEALTH")
    rows: list[list[str]] = []
    for r in records:
        obs = "x".join(str(d) for d in r.obs_shape) if r.obs_shape else "-"
        actions = (
            f"{r.action_space_type}({r.n_actions})"
            if r.action_space_type and r.n_actions is not None
            else r.action_space_type or "-"
        )
        row = [badge(r, env), printable(r.name), r.algorithm or "-", actions, obs,
               f"{r.num_timesteps:,}" if r.num_timesteps is not None else "-",
               _short_date(r.trained_at), fmt_bytes(r.size_bytes), printable(r.path)]
        if healths:
            health = healths.get(r.path)
            row.insert(1, (health.state or "-") if health is not None else "-")
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
        if colour:
            start = _COLOURS.get(row[0], _INCOMPATIBLE_COLOUR)
            cells[0] = f"{start}{cells[0]}{_RESET}"
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _summary(records, problems) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    parts = [
        f"{counts.get(v, 0)} {v}" for v in ("compatible", "incompatible", "unreadable", "unsafe")
    ]
    text = f"{len(records)} models: " + ", ".join(parts)
    if problems:
        text += f"; {len(problems)} folders skipped"
    return text


def print_records_json(records, stream, healths: dict | None = None) -> None:
    """One JSON array, a model per line: json's C encoder per record (an indented dump of the
    whole list goes through its pure-Python encoder, most of a `list --json` process).

    Each record carries "health": its stored state and line, or null when not checked."""
    import json

    healths = healths or {}

    def line(r) -> str:
        health = healths.get(r.path)
        known = ({"state": health.state, "state_line": health.state_line,
                  "created_at": health.created_at} if health is not None else None)
        return "  " + json.dumps({**r.to_dict(), "health": known}, default=str)

    if not records:
        stream.write("[]\n")
        return
    stream.write("[\n")
    stream.write(",\n".join(line(r) for r in records))
    stream.write("\n]\n")


def stored_health_states(config, catalog) -> dict:
    """Path -> stored HealthResult of compatible models, once any health result is stored.

    Health results are keyed by content, so the models are hashed only when a result exists.
    """
    from kalshi_tui.core.catalog import COMPATIBLE
    from kalshi_tui.eval import any_health_stored, stored_healths

    if not any_health_stored(config):
        return {}

    compatible = [r for r in catalog.records if r.verdict == COMPATIBLE]
    catalog.ensure_sha256(compatible)
    return stored_healths(compatible, config)


def list_command(args: argparse.Namespace) -> int:
    # The table shows no sha256, so it does not pay for hashing every byte of every model
    # (the bulk of a cold listing); --json promises the hash, so it hashes.
    config, catalog = _scan(args, use_cache=not getattr(args, "no_cache", False), hashes=args.json)
    healths = stored_health_states(config, catalog)
    if args.json:
        print_records_json(catalog.records, sys.stdout, healths)
        for problem in catalog.problems:
            print(f"kalshi-tui: {printable(problem)}", file=sys.stderr)
        return 0
    if not catalog.records:
        print(f"no model zips in {config.models_dir}")
    else:
        colour = _use_colour(sys.stdout)
        # Coloured, the table goes to the raw stream: its escapes are ours, every cell from a
        # file is already printable().
        table = render_table(catalog.records, config.environment, colour=colour, healths=healths)
        print(table, file=raw_stream(sys.stdout) if colour else sys.stdout)
        print(_summary(catalog.records, catalog.problems))
    for problem in catalog.problems:
        print(f"kalshi-tui: {printable(problem)}", file=sys.stderr)
    return 0


def _find(args: argparse.Namespace):
    """The record for MODEL: an existing file outside the folder directly, else the catalog."""
    from kalshi_tui.core.catalog import inspect_model

    config = config_from_args(args)
    direct = Path(args.model).expanduser()
    models_dir = Path(config.models_dir)
    if is_existing_file(direct) and models_dir.resolve() not in direct.resolve().parents:
        return config, inspect_model(direct, config)
    config, catalog = _scan(args, hashes=False)  # only the one model shown is hashed
    try:
        record = catalog.find(args.model)
    except LookupError as exc:
        # printable(): a fragment may hold control characters; show them escaped, on one line.
        raise CommandError(printable(exc)) from None
    catalog.ensure_sha256([record])
    return config, record


def render_show(record, env, validation=None, validation_sessions: str | None = None, *,
                colour: bool = False) -> str:
    """Every fact about one model as `key: value` lines, reasons and warnings first; last
    the stored validation result (`validation`, current for the config) or that none is."""
    from kalshi_tui.core.evidence import badge
    from kalshi_tui.core.report import metric_text

    shown = badge(record, env)
    if colour and shown in ("UNSAFE", "UNREADABLE"):
        shown = f"{_COLOURS[shown]}{shown}{_RESET}"
    lines = [f"{printable(record.name)}  [{shown}]",
             f"  path:          {printable(record.path)}",
             f"  verdict:       {record.verdict}"]
    lines += [f"  reason:        {printable(r)}" for r in record.reasons]
    lines += [f"  warning:       {printable(w)}" for w in record.warnings]
    actions = record.action_space_type or "-"
    if record.n_actions is not None:
        actions += f"({record.n_actions})"
    layout = (
        env.layout_for(record.n_actions)
        if record.action_space_type == "Discrete" and record.n_actions
        else None
    )
    if layout is not None:
        actions += f"  {layout.describe()}"
    facts = [
        ("kind", record.kind),
        ("algorithm", record.algorithm),
        ("action space", actions),
        (
            "observation",
            f"{record.plain('obs_shape')} {record.obs_dtype or ''}".strip()
            if record.obs_shape
            else None,
        ),
        ("obs layout", layout_words(record)),
        (
            "weights",
            f"{record.weights_n_actions} action outputs, {record.weights_obs_dim} inputs"
            if record.weights_n_actions is not None
            else None,
        ),
        ("policy class", record.policy_class),
        ("timesteps", f"{record.num_timesteps:,}" if record.num_timesteps is not None else None),
        ("trained at", record.trained_at),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(record.versions.items())) or None),
        ("size", f"{record.size_bytes:,} bytes"),
        ("sha256", record.sha256),
        ("run folder", record.run_dir),
    ]
    lines += [
        f"  {key + ':':<15}{printable(value)}" for key, value in facts if value not in (None, "")
    ]
    if record.hyperparameters:
        lines.append("  hyperparameters:")
        lines += [f"    {k}: {printable(v)}" for k, v in record.plain("hyperparameters").items()]
    if record.pickle_globals:
        lines.append("  pickle globals (listed, never run):")
        lines += [f"    {printable(g)}" for g in record.pickle_globals]
    if record.artifacts:
        lines.append("  training artifacts:")
        lines += [f"    {k}: {printable(v)}" for k, v in sorted(record.artifacts.items())]
    if record.metrics is not None:
        lines.append("  training metrics:")
        for key, value in record.metrics.to_dict().items():
            if value in (None, {}, []) or key in ("sources", "notes", "action_histogram"):
                continue
            source = record.metrics.sources.get(key)
            lines.append(f"    {key}: {printable(metric_text(key, value))}"
                         + (f"  ({source})" if source else ""))
        lines += [f"    note: {printable(n)}" for n in record.metrics.notes]
    lines += _validation_lines(validation, validation_sessions, env)
    return "\n".join(lines)


def _validation_lines(validation, sessions: str | None, env) -> list[str]:
    """The stored validation result, current for this config (its lines name its world:
    profile, layout, fill model, sessions); or say there is none, in which world."""
    if validation is None:
        where = f" on sessions {sessions}" if sessions else ""
        world = env.world()
        return [
            f"  validation:    not validated{where} in profile {world['profile']}, layout "
            f"{world['observation_layout']}, fill model {world['fill_model']} (kalshi-tui validate)"
        ]
    source = f"stored {validation.created_at}"
    return [f"  validation ({source}):"] + [
        f"    {printable(line)}" for line in validation.summary_lines()[1:]
    ]


def render_pointer_findings(pointer_file, contradicted: list[str], zones: list[str]) -> str:
    """What the pointer naming this model claims that the model file contradicts."""
    if not contradicted and not zones:
        return ""
    lines = [f"  the pointer ({printable(pointer_file)}) names this model:"]
    lines += [f"    CONTRADICTED by the model file: {printable(c)}" for c in contradicted]
    lines += [f"    note: {printable(z)}" for z in zones]
    return "\n".join(lines)


def show_command(args: argparse.Namespace) -> int:
    from kalshi_tui.core.pointer import pointer_findings
    from kalshi_tui.eval import fill_model_disagreement_line, load_health, load_validation

    config, record = _find(args)
    validation = (load_validation(Path(record.abs_path), record.sha256, config)
                  if record.sha256 else None)
    contradicted, zones = pointer_findings(config, record)
    disagreement = fill_model_disagreement_line(config, validation) if validation else None
    health = load_health(record.sha256, config)
    if args.json:
        print_json({**record.to_dict(),
                    "validation": validation.to_dict() if validation is not None else None,
                    "fill_model_disagreement": disagreement,
                    "health": health.to_dict() if health is not None else None,
                    "pointer_contradictions": contradicted, "pointer_time_notes": zones})
    else:
        colour = _use_colour(sys.stdout)
        text = render_show(record, config.environment, validation, config.validation_sessions,
                           colour=colour)
        # The badge's colour codes are ours; every name in the text was escaped line by line.
        print(text, file=raw_stream(sys.stdout) if colour else sys.stdout)
        if disagreement:
            print(f"  {printable(disagreement)}")
        print(safe_lines(_health_lines(health)))
        findings = render_pointer_findings(config.pointer_file, contradicted, zones)
        if findings:
            print(findings)
    return 0


def _health_lines(health) -> list[str]:
    """The stored policy health, current for this config; or say there is none."""
    if health is None:
        return ["  health:        not checked with this config (kalshi-tui health)"]
    return ([f"  health (stored {health.created_at}):"]
            + [f"    {line}" for line in health.summary_lines()[2:]])
