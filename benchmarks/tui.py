"""TUI speed and memory: a rollback from launch, and 1,000 and 10,000 models beside a DataTable.

Run: .venv/bin/python benchmarks/tui.py [--models 1000 10000] [--moves 40] [--rollbacks 5]

Rollback from launch, on a copy of the bundled demo (trained_models/ and kalshi_tui.toml,
with two promotes journalled so there is a revision to go back to): a fresh process starts
the TUI and a pilot types what an on-call operator types, `R`, the reason, Enter, Enter.
`R` and the reason are typed at once, before the first screen, as fast hands would; the
Enters wait until the dialog shows the engine's plan (a confirmation is of what is shown).
Measured: process start to the rollback in the journal and the pointer (target 1.5 s of
program time: the pilot types instantly, so all of it is the program's), the part of it
spent before the plan was on screen, and the keys pressed.

For each size it makes the models (the catalog benchmark's layout: run folders, checkpoints,
flat finals, every file a distinct sha256), promotes one so the header has a pointer to
read, warms the catalog cache, then starts fresh processes and measures:
  - process start to the first complete screen: every model listed, the pointer read and
    the panes filled (targets: 1.0 s at 1,000, 2.5 s at 10,000);
  - a cursor move to the panes updated, at that size (target 50 ms): from the key event to
    the first frame painted after the panes changed, median and 95th percentile over
    --moves presses, and apart from the event loop, the work one move costs;
  - when the Rank column filled: the ranking runs in a worker after the list is shown and
    must not hold up the first screen (the moves above run while it may still be working);
  - the process's peak resident memory (target 250 MB at 10,000).
The baseline is the same process showing the same rows in Textual's DataTable, which
builds every row before its first frame; ratios are baseline / ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))  # model_factory: the template model
sys.path.insert(0, str(ROOT / "tests" / "core"))  # artifact_files: training artifacts

ROLLBACK_CHILD = r"""
import asyncio, json, sys, time
started = float(sys.argv[1]); reason = sys.argv[3]
from pathlib import Path
from kalshi_tui.core.config import load_config
config = load_config(Path(sys.argv[2]))
journal = config.pointer_file.with_name(config.pointer_file.stem + ".history.jsonl")
before = journal.read_text().count("\n")
from kalshi_tui.tui.app import KalshiTuiApp
out = {"imported_s": time.time() - started}
app = KalshiTuiApp(config, poll=False)

async def auto(pilot):
    out["app_ready_s"] = time.time() - started
    from textual import events
    keys = ["R", *reason]
    # Typed ahead, as a terminal hands a burst over: every key queued at once, no waiting.
    for char in keys:
        app.post_message(events.Key("space" if char == " " else char, char))
    while not hasattr(app.screen, "planned"):
        await asyncio.sleep(0.002)
    dialog = app.screen
    while not getattr(dialog, "planned", False):
        await asyncio.sleep(0.002)
    out["plan_shown_s"] = time.time() - started
    keys += ["enter", "enter"]
    await pilot.press("enter")
    out["first_enter_s"] = time.time() - started
    await pilot.press("enter")
    out["second_enter_s"] = time.time() - started
    while journal.read_text().count("\n") == before:
        await asyncio.sleep(0.002)
    out["written_s"] = time.time() - started
    last = json.loads(journal.read_text().splitlines()[-1])
    out["action"], out["why"], out["keys"] = last["action"], last["reason"], len(keys)
    out["pointer_revision"] = json.loads(config.pointer_file.read_text())["kalshi_tui"]["revision"]
    out["journal_revision"] = last["revision"]
    app.exit()

app.run(headless=True, size=(120, 40), auto_pilot=auto)
print(json.dumps(out))
"""

CHILD = r"""
import asyncio, json, statistics, sys, time
started = float(sys.argv[1]); kind = sys.argv[2]; moves = int(sys.argv[4])
from kalshi_tui.core.config import load_config
config = load_config(None, models_dir=sys.argv[3])
out = {}

async def measure(app, pilot, ready, panes_text):
    # Poll finely (a benchmark may sleep): the handlers fill the screen, then one frame paints it.
    while not ready():
        await asyncio.sleep(0.002)
    await pilot.pause()
    out["first_screen_s"] = time.time() - started
    # Key to frame: post the key as the terminal driver would, wait until the selection (and
    # with it the panes) changed, then until the screen painted the next frame.
    from textual import events
    frames = []
    screen = app.screen
    paint = screen._compositor_refresh
    def painted():
        paint()
        frames.append(time.perf_counter())
    screen._compositor_refresh = painted
    times = []
    for _ in range(moves):
        before = panes_text()
        t = time.perf_counter()
        app.post_message(events.Key("down", None))
        while panes_text() == before:
            await asyncio.sleep(0.0005)
        changed = time.perf_counter()
        while not frames or frames[-1] < changed:
            await asyncio.sleep(0.0005)
        times.append(frames[-1] - t)
    if kind == "ours":
        # The work a move costs us, without the event loop's scheduling: cursor, panes, lines.
        from kalshi_tui.tui.widgets.panes import RecordPane
        work = []
        models = app.main.models_list
        for _ in range(moves):
            t = time.perf_counter()
            models.action_cursor(1)
            app.main.show_panes()
            for y in range(models.size.height):
                models.render_line(y)
            for pane in app.main.query(RecordPane):
                pane.render()
            work.append(time.perf_counter() - t)
        out["move_work_ms"] = 1000 * statistics.median(work)
        while not app.state.ranking:
            await asyncio.sleep(0.005)
        out["ranking_ready_s"] = time.time() - started
    times.sort()
    out["move_median_ms"] = 1000 * statistics.median(times)
    out["move_p95_ms"] = 1000 * times[int(0.95 * (len(times) - 1))]
    # VmHWM, not ru_maxrss: the latter survives exec and would report the parent's torch.
    status = open("/proc/self/status").read()
    out["rss_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
    app.exit()

if kind == "ours":
    from kalshi_tui.tui.app import KalshiTuiApp
    app = KalshiTuiApp(config, poll=False)
    def ready():
        state = app.state
        return bool(state.records) and state.pointer is not None and app.main.models_list.rows
    def panes_text():
        # The panes are refilled in the same handler that sees the cursor move.
        return app.main.selected_record.path if app.main.selected_record else None
else:
    from textual.app import App
    from textual.widgets import DataTable, Static
    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.evidence.compat import badge
    from kalshi_tui.tui.widgets.model_list import COLUMNS, ModelList

    class Baseline(App):
        def compose(self):
            yield DataTable(cursor_type="row")
            yield Static(id="pane")
        def on_mount(self):
            records = scan_catalog(config).records
            helper = ModelList()
            helper.badges = {r.path: badge(r, config.environment) for r in records}
            table = self.query_one(DataTable)
            table.add_columns(*[c.title for c in COLUMNS])
            table.add_rows([[helper._cells(r)[c.key] for c in COLUMNS] for r in records])
            self.records = records
        def on_data_table_row_highlighted(self, event):
            self.query_one("#pane", Static).update(self.records[event.cursor_row].path)
    app = Baseline()
    def ready():
        return bool(getattr(app, "records", None))
    def panes_text():
        return str(app.query_one("#pane", Static).render())

async def auto(pilot):
    await measure(app, pilot, ready, panes_text)

app.run(headless=True, size=(120, 40), auto_pilot=auto)
print(json.dumps(out))
"""


def run_child(kind: str, models_dir: Path, moves: int) -> dict:
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, repr(started), kind, str(models_dir), str(moves)],
        capture_output=True,
        text=True,
        cwd=str(models_dir.parent),
        env={**os.environ, "KALSHI_TUI_CONFIG": ""},
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.time() - started
    return result


def prepare(root: Path, count: int) -> Path:
    from scan_files import make_models, make_template

    from kalshi_tui.core import load_config
    from kalshi_tui.core.catalog import inspect_model, scan_catalog
    from kalshi_tui.core.pointer import PointerEngine

    models = root / "trained_models"
    models.mkdir(parents=True)
    paths = make_models(make_template(root), models, count)
    config = load_config(None, models_dir=models)
    PointerEngine(config).promote(inspect_model(paths[0], config), "benchmark")
    scan_catalog(config, use_cache=True)  # warm the cache, as after any first listing
    return models


def prepare_demo_copy(root: Path) -> Path:
    """The bundled demo copied (never touched in place), with two promotes journalled."""
    import shutil

    from kalshi_tui.core.catalog.scan import scan_catalog
    from kalshi_tui.core.config import load_config
    from kalshi_tui.core.pointer import PointerEngine

    shutil.copytree(ROOT / "trained_models", root / "trained_models")
    shutil.copy(ROOT / "kalshi_tui.toml", root / "kalshi_tui.toml")
    config = load_config(root / "kalshi_tui.toml")
    catalog = scan_catalog(config, use_cache=True)
    engine = PointerEngine(config)
    compatible = [r for r in catalog.records if r.verdict == "compatible"][:2]
    for record in compatible:
        engine.promote(record, "benchmark setup", force=False)
    return root / "kalshi_tui.toml"


def rollback_from_launch(config_file: Path, reason: str = "bad deploy") -> dict:
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", ROLLBACK_CHILD, repr(started), str(config_file),
                           reason], capture_output=True, text=True, cwd=str(config_file.parent))
    if proc.returncode != 0:
        raise SystemExit(f"rollback child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report_rollbacks(runs: int) -> None:
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for index in range(runs):
            # A fresh copy each run: every rollback starts from the same two promotes.
            config_file = prepare_demo_copy(Path(tmp) / f"demo{index}")
            results.append(rollback_from_launch(config_file))
    for r in results:
        assert r["action"] == "rollback" and r["why"] == "bad deploy", r
        assert r["pointer_revision"] == r["journal_revision"], r
    written = sorted(r["written_s"] for r in results)
    shown = sorted(r["plan_shown_s"] for r in results)
    median = statistics.median(written)
    print(f"rollback from launch (demo copy, {runs} fresh processes): R + reason + Enter + Enter = "
          f"{results[0]['keys']} keys "
          f"({results[0]['keys'] - len('bad deploy')} besides the reason's "
          f"letters); journal and pointer written {median:.2f} s median "
          f"({written[0]:.2f}-{written[-1]:.2f}), "
          f"plan on screen at {statistics.median(shown):.2f} s "
          f"(imports done {statistics.median(r['imported_s'] for r in results):.2f} s, app ready "
          f"{statistics.median(r['app_ready_s'] for r in results):.2f} s); "
          f"target 1.5 s: {'met' if median <= 1.5 else 'MISSED'}")


def load_note() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--rollbacks", type=int, default=5,
                        help="rollback-from-launch runs (0: skip)")
    args = parser.parse_args()
    targets = {1000: 1.0, 10000: 2.5}
    print(f"machine: {load_note()} (other work slows every figure alike)")
    if args.rollbacks:
        report_rollbacks(args.rollbacks)
    print(
        f"{'models':>7} {'':9} {'first screen':>13} {'move median':>12} {'move p95':>9} "
        f"{'peak RSS':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.models:
            models = prepare(Path(tmp) / f"n{count}", count)
            ours = run_child("ours", models, args.moves)
            base = run_child("baseline", models, args.moves)
            for label, r in (("kalshi-tui", ours), ("DataTable", base)):
                print(
                    f"{count:>7,} {label:9} {r['first_screen_s']:>12.2f}s "
                    f"{r['move_median_ms']:>10.1f}ms "
                    f"{r['move_p95_ms']:>7.1f}ms {r['rss_mb']:>7.0f}MB"
                )
            print(
                f"{'':>7} kalshi-tui work per move (cursor, panes, visible lines, no event loop): "
                f"{ours['move_work_ms']:.2f} ms; Rank column filled at "
                f"{ours['ranking_ready_s']:.2f} s (or when the moves ended)"
            )
            target = targets.get(count)
            print(
                f"{'':>7} ratio     {base['first_screen_s'] / ours['first_screen_s']:>12.1f}x "
                f"{base['move_median_ms'] / ours['move_median_ms']:>10.1f}x"
                + (
                    f"   target first screen {target:.1f} s: "
                    f"{'met' if ours['first_screen_s'] <= target else 'MISSED'}"
                    if target
                    else ""
                )
                + f"; move 50 ms: {'met' if ours['move_p95_ms'] <= 50 else 'MISSED'}"
                + (
                    f"; RSS 250 MB: {'met' if ours['rss_mb'] <= 250 else 'MISSED'}"
                    if count >= 10000
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
