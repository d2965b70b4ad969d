"""`status`, `promote`, `rollback`, `history`, `prune`: the pointer engine, headless.

Exit codes: 0 ok, 1 error, 2 usage (no terminal to confirm on and no --yes), 3 refused by
a guard rail, 4 stale revision, 5 lock timeout, 6 current model alarm (status).
Without --yes a change shows its plan and asks; the change is then made only if the
pointer is still at the revision shown and the model still has the sha256 shown.
"""

from __future__ import annotations

import argparse
import sys

from kalshi_tui.cli import exit_codes
from kalshi_tui.cli.common import (
    CommandError,
    add_json_flag,
    catalog_find,
    config_from_args,
    model_file_named,
    print_json,
)
from kalshi_tui.core import PATH_CLIP_CHARS, clip, printable, safe_lines
from kalshi_tui.core.report import fmt_bytes, fmt_pct


def register(subparsers, common) -> None:
    epilog = exit_codes.epilog()
    fmt = argparse.RawDescriptionHelpFormatter

    status = subparsers.add_parser(
        "status", parents=[common], epilog=epilog, formatter_class=fmt,
        help="the current model, its verdict, revision and last change (exit 6 on alarm)")
    add_json_flag(status)
    status.set_defaults(handler=status_command)

    promote = subparsers.add_parser(
        "promote", parents=[common], epilog=epilog, formatter_class=fmt,
        help="make MODEL the model the trader loads (a new revision)")
    promote.add_argument(
        "model",
        metavar="MODEL",
        help="model file, path relative to the models folder, or a unique name fragment",
    )
    _change_options(promote)
    promote.add_argument(
        "--expect-sha256",
        metavar="HASH",
        help="refuse (exit 3) unless MODEL still has this sha256 (what `list` showed)",
    )
    promote.set_defaults(handler=promote_command)

    rollback = subparsers.add_parser(
        "rollback", parents=[common], epilog=epilog, formatter_class=fmt,
        help="go back to an earlier revision's model (a new revision)")
    rollback.add_argument("--to", type=int, metavar="REVISION", dest="to_revision",
                          help="the revision to go back to (default: the newest earlier one "
                               "whose model exists, is unchanged and is compatible)")
    _change_options(rollback)
    rollback.set_defaults(handler=rollback_command)

    history = subparsers.add_parser("history", parents=[common], epilog=epilog, formatter_class=fmt,
                                    help="the pointer's revisions, newest first")
    history.add_argument("--limit", type=_positive, metavar="N", help="show only the newest N")
    add_json_flag(history)
    history.set_defaults(handler=history_command)

    prune = subparsers.add_parser(
        "prune", parents=[common], epilog=epilog, formatter_class=fmt,
        help="remove old runs (dry run unless --execute); never the current model, recent "
             "history's models, nor diagnostics of kept runs")
    prune.add_argument("--keep", type=_non_negative, required=True, metavar="N",
                       help="keep the N newest runs (plus every protected one)")
    prune.add_argument("--execute", action="store_true", help="really remove (default: dry run)")
    add_json_flag(prune)
    prune.set_defaults(handler=prune_command)


def _positive(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _non_negative(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _whole_number(text: str) -> int:
    # ArgumentTypeError, not ValueError: argparse then prints this sentence after the
    # option's name instead of "invalid _positive value", the name of this function.
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _change_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", required=True, metavar="TEXT",
                        help="why (recorded in the pointer and the journal)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    parser.add_argument("--expect-revision", type=int, metavar="N",
                        help="refuse (exit 4) unless the pointer is at revision N")
    parser.add_argument("--force", action="store_true",
                        help="allow an incompatible or unreadable model (recorded as forced)")
    add_json_flag(parser)


def _engine(args: argparse.Namespace):
    from kalshi_tui.core.catalog import require_models_folder
    from kalshi_tui.core.pointer import PointerEngine

    config = config_from_args(args)
    try:
        # A missing folder is a mistyped path or an unmounted share (exit 1), not an alarm
        # about the pointer inside it.
        require_models_folder(config.models_dir)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CommandError(f"{exc} (set paths.models_dir or pass --models-dir)") from None
    return PointerEngine(config)


def _errors(call, pointer=None):
    """Run `call`, turning the engine's exceptions into one-line errors with their exit codes.

    Each names the pointer file it concerns (prefixed when the engine's words did not).
    """
    from kalshi_tui.core.pointer import LockTimeout, PointerError, Refused, StaleRevision

    def naming(text: str) -> str:
        name = getattr(pointer, "name", None)
        return text if name is None or name in text else f"{name}: {text}"

    try:
        return call()
    except Refused as exc:
        raise CommandError(f"refused: {naming(str(exc))}", exit_codes.REFUSED) from None
    except StaleRevision as exc:
        raise CommandError(
            f"stale revision: {naming(str(exc))}", exit_codes.STALE_REVISION
        ) from None
    except LockTimeout as exc:
        raise CommandError(f"lock timeout: {naming(str(exc))}", exit_codes.LOCK_TIMEOUT) from None
    except PointerError as exc:
        raise CommandError(naming(str(exc)), exit_codes.ERROR) from None
    except OSError as exc:
        from kalshi_tui.core.pointer import describe_os_error

        raise CommandError(naming(describe_os_error(exc)), exit_codes.ERROR) from None


# ---- status / history -------------------------------------------------------------------

def status_command(args: argparse.Namespace) -> int:
    from kalshi_tui.eval import collapse_alarm

    engine = _engine(args)
    status = _errors(engine.status, engine.pointer)
    if status.model_exists and status.current_sha256:
        # Stored health only (never runs the model): `kalshi-tui health` computes it.
        collapsed = collapse_alarm(status.current_sha256, engine.config)
        if collapsed:
            status.alarms.append(collapsed)
    if args.json:
        print_json(status.to_dict())
    else:
        print(render_status(status))
    return exit_codes.ALARM if status.alarm else exit_codes.OK


def history_command(args: argparse.Namespace) -> int:
    engine = _engine(args)
    records = _errors(lambda: engine.history(args.limit), engine.pointer)
    if args.json:
        print_json([r.to_dict() for r in records])
    else:
        print(render_history(records))
    return exit_codes.OK


# ---- promote / rollback -----------------------------------------------------------------

def find_model(ref: str, config, *, inspect: bool = True):
    """The ModelRecord for MODEL: an existing file directly, else the catalog's lookup.

    With inspect=False a file is only named (path and abs_path): `promote --yes` leaves
    the inspection to the engine, which does it under the lock anyway.
    """
    from kalshi_tui.core.catalog import ModelRecord, inspect_model

    path = model_file_named(ref, config.models_dir)
    if path is not None:
        if not inspect:
            return ModelRecord(path=path.name, abs_path=str(path), name=path.stem)
        return inspect_model(path, config)
    from kalshi_tui.core.catalog import scan_catalog

    # A name lookup: the engine hashes the one file it promotes, under its lock.
    return catalog_find(scan_catalog(config, hashes=False), ref)


def promote_command(args: argparse.Namespace) -> int:
    from kalshi_tui.cli.abtest_commands import file_sha256_or_none, promote_ab_line

    engine = _engine(args)
    quick = args.yes and not args.dry_run
    record = _errors(
        lambda: find_model(args.model, engine.config, inspect=not quick), engine.pointer
    )
    if quick:
        # No plan to show first: the engine plans and checks under the lock in one step.
        # The A/B line is read before the change, while the pointer still names the current.
        evidence = promote_ab_line(engine.config, file_sha256_or_none(record.abs_path))
        return _run(args, lambda: engine.promote(
            record, args.reason, expect_revision=args.expect_revision,
            expect_sha256=args.expect_sha256, force=args.force), evidence=evidence)
    plan = _errors(lambda: engine.plan_promote(
        record, args.reason, expect_revision=args.expect_revision,
        expect_sha256=args.expect_sha256, force=args.force), engine.pointer)
    return _confirm_and_run(args, plan, lambda: engine.promote(
        record, args.reason, expect_revision=plan.revision_before,
        expect_sha256=plan.to.sha256, force=args.force),
        evidence=promote_ab_line(engine.config, plan.to.sha256))


def rollback_command(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.yes and not args.dry_run:
        return _run(args, lambda: engine.rollback(
            args.reason, to_revision=args.to_revision, expect_revision=args.expect_revision,
            force=args.force))
    plan = _errors(lambda: engine.plan_rollback(
        args.to_revision, reason=args.reason, expect_revision=args.expect_revision,
        force=args.force), engine.pointer)
    return _confirm_and_run(args, plan, lambda: engine.rollback(
        args.reason, to_revision=plan.target_revision, expect_revision=plan.revision_before,
        force=args.force))


def _confirm_and_run(args: argparse.Namespace, plan, run, *, evidence: str | None = None) -> int:
    """Show the plan; ask unless --yes; run pinned to the revision and sha shown.

    `evidence`: a line shown under the plan (promote: the A/B against the current model).
    """
    shown_plan = render_plan(plan) + (f"\n  {printable(evidence)}" if evidence else "")
    if args.dry_run:
        if args.json:
            print_json({"dry_run": True, "plan": plan.to_dict(),
                        **({"ab_vs_current": evidence} if evidence else {})})
        else:
            print(shown_plan)
            print("dry run: nothing changed")
        return exit_codes.OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError(
                f"{plan.action} needs confirmation and there is no terminal to "
                "ask on: pass --yes (or --dry-run to see the plan)",
                exit_codes.USAGE,
            )
        print(shown_plan)
        answer = input(f"{plan.action} to revision {plan.revision_after}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("cancelled: nothing changed")
            return exit_codes.ERROR
    return _run(args, run, plan_shown=True, evidence=evidence)


def _run(args: argparse.Namespace, run, *, plan_shown: bool = False,
         evidence: str | None = None) -> int:
    """Make the change and report it (the plan as executed, unless it was just shown)."""
    result = _errors(run, config_from_args(args).pointer_file)
    if args.json:
        print_json({**result.to_dict(), **({"ab_vs_current": evidence} if evidence else {})})
    else:
        if not plan_shown:
            print(render_plan(result.plan))
            if evidence:
                print(f"  {printable(evidence)}")
        print(render_result(result))
    if result.hook is not None and not result.hook.ok:
        print(f"kalshi-tui: warning: {printable(result.hook.summary())}; the change stands",
              file=sys.stderr)
    return exit_codes.OK


# ---- prune --------------------------------------------------------------------------------

def prune_command(args: argparse.Namespace) -> int:
    from kalshi_tui.core.pointer import execute_prune, plan_prune

    config = config_from_args(args)
    if args.execute:
        plan = _errors(lambda: execute_prune(config, args.keep), config.pointer_file)
    else:
        plan = _errors(lambda: plan_prune(config, args.keep), config.pointer_file)
    if args.json:
        print_json(plan.to_dict())
    else:
        print(render_prune(plan))
    return exit_codes.OK


# ---- text output --------------------------------------------------------------------------

def _short(sha: str | None) -> str:
    return sha[:12] if sha else "none recorded"


def render_status(status) -> str:
    lines = [f"pointer:  {status.pointer_file} (revision {status.revision}, {status.relation})"]
    if status.full_path is not None:
        verdict = status.verdict or ("missing" if not status.model_exists else "?")
        lines.append(f"model:    {status.full_path} [{verdict}]")
        if status.resolved_path and status.resolved_path != status.full_path:
            lines.append(f"          -> {status.resolved_path}")
        if status.current_sha256 or status.recorded_sha256:
            lines.append(f"sha256:   {_short(status.current_sha256)} on disk, "
                         f"{_short(status.recorded_sha256)} when promoted")
    if status.selected_reason:
        lines.append(f"reason:   {clip(status.selected_reason, PATH_CLIP_CHARS)}")
    if status.last_updated:
        lines.append(f"updated:  {status.last_updated}")
    change = status.last_change
    if change is not None:
        lines.append(f"last change: revision {change.revision} {change.action} by {change.who} "
                     f"at {change.time}: {clip(change.reason, PATH_CLIP_CHARS)}")
    for alarm in status.alarms:
        lines.append(f"ALARM: {alarm}")
    for line in status.contradictions:
        lines.append(f"CONTRADICTED by the model file: {line}")
    for note in status.notes:
        lines.append(f"note: {note}")
    if not status.alarms:
        # "unchanged" only with a sha256 to prove it; contradicted metadata is not "ok" prose.
        ok = ("ok: the trader will load a compatible, unchanged model" if status.recorded_sha256
              else "ok: the trader will load a compatible model (unchanged cannot be told)")
        if status.contradictions:
            ok += "; the pointer's metadata about it is wrong where marked CONTRADICTED"
        lines.append(ok)
    return safe_lines(lines)


def render_history(records) -> str:
    if not records:
        return ("no history yet (the journal starts at the first promote or rollback; the "
                "pointer has no version_history to import)")
    lines = [f"{'REV':>4}  {'TIME (UTC)':<20}  {'ACTION':<8}  {'WHO':<22}  MODEL / REASON"]
    pad = f"{'':>4}  {'':<20}  {'':<8}  {'':<22}  "
    for r in records:
        flags = " FORCED" if r.forced else ""
        if r.target_revision is not None:
            flags += f" (to revision {r.target_revision})"
        if r.imported is not None:
            lines += _imported_lines(r, pad)
            continue
        when = (r.time or "?")[:19].replace("T", " ")
        lines.append(f"{r.revision:>4}  {when:<20}  {r.action:<8}  {r.who[:22]:<22}  "
                     f"{r.to.short()}{flags}")
        lines.append(f"{pad}reason: {clip(r.reason, PATH_CLIP_CHARS)}")
        for s in r.skipped:
            lines.append(f"{pad}skipped revision {s.revision}: {s.reason}")
    if any(not r.journalled for r in records):
        lines.append("imported revisions come from the pointer's version_history; they are "
                     "written to the journal at the first promote or rollback")
    return safe_lines(lines)


def _imported_lines(r, pad: str) -> list[str]:
    """An imported revision: its date exactly as the hand-written entry has it (zone unverified)."""
    entry = r.imported
    version = f"v{entry['version']}" if entry.get("version") else "(no version)"
    date = entry.get("date") or "?"
    # The date as written when it fits the column, else to the second; the next line has it all.
    lines = [f"{r.revision:>4}  {date if len(date) <= 20 else date[:19]:<20}  {'imported':<8}  "
             f"{(version + ' version_history')[:22]:<22}  {r.to.path or '(no model_path)'}",
             f"{pad}date as written in version_history (its zone not verified): "
             f"{entry.get('date') or '(none)'}"]
    if entry.get("milestone"):
        lines.append(f"{pad}milestone: {entry['milestone']}")
    if entry.get("description"):
        lines.append(f"{pad}description: {entry['description']}")
    return lines


def _revisions(count: int) -> str:
    return "revision 1" if count == 1 else f"revisions 1-{count}"


def render_plan(plan) -> str:
    record = plan.record
    lines = [
        f"{plan.action}: revision {plan.revision_before} -> {plan.revision_after}"
        + (f" (rolling back to revision {plan.target_revision})" if plan.target_revision else "")
    ]
    lines.append(f"  from: {plan.from_.short()}")
    lines.append(
        f"  to:   {plan.to.short()}  [{record.verdict}{', FORCED' if plan.forced else ''}]"
    )
    m = plan.key_metrics()
    facts = [str(m.get("algorithm") or "?"), f"{m.get('n_actions', '?')} actions"]
    if "num_timesteps" in m:
        facts.append(f"{m['num_timesteps']:,} timesteps")
    if "episodes" in m:
        facts.append(f"{m['episodes']:,} episodes")
    if "win_rate" in m:
        facts.append(f"win rate {fmt_pct(m['win_rate'], fraction=True, unit='%')}")
    if "trading_pct" in m:
        facts.append(f"trading {fmt_pct(m['trading_pct'], unit='%')}")
    if "entropy" in m:
        facts.append(f"entropy {m['entropy']:.3f}")
    lines.append("  " + ", ".join(facts))
    lines.append(f"  reason: {plan.reason}")
    if plan.imported:
        lines.append(
            f"  first records the pointer's version_history as {_revisions(plan.imported)} "
            "(imported)"
        )
    if plan.adopt:
        lines.append(f"  first records the pointer as found as revision "
                     f"{plan.revision_after - 1} (adopt)")
    for s in plan.skipped:
        lines.append(f"  skipped revision {s.revision}: {s.reason}")
    for w in plan.warnings:
        lines.append(f"  warning: {w}")
    return safe_lines(lines)


def render_result(result) -> str:
    plan = result.plan
    lines = []
    if result.rolled_forward is not None:
        lines.append(
            f"first finished revision {result.rolled_forward}, left half-done by a crashed writer"
        )
    if plan.imported:
        lines.append(f"imported the pointer's version_history as {_revisions(plan.imported)}")
    if result.adopted_revision is not None:
        lines.append(
            f"recorded the hand-written pointer as revision {result.adopted_revision} (adopt)"
        )
    verb = (
        "promoted"
        if plan.action == "promote"
        else f"rolled back to revision {plan.target_revision}:"
    )
    lines.append(f"{verb} {plan.to.path}: now revision {result.revision} "
                 f"(was {plan.revision_before}){' FORCED' if plan.forced else ''}")
    if result.hook is not None:
        lines.append(result.hook.summary())
    return safe_lines(lines)


def render_prune(plan) -> str:
    mode = "removed" if plan.executed else "would remove"
    lines = [f"{mode} {len(plan.removed)} run(s), {fmt_bytes(plan.bytes_freed)}; "
             f"keeping {len(plan.kept)}"]
    for unit in plan.removed:
        lines.append(f"  {mode}: {unit.key} ({fmt_bytes(unit.size_bytes)})")
    for unit in plan.kept:
        lines.append(f"  keep: {unit.key} ({'; '.join(unit.kept_because)})")
    if plan.executed:
        lines.append(f"log: {plan.log_file}")
    else:
        lines.append("dry run: pass --execute to remove")
    return safe_lines(lines)
