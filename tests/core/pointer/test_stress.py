"""Eight real processes race 50 mixed promotes and rollbacks each on one pointer while a
reader polls it: no lost or doubled revision, an unbroken from/to chain, never invalid JSON."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from itertools import pairwise
from pathlib import Path

import pytest

from kalshi_tui.core.catalog.scan import inspect_model
from kalshi_tui.core.pointer import PointerEngine
from kalshi_tui.core.pointer.journal import journal_path_for, read_records

REPO = Path(__file__).resolve().parents[3]
WORKERS = 8
OPERATIONS = 50

WORKER = textwrap.dedent("""
    import json, random, sys
    from pathlib import Path
    from kalshi_tui.core.catalog.scan import inspect_model
    from kalshi_tui.core.config import load_config
    from kalshi_tui.core.pointer import PointerEngine, Refused, StaleRevision

    config_file, seed, operations, *models = sys.argv[1:]
    config = load_config(config_file)
    engine = PointerEngine(config)
    rng = random.Random(int(seed))
    counts = {"promote": 0, "rollback": 0, "refused": 0, "stale": 0}
    for _ in range(int(operations)):
        # Half the changes pin the revision they saw, as the TUI does: some go stale.
        expect = engine.status(repair=False).revision if rng.random() < 0.5 else None
        try:
            if rng.random() < 0.35:
                engine.rollback("stress rollback", expect_revision=expect)
                counts["rollback"] += 1
            else:
                record = inspect_model(Path(rng.choice(models)), config)
                engine.promote(record, "stress promote", expect_revision=expect)
                counts["promote"] += 1
        except Refused:
            counts["refused"] += 1
        except StaleRevision:
            counts["stale"] += 1
    print(json.dumps(counts))
""")

READER = textwrap.dedent("""
    import json, os, sys
    pointer, stop = sys.argv[1:]
    reads = invalid = backwards = 0
    last = 0
    while not os.path.exists(stop):
        try:
            with open(pointer, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            continue
        reads += 1
        try:
            revision = json.loads(raw)["kalshi_tui"]["revision"]
        except (ValueError, KeyError):
            invalid += 1
            continue
        backwards += revision < last
        last = max(last, revision)
    print(json.dumps({"reads": reads, "invalid": invalid, "backwards": backwards}))
""")


@pytest.mark.slow
def test_eight_processes_race_on_one_pointer(workspace):
    workspace.reload(lock_timeout_seconds=60)
    models = [str(workspace.model(n)) for n in ("ppo21", "a2c21", "ppo21b")]
    PointerEngine(workspace.config).promote(
        inspect_model(Path(models[0]), workspace.config), "start"
    )
    stop = workspace.base / "stop-reader"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(workspace.pointer), str(stop)],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(workspace.config_file),
                str(seed),
                str(OPERATIONS),
                *models,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for seed in range(WORKERS)
    ]
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        outcomes.append(json.loads(out))
    stop.write_text("")
    seen = json.loads(reader.communicate(timeout=60)[0])

    records = read_records(journal_path_for(workspace.pointer))
    changes = sum(o["promote"] + o["rollback"] for o in outcomes)
    assert len(records) == changes + 1
    assert sum(sum(o.values()) for o in outcomes) == WORKERS * OPERATIONS
    assert [r["revision"] for r in records] == list(range(1, len(records) + 1))
    for previous, record in pairwise(records):
        assert record["from"] == previous["to"]
    doc = json.loads(workspace.pointer.read_bytes())
    assert doc["kalshi_tui"]["revision"] == len(records)
    assert (
        hashlib.sha256(workspace.pointer.read_bytes()).hexdigest() == records[-1]["pointer_sha256"]
    )
    assert seen["reads"] > 0 and seen["invalid"] == 0 and seen["backwards"] == 0
    assert sum(o["rollback"] for o in outcomes) > 0 and sum(o["stale"] for o in outcomes) > 0
